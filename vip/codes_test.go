package vip

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/vip/viptest"
)

// codes is the exit code of each action, run in this order on one state.
type codes struct{ Probe, Monitor, Validate, Start, Stop int }

// TestExitCodes runs every action against every condition in fresh namespaces and checks the
// OCF exit codes, that every failure carries an ocf-exit-reason, and that stop leaves no entry.
func TestExitCodes(t *testing.T) {
	const vip = "10.99.0.100"
	base := map[string]string{"ip": vip, "cidr_netmask": "24", "nic": "veth0", "arp_count": "1", "dad_probe": "false"}
	start := func(t *testing.T, e *agentEnv) {
		if code, stderr := e.run("start"); code != OCFSuccess {
			t.Fatalf("setup start: %d %s", code, stderr)
		}
	}
	for _, tc := range []struct {
		name   string
		params map[string]string // merged over base; "" removes
		setup  func(t *testing.T, p *viptest.Pair, e *agentEnv)
		want   codes
	}{
		{name: "stopped", want: codes{7, 7, 0, 0, 0}},
		{name: "running", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) { start(t, e) },
			want: codes{0, 0, 0, 0, 0}},
		{name: "running without nic", params: map[string]string{"nic": "", "cidr_netmask": ""},
			setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) { start(t, e) }, want: codes{0, 0, 0, 0, 0}},
		{name: "removed behind the agent's back", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			start(t, e)
			viptest.IP(t, p.A, "addr", "del", vip+"/24", "dev", p.IfA)
		}, want: codes{7, 7, 0, 0, 0}},
		{name: "link set down", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			start(t, e)
			viptest.IP(t, p.A, "link", "set", p.IfA, "down")
		}, want: codes{0, 7, 0, 5, 0}},
		{name: "carrier lost", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			start(t, e)
			viptest.IP(t, p.B, "link", "set", p.IfB, "down")
		}, want: codes{0, 7, 0, 5, 0}},
		{name: "link down without nic", params: map[string]string{"nic": ""}, setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			start(t, e)
			viptest.IP(t, p.A, "link", "set", p.IfA, "down") // the routes of veth0 are gone too
		}, want: codes{0, 7, 5, 5, 0}},
		{name: "on another interface", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			viptest.IP(t, p.A, "link", "add", "veth2", "type", "veth", "peer", "name", "veth3")
			viptest.IP(t, p.A, "link", "set", "veth2", "up")
			viptest.IP(t, p.A, "link", "set", "veth3", "up")
			viptest.IP(t, p.A, "addr", "add", vip+"/24", "dev", "veth2")
		}, want: codes{0, 1, 0, 1, 0}},
		{name: "duplicate on the wire", params: map[string]string{"dad_probe": "true", "CRM_meta_timeout": "2000"},
			setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
				viptest.IP(t, p.B, "addr", "add", vip+"/24", "dev", p.IfB)
			}, want: codes{7, 7, 0, 1, 0}},
		{name: "namespace missing", params: map[string]string{"network_namespace": "vipctl-no-such-ns"},
			want: codes{5, 5, 5, 5, 0}},
		{name: "interface missing", params: map[string]string{"nic": "nosuch0"}, want: codes{7, 7, 5, 5, 0}},
		{name: "no route and no nic", params: map[string]string{"nic": "", "ip": "192.0.2.10"}, want: codes{7, 7, 5, 5, 0}},
		{name: "present with another prefix length", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			viptest.IP(t, p.A, "addr", "add", vip+"/32", "dev", p.IfA)
		}, want: codes{0, 1, 0, 0, 0}}, // monitor reports the mismatch; start puts it right
		{name: "pidfile path is a directory", setup: func(t *testing.T, p *viptest.Pair, e *agentEnv) {
			start(t, e)
			pf := pidfile(e.runDir, p.A, netip.MustParseAddr(vip))
			if err := os.RemoveAll(pf); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(pf, 0o755); err != nil {
				t.Fatal(err)
			}
		}, want: codes{0, 0, 0, 1, 0}}, // start: this host cannot track its helper (1); stop: the address is gone, the rest is a warning
		{name: "network address", params: map[string]string{"ip": "10.99.0.0"}, want: codes{6, 6, 6, 6, 6}},
		{name: "broadcast address", params: map[string]string{"ip": "10.99.0.255"}, want: codes{6, 6, 6, 6, 6}},
		{name: "no ip", params: map[string]string{"ip": ""}, want: codes{6, 6, 6, 6, 6}},
		{name: "malformed ip", params: map[string]string{"ip": "10.99.0"}, want: codes{6, 6, 6, 6, 6}},
		{name: "prefix and netmask disagree", params: map[string]string{"ip": vip + "/16"}, want: codes{6, 6, 6, 6, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair := viptest.NewPair(t)
			e := newAgentEnv(t, pair, base)
			for k, v := range tc.params {
				e.params[k] = v
			}
			if tc.setup != nil {
				tc.setup(t, pair, e)
			}
			var got codes
			var reasons []string
			for _, step := range []struct {
				action string
				code   *int
				extra  []string
			}{
				{"monitor", &got.Probe, []string{"CRM_meta_interval", "0"}},
				{"monitor", &got.Monitor, []string{"CRM_meta_interval", "10000"}},
				{"validate-all", &got.Validate, nil},
				{"start", &got.Start, nil},
				{"stop", &got.Stop, nil},
			} {
				code, stderr := e.run(step.action, step.extra...)
				*step.code = code
				// Pacemaker takes the reason from the line of stderr that starts with the prefix
				// (a start that waited for a duplicate writes a line before it).
				if code != OCFSuccess && !strings.HasPrefix(stderr, "ocf-exit-reason:") && !strings.Contains(stderr, "\nocf-exit-reason:") {
					t.Errorf("%s exited %d without ocf-exit-reason: %q", step.action, code, stderr)
				}
				reasons = append(reasons, step.action+": "+strings.TrimSpace(stderr))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("exit codes (-want +got):\n%s\n%s", d, strings.Join(reasons, "\n"))
			}
			if got.Stop == OCFSuccess && tc.params["network_namespace"] == "" {
				if a, err := netip.ParseAddr(e.params["ip"]); err == nil {
					wantAddrs(t, pair.A, a)
				}
			}
		})
	}
}

