package lab

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/internal/procscan"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// haproxyPids returns the pids (as seen from here) of the HAProxy processes of cluster c on a
// stack host: those below the root of that cluster's HAProxy task (its pid file), never another
// cluster's, another lab's or the machine's own HAProxy.
func (l *Lab) haproxyPids(c topology.Cluster, host string) ([]int, error) {
	a, err := l.haproxyAlloc(c, host)
	if err != nil {
		return nil, err
	}
	h, err := l.host(a.host)
	if err != nil {
		return nil, err
	}
	var procs []procscan.Proc
	for _, pid := range h.Pids() {
		if p, ok := procscan.Read(pid); ok && p.Alive() {
			procs = append(procs, p)
		}
	}
	return a.procs(procs, "haproxy")
}

// haproxyAlloc is the allocation of cluster c's HAProxy job on host.
func (l *Lab) haproxyAlloc(c topology.Cluster, host string) (*alloc, error) {
	hs, err := l.state.host(host)
	if err != nil {
		return nil, err
	}
	idx, ok := l.placement(c, host)
	if !ok {
		return nil, fmt.Errorf("lab: %s is no host of cluster %s", host, c.Name)
	}
	j, err := l.readJob(c.HAProxyJobName())
	if err != nil {
		return nil, err
	}
	return &alloc{lab: l, host: hs, cluster: c, job: j, index: idx}, nil
}

// StopHAProxy kills the HAProxy of cluster c on host (master and workers, SIGKILL, as a crash
// would) and waits until none of them is left. Only that task's processes are touched: the
// HAProxy of another cluster on the host, of another lab or of the machine runs on. Only a stack
// lab runs HAProxy.
func (l *Lab) StopHAProxy(ctx context.Context, c topology.Cluster, host string) error {
	if !l.state.Stack {
		return fmt.Errorf("lab: %s runs no HAProxy: the lab is not a stack lab", host)
	}
	pids, err := l.haproxyPids(c, host)
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
		left, err := l.haproxyPids(c, host)
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
