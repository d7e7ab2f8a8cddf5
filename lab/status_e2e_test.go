package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/consul/api"

	"github.com/vipctl/vipctl/internal/fakeconsul"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/vip/viptest"
)

// TestStatusInLab runs `vipctl status` inside lab hosts. The lab has Pacemaker, the VIP and
// a TCP listener on the cluster port, but no Consul and no HAProxy: status must say exactly
// that, and exit 3. Then a fake Consul listening inside the holder's network namespace
// stands in for the host's agent, and status finds the leader through it.
func TestStatusInLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, vipctl := upLab(t, ctx, false)
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	topo := l.Topology()
	g := topo.Groups[0]
	c := topo.ClustersOf(g.Name)[0]
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("holders %v (%v); want one", holders, err)
	}
	holder := holders[0]

	// statusIn runs vipctl status -o json in host with the given CONSUL_HTTP_ADDR ("" means
	// the topology's consul.address).
	statusIn := func(t *testing.T, host, consulAddr string) (int, status.Report) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		argv := []string{"env", "CONSUL_HTTP_ADDR=" + consulAddr, vipctl, "status", "-f", l.State().Topology, "-o", "json", "--timeout", "2s"}
		code, err := l.Exec(ctx, host, argv, nil, &stdout, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		var r status.Report
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("status in %s: exit %d, JSON: %v\n%s\nstderr: %s", host, code, err, stdout.String(), stderr.String())
		}
		return code, r
	}
	problems := func(r status.Report) []string {
		var ps []string
		for _, p := range r.Problems {
			ps = append(ps, p.Component+"/"+p.Subject+"/"+p.Code)
		}
		return ps
	}
	var hostNames []string
	for _, h := range topo.Hosts {
		hostNames = append(hostNames, h.Name)
	}

	for _, host := range hostNames {
		t.Run("from "+host+", no Consul", func(t *testing.T) {
			code, r := statusIn(t, host, "")
			if code != 3 {
				t.Errorf("exit %d; want 3 (degraded)", code)
			}
			want := []string{
				"consul/" + c.Name + "/" + status.CodeConsulUnreachable,
				"haproxy/" + c.Name + "/" + status.CodeHAProxyUnreachable,
			}
			if d := cmp.Diff(want, problems(r)); d != "" {
				t.Errorf("problems (-want +got):\n%s\n%+v", d, r.Problems)
			}
			if r.Host != host {
				t.Errorf("status ran as %q; want %q (the host's name)", r.Host, host)
			}
			if !r.Pacemaker.Quorate || len(r.Pacemaker.Nodes) != len(hostNames) {
				t.Errorf("pacemaker %+v; want quorate with %d nodes", r.Pacemaker, len(hostNames))
			}
			grp := r.Groups[0]
			// Pacemaker's word and the address found by netlink in every host agree.
			if d := cmp.Diff([]string{holder}, grp.RunningOn); d != "" {
				t.Errorf("running on (-want +got):\n%s", d)
			}
			wantLocal := &status.LocalVIP{Host: host, Holder: host == holder, Present: host == holder, Usable: host == holder}
			if d := cmp.Diff(wantLocal, grp.Local); d != "" {
				t.Errorf("local view (-want +got):\n%s", d)
			}
			if !grp.Clusters[0].Reach.OK {
				t.Errorf("TCP to %s failed: %s", grp.Clusters[0].Address, grp.Clusters[0].Reach.Error)
			}
		})
	}

	t.Run("fake Consul inside the holder", func(t *testing.T) {
		hs, err := l.state.host(holder)
		if err != nil {
			t.Fatal(err)
		}
		consul := fakeconsul.Serve(t, listenIn(t, hs.NetNS))
		var entries []*api.ServiceEntry
		for i, h := range topo.Hosts {
			tags := []string{"replica"}
			if h.Name == holder {
				tags = []string{"master", "primary"}
			}
			entries = append(entries, fakeconsul.Member{Scope: "pgsql-" + c.Name, Name: "pgsql-" + strconv.Itoa(i), Node: h.Name,
				Address: h.Address.String(), Port: 23000 + i, Tags: tags, Status: api.HealthPassing}.Entry())
		}
		consul.SetService("pgsql-"+c.Name, entries...)

		code, r := statusIn(t, holder, consul.Addr())
		if code != 3 {
			t.Errorf("exit %d; want 3 (HAProxy is still missing)", code)
		}
		if d := cmp.Diff([]string{"haproxy/" + c.Name + "/" + status.CodeHAProxyUnreachable}, problems(r)); d != "" {
			t.Errorf("problems (-want +got):\n%s\n%+v", d, r.Problems)
		}
		cs := r.Groups[0].Clusters[0].Consul
		i := slices.Index(hostNames, holder)
		if d := cmp.Diff([]string{"pgsql-" + c.Name + "/pgsql-" + string(rune('0'+i))}, cs.Leaders); d != "" {
			t.Errorf("leaders (-want +got):\n%s", d)
		}
		if cs.Healthy != 3 || cs.Replicas != 3 {
			t.Errorf("healthy %d of %d; want 3 of 3", cs.Healthy, cs.Replicas)
		}
		if len(consul.Requests()) == 0 {
			t.Error("status never asked the fake Consul")
		}
	})

	// Everything there: the fake Consul and a real HAProxy (the rendered haproxy.cfg, its
	// client port moved off the lab's listener, static servers in place of Consul DNS) inside
	// the holder's network namespace, in front of three fake Patroni REST APIs of which only
	// the leader's answers /primary. status from the holder is healthy and exits 0.
	t.Run("healthy with Consul and HAProxy in the holder", func(t *testing.T) {
		haproxy := testenv.RequireTool(t, "haproxy")
		hs, err := l.state.host(holder)
		if err != nil {
			t.Fatal(err)
		}
		consul := fakeconsul.Serve(t, listenIn(t, hs.NetNS))
		var servers []string
		var entries []*api.ServiceEntry
		for i, h := range topo.Hosts {
			leader := h.Name == holder
			ln := listenIn(t, hs.NetNS)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/primary" && leader {
					w.WriteHeader(http.StatusOK)
					return
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			})}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { srv.Close() })
			servers = append(servers, fmt.Sprintf("    server pg%d %s check", i+1, ln.Addr()))
			tags := []string{"replica"}
			if leader {
				tags = []string{"master", "primary"}
			}
			entries = append(entries, fakeconsul.Member{Scope: "pgsql-" + c.Name, Name: "pgsql-" + strconv.Itoa(i), Node: h.Name,
				Address: h.Address.String(), Port: 23000 + i, Tags: tags, Status: api.HealthPassing}.Entry())
		}
		consul.SetService("pgsql-"+c.Name, entries...)

		cfg, err := nomad.HAProxyConfig(topo, c)
		if err != nil {
			t.Fatal(err)
		}
		// The lab's listener holds the cluster port: HAProxy's client side takes a free one.
		free := listenIn(t, hs.NetNS)
		clientBind := "bind " + free.Addr().String() + "\n"
		free.Close()
		text := strings.Replace(string(cfg), fmt.Sprintf("bind *:%d\n", c.Port), clientBind, 1)
		text = strings.Replace(text, "inter 3s fall 3 rise 2", "inter 200ms fall 2 rise 1", 1)
		text = regexp.MustCompile(`(?m)^\s*server-template .*$`).ReplaceAllLiteralString(text, strings.Join(servers, "\n"))
		if !strings.Contains(text, clientBind) || !strings.Contains(text, "inter 200ms") || !strings.Contains(text, "server pg1 ") {
			t.Fatalf("the rendered haproxy.cfg changed shape:\n%s", cfg)
		}
		file := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		hctx, stop := context.WithCancel(ctx)
		cmd := exec.CommandContext(hctx, "ip", "netns", "exec", hs.NetNS, haproxy, "-db", "-f", file)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			stop()
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer func() {
			stop()
			<-exited
		}()

		// HAProxy's checks take a moment to mark the replicas down: poll for the verdict.
		var code int
		var r status.Report
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		err = wait.Until(wctx, 200*time.Millisecond, func() (bool, error) {
			select {
			case err := <-exited:
				exited <- err
				return false, fmt.Errorf("haproxy exited: %v", err)
			default:
			}
			code, r = statusIn(t, holder, consul.Addr())
			return code == 0, nil
		})
		if err != nil {
			t.Fatalf("status never healthy: exit %d, problems %+v\nHAProxy:\n%s", code, r.Problems, logs.String())
		}
		if !r.Healthy || len(r.Problems) != 0 {
			t.Errorf("exit 0 but healthy %v, problems %+v", r.Healthy, r.Problems)
		}
		h := r.Groups[0].Clusters[0].HAProxy
		i := slices.Index(hostNames, holder)
		if h.Up != 1 || !h.Servers[i].IsUp() {
			t.Errorf("HAProxy %+v; want only pg%d (the leader's) UP", h, i+1)
		}
	})

	// The holder's link fails: the survivors move the VIP and say the old holder is offline;
	// the isolated host says it has no quorum and runs no VIP.
	t.Run("holder's link cut", func(t *testing.T) {
		if err := l.Fail(ctx, holder, true); err != nil {
			t.Fatal(err)
		}
		d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
		survivor := d.waitHolderOtherThan(ctx, holder)
		d.settle(ctx) // Pacemaker has recorded the start on the survivor

		code, r := statusIn(t, survivor, "")
		if code != 3 {
			t.Errorf("survivor: exit %d; want 3", code)
		}
		want := []string{
			"pacemaker/" + holder + "/" + status.CodeNodeNotOnline,
			"consul/" + c.Name + "/" + status.CodeConsulUnreachable,
			"haproxy/" + c.Name + "/" + status.CodeHAProxyUnreachable,
		}
		if d := cmp.Diff(want, problems(r)); d != "" {
			t.Errorf("survivor's problems (-want +got):\n%s\n%+v", d, r.Problems)
		}
		if d := cmp.Diff([]string{survivor}, r.Groups[0].RunningOn); d != "" {
			t.Errorf("survivor: running on (-want +got):\n%s", d)
		}
		if l := r.Groups[0].Local; l == nil || !l.Holder || !l.Present {
			t.Errorf("survivor's local view %+v; want holder with the address", l)
		}

		code, r = statusIn(t, holder, "")
		if code != 3 {
			t.Errorf("isolated host: exit %d; want 3", code)
		}
		got := problems(r)
		for _, w := range []string{
			"pacemaker/cluster/" + status.CodeNoQuorum,
			"vip/" + g.Name + "/" + status.CodeVIPStopped,
			"vip/" + c.Name + "/" + status.CodeVIPUnreachable,
		} {
			if !slices.Contains(got, w) {
				t.Errorf("the isolated host does not report %s: %v", w, got)
			}
		}
		if l := r.Groups[0].Local; l == nil || l.Present {
			t.Errorf("isolated host's local view %+v; want the address gone", l)
		}
	})
}

// listenIn opens a TCP listener on a free loopback port inside network namespace ns; the
// socket stays in that namespace whatever goroutine serves it.
func listenIn(t *testing.T, ns string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	viptest.InNetns(t, ns, func() { ln, err = net.Listen("tcp", "127.0.0.1:0") })
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
