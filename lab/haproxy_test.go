package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/procscan"
	"github.com/vipctl/vipctl/internal/wait"
)

// A task's processes are the ones below the root in its pid file: of the processes named
// haproxy here (this task's master and worker, another task's, one of the machine's own),
// exactly the task's are found. Real processes: a copy of sleep named haproxy.
func TestAllocProcsAreTheTasksOnly(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	haproxy := filepath.Join(dir, "haproxy")
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(haproxy, b, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(name string, args ...string) int {
		t.Helper()
		cmd := exec.Command(name, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	// A task: a shell (the root, as the lab's nsenter is) with a "master" that has a "worker".
	tree := "exec " + haproxy + " 60 & " + haproxy + " 60 & wait"
	task := start("sh", "-c", "sh -c '"+tree+"' & wait")
	other := start("sh", "-c", "sh -c '"+tree+"' & wait") // another cluster's or lab's task
	system := start(haproxy, "60")                        // the machine's own

	l := &Lab{dir: dir}
	hs := &HostState{Name: "lab-1"}
	name := "haproxy-demo"
	a := &alloc{lab: l, host: hs, job: &api.Job{ID: &name}, index: 0}
	if err := os.MkdirAll(a.dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.pidFile(), []byte(strconv.Itoa(task)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ns, err := procscan.NS(os.Getpid(), "pid")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = wait.Until(ctx, 20*time.Millisecond, func() (bool, error) {
		var err error
		got, err = a.procs(procscan.In("pid", ns), "haproxy")
		return len(got) == 2, err
	})
	if err != nil {
		t.Fatalf("the task's haproxy processes: %v (last %v), want its 2", err, got)
	}
	all := procscan.In("pid", ns)
	for _, root := range []int{other, system} {
		for _, p := range append(procscan.Descendants(root, all), procscan.Proc{Pid: root}) {
			if slices.Contains(got, p.Pid) {
				t.Errorf("found %d, a process outside the task", p.Pid)
			}
		}
	}
	for _, pid := range got {
		if p, ok := procscan.Read(pid); !ok || p.Comm != "haproxy" {
			t.Errorf("found %d: %+v, not a haproxy", pid, p)
		}
	}
	// Without its pid file a task has no processes to find: an error, not "none".
	if err := os.Remove(a.pidFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.procs(all, "haproxy"); err == nil {
		t.Error("no error without a pid file")
	}
}
