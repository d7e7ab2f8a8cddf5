package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

func exampleTopology(t *testing.T) *topology.Topology {
	t.Helper()
	topo, err := topology.Load("../examples/vipctl.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// statsCSV is HAProxy 2.6's stats CSV, cut to the columns status reads: msrvc01 with its
// leader pg2 UP and pg1 DOWN, msrvc02 with no server UP.
const statsCSV = `# pxname,svname,status,check_status,addr
msrvc01,FRONTEND,OPEN,,
msrvc01,pg1,DOWN,* L7STS,10.20.0.11:23001
msrvc01,pg2,UP,L7OK,10.20.0.12:23002
msrvc01,BACKEND,UP,,
msrvc02,FRONTEND,OPEN,,
msrvc02,pg1,DOWN,L4CON,10.20.0.11:23003
msrvc02,BACKEND,DOWN,,
`

// fakeAddrs is this host's address list.
type fakeAddrs struct {
	addrs []netip.Addr
	err   error
}

func (f fakeAddrs) Find(a netip.Addr) ([]vip.Address, error) {
	var found []vip.Address
	for _, x := range f.addrs {
		if x == a {
			found = append(found, vip.Address{Prefix: netip.PrefixFrom(x, 24)})
		}
	}
	return found, f.err
}

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// history is a journal: the VIP started on pg-01, then pg-01 was lost and it started on pg-02.
var history = []journal.Event{
	{Time: t0, Kind: journal.KindResource, Node: "pg-01", RecordedBy: "pg-02", Resource: "vip-db-a", Task: "start", ExecMS: 12, Desc: "ok"},
	{Time: t0.Add(time.Second), Kind: journal.KindResource, Node: "pg-01", RecordedBy: "pg-02", Resource: "vipctl-health-db-a:0", Task: "monitor", ExecMS: 3, Desc: "ok"},
	{Time: t0.Add(time.Minute), Kind: journal.KindNode, Node: "pg-01", RecordedBy: "pg-02", Desc: "lost"},
	{Time: t0.Add(time.Minute + 4*time.Second), Kind: journal.KindResource, Node: "pg-02", RecordedBy: "pg-02", Resource: "vip-db-a", Task: "start", ExecMS: 30, Desc: "ok"},
	{Time: t0.Add(time.Minute + 5*time.Second), Kind: journal.KindResource, Node: "pg-02", RecordedBy: "pg-02", Resource: "vip-db-a", Task: "monitor", ExecMS: 0, Desc: "ok"},
	{Time: t0.Add(time.Minute + 6*time.Second), Kind: journal.KindResource, Node: "pg-02", RecordedBy: "pg-02", Resource: "other", Task: "start", ExecMS: 5000, Desc: "ok"},
}

// fakeSources: crm_mon says vip-db-a runs on pg-02 (quorate), this host holds the VIP, the
// journal has history and HAProxy's stats are statsCSV, served over HTTP and read by status's
// reader (the port asked for is recorded).
func fakeSources(t *testing.T, asked *[]netip.AddrPort) sources {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" || r.URL.Path != "/;csv" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, statsCSV)
	}))
	t.Cleanup(srv.Close)
	real := netip.MustParseAddrPort(srv.Listener.Addr().String())
	var mu sync.Mutex
	return sources{
		crmMon: func(context.Context) (pcmk.Report, error) {
			return pcmk.Report{DC: "pg-01", Quorate: true, Resources: []pcmk.Resource{
				{ID: "vipctl-health-db-a", Role: "Started", Active: true, Nodes: []string{"pg-01"}},
				{ID: "vip-db-a", Agent: "ocf:vipctl:vip", Role: "Started", Active: true, Nodes: []string{"pg-02"}},
			}}, nil
		},
		netlink: func(time.Time) (addrFinder, func(), error) {
			return fakeAddrs{addrs: []netip.Addr{netip.MustParseAddr("10.20.0.100")}}, func() {}, nil
		},
		journal: func() ([]journal.Event, error) { return history, nil },
		haproxy: func(ctx context.Context, stats netip.AddrPort, proxy string) status.HAProxy {
			mu.Lock()
			*asked = append(*asked, stats)
			mu.Unlock()
			return status.ReadHAProxy(ctx, srv.Client(), real, proxy)
		},
	}
}

