package metrics

import (
	"context"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipctl/vipctl/topology"
)

// Names of the metrics (docs/metrics.md describes each).
const (
	NameSourceUp       = "vipctl_source_up"
	NameQuorate        = "vipctl_pacemaker_quorate"
	NameHolder         = "vipctl_vip_holder"
	NamePresent        = "vipctl_vip_address_present"
	NameMoves          = "vipctl_vip_moves_total"
	NameActionDuration = "vipctl_agent_action_duration_seconds"
	NameHAProxyUp      = "vipctl_haproxy_up"
	NameBackendUp      = "vipctl_haproxy_backend_up"
	NameServerUp       = "vipctl_haproxy_server_up"
)

// Sources named by vipctl_source_up.
const (
	SourceCrmMon  = "crm_mon"
	SourceNetlink = "netlink"
	SourceJournal = "journal"
)

// ActionBuckets are the upper bounds of the agent duration histogram, in seconds: the vipctl
// agent's monitor takes milliseconds, a start with its announcements tens of them, and
// Pacemaker's default operation timeout is 20 s.
var ActionBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20}

var (
	descSourceUp = prometheus.NewDesc(NameSourceUp,
		"1 when this scrape read the source (crm_mon, netlink, journal), 0 when it failed; the metrics from a failed source are left out.",
		[]string{"source"}, nil)
	descQuorate = prometheus.NewDesc(NameQuorate,
		"1 when this host's cluster partition has quorum, as crm_mon reports it.", nil, nil)
	descHolder = prometheus.NewDesc(NameHolder,
		"1 for the host crm_mon says runs the group's VIP, 0 for the group's other hosts.",
		[]string{"group", "host"}, nil)
	descPresent = prometheus.NewDesc(NamePresent,
		"1 when this host's kernel holds the group's VIP address (netlink), else 0.",
		[]string{"group", "host"}, nil)
	descMoves = prometheus.NewDesc(NameMoves,
		"Moves of the group's VIP from one host to another in this host's failover journal: the moves this host took part in and those after a node left or joined (it restarts lower when the journal's oldest generation is dropped).",
		[]string{"group"}, nil)
	descActionDuration = prometheus.NewDesc(NameActionDuration,
		"How long the group's agents (vip, health) ran per operation, from the operations Pacemaker alerted into this host's journal.",
		[]string{"group", "host", "agent", "action"}, nil)
	descHAProxyUp = prometheus.NewDesc(NameHAProxyUp,
		"1 when this host's HAProxy stats page for the cluster's backend was read, 0 when not.",
		[]string{"group", "host", "backend"}, nil)
	descBackendUp = prometheus.NewDesc(NameBackendUp,
		"1 when the cluster's backend in this host's HAProxy has a server UP (it serves clients), else 0.",
		[]string{"group", "host", "backend"}, nil)
	descServerUp = prometheus.NewDesc(NameServerUp,
		"1 when the server of the cluster's backend in this host's HAProxy is UP, else 0.",
		[]string{"group", "host", "backend", "server"}, nil)
)

// Collector is a prometheus.Collector that reads the topology's VIP layer at every scrape.
type Collector struct {
	ctx  context.Context
	topo *topology.Topology
	opts Options
	src  sources
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns the Collector of t as opts say. ctx bounds every scrape's reads (each also has
// its own timeout): end it to end the reads of a program that stops.
func New(ctx context.Context, t *topology.Topology, opts Options) *Collector {
	return &Collector{ctx: ctx, topo: t, opts: opts, src: liveSources(opts)}
}

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSourceUp, descQuorate, descHolder, descPresent, descMoves,
		descActionDuration, descHAProxyUp, descBackendUp, descServerUp} {
		ch <- d
	}
}

// Collect reads the sources once and sends the metrics of that sample.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	read(c.ctx, c.topo, c.opts, c.src).collect(ch)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collect sends the sample's metrics.
func (s Sample) collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descSourceUp, boolValue(s.CrmMonErr == nil), SourceCrmMon)
	gauge(descSourceUp, boolValue(s.JournalErr == nil), SourceJournal)
	if s.Host != "" {
		gauge(descSourceUp, boolValue(s.NetlinkErr == nil), SourceNetlink)
	}
	if s.CrmMonErr == nil {
		gauge(descQuorate, boolValue(s.Quorate))
	}
	for _, g := range s.Groups {
		if s.CrmMonErr == nil {
			hosts := slices.Clone(g.Hosts)
			for _, h := range g.Holders { // a holder outside the group is shown too
				if !slices.Contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
			for _, h := range hosts {
				gauge(descHolder, boolValue(slices.Contains(g.Holders, h)), g.Name, h)
			}
		}
		if g.Present != nil {
			gauge(descPresent, boolValue(*g.Present), g.Name, s.Host)
		}
		if s.JournalErr == nil {
			ch <- prometheus.MustNewConstMetric(descMoves, prometheus.CounterValue, float64(g.Moves), g.Name)
			for _, h := range histograms(g.Actions) {
				ch <- prometheus.MustNewConstHistogram(descActionDuration, h.count, h.sum, h.buckets,
					g.Name, h.key.Host, h.key.Agent, h.key.Action)
			}
		}
		for _, b := range g.Backends {
			read := b.HAProxy.Error == ""
			gauge(descHAProxyUp, boolValue(read), g.Name, s.Host, b.Name)
			if !read {
				continue
			}
			gauge(descBackendUp, boolValue(b.HAProxy.Up > 0), g.Name, s.Host, b.Name)
			for _, srv := range b.HAProxy.Servers {
				gauge(descServerUp, boolValue(srv.IsUp()), g.Name, s.Host, b.Name, srv.Name)
			}
		}
	}
}

// histogram is one label set of the duration histogram.
type histogram struct {
	key     Action // Seconds unused
	count   uint64
	sum     float64
	buckets map[float64]uint64 // cumulative: operations of at most the bound
}

// histograms sums actions up per host, agent and operation, in the order first seen.
func histograms(actions []Action) []*histogram {
	var hs []*histogram
	for _, a := range actions {
		key := Action{Host: a.Host, Agent: a.Agent, Action: a.Action}
		i := slices.IndexFunc(hs, func(h *histogram) bool { return h.key == key })
		if i < 0 {
			hs = append(hs, &histogram{key: key, buckets: map[float64]uint64{}})
			i = len(hs) - 1
		}
		h := hs[i]
		h.count++
		h.sum += a.Seconds
		for _, b := range ActionBuckets {
			if a.Seconds <= b {
				h.buckets[b]++
			} else if _, ok := h.buckets[b]; !ok {
				h.buckets[b] = 0
			}
		}
	}
	return hs
}
