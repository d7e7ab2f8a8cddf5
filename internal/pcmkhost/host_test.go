package pcmkhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// netns creates a named network namespace with lo up, removed when the test ends.
func netns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("vipctl-pcmkhost-test-%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete: %v: %s", err, out)
		}
	})
	return name
}

func soloConfig(t *testing.T) Config {
	t.Helper()
	testenv.RequireRoot(t)
	for _, tool := range []string{"corosync", "pacemakerd", "crm_mon", "nsenter", "unshare", "ip"} {
		testenv.RequireTool(t, tool)
	}
	tp := &topology.Topology{
		Corosync: topology.Corosync{ClusterName: "pcmkhost-test", TokenMS: 1000},
		Hosts:    []topology.Host{{Name: "solo", Address: netip.MustParseAddr("127.0.0.1"), NodeID: 1}},
	}
	conf, err := corosync.Render(tp)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 256)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	// The state lives under /run, which the host replaces with its own: Share keeps it visible.
	run := fmt.Sprintf("/run/vipctl-pcmkhost-test-%d", os.Getpid())
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(run); err != nil {
			t.Error(err)
		}
	})
	return Config{Name: "solo", NetNS: netns(t), StateDir: run + "/solo", CorosyncConf: conf, Authkey: key, Share: []string{run}}
}

// startOnline starts the one-node host of cfg, killed when the test ends, and waits until it
// is online.
func startOnline(t *testing.T, ctx context.Context, cfg Config) *Host {
	t.Helper()
	h, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Kill(context.Background()) })
	if err := h.WaitOnline(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSoloHost starts a one-node cluster on 127.0.0.1 in a fresh network namespace, waits
// until it is Online, runs commands inside it, and stops it leaving no process behind.
func TestSoloHost(t *testing.T) {
	cfg := soloConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := startOnline(t, ctx, cfg)
	st, err := h.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := pcmk.Status{DC: "solo", Quorate: true, Online: []string{"solo"}}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}

	out, err := h.Command(ctx, "hostname").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "solo" {
		t.Errorf("hostname inside the host = %q, want solo", got)
	}
	// The host sees its private /etc/corosync, not the machine's.
	out, err = h.Command(ctx, "cat", "/etc/corosync/corosync.conf").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, cfg.CorosyncConf) {
		t.Errorf("/etc/corosync/corosync.conf inside the host is not the configured one:\n%s", out)
	}
	// The shared directory is there, and the host's /run is its own.
	if err := h.Command(ctx, "test", "-f", cfg.StateDir+"/host.log").Run(); err != nil {
		t.Errorf("shared %s not visible inside the host: %v", cfg.Share[0], err)
	}
	if err := h.Command(ctx, "test", "-e", "/run/netns").Run(); err == nil {
		t.Error("the machine's /run/netns is visible inside the host: /run is not private")
	}
	// Exit codes come through.
	err = h.Command(ctx, "sh", "-c", "exit 7").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("exit code through Command: %v, want 7", err)
	}

	// Another process can attach by pid.
	a, err := Attach(cfg, h.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Pids()); n < 8 { // supervisor, corosync, pacemakerd and its 6 daemons
		t.Errorf("attached host has %d processes, want at least 8", n)
	}

	pids := h.Pids()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
	if _, err := Attach(cfg, h.Pid()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Attach after Stop: %v, want ErrNotRunning", err)
	}
}

