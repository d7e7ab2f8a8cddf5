package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/vip/viptest"
)

func TestAgentArgs(t *testing.T) {
	for _, tc := range []struct {
		argv  []string
		agent string
		want  []string
		ok    bool
	}{
		{[]string{"/usr/lib/ocf/resource.d/vipctl/vip", "monitor"}, "vip", []string{"monitor"}, true},
		{[]string{"vip"}, "vip", []string{}, true},
		{[]string{"/usr/lib/ocf/resource.d/vipctl/health", "monitor"}, "health", []string{"monitor"}, true},
		{[]string{"vipctl", "ocf", "start"}, "vip", []string{"start"}, true},
		{[]string{"vipctl", "ocf", "meta-data"}, "vip", []string{"meta-data"}, true},
		{[]string{"vipctl", "ocf", "health", "monitor"}, "health", []string{"monitor"}, true},
		{[]string{"vipctl", "ocf", "health"}, "", nil, false},
		{[]string{"vipctl", "ocf", "install"}, "", nil, false},
		{[]string{"vipctl", "ocf", "--help"}, "", nil, false},
		{[]string{"vipctl", "ocf"}, "", nil, false},
		{[]string{"vipctl", "-o", "json", "ocf", "start"}, "", nil, false},
		{[]string{"vipctl", "render"}, "", nil, false},
		{[]string{"vipctl", "ocf", ""}, "vip", []string{""}, true}, // the agent answers: OCF_ERR_UNIMPLEMENTED
		{[]string{"vipctl", "ocf", "health", ""}, "health", []string{""}, true},
	} {
		agent, got, ok := agentArgs(tc.argv)
		if ok != tc.ok || agent != tc.agent || !cmp.Equal(got, tc.want) {
			t.Errorf("agentArgs(%q) = %q, %q, %v; want %q, %q, %v", tc.argv, agent, got, ok, tc.agent, tc.want, tc.ok)
		}
	}
}

// An empty or unknown action is OCF_ERR_UNIMPLEMENTED (3), never a panic.
func TestAgentUnknownAction(t *testing.T) {
	for _, argv := range [][]string{
		{"vipctl", "ocf", ""}, {"vipctl", "ocf", "promote"}, {"vipctl", "ocf", "\x1b[31m"},
		{"vipctl", "ocf", "health", ""}, {"vipctl", "ocf", "health", "promote"},
	} {
		var stdout, stderr strings.Builder
		name, args, ok := agentArgs(argv)
		if !ok {
			t.Fatalf("agentArgs(%q) is not an agent", argv)
		}
		if code := runAgent(name, args, &stdout, &stderr); code != 3 {
			t.Errorf("%q: exit %d; want 3 (OCF_ERR_UNIMPLEMENTED)\nstderr: %s", argv, code, stderr.String())
		}
	}
}

// buildAgent builds vipctl and installs it with `vipctl ocf install --dest` under a directory
// that user nobody can reach; it returns the installed agent's path.
func buildAgent(t *testing.T) string {
	t.Helper()
	goTool := testenv.RequireTool(t, "go")
	dir, err := os.MkdirTemp("", "vipctl-ocf-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "vipctl")
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dest := filepath.Join(dir, "ocf", "resource.d", "vipctl", "vip")
	if out, err := exec.CommandContext(ctx, bin, "ocf", "install", "--dest", dest).CombinedOutput(); err != nil {
		t.Fatalf("vipctl ocf install: %v\n%s", err, out)
	}
	st, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("installed agent has mode %s, want 0755", st.Mode().Perm())
	}
	if st, err := os.Stat(filepath.Join(filepath.Dir(dest), "health")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("the health agent beside it: %v", err)
	}
	return dest
}

// TestOcfTester runs Debian's ocf-tester (meta-data as user nobody validated with xmllint
// against ra-api-1.dtd, start/stop twice, monitor when stopped, validate-all) against the
// installed agent inside a fresh network namespace, for an IPv4 and an IPv6 VIP.
func TestOcfTester(t *testing.T) {
	tester := testenv.RequireTool(t, "ocf-tester")
	testenv.RequireTool(t, "xmllint")
	agent := buildAgent(t)
	for _, tc := range []struct{ name, ip, mask string }{
		{"ipv4", "10.99.0.100", "24"},
		{"ipv6", "fd00:99::100", "64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair := viptest.NewPair(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ip", "netns", "exec", pair.A, tester, "-n", "vip",
				"-o", "ip="+tc.ip, "-o", "cidr_netmask="+tc.mask, "-o", "nic="+pair.IfA, agent)
			cmd.Env = append(os.Environ(), "OCF_ROOT=/usr/lib/ocf")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "passed all tests") {
				t.Fatalf("ocf-tester: %v\n%s", err, out)
			}
		})
	}
}

func TestOcfInstallRefusesUnreachableDir(t *testing.T) {
	dir := t.TempDir() // mode 0700: nobody cannot reach what is inside
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := vipctl(t, "ocf", "install", "--dest", filepath.Join(dir, "vipctl", "vip"))
	if code != exitFailure || !strings.Contains(stderr, "not reachable") {
		t.Errorf("exit %d, stderr %q; want %d naming the unreachable directory", code, stderr, exitFailure)
	}
	if _, err := os.Stat(filepath.Join(dir, "vipctl", "vip")); err == nil {
		t.Error("agent written into an unreachable directory")
	}
	code, _, _ = vipctl(t, "ocf", "install", "--dest", filepath.Join(dir, "agent"))
	if code != exitUsage {
		t.Errorf("--dest not ending in /vip: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ = vipctl(t, "ocf"); code != exitUsage {
		t.Errorf("ocf without an action: exit %d, want %d", code, exitUsage)
	}
}
