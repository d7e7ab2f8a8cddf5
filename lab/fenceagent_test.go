package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

func TestFenceOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  map[string]string
	}{
		{"stdin as the fencer writes it", nil, "action=reboot\nport=lab-2\nnodename=lab-2\n#comment\n\n", map[string]string{"action": "reboot", "port": "lab-2", "nodename": "lab-2"}},
		{"short options", []string{"-o", "status", "-n", "lab-1"}, "", map[string]string{"action": "status", "plug": "lab-1"}},
		{"long options", []string{"--action=off", "--plug=lab-3"}, "", map[string]string{"action": "off", "plug": "lab-3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fenceOptions(tc.args, strings.NewReader(tc.stdin))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range [][]string{{"-o"}, {"status"}, {"--plug"}} {
		if _, err := fenceOptions(bad, strings.NewReader("")); err == nil {
			t.Errorf("fenceOptions(%q): no error", bad)
		}
	}
	if _, err := fenceOptions(nil, strings.NewReader("action\n")); err == nil {
		t.Error("a stdin line without = was taken")
	}
}

// The agent's metadata is what the topology loader and Pacemaker's fencer read: its
// parameters, and no parameter the loader would take for a secret.
func TestFenceAgentMetadata(t *testing.T) {
	var out, errb strings.Builder
	if code := FenceAgent(context.Background(), t.TempDir(), []string{"-o", "metadata"}, nil, &out, &errb); code != 0 {
		t.Fatalf("metadata: exit %d: %s", code, errb.String())
	}
	params, err := topology.ParseFenceMetadata([]byte(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"action", "plug", "port"} {
		if _, ok := params[p]; !ok {
			t.Errorf("metadata lacks parameter %s: %v", p, params)
		}
	}
}

// Without a BMC to ask, every power action fails with exit 1 and says why; none claims success.
func TestFenceAgentWithoutBMC(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"-o", "reboot", "-n", "lab-2"}, {"-o", "off", "-n", "lab-2"}, {"-o", "status", "-n", "lab-2"}, {"-o", "monitor"}, {"-o", "validate-all"}} {
		var out, errb strings.Builder
		code := FenceAgent(context.Background(), dir, args, nil, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), filepath.Join(dir, bmcSocket)) {
			t.Errorf("%q without a BMC: exit %d, stderr %q; want 1 naming %s", args, code, errb.String(), bmcSocket)
		}
		if strings.Contains(out.String(), "Success") {
			t.Errorf("%q without a BMC printed %q", args, out.String())
		}
	}
	var out, errb strings.Builder
	if code := FenceAgent(context.Background(), dir, []string{"-o", "reboot"}, nil, &out, &errb); code != 1 {
		t.Errorf("reboot without a host: exit %d, want 1", code)
	}
}

// The BMC answers the agent over its socket: list, status, and a power action on a host that
// is off already (which changes nothing and is journaled); it ends when the lab's state goes.
func TestBMCAnswersTheAgent(t *testing.T) {
	dir := t.TempDir()
	topo := filepath.Join(dir, topoFile)
	if err := os.WriteFile(topo, []byte(DefaultTopology), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &State{Topology: topo, Hosts: []HostState{{Name: "lab-1"}, {Name: "lab-2", PowerOff: true}}}
	if err := writeState(dir, st); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ServeBMC(ctx, dir, nil) }()
	if err := wait.Until(ctx, 10*time.Millisecond, func() (bool, error) {
		_, err := askBMC(ctx, dir, "ping")
		return err == nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	agent := func(args ...string) (int, string) {
		var out, errb strings.Builder
		code := FenceAgent(ctx, dir, args, nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := agent("-o", "list"); code != 0 || out != "lab-1,\nlab-2,\n" {
		t.Errorf("list: exit %d, %q", code, out)
	}
	if code, out := agent("-o", "status", "-n", "lab-1"); code != 0 || out != "Status: ON\n" {
		t.Errorf("status of lab-1: exit %d, %q; want 0, Status: ON", code, out)
	}
	if code, out := agent("-o", "status", "-n", "lab-2"); code != 2 || out != "Status: OFF\n" {
		t.Errorf("status of lab-2: exit %d, %q; want 2, Status: OFF", code, out)
	}
	if code, out := agent("-o", "status", "-n", "lab-9"); code != 1 || !strings.Contains(out, "lab-9") {
		t.Errorf("status of lab-9: exit %d, %q; want 1 naming lab-9", code, out)
	}
	// The fencer's way: options on stdin.
	var out, errb strings.Builder
	if code := FenceAgent(ctx, dir, nil, strings.NewReader("action=off\nport=lab-2\n"), &out, &errb); code != 0 {
		t.Errorf("off lab-2 (stdin): exit %d: %s", code, errb.String())
	}
	acts, err := (&Lab{dir: dir}).FenceActions()
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 || acts[0].Action != "off" || acts[0].Host != "lab-2" || acts[0].Error != "" {
		t.Errorf("journal: %+v; want one successful off of lab-2", acts)
	}
	if err := os.Remove(filepath.Join(dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeBMC: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the BMC still runs 10 s after the lab's state was removed")
	}
}

// The script each host runs answers metadata by itself (as hacluster, who may not reach the
// vipctl binary) in both calling conventions, and hands every other action to vipctl with its
// options, whichever way they came.
func TestFenceAgentScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "vipctl")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"args: $*\"\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &Lab{dir: "/run/some lab", state: &State{Vipctl: fake}}
	script := filepath.Join(dir, FenceAgentName)
	if err := os.WriteFile(script, l.fenceAgentScript(), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) string {
		cmd := exec.Command(sh, append([]string{script}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %q: %v: %s", FenceAgentName, args, err, out)
		}
		return string(out)
	}
	for _, out := range []string{run("", "-o", "metadata"), run("action=metadata\nport=lab-1\n")} {
		if out != fenceMetadata {
			t.Errorf("metadata: got %q", out)
		}
	}
	if got, want := run("", "-o", "status", "-n", "lab-2"), "args: lab _fence --dir /run/some lab -o status -n lab-2\n"; got != want {
		t.Errorf("status: got %q, want %q", got, want)
	}
	if got, want := run("action=reboot\nport=lab-2\n"), "args: lab _fence --dir /run/some lab\naction=reboot\nport=lab-2\n"; got != want {
		t.Errorf("reboot on stdin: got %q, want %q", got, want)
	}
}
