package lab

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/metrics"
)

// healthMonitor is the monitor interval of ocf:vipctl:health that the rendered CIB sets.
const healthMonitor = 5 * time.Second

var attrLine = regexp.MustCompile(`host="([^"]+)" value="([^"]*)"`)

// healthValues reads the group's health attribute of every host (attrd_updater --query --all).
func healthValues(t *testing.T, ctx context.Context, l *Lab, from, group string) map[string]string {
	t.Helper()
	h, err := l.Host(from)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := h.Command(ctx, "attrd_updater", "--query", "--all", "--name", cib.HealthAttribute(group)).Output()
	m := map[string]string{}
	for _, sub := range attrLine.FindAllStringSubmatch(string(out), -1) {
		m[sub[1]] = sub[2]
	}
	return m
}

// waitHealth waits until the health attribute of every named host is value.
func waitHealth(t *testing.T, ctx context.Context, l *Lab, group, value string, hosts ...string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last map[string]string
	err := wait.Until(wctx, 250*time.Millisecond, func() (bool, error) {
		last = healthValues(t, wctx, l, hosts[0], group)
		for _, h := range hosts {
			if last[h] != value {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("health of %v never became %s (last: %v): %v", hosts, value, last, err)
	}
}

// TestHealthInStackLab: with real HAProxy behind the VIP, stopping the holder's HAProxy moves
// the VIP within one health monitor interval plus the move; starting it again does not move
// the VIP back; when the holder's HAProxy stops while no other host's runs, the VIP stays up
// where it is. Between the first two, `vipctl metrics --textfile` on the stopped host and on the
// new holder exports what their HAProxy really does.
func TestHealthInStackLab(t *testing.T) {
	requireLabTools(t)
	requireStackTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, _, vipctl := upLabWith(t, ctx, Options{Stack: true})
	buildMetricsProgram(t, vipctl)
	if err := l.WaitStack(ctx, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	g := l.Topology().Groups[0]
	c := l.Topology().ClustersOf(g.Name)[0]
	d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
	waitHealth(t, ctx, l, g.Name, "1", g.Hosts...)

	// stays checks for a while that the VIP stays on host, alone.
	stays := func(t *testing.T, host string, d2 time.Duration) {
		t.Helper()
		end := time.Now().Add(d2)
		for time.Now().Before(end) {
			hs, err := l.Holders(g.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(hs) != 1 || hs[0] != host {
				t.Fatalf("the VIP left %s: held by %v", host, hs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var moved string
	t.Run("holder's HAProxy stopped: the VIP moves", func(t *testing.T) {
		d.t = t
		old := d.holder(ctx)
		if err := l.StopHAProxy(ctx, c, old); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		moved = d.waitHolderOtherThan(ctx, old)
		took := time.Since(start)
		t.Logf("HAProxy of %s stopped: the VIP answered on %s after %v", old, moved, took)
		// One monitor interval until the agent sees it, then the transition (about 1 s here);
		// 5 s of slack for this shared machine.
		if limit := healthMonitor + 5*time.Second; took > limit {
			t.Errorf("the VIP moved after %v, more than one monitor interval plus the move (%v)", took, limit)
		}
		if got := healthValues(t, ctx, l, moved, g.Name)[old]; got != "0" {
			t.Errorf("health of %s = %q, want 0", old, got)
		}
	})

	t.Run("metrics: the stopped HAProxy reads 0, the new holder's backend is UP", func(t *testing.T) {
		if moved == "" {
			t.Skip("the VIP did not move (the subtest before failed)")
		}
		// textfile runs `vipctl metrics --textfile` in host once and parses what it wrote. The
		// file goes to the lab's state directory, which the hosts share with the test.
		textfile := func(host string) metrics.Samples {
			t.Helper()
			h, err := l.Host(host)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(filepath.Dir(l.State().Topology), host+"-metrics.prom")
			if out, err := h.Command(ctx, vipctl, "metrics", "-f", l.State().Topology, "--host", host, "--textfile", path).CombinedOutput(); err != nil {
				t.Fatalf("vipctl metrics --textfile on %s: %v\n%s", host, err, out)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := metrics.Parse(f)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return s
		}
		// values checks that the samples of name are there, for c's backend on host, each want.
		values := func(s metrics.Samples, name, host string, want float64) {
			t.Helper()
			got := s.Select(name)
			if len(got) == 0 {
				t.Errorf("%s exports no %s", host, name)
			}
			for k, v := range got {
				if !strings.Contains(k, `host="`+host+`"`) || !strings.Contains(k, `backend="`+c.Name+`"`) {
					t.Errorf("%s exports %s; want only host %s, backend %s", host, k, host, c.Name)
				}
				if v != want {
					t.Errorf("%s: %s = %v, want %v", host, k, v, want)
				}
			}
		}
		var stopped string
		for _, h := range g.Hosts {
			if hs, _ := l.haproxyPids(c, h); len(hs) == 0 {
				stopped = h
			}
		}
		down := textfile(stopped)
		values(down, metrics.NameHAProxyUp, stopped, 0)
		if got := down.Select(metrics.NameBackendUp); len(got) != 0 {
			t.Errorf("%s's HAProxy is stopped, yet it exports a backend state: %v", stopped, got)
		}
		up := textfile(moved)
		values(up, metrics.NameHAProxyUp, moved, 1)
		values(up, metrics.NameBackendUp, moved, 1)
		if up[`vipctl_vip_address_present{group="`+g.Name+`",host="`+moved+`"}`] != 1 {
			t.Errorf("%s holds the VIP, yet exports the address as absent: %v", moved, up.Select(metrics.NamePresent))
		}
	})

	t.Run("HAProxy started again: the VIP does not move back", func(t *testing.T) {
		d.t = t
		old := ""
		for _, h := range g.Hosts {
			if hs, _ := l.haproxyPids(c, h); len(hs) == 0 {
				old = h
			}
		}
		if err := l.StartHAProxy(ctx, c, old); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, ctx, l, g.Name, "1", g.Hosts...)
		stays(t, moved, 2*healthMonitor)
	})

	t.Run("no host healthy: the VIP stays up", func(t *testing.T) {
		d.t = t
		// The other hosts fail first (the VIP has nowhere better to go), then the holder.
		var others []string
		for _, h := range g.Hosts {
			if h != moved {
				others = append(others, h)
				if err := l.StopHAProxy(ctx, c, h); err != nil {
					t.Fatal(err)
				}
			}
		}
		waitHealth(t, ctx, l, g.Name, "0", others...)
		if err := l.StopHAProxy(ctx, c, moved); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, ctx, l, g.Name, "0", g.Hosts...)
		stays(t, moved, 2*healthMonitor)
	})
}
