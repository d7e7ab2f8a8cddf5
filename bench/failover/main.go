// Command failover measures, on a real lab, how long clients lose a VIP when its holder fails,
// with the vipctl agent and with IPaddr2, in one lab run. See run.sh and docs/lab.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/lab"
	"github.com/vipctl/vipctl/topology"
)

func main() { os.Exit(run()) }

// result is one drill.
type result struct {
	Agent    string
	Drill    int
	Holder   string        // the host that failed
	WasDC    bool          // it was the designated controller when it failed
	Survivor string        // the host that answered afterwards
	Outage   time.Duration // failure → first successful connect from the client
	Share    time.Duration // start scheduled on the survivor (DC's log) → first successful connect; <0 unknown
	StartOp  time.Duration // the survivor's start operation (its log); <0 unknown
	// LocalShare runs from the survivor's controller receiving the start ("Requesting local
	// execution", its log) to the first successful connect: Share without the DC→survivor hop.
	LocalShare time.Duration
}

func run() int {
	var (
		vipctl = flag.String("vipctl", "", "the vipctl binary the lab runs (required)")
		drills = flag.Int("drills", 5, "drills per agent")
		mode   = flag.String("mode", "link", "how the holder fails: link (its link goes down) or power (powered off)")
		keep   = flag.Bool("keep", false, "leave the lab up afterwards")
		params paramFlags
	)
	flag.Var(&params, "vipctl-param", "NAME=VALUE instance attribute set on the vipctl agent's VIP for its drills (repeatable), e.g. dad_probe=false")
	flag.Parse()
	if *vipctl == "" || (*mode != "link" && *mode != "power") || *drills < 1 {
		flag.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	upCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	l, err := lab.Up(upCtx, lab.Options{Vipctl: *vipctl, Logger: log})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		return 1
	}
	defer func() {
		if *keep {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := lab.Down(dctx, "", log); err != nil {
			fmt.Fprintln(os.Stderr, "failover: lab down:", err)
		}
	}()

	var results []result
	for _, agent := range []string{topology.AgentVipctl, topology.AgentIPaddr2} {
		if err := useAgent(ctx, l, agent); err != nil {
			fmt.Fprintln(os.Stderr, "failover:", err)
			return 1
		}
		if agent == topology.AgentVipctl && len(params) > 0 {
			if err := setParams(ctx, l, params); err != nil {
				fmt.Fprintln(os.Stderr, "failover:", err)
				return 1
			}
		}
		for i := 1; i <= *drills; i++ {
			r, err := drill(ctx, l, agent, i, *mode == "link", log)
			if err != nil {
				fmt.Fprintln(os.Stderr, "failover:", err)
				return 1
			}
			log.Info("drill", "agent", r.Agent, "n", r.Drill, "holder", r.Holder, "dc", r.WasDC, "outage", r.Outage, "share", r.Share)
			results = append(results, r)
		}
	}
	if len(params) > 0 {
		fmt.Printf("vipctl agent parameters: %s\n", strings.Join(params, " "))
	}
	report(os.Stdout, results, *mode)
	return 0
}

// useAgent applies the lab's topology with every VIP on the given agent and waits until settled.
func useAgent(ctx context.Context, l *lab.Lab, agent string) error {
	t := *l.Topology()
	t.Groups = slices.Clone(t.Groups)
	for i := range t.Groups {
		t.Groups[i].VIP.Agent = agent
	}
	h, err := l.Host(t.Hosts[0].Name)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := lab.ApplyCIB(lab.DefaultDir)(actx, &t, h.Runner(pcmk.DefaultTimeout)); err != nil {
		return fmt.Errorf("switching to %s: %w", agent, err)
	}
	return l.Settle(ctx)
}

// paramFlags collects repeated NAME=VALUE flags.
type paramFlags []string

func (p *paramFlags) String() string { return strings.Join(*p, ",") }

func (p *paramFlags) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", v)
	}
	*p = append(*p, v)
	return nil
}

// setParams sets instance attributes on every group's VIP (crm_resource inside a host) and
// waits until the cluster has settled again (changing one restarts the VIP).
func setParams(ctx context.Context, l *lab.Lab, params []string) error {
	h, err := l.Host(l.Topology().Hosts[0].Name)
	if err != nil {
		return err
	}
	for _, g := range l.Topology().Groups {
		for _, p := range params {
			name, value, _ := strings.Cut(p, "=")
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			out, err := h.Command(cctx, "crm_resource", "--resource", g.VIPID(),
				"--set-parameter", name, "--parameter-value", value).CombinedOutput()
			cancel()
			if err != nil {
				return fmt.Errorf("crm_resource --set-parameter %s: %w: %s", p, err, out)
			}
		}
	}
	return l.Settle(ctx)
}