// scrape gathers s through a registry, writes it in the text format and parses it back with
// Prometheus's parser.
func scrape(t *testing.T, c prometheus.Collector) Samples {
	t.Helper()
	mfs, err := Registry(c).Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Parse(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	return s
}

func histogramSamples(name, labels string, count int, sum float64, atMost map[float64]int) Samples {
	s := Samples{}
	for _, b := range ActionBuckets {
		s[name+"_bucket{"+labels+`,le="`+strconv.FormatFloat(b, 'g', -1, 64)+`"}`] = float64(atMost[b])
	}
	s[name+"_bucket{"+labels+`,le="+Inf"}`] = float64(count)
	s[name+"_sum{"+labels+"}"] = sum
	s[name+"_count{"+labels+"}"] = float64(count)
	return s
}

// cumulative turns "values" into the cumulative counts per bucket.
func cumulative(values ...float64) map[float64]int {
	m := map[float64]int{}
	for _, b := range ActionBuckets {
		for _, v := range values {
			if v <= b {
				m[b]++
			}
		}
	}
	return m
}

func TestCollectAll(t *testing.T) {
	topo := exampleTopology(t)
	var asked []netip.AddrPort
	c := &Collector{ctx: context.Background(), topo: topo, opts: Options{Host: "pg-02"}, src: fakeSources(t, &asked)}
	got := scrape(t, c)

	want := Samples{
		`vipctl_source_up{source="crm_mon"}`:                                                 1,
		`vipctl_source_up{source="journal"}`:                                                 1,
		`vipctl_source_up{source="netlink"}`:                                                 1,
		`vipctl_pacemaker_quorate`:                                                           1,
		`vipctl_vip_holder{group="db-a",host="pg-01"}`:                                       0,
		`vipctl_vip_holder{group="db-a",host="pg-02"}`:                                       1,
		`vipctl_vip_holder{group="db-a",host="pg-03"}`:                                       0,
		`vipctl_vip_address_present{group="db-a",host="pg-02"}`:                              1,
		`vipctl_vip_moves_total{group="db-a"}`:                                               1,
		`vipctl_haproxy_up{backend="msrvc01",group="db-a",host="pg-02"}`:                     1,
		`vipctl_haproxy_up{backend="msrvc02",group="db-a",host="pg-02"}`:                     1,
		`vipctl_haproxy_backend_up{backend="msrvc01",group="db-a",host="pg-02"}`:             1,
		`vipctl_haproxy_backend_up{backend="msrvc02",group="db-a",host="pg-02"}`:             0,
		`vipctl_haproxy_server_up{backend="msrvc01",group="db-a",host="pg-02",server="pg1"}`: 0,
		`vipctl_haproxy_server_up{backend="msrvc01",group="db-a",host="pg-02",server="pg2"}`: 1,
		`vipctl_haproxy_server_up{backend="msrvc02",group="db-a",host="pg-02",server="pg1"}`: 0,
	}
	const d = NameActionDuration
	for k, v := range histogramSamples(d, `action="start",agent="vip",group="db-a",host="pg-01"`, 1, 0.012, cumulative(0.012)) {
		want[k] = v
	}
	for k, v := range histogramSamples(d, `action="monitor",agent="health",group="db-a",host="pg-01"`, 1, 0.003, cumulative(0.003)) {
		want[k] = v
	}
	for k, v := range histogramSamples(d, `action="start",agent="vip",group="db-a",host="pg-02"`, 1, 0.030, cumulative(0.030)) {
		want[k] = v
	}
	for k, v := range histogramSamples(d, `action="monitor",agent="vip",group="db-a",host="pg-02"`, 1, 0, cumulative(0)) {
		want[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrape (-want +got):\n%s", diff)
	}
	slices.SortFunc(asked, netip.AddrPort.Compare)
	wantAsked := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:6001"), netip.MustParseAddrPort("127.0.0.1:7002")}
	if diff := cmp.Diff(wantAsked, asked, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("HAProxy stats read at (-want +got):\n%s", diff)
	}
}

// A source that fails is 0 in vipctl_source_up and its metrics are left out, not given as 0.
func TestCollectFailedSources(t *testing.T) {
	topo := exampleTopology(t)
	var asked []netip.AddrPort
	src := fakeSources(t, &asked)
	src.crmMon = func(context.Context) (pcmk.Report, error) { return pcmk.Report{}, errors.New("crm_mon: not connected") }
	src.netlink = func(time.Time) (addrFinder, func(), error) { return nil, nil, errors.New("netlink: permission denied") }
	src.journal = func() ([]journal.Event, error) { return nil, os.ErrPermission }
	src.haproxy = func(_ context.Context, stats netip.AddrPort, proxy string) status.HAProxy {
		return status.HAProxy{URL: "http://" + stats.String() + "/;csv", Error: "connection refused"}
	}
	c := &Collector{ctx: context.Background(), topo: topo, opts: Options{Host: "pg-01"}, src: src}
	want := Samples{
		`vipctl_source_up{source="crm_mon"}`:                             0,
		`vipctl_source_up{source="journal"}`:                             0,
		`vipctl_source_up{source="netlink"}`:                             0,
		`vipctl_haproxy_up{backend="msrvc01",group="db-a",host="pg-01"}`: 0,
		`vipctl_haproxy_up{backend="msrvc02",group="db-a",host="pg-01"}`: 0,
	}
	if diff := cmp.Diff(want, scrape(t, c)); diff != "" {
		t.Errorf("scrape (-want +got):\n%s", diff)
	}

	// netlink opens but a lookup fails: no group gets a value.
	src.netlink = func(time.Time) (addrFinder, func(), error) {
		return fakeAddrs{err: errors.New("netlink: list addresses: timeout")}, func() {}, nil
	}
	c.src = src
	if got := scrape(t, c); got[`vipctl_source_up{source="netlink"}`] != 0 || len(got.Select(NamePresent)) != 0 {
		t.Errorf("a failed address lookup: source_up %v, present %v; want 0 and none", got[`vipctl_source_up{source="netlink"}`], got.Select(NamePresent))
	}
}

// On a machine that is no host of the topology, nothing about "this host" is exported: no
// address, no HAProxy, no netlink source; the cluster-wide holder still is.
func TestCollectNoHost(t *testing.T) {
	topo := exampleTopology(t)
	var asked []netip.AddrPort
	c := &Collector{ctx: context.Background(), topo: topo, opts: Options{}, src: fakeSources(t, &asked)}
	got := scrape(t, c)
	for _, name := range []string{NamePresent, NameHAProxyUp, NameBackendUp, NameServerUp} {
		if s := got.Select(name); len(s) != 0 {
			t.Errorf("%s exported without a host: %v", name, s)
		}
	}
	if _, ok := got[`vipctl_source_up{source="netlink"}`]; ok || len(asked) != 0 {
		t.Errorf("netlink source reported or HAProxy asked (%v) without a host", asked)
	}
	if got[`vipctl_vip_holder{group="db-a",host="pg-02"}`] != 1 {
		t.Errorf("holder missing: %v", got.Select(NameHolder))
	}
}

// A VIP crm_mon lists on a node outside its group (a configuration gone wrong) is shown there.
func TestHolderOutsideGroup(t *testing.T) {
	topo := exampleTopology(t)
	var asked []netip.AddrPort
	src := fakeSources(t, &asked)
	src.crmMon = func(context.Context) (pcmk.Report, error) {
		return pcmk.Report{Resources: []pcmk.Resource{{ID: "vip-db-a", Active: true, Nodes: []string{"pg-01", "stray"}}}}, nil
	}
	c := &Collector{ctx: context.Background(), topo: topo, opts: Options{}, src: src}
	want := Samples{
		`vipctl_vip_holder{group="db-a",host="pg-01"}`: 1,
		`vipctl_vip_holder{group="db-a",host="pg-02"}`: 0,
		`vipctl_vip_holder{group="db-a",host="pg-03"}`: 0,
		`vipctl_vip_holder{group="db-a",host="stray"}`: 1,
	}
	if diff := cmp.Diff(want, scrape(t, c).Select(NameHolder)); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
}

// WriteTextfile replaces the file whole, readable by node_exporter, and leaves no temporary
// file; when gathering fails the old file stays as it was.
func TestWriteTextfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vipctl.prom")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	topo := exampleTopology(t)
	var asked []netip.AddrPort
	c := &Collector{ctx: context.Background(), topo: topo, opts: Options{Host: "pg-02"}, src: fakeSources(t, &asked)}
	if err := WriteTextfile(path, Registry(c)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(scrape(t, c), got); diff != "" {
		t.Errorf("textfile against a scrape (-scrape +file):\n%s", diff)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v); want 0644", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v; want only vipctl.prom", entries)
	}

	before, _ := os.ReadFile(path)
	failing := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return nil, errors.New("gather failed") })
	if err := WriteTextfile(path, failing); err == nil {
		t.Error("WriteTextfile succeeded with a failing gatherer")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the file")
	}
	if err := WriteTextfile(filepath.Join(dir, "missing", "x.prom"), Registry(c)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing directory: %v; want an error matching os.ErrNotExist", err)
	}
}

// Serve answers GET /metrics with the collector's metrics and the process's own, and stops
// when its context ends.
func TestServe(t *testing.T) {
	topo := exampleTopology(t)
	var asked []netip.AddrPort
	c := &Collector{ctx: context.Background(), topo: topo, opts: Options{Host: "pg-02"}, src: fakeSources(t, &asked)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, c, discardLogger()) }()
	resp, err := http.Get("http://" + l.Addr().String() + Path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got[`vipctl_vip_holder{group="db-a",host="pg-02"}`] != 1 || len(got.Select("process_start_time_seconds")) != 1 {
		t.Errorf("scrape lacks the holder or the process metrics: %v", got.Select(NameHolder))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop after its context ended")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
