package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/haproxy"
	"github.com/vipctl/vipctl/internal/fakeconsul"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// testVIP is the VIP of the test topologies: a loopback address, so that every probe stays
// on this machine.
var testVIP = netip.MustParseAddr("127.0.0.100")

// freePort returns a TCP port free on addr right now.
func freePort(t *testing.T, addr netip.Addr) int {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testTopology is the example's shape on loopback: hosts pg-01..03, group db-a with VIP
// 127.0.0.100/8 (set after loading), one cluster msrvc01 (3 replicas) on free ports; consul.dns names dns.
func testTopology(t *testing.T, dns netip.AddrPort) *topology.Topology {
	t.Helper()
	src := fmt.Sprintf(`
datacenters = ["dc1"]
consul {
  dns = %q
}
corosync {
  cluster_name = "test"
}
pacemaker {
  stonith_enabled = false
}
host "pg-01" {
  address = "192.0.2.11"
}
host "pg-02" {
  address = "192.0.2.12"
}
host "pg-03" {
  address = "192.0.2.13"
}
host_group "db-a" {
  hosts = ["pg-01", "pg-02", "pg-03"]
  vip {
    address = "192.0.2.100/24"
  }
}
cluster "msrvc01" {
  host_group   = "db-a"
  port         = %d
  patroni_port = %d
  stats_port   = %d
  image        = "registry.example/sa-pgsql:15"
}
`, dns, freePort(t, testVIP), freePort(t, testVIP), freePort(t, testVIP))
	topo, err := topology.Parse([]byte(src), "status-test.hcl")
	if err != nil {
		t.Fatal(err)
	}
	// The file format refuses a loopback VIP; the loaded model takes it, for tests only.
	topo.Groups[0].VIP.Prefix = netip.PrefixFrom(testVIP, 8)
	return topo
}

// member is a fake Patroni member: its REST API answers /primary with 200 while leader is
// set, 503 otherwise. HAProxy checks it and sends connections to it.
type member struct {
	addr   netip.AddrPort
	leader atomic.Bool
}

// fakePatroniCluster serves body at /cluster, as Patroni's REST API does, on loopback.
func fakePatroniCluster(t *testing.T, body string) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cluster" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return netip.MustParseAddrPort(l.Addr().String())
}

func startMember(t *testing.T) *member {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &member{addr: netip.MustParseAddrPort(l.Addr().String())}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/primary" && m.leader.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return m
}

var serverTemplateLine = regexp.MustCompile(`(?m)^\s*server-template .*$`)