// drill fails the VIP's holder, measures until the client connects again, and heals.
func drill(ctx context.Context, l *lab.Lab, agent string, n int, linkOnly bool, log *slog.Logger) (result, error) {
	r := result{Agent: agent, Drill: n, Share: -1, StartOp: -1, LocalShare: -1}
	g := l.Topology().Groups[0]
	cs := l.Topology().ClustersOf(g.Name)
	if len(cs) == 0 {
		return r, errors.New("the lab topology has no cluster port to probe")
	}
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		return r, fmt.Errorf("drill %d: VIP held by %v (%v), want one host", n, holders, err)
	}
	r.Holder = holders[0]
	h, err := l.Host(r.Holder)
	if err != nil {
		return r, err
	}
	st, err := h.Status(ctx)
	if err != nil {
		return r, err
	}
	r.WasDC = st.DC == r.Holder

	fs, err := l.FailMeasured(ctx, r.Holder, linkOnly)
	if err != nil {
		return r, fmt.Errorf("drill %d: %w", n, err)
	}
	if len(fs) != 1 {
		return r, fmt.Errorf("drill %d: %d VIPs measured, want 1", n, len(fs))
	}
	failed := fs[0].FailedAt
	r.Survivor, r.Outage = fs[0].To, fs[0].Outage
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer hcancel()
	if err := l.Heal(hctx); err != nil {
		return r, err
	}
	if err := l.Settle(hctx); err != nil {
		return r, err
	}
	// Read the logs once the cluster has settled: Pacemaker writes them buffered.
	rsc := g.VIPID()
	if sched, found := logTime(l, failed, "Initiating start operation "+rsc+"_start_0 on "+r.Survivor,
		"Initiating start operation "+rsc+"_start_0 locally on "+r.Survivor); found {
		r.Share = failed.Add(r.Outage).Sub(sched)
	}
	begin, found1 := logTime(l, failed, "Requesting local execution of start operation for "+rsc+" on "+r.Survivor)
	end, found2 := logTime(l, failed, "Result of start operation for "+rsc+" on "+r.Survivor)
	if found1 && found2 {
		r.StartOp = end.Sub(begin)
	}
	if found1 {
		r.LocalShare = failed.Add(r.Outage).Sub(begin)
	}
	log.Debug("healed", "drill", n)
	return r, nil
}

// logTime finds the first line containing one of whats, at or after since, in any host's
// Pacemaker log (the DC writes "Initiating", the survivor "Requesting" and "Result").
// Pacemaker stamps lines with local time to the millisecond and no year.
func logTime(l *lab.Lab, since time.Time, whats ...string) (time.Time, bool) {
	var best time.Time
	for _, h := range l.Topology().Hosts {
		f, err := os.Open(l.PacemakerLog(h.Name))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if len(line) < 19 || !slices.ContainsFunc(whats, func(w string) bool { return strings.Contains(line, w) }) {
				continue
			}
			ts, err := time.ParseInLocation("Jan _2 15:04:05.000", line[:19], time.Local)
			if err != nil {
				continue
			}
			ts = ts.AddDate(since.Year(), 0, 0)
			if !ts.Before(since.Truncate(time.Millisecond)) && (best.IsZero() || ts.Before(best)) {
				best = ts
			}
		}
		f.Close()
	}
	return best, !best.IsZero()
}

func report(w io.Writer, rs []result, mode string) {
	fmt.Fprintf(w, "failure mode: %s\n", mode)
	fmt.Fprintf(w, "%-8s %5s %-7s %-5s %-8s %10s %12s %12s %10s\n", "AGENT", "DRILL", "HOLDER", "DC", "SURVIVOR", "OUTAGE_MS", "AGENT_SHARE", "LOCAL_SHARE", "START_OP")
	for _, r := range rs {
		fmt.Fprintf(w, "%-8s %5d %-7s %-5v %-8s %10s %12s %12s %10s\n", r.Agent, r.Drill, r.Holder, r.WasDC, r.Survivor,
			ms(r.Outage), ms(r.Share), ms(r.LocalShare), ms(r.StartOp))
	}
	for _, agent := range []string{topology.AgentVipctl, topology.AgentIPaddr2} {
		var out, share, local, op []time.Duration
		for _, r := range rs {
			if r.Agent != agent {
				continue
			}
			out = append(out, r.Outage)
			if r.Share >= 0 {
				share = append(share, r.Share)
			}
			if r.StartOp >= 0 {
				op = append(op, r.StartOp)
			}
			if r.LocalShare >= 0 {
				local = append(local, r.LocalShare)
			}
		}
		fmt.Fprintf(w, "median %-8s outage %s ms, agent share %s ms (from the survivor's log %s ms), start op %s ms (n=%d)\n",
			agent, ms(median(out)), ms(median(share)), ms(median(local)), ms(median(op)), len(out))
	}
	// A failed DC costs a DC election first (about a second): compare the agents within each class.
	for _, wasDC := range []bool{false, true} {
		for _, agent := range []string{topology.AgentVipctl, topology.AgentIPaddr2} {
			var out []time.Duration
			for _, r := range rs {
				if r.Agent == agent && r.WasDC == wasDC {
					out = append(out, r.Outage)
				}
			}
			fmt.Fprintf(w, "median %-8s outage %s ms when the failed holder was the DC=%v (n=%d)\n",
				agent, ms(median(out)), wasDC, len(out))
		}
	}
}

func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
