package lab

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/metrics"
)

// metricsListen is where `vipctl metrics` listens inside each lab host (its own loopback).
const metricsListen = "127.0.0.1:9475"

// buildMetricsProgram builds vipctl-metrics beside the lab's vipctl, where `vipctl metrics`
// looks for it first.
func buildMetricsProgram(t *testing.T, vipctl string) {
	t.Helper()
	goTool := testenv.RequireTool(t, "go")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(filepath.Dir(vipctl), "vipctl-metrics")
	if msg, err := exec.CommandContext(ctx, goTool, "build", "-o", out, "github.com/vipctl/vipctl/cmd/vipctl-metrics").CombinedOutput(); err != nil {
		t.Fatalf("go build vipctl-metrics: %v\n%s", err, msg)
	}
}

// TestMetricsInLab runs `vipctl metrics --listen` on every host of a lab (the VIP agent, the
// alert agent, no stack), scrapes each with curl inside the host and reads the answer with
// Prometheus's text parser: the holder agrees with crm_mon, the address with netlink in every
// host's namespace, the moves and agent durations with the host's journal; again after the VIP
// moved.
func TestMetricsInLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, vipctl := upLab(t, ctx, false)
	buildMetricsProgram(t, vipctl)
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	topo := l.Topology()
	g := topo.Groups[0]

	sctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop) // lab Down ends whatever of it the host still runs
	for _, host := range g.Hosts {
		h, err := l.Host(host)
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := h.Command(sctx, vipctl, "metrics", "-f", l.State().Topology, "--host", host, "--listen", metricsListen)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = cmd.Wait() }()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("vipctl metrics on %s said:\n%s", host, stderr.String())
			}
		})
	}

	scrape := func(t *testing.T, host string) metrics.Samples {
		t.Helper()
		h, err := l.Host(host)
		if err != nil {
			t.Fatal(err)
		}
		var s metrics.Samples
		var last string
		werr := wait.Until(ctx, 200*time.Millisecond, func() (bool, error) {
			code, body, err := hostGet(ctx, h, "http://"+metricsListen+metrics.Path)
			if err != nil || code != 200 {
				last = strconv.Itoa(code) + " " + string(body)
				return false, nil
			}
			s, err = metrics.Parse(bytes.NewReader(body))
			return err == nil, err
		})
		if werr != nil {
			t.Fatalf("scraping %s: %v (last answer %s)", host, werr, last)
		}
		return s
	}
	// crmMonHolders is where crm_mon, run in host, says the group's VIP runs.
	crmMonHolders := func(t *testing.T, host string) []string {
		t.Helper()
		h, err := l.Host(host)
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.Command(ctx, "crm_mon", pcmk.CrmMonArgs...).Output()
		if err != nil {
			t.Fatalf("crm_mon in %s: %v", host, err)
		}
		r, err := pcmk.Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		var nodes []string
		for _, res := range r.Resources {
			if res.ID == g.VIPID() && res.Active {
				nodes = append(nodes, res.Nodes...)
			}
		}
		return nodes
	}
	gauge := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	key := func(name string, labels ...string) string {
		k := name + "{"
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				k += ","
			}
			k += labels[i] + "=" + strconv.Quote(labels[i+1])
		}
		return k + "}"
	}

	check := func(t *testing.T) {
		addrHolders, err := l.Holders(g.Name) // netlink in every host's namespace
		if err != nil {
			t.Fatal(err)
		}
		if len(addrHolders) != 1 {
			t.Fatalf("the address is held by %v; want one host", addrHolders)
		}
		for _, host := range g.Hosts {
			s := scrape(t, host)
			truth := crmMonHolders(t, host)
			if d := cmp.Diff(addrHolders, truth); d != "" {
				t.Fatalf("crm_mon in %s and netlink disagree (-netlink +crm_mon):\n%s", host, d)
			}
			want := metrics.Samples{}
			for _, h := range g.Hosts {
				want[key(metrics.NameHolder, "group", g.Name, "host", h)] = gauge(slices.Contains(truth, h))
			}
			if d := cmp.Diff(want, s.Select(metrics.NameHolder)); d != "" {
				t.Errorf("%s: holder against crm_mon (-want +got):\n%s", host, d)
			}
			wantPresent := metrics.Samples{key(metrics.NamePresent, "group", g.Name, "host", host): gauge(slices.Contains(addrHolders, host))}
			if d := cmp.Diff(wantPresent, s.Select(metrics.NamePresent)); d != "" {
				t.Errorf("%s: address present against netlink (-want +got):\n%s", host, d)
			}
			wantUp := metrics.Samples{}
			for _, src := range []string{metrics.SourceCrmMon, metrics.SourceJournal, metrics.SourceNetlink} {
				wantUp[key(metrics.NameSourceUp, "source", src)] = 1
			}
			wantUp[metrics.NameQuorate] = 1
			got := s.Select(metrics.NameSourceUp)
			got[metrics.NameQuorate] = s[metrics.NameQuorate]
			if d := cmp.Diff(wantUp, got); d != "" {
				t.Errorf("%s: sources and quorum (-want +got):\n%s", host, d)
			}
		}
	}
	// checkJournal: the moves and the VIP agent's starts on host agree with its journal (started:
	// the journal must have a start there).
	checkJournal := func(t *testing.T, host string, started bool) {
		t.Helper()
		var got metrics.Samples
		var moves, starts int
		startsKey := key(metrics.NameActionDuration+"_count", "action", "start", "agent", "vip", "group", g.Name, "host", host)
		movesKey := key(metrics.NameMoves, "group", g.Name)
		err := wait.Until(ctx, 500*time.Millisecond, func() (bool, error) {
			events, _, err := journal.Journal{Path: l.Journal(host)}.Read(time.Time{})
			if err != nil {
				return false, err
			}
			moves = len(journal.Moves(events, func(r string) bool { return r == g.VIPID() }))
			starts = 0
			for _, e := range events {
				if e.Kind == journal.KindResource && e.Resource == g.VIPID() && e.Task == "start" && e.Node == host {
					starts++
				}
			}
			got = scrape(t, host)
			return got[movesKey] == float64(moves) && got[startsKey] == float64(starts), nil
		})
		if err != nil {
			t.Errorf("%s: moves %v and VIP starts %v exported; the journal has %d and %d (%v)", host, got[movesKey], got[startsKey], moves, starts, err)
		}
		if started && starts == 0 {
			t.Errorf("%s: the journal has no start of %s: the check compared nothing", host, g.VIPID())
		}
	}

	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("holders %v (%v)", holders, err)
	}
	t.Run("settled", func(t *testing.T) {
		check(t)
		checkJournal(t, holders[0], false) // the first start may come before the CIB's alert
	})
	to := g.Hosts[(slices.Index(g.Hosts, holders[0])+1)%len(g.Hosts)]
	t.Run("after a move to "+to, func(t *testing.T) {
		if err := l.MoveVIP(ctx, g.Name, to); err != nil {
			t.Fatal(err)
		}
		check(t)
		// A planned move is counted only by a journal that knew the old holder (alerts of an
		// operation reach only its host; events.md): the count is checked against the journal.
		checkJournal(t, to, true)
	})
}
