package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// Defaults of Options.
const (
	DefaultTimeout       = 2 * time.Second  // each HAProxy stats read, and netlink
	DefaultCrmMonTimeout = 10 * time.Second // crm_mon, which waits for the CIB manager
)

// DefaultHAProxyAddress is where this host's HAProxy stats are read: HAProxy runs in the host's
// network and its stats listener binds every address of the host.
var DefaultHAProxyAddress = netip.MustParseAddr("127.0.0.1")

// Options configure what a scrape reads.
type Options struct {
	// Host is this machine's host in the topology. "" means none: the address and HAProxy
	// metrics, which are about this host, are not exported.
	Host string
	// Journal is this host's failover journal; "" means journal.DefaultPath.
	Journal string
	// CrmMon is the crm_mon to run; "" means crm_mon on PATH. CrmMonTimeout bounds it; 0
	// means DefaultCrmMonTimeout.
	CrmMon        string
	CrmMonTimeout time.Duration
	// Timeout bounds each HAProxy stats read and the netlink calls; 0 means DefaultTimeout.
	Timeout time.Duration
	// HAProxyAddress is where this host's HAProxy stats listeners are read; the zero value
	// means DefaultHAProxyAddress.
	HAProxyAddress netip.Addr
	// Logger gets each source that failed in a scrape, at warning level; nil: none.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.CrmMonTimeout <= 0 {
		o.CrmMonTimeout = DefaultCrmMonTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if !o.HAProxyAddress.IsValid() {
		o.HAProxyAddress = DefaultHAProxyAddress
	}
	return o
}

// Sample is what one scrape read. A source that could not be read has its error set, and the
// values that come from it are missing (never guessed as zero).
type Sample struct {
	Host       string // this host ("" when the machine is no host of the topology)
	CrmMonErr  error  // crm_mon could not be run or read: no holder, no quorum
	NetlinkErr error  // netlink could not be asked: no address-present values
	JournalErr error  // the journal could not be read: no moves, no durations
	Quorate    bool
	Groups     []Group
}

// Group is one host group's part of a Sample.
type Group struct {
	Name     string
	Hosts    []string // the group's hosts, in topology order
	Holders  []string // the nodes crm_mon lists the VIP as running on, sorted
	Present  *bool    // this host's kernel holds the VIP's address; nil when unknown
	Moves    int      // moves of the VIP in this host's journal
	Actions  []Action // agent operations of the group's resources in this host's journal
	Backends []Backend
}

// Action is one agent operation Pacemaker alerted, as the journal recorded it.
type Action struct {
	Host    string // the node it ran on
	Agent   string // vip or health
	Action  string // start, stop, monitor, ...
	Seconds float64
}

// Backend is one cluster's proxy in this host's HAProxy.
type Backend struct {
	Name    string // the cluster, which is the proxy's name
	HAProxy status.HAProxy
}

// addrFinder finds the entries of an address on this host (a *vip.Host).
type addrFinder interface {
	Find(addr netip.Addr) ([]vip.Address, error)
}

// sources are the readers a scrape uses; tests replace them with fakes.
type sources struct {
	crmMon  func(ctx context.Context) (pcmk.Report, error)
	netlink func(deadline time.Time) (addrFinder, func(), error) // opens a handle; the func closes it
	journal func() ([]journal.Event, error)
	haproxy func(ctx context.Context, stats netip.AddrPort, proxy string) status.HAProxy
}

// liveSources read this machine: crm_mon, netlink, the journal file and HAProxy over HTTP.
func liveSources(opts Options) sources {
	// No proxy from the environment: the stats listeners are this host's own.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return sources{
		crmMon: func(ctx context.Context) (pcmk.Report, error) {
			return pcmk.ReadCrmMon(ctx, pcmk.Local{}, opts.CrmMon)
		},
		netlink: func(deadline time.Time) (addrFinder, func(), error) {
			h, err := vip.OpenHost("")
			if err != nil {
				return nil, nil, err
			}
			if err := h.SetDeadline(deadline); err != nil {
				h.Close()
				return nil, nil, fmt.Errorf("netlink: %w", err)
			}
			return h, h.Close, nil
		},
		journal: func() ([]journal.Event, error) {
			ev, _, err := journal.Journal{Path: opts.Journal}.Read(time.Time{})
			return ev, err
		},
		haproxy: func(ctx context.Context, stats netip.AddrPort, proxy string) status.HAProxy {
			return status.ReadHAProxy(ctx, client, stats, proxy)
		},
	}
}

