package procscan

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
)

func TestReadSelfAndChild(t *testing.T) {
	me, ok := Read(os.Getpid())
	if !ok || !me.Alive() || me.PPid != os.Getppid() {
		t.Fatalf("Read(self) = %+v, %v; want alive with ppid %d", me, ok, os.Getppid())
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	c, ok := Read(pid)
	if !ok || c.Comm != "sleep" || c.PPid != os.Getpid() || !c.Alive() {
		t.Errorf("Read(child) = %+v, %v", c, ok)
	}
	if FirstChild(os.Getpid()) == 0 {
		t.Error("FirstChild(self) = 0 with a child running")
	}
	ns, err := NS(os.Getpid(), "pid")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(Pids(In("pid", ns)), pid) {
		t.Errorf("In(pid ns) misses the child %d", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Killed but not yet reaped: a zombie, not alive.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wait.Until(ctx, 10*time.Millisecond, func() (bool, error) { return !Alive(pid), nil }); err != nil {
		t.Errorf("a killed child still counts as alive: %v", err)
	}
	_ = cmd.Wait()
	if _, ok := Read(pid); ok {
		t.Error("Read finds a reaped process")
	}
	if NSInit(os.Getpid()) && os.Getpid() != 1 {
		t.Error("NSInit(self) in the initial pid namespace")
	}
}
