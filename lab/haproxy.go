package lab

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// haproxyPids returns the pids (as seen from here) of the HAProxy processes of a stack host.
func (l *Lab) haproxyPids(host string) ([]int, error) {
	h, err := l.Host(host)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, pid := range h.Pids() {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == "haproxy" {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// StopHAProxy kills the HAProxy of cluster c on host (master and workers, SIGKILL, as a crash
// would) and waits until none is left. Only a stack lab runs HAProxy.
func (l *Lab) StopHAProxy(ctx context.Context, c topology.Cluster, host string) error {
	if !l.state.Stack {
		return fmt.Errorf("lab: %s runs no HAProxy: the lab is not a stack lab", host)
	}
	pids, err := l.haproxyPids(host)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return fmt.Errorf("lab: no HAProxy of %s runs on %s", c.Name, host)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("lab: %s: kill HAProxy %d: %w", host, pid, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return wait.Until(wctx, 50*time.Millisecond, func() (bool, error) {
		left, err := l.haproxyPids(host)
		return len(left) == 0, err
	})
}

// StartHAProxy starts the HAProxy of cluster c on host again from the rendered job, as a Nomad
// client restarting the allocation would, and waits until it serves the cluster's port.
func (l *Lab) StartHAProxy(ctx context.Context, c topology.Cluster, host string) error {
	hs, err := l.state.host(host)
	if err != nil {
		return err
	}
	idx, ok := l.placement(c, host)
	if !ok {
		return fmt.Errorf("lab: %s is no host of cluster %s", host, c.Name)
	}
	j, err := l.readJob(c.HAProxyJobName())
	if err != nil {
		return err
	}
	ci := slices.IndexFunc(l.topo.Clusters, func(x topology.Cluster) bool { return x.Name == c.Name })
	a := &alloc{lab: l, host: hs, cluster: c, job: j, index: idx, slot: ci, dynamicPort: dynamicPortBase + ci}
	if err := a.start(ctx); err != nil {
		return err
	}
	h, err := l.Host(host)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/;csv", c.StatsPort)
	return wait.Until(wctx, 100*time.Millisecond, func() (bool, error) {
		code, _, err := hostGet(wctx, h, url)
		return err == nil && code == 200, nil
	})
}
