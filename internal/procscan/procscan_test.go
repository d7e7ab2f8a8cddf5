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

func TestDescendants(t *testing.T) {
	procs := []Proc{
		{Pid: 10, PPid: 1}, // root's parent side: not below it
		{Pid: 20, PPid: 10},
		{Pid: 21, PPid: 20},
		{Pid: 22, PPid: 21},
		{Pid: 30, PPid: 10}, // a sibling tree
		{Pid: 31, PPid: 30},
		{Pid: 40, PPid: 41}, // a loop of reused pids
		{Pid: 41, PPid: 40},
	}
	if got := Pids(Descendants(20, procs)); !slices.Equal(got, []int{21, 22}) {
		t.Errorf("Descendants(20) = %v, want [21 22]", got)
	}
	if got := Pids(Descendants(99, procs)); len(got) != 0 {
		t.Errorf("Descendants(99) = %v, want none", got)
	}
}