func TestMetadataAndUnknownAction(t *testing.T) {
	e := &agentEnv{t: t, runDir: t.TempDir(), params: map[string]string{}}
	if code, _ := e.run("meta-data"); code != OCFSuccess {
		t.Errorf("meta-data without parameters: %d", code)
	}
	if code, _ := e.run("reload-agent"); code != OCFErrUnimplemented {
		t.Errorf("reload-agent: %d, want %d", code, OCFErrUnimplemented)
	}
}

func TestLinkDownUp(t *testing.T) {
	pair := viptest.NewPair(t)
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100/24", "nic": pair.IfA, "arp_count": "1",
		"CRM_meta_interval": "10000"})
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start: %d %s", code, stderr)
	}
	viptest.IP(t, pair.B, "link", "set", pair.IfB, "down")
	if code, stderr := e.run("monitor"); code != OCFNotRunning || !strings.Contains(stderr, ErrLinkDown.Error()) {
		t.Errorf("monitor with the peer down: %d %q", code, stderr)
	}
	viptest.IP(t, pair.B, "link", "set", pair.IfB, "up")
	code, stderr := 0, ""
	wctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = wait.Until(wctx, 20*time.Millisecond, func() (bool, error) {
		code, stderr = e.run("monitor")
		return code == OCFSuccess, nil
	}) // the verdict is code's, below
	if code != OCFSuccess {
		t.Errorf("monitor after the link came back: %d %s", code, stderr)
	}
}

// TestActionsEndInsideTimeoutOnDeadLink: with every frame on the VIP's link dropped both ways
// (nftables netdev hooks; the kernel refuses the agent's frames with ENOBUFS), each action
// still succeeds inside CRM_meta_timeout: probes and announcements are best effort.
func TestActionsEndInsideTimeoutOnDeadLink(t *testing.T) {
	nft := testenv.RequireTool(t, "nft")
	for _, vip := range []string{"10.99.0.100/24", "fd00:99::100/64"} {
		t.Run(vip, func(t *testing.T) {
			pair := viptest.NewPair(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rules := `table netdev blackhole {
  chain rx { type filter hook ingress device "veth0" priority 0; policy drop; }
  chain tx { type filter hook egress device "veth0" priority 0; policy drop; }
}`
			cmd := exec.CommandContext(ctx, "ip", "netns", "exec", pair.A, nft, "-f", "-")
			cmd.Stdin = strings.NewReader(rules)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nft: %v: %s", err, out)
			}
			cap := viptest.NewCapture(t, pair.B, pair.IfB)
			const timeout = 5 * time.Second
			e := newAgentEnv(t, pair, map[string]string{"ip": vip, "nic": pair.IfA,
				"CRM_meta_timeout": strconv.Itoa(int(timeout.Milliseconds())), "CRM_meta_interval": "10000"})
			for _, action := range []string{"start", "monitor", "stop"} {
				began := time.Now()
				code, stderr := e.run(action)
				if took := time.Since(began); took > timeout {
					t.Errorf("%s took %s, timeout %s", action, took, timeout)
				}
				if code != OCFSuccess {
					t.Errorf("%s: %d %s", action, code, stderr)
				}
			}
			if n := len(cap.Frames()); n != 0 {
				t.Errorf("the peer received %d frames through a link that drops everything", n)
			}
		})
	}
}

// Starts of one address at once all succeed and leave one entry: each waits for the others'
// lock instead of taking their fresh address for a duplicate on the wire.
func TestConcurrentStarts(t *testing.T) {
	pair := viptest.NewPair(t)
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100", "cidr_netmask": "24", "nic": "veth0", "arp_count": "1", "dad_probe": "true"})
	const n = 4
	type result struct {
		code   int
		stderr string
	}
	results := make(chan result, n)
	for range n {
		go func() {
			code, stderr := e.run("start")
			results <- result{code, stderr}
		}()
	}
	for range n {
		if r := <-results; r.code != OCFSuccess {
			t.Errorf("concurrent start: exit %d: %s", r.code, r.stderr)
		}
	}
	if got := addrsIn(t, pair.A, netip.MustParseAddr("10.99.0.100")); len(got) != 1 {
		t.Errorf("after %d concurrent starts: entries %q; want one", n, got)
	}
	if code, stderr := e.run("stop"); code != OCFSuccess {
		t.Errorf("stop: exit %d: %s", code, stderr)
	}
	wantAddrs(t, pair.A, netip.MustParseAddr("10.99.0.100"))
}
