package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Agent names accepted by vip.agent.
const (
	AgentVipctl  = "vipctl"  // ocf:vipctl:vip
	AgentIPaddr2 = "IPaddr2" // ocf:heartbeat:IPaddr2
)

// Repository types accepted by backup.repo.type.
const (
	RepoPosix = "posix"
	RepoS3    = "s3"
)

// Topology is one loaded, defaulted and validated vipctl.hcl: one Corosync/Pacemaker cluster.
// Every default of the file format is already applied; consumers never re-default.
type Topology struct {
	File        string // path the topology was loaded from
	Datacenters []string
	Consul      Consul
	Nomad       Nomad
	Corosync    Corosync
	Pacemaker   Pacemaker
	Fences      []Fence
	Hosts       []Host
	Groups      []HostGroup
	Clusters    []Cluster
	// Warnings are conditions worth telling the operator that do not stop loading
	// (for example stonith_enabled = false).
	Warnings []string
}

// Consul says how vipctl and the rendered jobs reach the Consul agent of each host.
type Consul struct {
	Address    string // host:port of the HTTP API that vipctl calls on the host; default 127.0.0.1:8500
	DNS        string // host:port of Consul DNS, HAProxy's resolver; default 127.0.0.1:8600
	JobAddress string // what jobs use to reach the host's agent; default ${attr.unique.network.ip-address}:8500
}

// Nomad says which Nomad the rendered jobs are written for.
type Nomad struct {
	// Version is the oldest Nomad version the cluster runs, from nomad.version; default 1.8.
	Version NomadVersion
}

// NomadVersion is a Nomad release line, MAJOR.MINOR.
type NomadVersion struct{ Major, Minor int }

