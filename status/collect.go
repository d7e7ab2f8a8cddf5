package status

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// Defaults of Options.
const (
	DefaultTimeout       = 3 * time.Second  // each network probe
	DefaultCrmMonTimeout = 10 * time.Second // crm_mon, which waits for the CIB manager
)

// Options configure Check.
type Options struct {
	// Host is this machine's host in the topology: its own VIP view is checked through
	// netlink. "" means none: the local check is skipped.
	Host string
	// ConsulAddress is the Consul HTTP API to ask; "" means $CONSUL_HTTP_ADDR, else the
	// topology's consul.address. The other CONSUL_HTTP_* variables (token, TLS) apply.
	ConsulAddress string
	// Timeout bounds each network probe; 0 means DefaultTimeout.
	Timeout time.Duration
	// CrmMon is the crm_mon to run; "" means crm_mon on PATH. CrmMonTimeout bounds it; 0
	// means DefaultCrmMonTimeout.
	CrmMon        string
	CrmMonTimeout time.Duration
	// Journal is this host's failover journal, read for each VIP's last moves; "" means
	// journal.DefaultPath. LastMoves is how many moves per VIP are shown; 0 means DefaultLastMoves.
	Journal   string
	LastMoves int
}

// DefaultLastMoves is how many of each VIP's moves the report shows.
const DefaultLastMoves = 3

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CrmMonTimeout == 0 {
		o.CrmMonTimeout = DefaultCrmMonTimeout
	}
	if o.CrmMon == "" {
		o.CrmMon = "crm_mon"
	}
	if o.LastMoves <= 0 {
		o.LastMoves = DefaultLastMoves
	}
	return o
}

// probes are the ways status looks at the world; tests replace them.
type probes struct {
	run    pcmk.Runner
	addrs  addrFinder   // nil when status does not run on a host of the topology
	consul consulHealth // nil when no client could be made (consulErr says why)
	dial   dialer
	http   *http.Client

	consulAddr string
	consulErr  error

	history func() ([]journal.Event, error) // this host's journal; nil: not read
}

// Check looks at every component of the topology from this machine and returns the report,
// with every problem found. An unreachable component, even this host's netlink, is a problem
// in the report, not an error: Check fails only for an Options.Host not in the topology.
func Check(ctx context.Context, t *topology.Topology, opts Options) (*Report, error) {
	if opts.Host != "" {
		if _, err := t.LookupHost(opts.Host); err != nil {
			return nil, fmt.Errorf("status: --host: %w", err)
		}
	}
	p := probes{
		run:  pcmk.Local{},
		dial: &net.Dialer{},
		// No proxy from the environment: the VIP is asked directly, as clients reach it.
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	opts = opts.withDefaults()
	if opts.Host != "" {
		h, err := vip.OpenHost("")
		if err == nil {
			defer h.Close()
			err = h.SetDeadline(time.Now().Add(opts.Timeout))
		}
		if err != nil {
			p.addrs = failedFinder{fmt.Errorf("netlink: %w", err)} // reported, not fatal
		} else {
			p.addrs = h
		}
	}
	cfg := api.DefaultConfig()
	switch {
	case opts.ConsulAddress != "":
		cfg.Address = opts.ConsulAddress
	case os.Getenv(api.HTTPAddrEnvName) == "":
		cfg.Address = t.Consul.Address
	}
	p.consulAddr = cfg.Address
	p.history = func() ([]journal.Event, error) {
		ev, _, err := journal.Journal{Path: opts.Journal}.Read(time.Time{})
		return ev, err
	}
	if c, err := api.NewClient(cfg); err != nil {
		p.consulErr = err
	} else {
		p.consul = c.Health()
	}
	return collect(ctx, t, opts, p), nil
}

// place sets the group's Role and RunningOn from crm_mon's resources.
func (g *Group) place(resources []resource) {
	j := slices.IndexFunc(resources, func(res resource) bool { return res.ID == g.Resource })
	if j < 0 {
		return
	}
	g.Role = resources[j].Role
	for _, res := range resources[j:] { // a clone lists one entry per instance
		if res.ID == g.Resource {
			g.RunningOn = append(g.RunningOn, res.Nodes...)
		}
	}
	slices.Sort(g.RunningOn)
	g.RunningOn = slices.Compact(g.RunningOn)
}

// failedFinder stands for a netlink handle that could not be opened.
type failedFinder struct{ err error }

func (f failedFinder) Find(netip.Addr) ([]vip.Address, error) { return nil, f.err }

// collect runs every probe, each under its own timeout and all at once, then judges.
func collect(ctx context.Context, t *topology.Topology, opts Options, p probes) *Report {
	opts = opts.withDefaults()
	timeout := opts.Timeout
	r := &Report{Host: opts.Host, ConsulAddress: p.consulAddr, Groups: []Group{}}
	var wg sync.WaitGroup
	var resources []resource
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, opts.CrmMonTimeout)
		defer cancel()
		pm, rs, err := readPacemaker(ctx, p.run, opts.CrmMon)
		if err != nil {
			pm = Pacemaker{Error: err.Error(), Nodes: []Node{}, Failed: []FailedAction{}}
		}
		r.Pacemaker, resources = pm, rs
	})
	for _, g := range t.Groups {
		grp := Group{Name: g.Name, VIP: g.VIP.Prefix, Hosts: slices.Clone(g.Hosts), Resource: g.VIPID(), RunningOn: []string{}, Clusters: []Cluster{}, LastMoves: []journal.Move{}}
		for _, c := range t.ClustersOf(g.Name) {
			grp.Clusters = append(grp.Clusters, Cluster{Name: c.Name, Address: netip.AddrPortFrom(g.VIP.Prefix.Addr(), uint16(c.Port))})
		}
		r.Groups = append(r.Groups, grp)
	}
	for gi, g := range t.Groups {
		for ci, c := range t.ClustersOf(g.Name) {
			cl := &r.Groups[gi].Clusters[ci]
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				cl.Reach = reach(ctx, p.dial, cl.Address)
			})
			wg.Go(func() {
				service := c.PatroniJobName()
				if p.consul == nil {
					cl.Consul = Consul{Service: service, Replicas: c.Replicas, Error: p.consulErr.Error(), Leaders: []string{}, Members: []Member{}}
					return
				}
				ctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				cl.Consul = readConsul(ctx, p.consul, service, c.Replicas)
				cl.Consul.Synchronous = c.Patroni.SynchronousMode
				cl.Consul.addPatroni(ctx, p.http, c.PatroniPort)
			})
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				stats := netip.AddrPortFrom(g.VIP.Prefix.Addr(), uint16(c.StatsPort))
				cl.HAProxy = ReadHAProxy(ctx, p.http, stats, c.Name)
			})
		}
	}
	wg.Wait()

	for i := range r.Groups {
		grp := &r.Groups[i]
		grp.place(resources)
		if p.addrs != nil {
			l := localVIP(p.addrs, opts.Host, grp.VIP.Addr(), slices.Contains(grp.RunningOn, opts.Host))
			grp.Local = &l
		}
	}
	if p.history != nil {
		r.addMoves(p.history, opts.LastMoves)
	}
	hosts := make([]string, len(t.Hosts))
	for i, h := range t.Hosts {
		hosts[i] = h.Name
	}
	r.judge(hosts)
	return r
}
