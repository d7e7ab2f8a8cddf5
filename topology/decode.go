package topology

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// parsed is a decoded, defaulted topology with the source of each part, for validation.
// The src slices run parallel to the model's slices.
type parsed struct {
	t        *Topology
	file     *src
	fences   []*src
	hosts    []*src
	groups   []*src
	clusters []*src

	fenceMeta fenceMeta // the fence agents' metadata, where it was read (Options.FenceAgents)
}

// decode reads the file body into a Topology with every default applied.
func decode(body hcl.Body, filename string, text []byte) (*parsed, hcl.Diagnostics) {
	d := &decoder{file: text}
	start := hcl.Pos{Line: 1, Column: 1, Byte: 0}
	file := d.body("", body, hcl.Range{Filename: filename, Start: start, End: start})
	p := &parsed{
		t:        &Topology{File: filename, Datacenters: []string{defaultDatacenter}},
		file:     file,
		fences:   file.multi["fence"],
		hosts:    file.multi["host"],
		groups:   file.multi["host_group"],
		clusters: file.multi["cluster"],
	}
	value(d, file, "datacenters", &p.t.Datacenters)
	p.t.Consul = d.consul(file.child("consul"))
	p.t.Nomad = d.nomad(file.child("nomad"))
	if _, ok := file.single["corosync"]; !ok {
		d.errorf(file.def, "Missing corosync block", "The file needs a corosync block with cluster_name.")
	}
	p.t.Corosync = d.corosync(file.child("corosync"))
	p.t.Pacemaker = d.pacemaker(file.child("pacemaker"))
	for _, s := range p.fences {
		p.t.Fences = append(p.t.Fences, d.fence(s))
	}
	for i, s := range p.hosts {
		p.t.Hosts = append(p.t.Hosts, d.host(s, i+1))
	}
	for _, s := range p.groups {
		p.t.Groups = append(p.t.Groups, d.group(s))
	}
	for _, s := range p.clusters {
		p.t.Clusters = append(p.t.Clusters, d.cluster(s, p.t))
	}
	if !p.t.Pacemaker.StonithEnabled {
		p.t.Warnings = append(p.t.Warnings, at(file.child("pacemaker").at("stonith_enabled"))+
			": stonith_enabled = false: a host that stops responding is not fenced, so its VIP may stay up there while another host takes it")
	}
	return p, d.diags
}

func (d *decoder) consul(s *src) Consul {
	c := Consul{Address: defaultConsulAddress, DNS: defaultConsulDNS, JobAddress: defaultConsulJobAddress}
	value(d, s, "address", &c.Address)
	value(d, s, "dns", &c.DNS)
	value(d, s, "job_address", &c.JobAddress)
	return c
}

func (d *decoder) nomad(s *src) Nomad {
	n := Nomad{Version: defaultNomadVersion}
	var text string
	if value(d, s, "version", &text) {
		v, ok := ParseNomadVersion(text)
		if !ok {
			d.errorf(s.at("version"), "Invalid nomad version "+quote(text),
				"nomad.version must be a Nomad release, MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. \"1.6\" or \"1.8.4\".")
		}
		if ok && v.Before(minNomadVersion.Major, minNomadVersion.Minor) {
			d.errorf(s.at("version"), "Unsupported nomad version "+quote(text),
				"The jobs need Nomad %s or later: their templates read Nomad Variables.", minNomadVersion)
		}
		n.Version = v
	}
	return n
}

// ParseNomadVersion reads MAJOR.MINOR or MAJOR.MINOR.PATCH (as a Nomad agent reports it); the patch level does not change
// what a job may contain.
func ParseNomadVersion(text string) (NomadVersion, bool) {
	parts := strings.Split(text, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return NomadVersion{}, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 999 || p != strconv.Itoa(v) {
			return NomadVersion{}, false
		}
		n[i] = v
	}
	return NomadVersion{Major: n[0], Minor: n[1]}, true
}

func (d *decoder) corosync(s *src) Corosync {
	c := Corosync{TokenMS: defaultTokenMS}
	d.require(s, "cluster_name")
	value(d, s, "cluster_name", &c.ClusterName)
	value(d, s, "token_ms", &c.TokenMS)
	return c
}