// read takes one Sample: crm_mon and the HAProxy pages at once, then netlink and the journal.
func read(ctx context.Context, t *topology.Topology, opts Options, src sources) Sample {
	opts = opts.withDefaults()
	s := Sample{Host: opts.Host}
	for _, g := range t.Groups {
		s.Groups = append(s.Groups, Group{Name: g.Name, Hosts: slices.Clone(g.Hosts)})
	}
	var wg sync.WaitGroup
	var report pcmk.Report
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, opts.CrmMonTimeout)
		defer cancel()
		report, s.CrmMonErr = src.crmMon(ctx)
	})
	for i, g := range t.Groups {
		if opts.Host == "" || !slices.Contains(g.Hosts, opts.Host) {
			continue // a cluster's HAProxy runs on its group's hosts only
		}
		cs := t.ClustersOf(g.Name)
		s.Groups[i].Backends = make([]Backend, len(cs))
		for j, c := range cs {
			b := &s.Groups[i].Backends[j]
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
				defer cancel()
				b.Name = c.Name
				b.HAProxy = src.haproxy(ctx, netip.AddrPortFrom(opts.HAProxyAddress, uint16(c.StatsPort)), c.Name)
			})
		}
	}
	var events []journal.Event
	events, s.JournalErr = src.journal()
	if opts.Host != "" {
		s.NetlinkErr = readPresent(src, t, s.Groups, time.Now().Add(opts.Timeout))
	}
	wg.Wait()

	if log := opts.Logger; log != nil {
		for _, f := range []struct {
			source string
			err    error
		}{{SourceCrmMon, s.CrmMonErr}, {SourceNetlink, s.NetlinkErr}, {SourceJournal, s.JournalErr}} {
			if f.err != nil {
				log.Warn("metrics: source not read", "source", f.source, "err", f.err)
			}
		}
		for _, g := range s.Groups {
			for _, b := range g.Backends {
				if b.HAProxy.Error != "" {
					log.Warn("metrics: HAProxy stats not read", "backend", b.Name, "url", b.HAProxy.URL, "err", b.HAProxy.Error)
				}
			}
		}
	}
	if s.CrmMonErr == nil {
		s.Quorate = report.Quorate
		for i, g := range t.Groups {
			s.Groups[i].Holders = holders(report, g.VIPID())
		}
	}
	if s.JournalErr == nil {
		for i, g := range t.Groups {
			vipID, healthID := g.VIPID(), cib.HealthID(g.Name)
			s.Groups[i].Moves = len(journal.Moves(events, func(r string) bool { return r == vipID }))
			s.Groups[i].Actions = actions(events, vipID, healthID)
		}
	}
	return s
}

// readPresent sets each group's Present from this host's addresses.
func readPresent(src sources, t *topology.Topology, groups []Group, deadline time.Time) error {
	f, closeF, err := src.netlink(deadline)
	if err != nil {
		return err
	}
	defer closeF()
	for i, g := range t.Groups {
		found, err := f.Find(g.VIP.Prefix.Addr())
		if err != nil {
			for j := range groups {
				groups[j].Present = nil
			}
			return err
		}
		present := len(found) > 0
		groups[i].Present = &present
	}
	return nil
}

// holders are the nodes crm_mon lists the resource as active on.
func holders(r pcmk.Report, id string) []string {
	var nodes []string
	for _, res := range r.Resources {
		if res.ID == id && res.Active {
			nodes = append(nodes, res.Nodes...)
		}
	}
	slices.Sort(nodes)
	return slices.Compact(nodes)
}

// actions are the journal's operations of the group's VIP and health agent.
func actions(events []journal.Event, vipID, healthID string) []Action {
	var as []Action
	for _, e := range events {
		if e.Kind != journal.KindResource || e.Task == "" {
			continue
		}
		// A clone instance may be named with its instance number (vipctl-health-a:0).
		id, _, _ := strings.Cut(e.Resource, ":")
		var agent string
		switch id {
		case vipID:
			agent = "vip"
		case healthID:
			agent = "health"
		default:
			continue
		}
		as = append(as, Action{Host: e.Node, Agent: agent, Action: e.Task, Seconds: float64(e.ExecMS) / 1000})
	}
	return as
}
