// Package nomadagent starts a real Nomad agent in dev mode for a test, bound to 127.0.0.1 only.
//
// The binary is Nomad v1.6.1 (scripts/build-nomad.sh builds it): $VIPCTL_NOMAD, else nomad on
// the PATH, else ${VIPCTL_CACHE:-/var/cache/vipctl}/bin/nomad. When none is there the test fails
// in CI and is skipped elsewhere.
package nomadagent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/syncbuf"
	"github.com/vipctl/vipctl/internal/testenv"
)

// NodeName is the name of the agent's client node. No topology of the tests names a host so,
// so no job's host constraint ever places an allocation on it.
const NodeName = "vipctl-test-nomad-dev"

// Agent is a running `nomad agent -dev`.
type Agent struct {
	Binary string      // the nomad executable
	Addr   string      // http://127.0.0.1:PORT
	Client *api.Client // talks to Addr
	Node   bool        // its client node became ready before Start returned

	log *syncbuf.Buffer
}

// Start starts `nomad agent -dev` on free 127.0.0.1 ports with a data directory of its own,
// waits for it to elect itself leader (and, for up to 30 s, for its client node to be ready),
// and stops it when the test ends.
func Start(t testing.TB) *Agent {
	t.Helper()
	testenv.Live(t, "a real Nomad agent")
	bin := testenv.RequireBinary(t, "VIPCTL_NOMAD", "nomad", "scripts/build-nomad.sh")
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	if first, _, _ := strings.Cut(string(out), "\n"); first != "Nomad v1.6.1" {
		t.Logf("%s reports %q; the tests are written against Nomad v1.6.1", bin, first)
	}

	ports := freePorts(t, 4)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`name                 = %q
bind_addr            = "127.0.0.1"
data_dir             = %q
disable_update_check = true
log_level            = "INFO"

ports {
  http = %d
  rpc  = %d
  serf = %d
}

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

client {
  network_interface = "lo"
  # The cloud fingerprinters ask 169.254.169.254; nothing but 127.0.0.1 is reached.
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

# No Consul for this agent: the address is a free port nothing listens on, and nothing joins.
consul {
  address          = "127.0.0.1:%d"
  auto_advertise   = false
  server_auto_join = false
  client_auto_join = false
}
`, NodeName, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], ports[3])
	cfgFile := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	a := &Agent{Binary: bin, Addr: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), log: &syncbuf.Buffer{}}
	cmd := exec.Command(bin, "agent", "-dev", "-bind", "127.0.0.1", "-network-interface", "lo",
		"-data-dir", filepath.Join(dir, "data"), "-config", cfgFile)
	cmd.Env = a.Env()
	cmd.Stdout, cmd.Stderr = a.log, a.log
	// Its own process group, so that whatever it starts goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s agent -dev: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Logf("nomad agent did not stop within 15 s of SIGINT: killed")
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group: leaves nothing behind
		<-exited
		if t.Failed() {
			t.Logf("nomad agent log:\n%s", a.log.String())
		}
	})

	c, err := api.NewClient(&api.Config{Address: a.Addr})
	if err != nil {
		t.Fatal(err)
	}
	a.Client = c
	if err := a.waitLeader(exited, 60*time.Second); err != nil {
		t.Fatalf("nomad agent -dev: %v\nlog:\n%s", err, a.log.String())
	}
	leader := time.Since(started)
	a.Node = a.waitNode(exited, 30*time.Second)
	if !a.Node {
		t.Logf("nomad agent -dev: client node not ready after 30 s; plans will find no node")
	}
	t.Logf("nomad agent -dev at %s: leader after %v, client node ready %v after %v",
		a.Addr, leader.Round(time.Millisecond), a.Node, time.Since(started).Round(time.Millisecond))
	return a
}

// Env is the environment for the nomad CLI (or vipctl) talking to this agent: this process's
// with NOMAD_ADDR set and every other NOMAD_* variable removed.
func (a *Agent) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOMAD_") {
			env = append(env, kv)
		}
	}
	return append(env, "NOMAD_ADDR="+a.Addr)
}

// Log is what the agent printed so far.
func (a *Agent) Log() string { return a.log.String() }

func (a *Agent) waitLeader(exited <-chan struct{}, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for {
		leader, err := a.Client.Status().Leader()
		if err == nil && leader != "" {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it had a leader")
		case <-ctx.Done():
			return fmt.Errorf("no leader after %v (last error: %v)", limit, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (a *Agent) waitNode(exited <-chan struct{}, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		nodes, _, err := a.Client.Nodes().List(nil)
		if err == nil {
			for _, n := range nodes {
				if n.Name == NodeName && n.Status == api.NodeStatusReady {
					return true
				}
			}
		}
		select {
		case <-exited:
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
	return false
}

// freePorts returns n distinct TCP ports free on 127.0.0.1 a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}