// TestReviveDeadDaemons kills pacemakerd, then corosync, of a running host: each is named by
// Dead and Check, and Revive starts it again until the one-node cluster is online once more.
func TestReviveDeadDaemons(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h := startOnline(t, ctx, soloConfig(t))
	if err := h.Revive(ctx); err != nil {
		t.Errorf("Revive with nothing dead: %v", err)
	}
	for _, daemon := range Daemons {
		t.Run(daemon, func(t *testing.T) {
			if out, err := h.Command(ctx, "pkill", "-KILL", "-x", daemon).CombinedOutput(); err != nil {
				t.Fatalf("kill %s: %v: %s", daemon, err, out)
			}
			err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) { return slices.Contains(h.Dead(), daemon), nil })
			if err != nil {
				t.Fatalf("a killed %s is not noticed: Dead = %v", daemon, h.Dead())
			}
			if err := h.Check(); !errors.Is(err, ErrDaemonDead) || !strings.Contains(err.Error(), daemon) {
				t.Errorf("Check = %v; want ErrDaemonDead naming %s", err, daemon)
			}
			if !h.Alive() {
				t.Fatal("the supervisor died with the daemon")
			}
			if err := h.Revive(ctx); err != nil {
				t.Fatal(err)
			}
			if dead := h.Dead(); len(dead) != 0 {
				t.Errorf("after Revive, dead: %v", dead)
			}
			if err := h.WaitOnline(ctx, 1); err != nil {
				t.Errorf("after Revive: %v", err)
			}
		})
	}
	pids := h.Pids()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
}

// TestKill powers a host off while it starts up: every process is gone at once.
func TestKill(t *testing.T) {
	cfg := soloConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A process started inside the host dies with it.
	sleeper := h.Command(ctx, "sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	if err := wait.Until(ctx, 20*time.Millisecond, func() (bool, error) { return len(h.Pids()) >= 4, nil }); err != nil {
		t.Fatal(err)
	}
	pids := h.Pids()
	if err := h.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	_ = sleeper.Wait()
	assertGone(t, pids)
	if h.Alive() {
		t.Error("host alive after Kill")
	}
	if err := h.Kill(ctx); err != nil {
		t.Errorf("second Kill: %v", err)
	}
	if err := h.Stop(ctx); err != nil {
		t.Errorf("Stop after Kill: %v", err)
	}
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if (&Host{pid: pid}).Alive() {
			t.Errorf("process %d still running", pid)
		}
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	good := Config{Name: "h", NetNS: "vipctl-no-such-netns", StateDir: "/tmp/x", CorosyncConf: []byte("x"), Authkey: []byte("k")}
	cases := map[string]func(*Config){
		"empty name":    func(c *Config) { c.Name = "" },
		"slash in name": func(c *Config) { c.Name = "a/b" },
		"relative dir":  func(c *Config) { c.StateDir = "state" },
		"no key":        func(c *Config) { c.Authkey = nil },
		"no netns":      func(*Config) {},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			c := good
			mod(&c)
			if h, err := Start(context.Background(), c); err == nil {
				_ = h.Kill(context.Background())
				t.Fatal("Start accepted a bad config")
			}
		})
	}
}