// startHAProxy runs a real HAProxy with the cluster's rendered haproxy.cfg, changed only to
// bind on the VIP (a loopback address), to check every 100 ms and, when servers are given,
// to list them statically in place of the Consul DNS server-template. It stops with the test
// or when the returned function is called.
func startHAProxy(t *testing.T, topo *topology.Topology, servers []netip.AddrPort, extra ...string) (stop func()) {
	t.Helper()
	haproxyBin := testenv.RequireTool(t, "haproxy")
	c := topo.Clusters[0]
	c.HAProxy = topology.HAProxy{CheckIntervalMS: 100, Fall: 2, Rise: 1, ResolveIntervalMS: 100} // quick, for a test
	cfg, err := haproxy.Config(topo, c)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(cfg), "bind *:", "bind "+testVIP.String()+":")
	if servers != nil {
		var lines []string
		for i, a := range servers {
			lines = append(lines, fmt.Sprintf("    server pg%d %s check", i+1, a))
		}
		s = serverTemplateLine.ReplaceAllLiteralString(s, strings.Join(lines, "\n"))
	}
	for _, line := range extra { // extra lines of the stats listener
		s = strings.Replace(s, "    stats enable\n", "    stats enable\n    "+line+"\n", 1)
	}
	if !strings.Contains(s, "bind "+testVIP.String()) || !strings.Contains(s, "inter 100ms fastinter 100ms") {
		t.Fatalf("the rendered haproxy.cfg changed shape:\n%s", cfg)
	}
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, haproxyBin, "-db", "-f", p)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitHAProxy polls the stats page until ok accepts what it says (deadline 30 s).
func waitHAProxy(t *testing.T, topo *topology.Topology, ok func(HAProxy) bool) HAProxy {
	t.Helper()
	c := topo.Clusters[0]
	addr := netip.AddrPortFrom(testVIP, uint16(c.StatsPort))
	deadline := time.Now().Add(30 * time.Second)
	var h HAProxy
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		h = ReadHAProxy(ctx, &http.Client{}, addr, c.Name)
		cancel()
		if h.Error == "" && ok(h) {
			return h
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("HAProxy stats never as expected; last: %+v", h)
	return h
}

// fakeAddrs reports the VIP present (or not) on this host.
type fakeAddrs struct {
	present map[netip.Addr]bool
	err     error
}

func (f fakeAddrs) Find(a netip.Addr) ([]vip.Address, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.present[a] {
		return []vip.Address{{LinkIndex: 2, Prefix: netip.PrefixFrom(a, 8)}}, nil
	}
	return nil, nil
}

// testProbes are the real TCP and HTTP probes, crm_mon answered from a capture, netlink
// answered by fakeAddrs, and Consul through consul/api against the fake.
func testProbes(t *testing.T, capture string, addrs addrFinder, consul *fakeconsul.Server) probes {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = consul.Addr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return probes{
		run:        &fakeRunner{out: readCapture(t, capture)},
		addrs:      addrs,
		consul:     c.Health(),
		dial:       &net.Dialer{},
		http:       &http.Client{},
		consulAddr: consul.Addr(),
	}
}

func codes(r *Report) []string {
	var cs []string
	for _, p := range r.Problems {
		cs = append(cs, p.Component+"/"+p.Subject+"/"+p.Code)
	}
	return cs
}

func patroni(m *member, name, node string, tags ...string) *api.ServiceEntry {
	return fakeconsul.Member{Scope: "pgsql-msrvc01", Name: name, Node: node, Address: m.addr.Addr().String(),
		Port: int(m.addr.Port()), Tags: tags, Status: api.HealthPassing}.Entry()
}

// One real HAProxy in front of three fake members, Consul faked, crm_mon captured: the
// report is healthy, then says what is wrong as each component goes wrong.
func TestCollectWithRealHAProxy(t *testing.T) {
	topo := testTopology(t, netip.MustParseAddrPort("127.0.0.1:1"))
	// The leader's Patroni REST API (at the leader's address, 127.0.0.1, on patroni_port)
	// reports the replicas' lag.
	topo.Clusters[0].PatroniPort = int(fakePatroniCluster(t, `{"members": [
		{"name": "pgsql-0", "role": "leader", "state": "running"},
		{"name": "pgsql-1", "role": "replica", "state": "streaming", "lag": 0},
		{"name": "pgsql-2", "role": "sync_standby", "state": "streaming", "lag": 4096}]}`).Port())
	c := topo.Clusters[0]
	ms := []*member{startMember(t), startMember(t), startMember(t)}
	ms[0].leader.Store(true)
	stopHAProxy := startHAProxy(t, topo, []netip.AddrPort{ms[0].addr, ms[1].addr, ms[2].addr})
	consul := fakeconsul.New(t)
	setConsul := func(leader int) {
		var es []*api.ServiceEntry
		for i, m := range ms {
			tags := []string{"replica"}
			if i == leader {
				tags = []string{"master", "primary"}
			}
			es = append(es, patroni(m, fmt.Sprintf("pgsql-%d", i), fmt.Sprintf("pg-0%d", i+1), tags...))
		}
		consul.SetService("pgsql-msrvc01", es...)
	}
	setConsul(0)
	// healthy.xml: vip-db-a runs on pg-03, which is this host, and has the address.
	p := testProbes(t, "healthy.xml", fakeAddrs{present: map[netip.Addr]bool{testVIP: true}}, consul)
	opts := Options{Host: "pg-03", Timeout: 2 * time.Second}
	ctx := context.Background()

	t.Run("healthy", func(t *testing.T) {
		waitHAProxy(t, topo, func(h HAProxy) bool {
			return h.Up == 1 && h.Servers[1].Status == "DOWN" && h.Servers[2].Status == "DOWN"
		})
		r := collect(ctx, topo, opts, p)
		members := make([]Member, 3)
		for i, m := range ms {
			members[i] = Member{ID: fmt.Sprintf("pgsql-msrvc01/pgsql-%d", i), Node: fmt.Sprintf("pg-0%d", i+1),
				Address: m.addr, Role: RoleReplica, Tags: []string{"replica"}, Health: api.HealthPassing}
		}
		members[0].Role, members[0].Tags = RoleLeader, []string{"master", "primary"}
		lag0, lag4k := int64(0), int64(4096)
		members[1].LagBytes, members[2].LagBytes = &lag0, &lag4k
		members[2].SyncStandby = true // Patroni's role sync_standby
		want := &Report{
			Host:          "pg-03",
			ConsulAddress: consul.Addr(),
			Healthy:       true,
			Pacemaker:     Pacemaker{DC: "pg-01", Quorate: true, Nodes: nodes(allOnline), Failed: []FailedAction{}},
			Groups: []Group{{
				Name: "db-a", VIP: netip.PrefixFrom(testVIP, 8), Hosts: []string{"pg-01", "pg-02", "pg-03"},
				Resource: "vip-db-a", Role: "Started", RunningOn: []string{"pg-03"},
				Local:     &LocalVIP{Host: "pg-03", Holder: true, Present: true, Usable: true},
				LastMoves: []journal.Move{},
				Clusters: []Cluster{{
					Name:    "msrvc01",
					Address: netip.AddrPortFrom(testVIP, uint16(c.Port)),
					Reach:   Reach{OK: true},
					Consul: Consul{Service: "pgsql-msrvc01", Replicas: 3, Healthy: 3,
						Leaders: []string{"pgsql-msrvc01/pgsql-0"}, Members: members},
					HAProxy: HAProxy{
						URL: fmt.Sprintf("http://%s:%d/;csv", testVIP, c.StatsPort),
						Up:  1,
						Servers: []Server{
							// The stats page of the rendered config hides server addresses.
							{Name: "pg1", Status: "UP", Check: "L7OK"},
							{Name: "pg2", Status: "DOWN", Check: "L7STS"},
							{Name: "pg3", Status: "DOWN", Check: "L7STS"},
						},
					},
				}},
			}},
			Problems: []Problem{},
		}
		if d := cmp.Diff(want, r, netipCmp); d != "" {
			t.Errorf("report (-want +got):\n%s", d)
		}
	})

	t.Run("two servers UP", func(t *testing.T) {
		ms[1].leader.Store(true)
		waitHAProxy(t, topo, func(h HAProxy) bool { return h.Up == 2 })
		r := collect(ctx, topo, opts, p)
		if d := cmp.Diff([]string{"haproxy/msrvc01/" + CodeHAProxyMultipleUp}, codes(r)); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
		ms[1].leader.Store(false)
		waitHAProxy(t, topo, func(h HAProxy) bool { return h.Up == 1 })
	})

	t.Run("no leader in Consul, a member critical", func(t *testing.T) {
		es := []*api.ServiceEntry{
			patroni(ms[0], "pgsql-0", "pg-01", "replica"),
			patroni(ms[1], "pgsql-1", "pg-02", "replica"),
			patroni(ms[2], "pgsql-2", "pg-03", "replica"),
		}
		es[2].Checks[1].Status = api.HealthCritical
		consul.SetService("pgsql-msrvc01", es...)
		defer setConsul(0)
		r := collect(ctx, topo, opts, p)
		want := []string{"consul/msrvc01/" + CodeNoLeader, "consul/msrvc01/" + CodeMembersMissing}
		if d := cmp.Diff(want, codes(r)); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
		if got, want := r.Problems[1].Reason, "2 of 3 members of pgsql-msrvc01 healthy (3 registered; pgsql-msrvc01/pgsql-2 critical)"; got != want {
			t.Errorf("reason %q; want %q", got, want)
		}
	})

	t.Run("Consul has no cluster leader", func(t *testing.T) {
		consul.Fail(http.StatusInternalServerError, "No cluster leader")
		defer consul.Fail(0, "")
		r := collect(ctx, topo, opts, p)
		if d := cmp.Diff([]string{"consul/msrvc01/" + CodeConsulUnreachable}, codes(r)); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
		if !strings.Contains(r.Problems[0].Reason, "No cluster leader") {
			t.Errorf("reason %q does not carry Consul's answer", r.Problems[0].Reason)
		}
	})

	t.Run("HAProxy stopped", func(t *testing.T) {
		stopHAProxy()
		r := collect(ctx, topo, opts, p)
		want := []string{"vip/msrvc01/" + CodeVIPUnreachable, "haproxy/msrvc01/" + CodeHAProxyUnreachable}
		if d := cmp.Diff(want, codes(r)); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
		var op *net.OpError
		if _, err := net.Dial("tcp", r.Groups[0].Clusters[0].Address.String()); !errors.As(err, &op) {
			t.Errorf("VIP:port still answers after HAProxy stopped: %v", err)
		}
	})
}

// The rendered haproxy.cfg as it is (binds aside), with Consul DNS not answering: HAProxy
// never resolves a server and status says no server is UP, naming their state.
func TestCollectHAProxyWithoutConsulDNS(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a resolver that never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	topo := testTopology(t, netip.MustParseAddrPort(pc.LocalAddr().String()))
	startHAProxy(t, topo, nil)
	h := waitHAProxy(t, topo, func(HAProxy) bool { return true })
	consul := fakeconsul.New(t)
	m := startMember(t)
	consul.SetService("pgsql-msrvc01",
		patroni(m, "pgsql-0", "pg-01", "master", "primary"),
		patroni(m, "pgsql-1", "pg-02", "replica"),
		patroni(m, "pgsql-2", "pg-03", "replica"))
	p := testProbes(t, "healthy.xml", fakeAddrs{}, consul)
	r := collect(context.Background(), topo, Options{Host: "pg-01", Timeout: 2 * time.Second}, p)
	if d := cmp.Diff([]string{"haproxy/msrvc01/" + CodeHAProxyNoServerUp}, codes(r)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	want := []Server{
		{Name: "pg1", Status: "MAINT (resolution)", Address: ""},
		{Name: "pg2", Status: "MAINT (resolution)", Address: ""},
		{Name: "pg3", Status: "MAINT (resolution)", Address: ""},
	}
	if d := cmp.Diff(want, h.Servers); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if !slices.ContainsFunc(r.Problems, func(p Problem) bool { return strings.Contains(p.Reason, "pg1 MAINT (resolution)") }) {
		t.Errorf("the reason does not name the servers' state: %+v", r.Problems)
	}
}

// Every component hangs: crm_mon never exits, Consul and the stats page accept and never
// answer. collect still returns, each component reported as giving no answer.
func TestCollectEverythingHangs(t *testing.T) {
	topo := testTopology(t, netip.MustParseAddrPort("127.0.0.1:1"))
	c := topo.Clusters[0]
	release := make(chan struct{})
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	serve := func(addr string) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: hang}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close() })
	}
	serve(netip.AddrPortFrom(testVIP, uint16(c.StatsPort)).String())
	serve(netip.AddrPortFrom(testVIP, uint16(c.Port)).String()) // accepts: TCP is fine
	consulAddr := netip.AddrPortFrom(testVIP, uint16(freePort(t, testVIP))).String()
	serve(consulAddr)
	defer close(release)

	cfg := api.DefaultConfig()
	cfg.Address = consulAddr
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := probes{run: &fakeRunner{block: true}, consul: client.Health(), dial: &net.Dialer{}, http: &http.Client{}, consulAddr: consulAddr}
	r := collect(context.Background(), topo, Options{Timeout: 200 * time.Millisecond, CrmMonTimeout: 200 * time.Millisecond}, p)
	want := []string{
		"pacemaker/cluster/" + CodePacemakerUnreachable,
		"consul/msrvc01/" + CodeConsulUnreachable,
		"haproxy/msrvc01/" + CodeHAProxyUnreachable,
	}
	if d := cmp.Diff(want, codes(r)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	for _, p := range r.Problems {
		if !strings.Contains(p.Reason, "no answer: "+context.DeadlineExceeded.Error()) {
			t.Errorf("%s: reason %q does not say there was no answer", p.Code, p.Reason)
		}
	}
}