func (v NomadVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Before reports whether v is older than major.minor.
func (v NomadVersion) Before(major, minor int) bool {
	return v.Major < major || v.Major == major && v.Minor < minor
}

// HasDisconnectBlock reports whether this Nomad reads a group's disconnect block (1.8 and
// later); older ones know only the group attribute stop_after_client_disconnect.
func (v NomadVersion) HasDisconnectBlock() bool { return !v.Before(1, 8) }

// Corosync holds the totem settings rendered into corosync.conf.
type Corosync struct {
	ClusterName string
	TokenMS     int // default 1000
}

// Pacemaker holds the cluster-wide Pacemaker options vipctl owns.
type Pacemaker struct {
	StonithEnabled     bool   // default true
	NoQuorumPolicy     string // default "stop"
	ResourceStickiness int    // default 100
}

// Fence is one fence (stonith) device that fences exactly one host.
type Fence struct {
	Name   string
	Agent  string            // e.g. fence_ipmilan
	Host   string            // the one host this device fences
	Params map[string]string // agent parameters; render them in sorted key order
}

// Host is one hardware host: a Corosync member and Pacemaker node.
type Host struct {
	Name    string     // Pacemaker node name (uname)
	Address netip.Addr // Corosync ring0 address
	// Links are the host's Corosync link addresses in link order (ring0_addr, ring1_addr) when
	// it names two (addresses = [a, b]); Links[0] is Address. nil for one link: Address alone.
	// Every host has as many links as every other.
	Links  []netip.Addr
	NodeID int    // default: 1-based position in the file
	NIC    string // optional per-host interface for its group's VIP; overrides vip.nic
}

// HostGroup is a set of hosts sharing one VirtualIP.
type HostGroup struct {
	Name  string
	Hosts []string // host names, in file order
	VIP   VIP
}

// VIP is the VirtualIP of a host group.
type VIP struct {
	Prefix netip.Prefix // address with its prefix length, e.g. 10.20.0.100/24 (not masked)
	NIC    string       // empty: found by route lookup on the host
	Agent  string       // AgentVipctl (default) or AgentIPaddr2
}

// Cluster is one PostgreSQL (Patroni) cluster reached at VIP:Port.
type Cluster struct {
	Name        string
	HostGroup   string
	Port        int // HAProxy's static port on every host of the group
	PatroniPort int // static Patroni REST port
	StatsPort   int // HAProxy stats; default Port+1000
	Image       string
	Replicas    int // default: number of hosts in the group
	Resources   Resources
	Backup      Backup
	Patroni     Patroni
	HAProxy     HAProxy
}

// Patroni holds the cluster-wide Patroni settings that decide how fast a failed primary is
// replaced (Patroni's dynamic configuration, rendered into bootstrap.dcs of patroni.yml).
// Durations are in seconds, as Patroni takes them.
type Patroni struct {
	TTL                 int  // the leader lock's lifetime: a dead primary is replaced after it
	LoopWait            int  // seconds between two runs of Patroni's loop
	RetryTimeout        int  // how long a DCS or PostgreSQL operation is retried before giving up
	PrimaryStartTimeout int  // how long a crashed primary may take to recover before a failover
	SynchronousMode     bool // a commit waits for one replica: no acknowledged write is lost on failover
}

// HAProxy holds the health check settings of a cluster's HAProxy servers.
type HAProxy struct {
	CheckIntervalMS int // between two health checks of a server (inter)
	Fall            int // failed checks that mark a server down
	Rise            int // passed checks that mark a server up
	// ResolveIntervalMS is how often HAProxy asks Consul DNS for the cluster's leader while
	// the answer is valid (hold valid): a new primary becomes a server within it.
	ResolveIntervalMS int
}

// Resources are the Nomad task limits of one Patroni member.
type Resources struct {
	CPU      int // MHz, default 4400
	MemoryMB int // default 512
	DiskMB   int // default 1024
	Mbits    int // default 100
}

// Backup is the pgbackrest configuration of a cluster.
type Backup struct {
	Enabled  bool   // default true
	Schedule string // cron syntax, default "0 3 * * *"
	Repo     Repo
}

// Repo is a pgbackrest repository.
type Repo struct {
	Type     string // RepoPosix (default) or RepoS3
	Path     string // posix: default /var/lib/pgbackrest; s3: the repo path inside the bucket
	Bucket   string // s3 only
	Endpoint string // s3 only
	Region   string // s3 only
}

// Host returns the host with the given name.
func (t *Topology) Host(name string) (Host, bool) {
	i := slices.IndexFunc(t.Hosts, func(h Host) bool { return h.Name == name })
	if i < 0 {
		return Host{}, false
	}
	return t.Hosts[i], true
}

// ErrUnknownHost is matched (errors.Is) by the error of a host name the topology does not
// have: LookupHost's, which every package that is given a host name (status --host,
// bootstrap, cib simulate --fail, the lab's fail and partition, --host) wraps with %w.
var ErrUnknownHost = errors.New("unknown host")

// LookupHost returns the host with the given name; an error matching ErrUnknownHost, naming
// it and the topology's hosts, when there is none.
func (t *Topology) LookupHost(name string) (Host, error) {
	if h, ok := t.Host(name); ok {
		return h, nil
	}
	names := make([]string, len(t.Hosts))
	for i, h := range t.Hosts {
		names[i] = h.Name
	}
	file := t.File
	if file == "" {
		file = "the topology"
	}
	return Host{}, fmt.Errorf("%w %q: %s has %s", ErrUnknownHost, name, file, strings.Join(names, ", "))
}

// Group returns the host group with the given name.
func (t *Topology) Group(name string) (HostGroup, bool) {
	i := slices.IndexFunc(t.Groups, func(g HostGroup) bool { return g.Name == name })
	if i < 0 {
		return HostGroup{}, false
	}
	return t.Groups[i], true
}

// GroupOf returns the host group that a host belongs to.
func (t *Topology) GroupOf(host string) (HostGroup, bool) {
	i := slices.IndexFunc(t.Groups, func(g HostGroup) bool { return slices.Contains(g.Hosts, host) })
	if i < 0 {
		return HostGroup{}, false
	}
	return t.Groups[i], true
}

// GroupHosts returns the hosts of a group, in the group's order.
func (t *Topology) GroupHosts(group string) []Host {
	g, ok := t.Group(group)
	if !ok {
		return nil
	}
	hosts := make([]Host, 0, len(g.Hosts))
	for _, name := range g.Hosts {
		if h, ok := t.Host(name); ok {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// ClustersOf returns the clusters served by a host group, in file order.
func (t *Topology) ClustersOf(group string) []Cluster {
	var cs []Cluster
	for _, c := range t.Clusters {
		if c.HostGroup == group {
			cs = append(cs, c)
		}
	}
	return cs
}

// NICFor returns the interface configured for the VIP of a host's group on that host:
// the host's own nic, else the group's vip.nic, else "" (route lookup on the host).
func (t *Topology) NICFor(host string) string {
	if h, ok := t.Host(host); ok && h.NIC != "" {
		return h.NIC
	}
	if g, ok := t.GroupOf(host); ok {
		return g.VIP.NIC
	}
	return ""
}