// TestFreshHost starts a host as a new machine: nothing runs, its /etc/corosync, /etc/cron.d,
// /root and /var/lib are its own and empty of any cluster. Its systemctl then starts Corosync
// and Pacemaker from the files written inside it, as systemd would, and stops them again.
func TestFreshHost(t *testing.T) {
	cfg := soloConfig(t)
	conf, key := cfg.CorosyncConf, cfg.Authkey
	cfg.CorosyncConf, cfg.Authkey, cfg.Fresh = nil, nil, true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Kill(context.Background()) })

	in := func(stdin []byte, name string, args ...string) (string, int) {
		t.Helper()
		cmd := h.Command(ctx, name, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return string(out), 0
	}
	if n := len(h.Pids()); n != 2 { // the supervisor and its sleep
		t.Errorf("a fresh host runs %d processes, want 2", n)
	}
	for _, dir := range []string{"/etc/corosync", "/etc/cron.d", "/root", "/var/lib/pacemaker/cib", "/usr/lib/ocf/resource.d/vipctl"} {
		if out, code := in(nil, "sh", "-c", "ls -A "+dir+" 2>/dev/null"); (code != 0 && code != 2) || strings.TrimSpace(out) != "" { // 2: absent
			t.Errorf("%s in a fresh host holds %q (exit %d), want nothing", dir, out, code)
		}
	}
	if out, code := in(nil, "systemctl", "is-active", "corosync"); code != 3 || strings.TrimSpace(out) != "inactive" {
		t.Errorf("systemctl is-active corosync: %q exit %d, want inactive, 3", out, code)
	}
	// What the host writes stays in its own directories, not on the machine.
	if _, code := in(nil, "sh", "-c", "echo x >/root/fresh-test && echo y >/etc/cron.d/fresh-test"); code != 0 {
		t.Fatal("cannot write the host's /root and /etc/cron.d")
	}
	for _, p := range []string{"/root/fresh-test", "/etc/cron.d/fresh-test"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written inside the host appeared on the machine", p)
		}
	}
	if _, code := in(conf, "sh", "-c", "cat >/etc/corosync/corosync.conf"); code != 0 {
		t.Fatal("write corosync.conf")
	}
	if _, code := in(key, "sh", "-c", "umask 077; cat >/etc/corosync/authkey"); code != 0 {
		t.Fatal("write authkey")
	}
	// Starting pacemaker starts corosync first (the unit requires it).
	if out, code := in(nil, "systemctl", "start", "pacemaker"); code != 0 {
		t.Fatalf("systemctl start pacemaker: exit %d: %s", code, out)
	}
	if err := h.WaitOnline(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, unit := range []string{"corosync", "pacemaker.service"} {
		if out, code := in(nil, "systemctl", "is-active", unit); code != 0 || strings.TrimSpace(out) != "active" {
			t.Errorf("systemctl is-active %s: %q exit %d", unit, out, code)
		}
	}
	if err := h.Check(); err != nil {
		t.Errorf("Check with both daemons running: %v", err)
	}
	// A dead daemon is noticed, named, and restarted by systemctl.
	if _, code := in(nil, "sh", "-c", "kill -KILL $(cat /run/lab-services/pacemaker.pid)"); code != 0 {
		t.Fatal("kill pacemakerd")
	}
	if err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) { return errors.Is(h.Check(), ErrDaemonDead), nil }); err != nil {
		t.Errorf("a killed pacemakerd is not noticed: Check = %v", h.Check())
	} else if err := h.Check(); !strings.Contains(err.Error(), "pacemakerd not running") {
		t.Errorf("Check = %v; want pacemakerd named", err)
	}
	if out, code := in(nil, "systemctl", "start", "pacemaker"); code != 0 {
		t.Fatalf("systemctl start pacemaker again: exit %d: %s", code, out)
	}
	if err := h.Check(); err != nil {
		t.Errorf("Check after the restart: %v", err)
	}
	// Revive starts a dead daemon of a fresh host through its systemctl.
	if _, code := in(nil, "sh", "-c", "kill -KILL $(cat /run/lab-services/pacemaker.pid)"); code != 0 {
		t.Fatal("kill pacemakerd")
	}
	if err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) { return len(h.Dead()) > 0, nil }); err != nil {
		t.Errorf("a killed pacemakerd is not noticed: Dead = %v", h.Dead())
	}
	if err := h.Revive(ctx); err != nil {
		t.Errorf("Revive: %v", err)
	}
	if out, code := in(nil, "systemctl", "is-active", "pacemaker"); code != 0 {
		t.Errorf("after Revive, systemctl is-active pacemaker: %q exit %d", out, code)
	}
	if out, code := in(nil, "systemctl", "enable", "corosync"); code == 0 {
		t.Errorf("systemctl enable answered %q, exit 0: the lab does not do it", out)
	}
	// Stopping corosync stops pacemaker too.
	if out, code := in(nil, "systemctl", "stop", "corosync"); code != 0 {
		t.Fatalf("systemctl stop corosync: exit %d: %s", code, out)
	}
	if out, code := in(nil, "systemctl", "is-active", "pacemaker"); code != 3 {
		t.Errorf("pacemaker after stopping corosync: %q exit %d, want inactive", out, code)
	}
	// (The daemons of the pacemakerd killed above may outlive it: only the two are checked.)
	if r := h.Running(); len(r) != 0 {
		t.Errorf("after systemctl stop the host runs %v", r)
	}
	pids := h.Pids()
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids)
}