func (d *decoder) pacemaker(s *src) Pacemaker {
	p := Pacemaker{
		StonithEnabled:     defaultStonithEnabled,
		NoQuorumPolicy:     defaultNoQuorumPolicy,
		ResourceStickiness: defaultResourceStickiness,
	}
	value(d, s, "stonith_enabled", &p.StonithEnabled)
	value(d, s, "no_quorum_policy", &p.NoQuorumPolicy)
	value(d, s, "resource_stickiness", &p.ResourceStickiness)
	return p
}

func (d *decoder) fence(s *src) Fence {
	f := Fence{Name: s.name}
	d.require(s, "agent", "host")
	value(d, s, "agent", &f.Agent)
	value(d, s, "host", &f.Host)
	value(d, s, "params", &f.Params)
	return f
}

func (d *decoder) host(s *src, position int) Host {
	h := Host{Name: s.name, NodeID: position}
	d.hostAddresses(s, &h)
	value(d, s, "nodeid", &h.NodeID)
	value(d, s, "nic", &h.NIC)
	return h
}

// maxLinks is how many Corosync links a host may name (knet takes up to 8; two is the design).
const maxLinks = 2

// hostAddresses decodes the host's link addresses: `address = a` (one link) or
// `addresses = [a, b]` (one or two links, in link order), not both.
func (d *decoder) hostAddresses(s *src, h *Host) {
	_, one := s.attrs["address"]
	_, many := s.attrs["addresses"]
	switch {
	case one && many:
		d.errorf(s.at("addresses"), "Both address and addresses",
			"%s: give its Corosync address as address = \"…\" or its links as addresses = [\"…\", \"…\"], not both.", s.title())
		return
	case many:
		var texts []string
		if !value(d, s, "addresses", &texts) {
			return
		}
		if len(texts) == 0 || len(texts) > maxLinks {
			d.errorf(s.at("addresses"), fmt.Sprintf("Invalid addresses (%d)", len(texts)),
				"%s: addresses names 1 or %d Corosync link addresses, in link order.", s.title(), maxLinks)
			s.set["addresses"] = false
			return
		}
		for i, text := range texts {
			a := d.addressAt(s, s.elemAt("addresses", i), text)
			if !a.IsValid() {
				s.set["addresses"] = false
				h.Links = nil
				return
			}
			h.Links = append(h.Links, a)
		}
		h.Address = h.Links[0]
		if len(h.Links) == 1 {
			h.Links = nil // one link: Address says it all
		}
	default:
		d.require(s, "address")
		var addr string
		if value(d, s, "address", &addr) {
			h.Address = d.address(s, addr)
		}
	}
}

// address parses a host address; it must be a plain unicast IP.
func (d *decoder) address(s *src, text string) netip.Addr {
	a := d.addressAt(s, s.at("address"), text)
	if !a.IsValid() {
		s.set["address"] = false
	}
	return a
}

// addressAt parses a host address written at r; it must be a plain unicast IP.
func (d *decoder) addressAt(s *src, r hcl.Range, text string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimSpace(text))
	switch {
	case err != nil:
		d.errorf(r, "Invalid address "+quote(text), "%s: the address must be an IPv4 or IPv6 address: %v.", s.title(), err)
	case a.Zone() != "" || a.Is4In6() || !a.IsGlobalUnicast() && !a.IsLoopback() && !a.IsLinkLocalUnicast():
		d.errorf(r, "Invalid address "+quote(text),
			"%s: the address must be a unicast address, without zone, IPv4 written as such.", s.title())
	default:
		return a
	}
	return netip.Addr{}
}

func (d *decoder) group(s *src) HostGroup {
	g := HostGroup{Name: s.name}
	d.require(s, "hosts")
	value(d, s, "hosts", &g.Hosts)
	if _, ok := s.single["vip"]; !ok {
		d.errorf(s.def, "Missing vip block", "%s needs exactly one vip block.", s.title())
	}
	g.VIP = d.vip(s.child("vip"), s.title())
	return g
}