// With "stats show-legends" the stats page shows each server's address, and status checks
// that HAProxy's UP server is the leader Consul names (the rendered config does not show them).
func TestCollectHAProxyShowLegends(t *testing.T) {
	topo := testTopology(t, netip.MustParseAddrPort("127.0.0.1:1"))
	ms := []*member{startMember(t), startMember(t)}
	ms[0].leader.Store(true)
	startHAProxy(t, topo, []netip.AddrPort{ms[0].addr, ms[1].addr}, "stats show-legends")
	h := waitHAProxy(t, topo, func(h HAProxy) bool { return h.Up == 1 && h.Servers[1].Status == "DOWN" })
	if got, want := h.Servers[0].Address, ms[0].addr.String(); got != want {
		t.Fatalf("server address %q; want %q", got, want)
	}
	consul := fakeconsul.New(t)
	p := testProbes(t, "healthy.xml", nil, consul)
	topo.Clusters[0].Replicas = 2
	for leader, want := range map[int][]string{0: nil, 1: {"haproxy/msrvc01/" + CodeHAProxyNotLeader}} {
		consul.SetService("pgsql-msrvc01",
			patroni(ms[0], "pgsql-0", "pg-01", map[bool]string{true: "master", false: "replica"}[leader == 0]),
			patroni(ms[1], "pgsql-1", "pg-02", map[bool]string{true: "master", false: "replica"}[leader == 1]))
		r := collect(context.Background(), topo, Options{Timeout: 2 * time.Second}, p)
		if d := cmp.Diff(want, codes(r)); d != "" {
			t.Errorf("leader pgsql-%d: problems (-want +got):\n%s\n%+v", leader, d, r.Problems)
		}
	}
}

// Check refuses an Options.Host the topology lacks, with topology's ErrUnknownHost, before
// probing anything.
func TestCheckUnknownHost(t *testing.T) {
	topo := testTopology(t, netip.MustParseAddrPort("127.0.0.1:1"))
	_, err := Check(context.Background(), topo, Options{Host: "pg-09", Timeout: time.Second})
	if !errors.Is(err, topology.ErrUnknownHost) || !strings.Contains(err.Error(), `"pg-09"`) {
		t.Errorf("err = %v, want topology.ErrUnknownHost naming pg-09", err)
	}
}