func (d *decoder) vip(s *src, title string) VIP {
	v := VIP{Agent: defaultAgent}
	d.require(s, "address")
	var text string
	if value(d, s, "address", &text) {
		prefix, err := netip.ParsePrefix(strings.TrimSpace(text))
		if err != nil {
			d.errorf(s.at("address"), "Invalid VIP "+quote(text),
				"%s: the VIP must be an address with its prefix length, e.g. 10.20.0.100/24: %v.", title, err)
			s.set["address"] = false
		}
		v.Prefix = prefix
	}
	value(d, s, "nic", &v.NIC)
	value(d, s, "agent", &v.Agent)
	return v
}

func (d *decoder) cluster(s *src, t *Topology) Cluster {
	c := Cluster{Name: s.name}
	d.require(s, "host_group", "port", "patroni_port", "image")
	value(d, s, "host_group", &c.HostGroup)
	value(d, s, "port", &c.Port)
	value(d, s, "patroni_port", &c.PatroniPort)
	value(d, s, "image", &c.Image)
	if !value(d, s, "stats_port", &c.StatsPort) && s.set["port"] {
		c.StatsPort = c.Port + defaultStatsPortOffset
	}
	if !value(d, s, "replicas", &c.Replicas) {
		g, _ := t.Group(c.HostGroup)
		c.Replicas = len(g.Hosts)
	}
	c.Resources = d.resources(s.child("resources"))
	c.Backup = d.backup(s.child("backup"))
	c.Patroni = d.patroni(s.child("patroni"))
	c.HAProxy = d.haproxy(s.child("haproxy"))
	return c
}

func (d *decoder) patroni(s *src) Patroni {
	p := Patroni{TTL: defaultPatroniTTL, LoopWait: defaultPatroniLoopWait, RetryTimeout: defaultPatroniRetryTimeout,
		PrimaryStartTimeout: defaultPrimaryStartTimeout, SynchronousMode: defaultSynchronousMode}
	value(d, s, "ttl", &p.TTL)
	value(d, s, "loop_wait", &p.LoopWait)
	value(d, s, "retry_timeout", &p.RetryTimeout)
	value(d, s, "primary_start_timeout", &p.PrimaryStartTimeout)
	value(d, s, "synchronous_mode", &p.SynchronousMode)
	return p
}

func (d *decoder) haproxy(s *src) HAProxy {
	h := HAProxy{CheckIntervalMS: defaultCheckIntervalMS, Fall: defaultCheckFall, Rise: defaultCheckRise,
		ResolveIntervalMS: defaultResolveIntervalMS}
	value(d, s, "check_interval_ms", &h.CheckIntervalMS)
	value(d, s, "fall", &h.Fall)
	value(d, s, "rise", &h.Rise)
	value(d, s, "resolve_interval_ms", &h.ResolveIntervalMS)
	return h
}

func (d *decoder) resources(s *src) Resources {
	r := Resources{CPU: defaultCPU, MemoryMB: defaultMemoryMB, DiskMB: defaultDiskMB, Mbits: defaultMbits}
	value(d, s, "cpu", &r.CPU)
	value(d, s, "memory", &r.MemoryMB)
	value(d, s, "disk", &r.DiskMB)
	value(d, s, "mbits", &r.Mbits)
	return r
}

func (d *decoder) backup(s *src) Backup {
	b := Backup{Enabled: defaultBackupEnabled, Schedule: defaultBackupSchedule}
	value(d, s, "enabled", &b.Enabled)
	value(d, s, "schedule", &b.Schedule)
	b.Repo = d.repo(s.child("repo"))
	return b
}

func (d *decoder) repo(s *src) Repo {
	r := Repo{Type: defaultRepoType, Path: defaultRepoPath}
	value(d, s, "type", &r.Type)
	value(d, s, "path", &r.Path)
	value(d, s, "bucket", &r.Bucket)
	value(d, s, "endpoint", &r.Endpoint)
	value(d, s, "region", &r.Region)
	return r
}

// quote writes a value as HCL would, for summaries.
func quote(s string) string { return `"` + s + `"` }
