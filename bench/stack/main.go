// Command stack measures what a PostgreSQL client sees when parts of the stack fail: a writer in
// the lab's client namespace commits one numbered row every 20 ms through VIP:port while hosts
// are powered off, PostgreSQL is killed or a link is cut, with Patroni's stock timings and with
// vipctl's, in one run. See run.sh and docs/stack-lab.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/bench/internal/benchrun"
	"github.com/vipctl/vipctl/lab"
	"github.com/vipctl/vipctl/topology"
)

func main() { os.Exit(run()) }

// profile is one set of Patroni and HAProxy settings, as blocks of the lab topology's cluster.
type profile struct {
	name   string
	blocks string
}

var profiles = map[string]profile{
	// Patroni's own defaults, and the health checks vipctl rendered before it had settings.
	"stock": {"stock", `  patroni {
    ttl           = 30
    loop_wait     = 10
    retry_timeout = 10
  }
  haproxy {
    check_interval_ms = 3000
    fall              = 3
    rise              = 2
    resolve_interval_ms = 10000
  }
`},
	"vipctl": {"vipctl", ""}, // the topology's defaults
	"sync": {"sync", `  patroni {
    synchronous_mode = true
  }
`},
	// A crashed primary fails over to the synchronous standby at once instead of recovering in
	// place; only safe with synchronous mode (no acknowledged commit is only on the primary).
	"syncfailover": {"syncfailover", `  patroni {
    synchronous_mode      = true
    primary_start_timeout = 0
  }
`},
}

// kind is one drill of issue 9's list.
type kind struct {
	id, what string
}

var kinds = []kind{
	{"a", "power off the host holding the VIP and the primary"},
	{"b", "power off the primary's host (VIP elsewhere)"},
	{"c", "power off the VIP holder (primary elsewhere)"},
	{"d", "kill PostgreSQL on the primary"},
	{"e", "cut the primary's link"},
}

// result is one drill.
type result struct {
	profile, kind string
	n             int
	target        string
	failedAt      time.Time
	outage        time.Duration
	lost          int
}

func run() int {
	var (
		vipctl   = flag.String("vipctl", "", "the vipctl binary the lab runs (required)")
		writer   = flag.String("writer", "", "the writer binary (required)")
		drills   = flag.Int("drills", 5, "drills per profile, cycling through kinds a..e")
		only     = flag.String("kinds", "abcde", "the drill kinds to run")
		profs    = flag.String("profiles", "stock,vipctl", "comma-separated profiles: stock, vipctl, sync, syncfailover")
		steady   = flag.Duration("steady", 0, "before the drills of the vipctl profile, write this long with no fault and report any failover")
		logFile  = flag.String("log", "", "also write every drill's line here")
		existing = flag.Bool("existing", false, "drill the stack lab that is up (vipctl lab up --stack) instead of bringing one up per profile")
		progress = flag.Bool("progress", false, "the writer prints a progress line every second")
	)
	flag.Parse()
	if (*vipctl == "" && !*existing) || *writer == "" || *drills < 1 || *only == "" {
		flag.Usage()
		return 2
	}
	var ks []kind
	for _, k := range kinds {
		if strings.Contains(*only, k.id) {
			ks = append(ks, k)
		}
	}
	var ps []profile
	for _, name := range strings.Split(*profs, ",") {
		p, ok := profiles[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "stack: unknown profile %q\n", name)
			return 2
		}
		ps = append(ps, p)
	}
	r, err := benchrun.Start(*logFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		return 1
	}
	defer r.Close()
	ctx, log, out := r.Ctx, r.Log, r.Out

	d := drillSet{kinds: ks, drills: *drills, steady: *steady, writer: *writer, progress: *progress, log: log, out: out}
	if *existing {
		l, err := lab.Open("", log)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stack:", err)
			return 1
		}
		rs, err := d.run(ctx, l, "lab")
		report(out, rs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stack:", err)
			return 1
		}
		return 0
	}
	var all []result
	for _, p := range ps {
		rs, err := d.runProfile(ctx, p, *vipctl)
		all = append(all, rs...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stack:", err)
			report(out, all)
			return 1
		}
	}
	report(out, all)
	return 0
}

// drillSet is what to run against each lab.
type drillSet struct {
	kinds    []kind
	drills   int
	steady   time.Duration
	writer   string // the writer binary
	progress bool
	log      *slog.Logger
	out      io.Writer
}

// runProfile brings a stack lab up with the profile's settings, runs the drills and takes the
// lab down.
func (d drillSet) runProfile(ctx context.Context, p profile, vipctl string) (_ []result, err error) {
	log := d.log
	tmp, err := os.MkdirTemp("", "vipctl-stack-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	topoFile := filepath.Join(tmp, "vipctl.hcl")
	text := strings.TrimSuffix(lab.DefaultTopology, "}\n") + p.blocks + "}\n"
	if err := os.WriteFile(topoFile, []byte(text), 0o644); err != nil {
		return nil, err
	}
	log.Info("bringing the stack lab up", "profile", p.name)
	upCtx, cancel := context.WithTimeout(ctx, 12*time.Minute)
	l, err := lab.Up(upCtx, lab.Options{TopologyFile: topoFile, Vipctl: vipctl, Stack: true, Logger: log})
	cancel()
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		if err != nil {
			keepEvidence(dctx, log, l)
		}
		if derr := lab.Down(dctx, "", log); derr != nil {
			err = errors.Join(err, fmt.Errorf("lab down: %w", derr))
		}
	}()
	return d.run(ctx, l, p.name)
}

// keepEvidence saves, before a failed run's lab goes down, what tells why: the members as
// Patroni sees them and every host's logs (the lab's state directory goes with the lab).
func keepEvidence(ctx context.Context, log *slog.Logger, l *lab.Lab) {
	dir, err := os.MkdirTemp("/var/tmp", "vipctl-stack-failed-")
	if err != nil {
		log.Error("keeping the logs", "err", err)
		return
	}
	for _, c := range l.Topology().Clusters {
		ms, err := l.Members(ctx, c)
		b, _ := json.MarshalIndent(struct {
			Members []lab.Member
			Err     string `json:",omitempty"`
		}{ms, fmt.Sprint(err)}, "", "  ")
		_ = os.WriteFile(filepath.Join(dir, "members-"+c.Name+".json"), b, 0o644)
	}
	logs, _ := filepath.Glob(filepath.Join(lab.DefaultDir, "hosts", "*", "*.log"))
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		host := filepath.Base(filepath.Dir(f))
		_ = os.WriteFile(filepath.Join(dir, host+"-"+filepath.Base(f)), b, 0o644)
	}
	log.Warn("the failed run's members and logs are kept", "dir", dir, "logs", len(logs))
}

// run drills the lab under a steady write load and checks every acknowledged row afterwards.
func (d drillSet) run(ctx context.Context, l *lab.Lab, profName string) ([]result, error) {
	log, out := d.log, d.out
	c := l.Topology().Clusters[0]
	g, _ := l.Topology().Group(c.HostGroup)
	if err := l.WaitStack(ctx, 3*time.Minute); err != nil {
		return nil, err
	}

	w, err := startWriter(ctx, l, d.writer, netip.AddrPortFrom(g.VIP.Prefix.Addr(), uint16(c.Port)).String(), d.progress)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	if _, err := w.ackAfter(ctx, time.Now(), time.Minute); err != nil {
		return nil, fmt.Errorf("the writer commits nothing: %w", err)
	}

	if steady := d.steady; steady > 0 && profName == "vipctl" { // false failovers matter with the short timings
		from, _ := l.Primary(ctx, c)
		log.Info("steady load, no fault", "profile", profName, "for", steady)
		start := time.Now()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(steady):
		}
		to, _ := l.Primary(ctx, c)
		gap := w.longestGap(start, time.Now())
		fmt.Fprintf(out, "steady %s: %s of writes, primary %s → %s, longest gap between acks %d ms, failed commits %d\n",
			profName, steady, from, to, gap.Milliseconds(), w.failsBetween(start, time.Now()))
	}

	var rs []result
	for i := 0; i < d.drills; i++ {
		k := d.kinds[i%len(d.kinds)]
		r, err := drill(ctx, l, c, w, profName, k, i+1, log)
		if err != nil {
			return rs, fmt.Errorf("profile %s drill %d (%s): %w", profName, i+1, k.id, err)
		}
		fmt.Fprintf(out, "drill %s %2d %s target=%s outage_ms=%d\n", r.profile, r.n, r.kind, r.target, r.outage.Milliseconds())
		rs = append(rs, r)
	}

	// Every acknowledged row must be in the table, read through the VIP after the last heal.
	w.stop()
	rows, err := l.SQL(ctx, c, "SELECT seq FROM vipctl_writes ORDER BY seq")
	if err != nil {
		return rs, err
	}
	present := map[int64]bool{}
	for _, f := range strings.Fields(rows) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return rs, fmt.Errorf("reading the rows: %q", f)
		}
		present[n] = true
	}
	acks := w.snapshot()
	for _, a := range acks {
		if present[a.seq] {
			continue
		}
		// A lost row belongs to the last drill whose fault came before its acknowledgement.
		for j := len(rs) - 1; j >= 0; j-- {
			if !a.at.Before(rs[j].failedAt.Add(-time.Minute)) {
				rs[j].lost++
				break
			}
		}
	}
	lost := 0
	for _, r := range rs {
		lost += r.lost
	}
	fmt.Fprintf(out, "profile %s: %d acknowledged commits, %d of them missing afterwards\n", profName, len(acks), lost)
	return rs, nil
}

// drill arranges where the primary runs, causes the fault, waits for the first acknowledged
// commit after it, heals, and waits until the stack is whole again.
func drill(ctx context.Context, l *lab.Lab, c topology.Cluster, w *writer, prof string, k kind, n int, log *slog.Logger) (result, error) {
	r := result{profile: prof, kind: k.id, n: n}
	holders, err := l.Holders(c.HostGroup)
	if err != nil || len(holders) != 1 {
		return r, fmt.Errorf("VIP held by %v (%v), want one host", holders, err)
	}
	holder := holders[0]
	g, _ := l.Topology().Group(c.HostGroup)
	other := g.Hosts[(slices.Index(g.Hosts, holder)+1)%len(g.Hosts)]
	// Put the primary where the drill wants it, with the VIP: by a switchover, or, where
	// Patroni refuses one (synchronous mode switches over only to the synchronous standby),
	// by moving the VIP instead.
	primary, err := l.Primary(ctx, c)
	if err != nil {
		return r, err
	}
	switch k.id {
	case "a":
		if primary != holder {
			if err = l.Switchover(ctx, c, holder); err != nil {
				log.Info("moving the VIP instead", "why", err)
				err = l.MoveVIP(ctx, c.HostGroup, primary)
			}
		}
	case "b", "c":
		if primary == holder {
			if err = l.Switchover(ctx, c, other); err != nil {
				log.Info("moving the VIP instead", "why", err)
				err = l.MoveVIP(ctx, c.HostGroup, other)
			}
		}
	}
	if err != nil {
		return r, err
	}
	if holders, err = l.Holders(c.HostGroup); err != nil || len(holders) != 1 {
		return r, fmt.Errorf("VIP held by %v (%v), want one host", holders, err)
	}
	holder = holders[0]
	if primary, err = l.Primary(ctx, c); err != nil {
		return r, err
	}
	r.target = primary
	if k.id == "c" {
		r.target = holder
	}
	log.Info("drill", "profile", prof, "n", n, "kind", k.id, "what", k.what, "target", r.target)
	if _, err := w.ackAfter(ctx, time.Now(), 30*time.Second); err != nil {
		return r, fmt.Errorf("no commit before the fault: %w", err)
	}
	r.failedAt = time.Now()
	switch k.id {
	case "a", "b", "c":
		err = l.Fail(ctx, r.target, false)
	case "d":
		err = l.KillPostgres(ctx, c, r.target)
	case "e":
		err = l.Fail(ctx, r.target, true)
	}
	if err != nil {
		return r, err
	}
	// Commits in flight may still be acknowledged while the fault takes effect: the outage is
	// the longest stop between two acknowledgements from just before the fault until the
	// first one after it is complete.
	done := time.Now()
	first, err := w.ackAfter(ctx, done, 3*time.Minute)
	if err != nil {
		return r, fmt.Errorf("writes did not resume: %w", err)
	}
	r.outage = w.longestGap(r.failedAt.Add(-time.Second), first)
	log.Info("writes resumed", "outage", r.outage)
	hctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if k.id != "d" {
		if err := l.Heal(hctx); err != nil {
			return r, err
		}
	}
	if err := l.Settle(hctx); err != nil {
		return r, err
	}
	return r, l.WaitStack(hctx, 4*time.Minute)
}

// ack is one acknowledged commit.
type ack struct {
	seq int64
	at  time.Time
}

// writer is the running client (bench/stack/writer) and what it has reported.
type writer struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	acks  []ack
	fails []time.Time
	wake  chan struct{} // closed and replaced on every ack
}

func startWriter(ctx context.Context, l *lab.Lab, bin, addr string, progress bool) (*writer, error) {
	st := l.State()
	cmd := exec.CommandContext(context.WithoutCancel(ctx), "ip", "netns", "exec", st.Client.NetNS, bin, "-addr", addr,
		"-progress="+strconv.FormatBool(progress))
	cmd.Env = append(os.Environ(), "PGPASSFILE="+filepath.Join(lab.DefaultDir, lab.PgpassFile))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	w := &writer{cmd: cmd, done: make(chan struct{}), wake: make(chan struct{})}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 3 {
				continue
			}
			seq, err1 := strconv.ParseInt(f[1], 10, 64)
			ns, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			w.mu.Lock()
			switch f[0] {
			case "ack":
				w.acks = append(w.acks, ack{seq, time.Unix(0, ns)})
				close(w.wake)
				w.wake = make(chan struct{})
			case "fail":
				w.fails = append(w.fails, time.Unix(0, ns))
			}
			w.mu.Unlock()
		}
	}()
	return w, nil
}

// stop ends the writer after its commit in flight and waits until its output is read.
func (w *writer) stop() {
	w.once.Do(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		<-w.done
		_ = w.cmd.Wait()
	})
}

// ackAfter waits for the first acknowledgement later than t and returns its time.
func (w *writer) ackAfter(ctx context.Context, t time.Time, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		i, _ := slices.BinarySearchFunc(w.acks, t, func(a ack, t time.Time) int { return a.at.Compare(t) })
		for i < len(w.acks) && !w.acks[i].at.After(t) {
			i++
		}
		if i < len(w.acks) {
			at := w.acks[i].at
			w.mu.Unlock()
			return at, nil
		}
		wake := w.wake
		w.mu.Unlock()
		select {
		case <-wake:
		case <-w.done:
			return time.Time{}, errors.New("the writer has ended")
		case <-deadline:
			return time.Time{}, fmt.Errorf("no acknowledged commit within %s", timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// longestGap is the longest time between two acknowledgements within [from, to].
func (w *writer) longestGap(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var gap time.Duration
	var prev time.Time
	for _, a := range w.acks {
		if a.at.Before(from) || a.at.After(to) {
			continue
		}
		if !prev.IsZero() {
			gap = max(gap, a.at.Sub(prev))
		}
		prev = a.at
	}
	return gap
}

func (w *writer) failsBetween(from, to time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, f := range w.fails {
		if !f.Before(from) && !f.After(to) {
			n++
		}
	}
	return n
}

func (w *writer) snapshot() []ack {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acks)
}

// report prints the medians per profile and kind, the ratios and the summary line.
func report(out io.Writer, rs []result) {
	med := func(prof, k string) (time.Duration, int) {
		var ds []time.Duration
		for _, r := range rs {
			if r.profile == prof && (k == "" || r.kind == k) {
				ds = append(ds, r.outage)
			}
		}
		return median(ds), len(ds)
	}
	var profs []string
	for _, r := range rs {
		if !slices.Contains(profs, r.profile) {
			profs = append(profs, r.profile)
		}
	}
	fmt.Fprintf(out, "%-8s %-4s %6s %14s %6s\n", "PROFILE", "KIND", "DRILLS", "MEDIAN_OUT_MS", "LOST")
	for _, p := range profs {
		for _, k := range kinds {
			m, n := med(p, k.id)
			if n == 0 {
				continue
			}
			lost := 0
			for _, r := range rs {
				if r.profile == p && r.kind == k.id {
					lost += r.lost
				}
			}
			fmt.Fprintf(out, "%-8s %-4s %6d %14d %6d   %s\n", p, k.id, n, m.Milliseconds(), lost, k.what)
		}
	}
	for _, k := range []string{"a", "d"} {
		s, ns := med("stock", k)
		v, nv := med("vipctl", k)
		if ns > 0 && nv > 0 && s > 0 {
			fmt.Fprintf(out, "ratio vipctl/stock median outage, drill %s: %.2f (%d / %d ms)\n", k, float64(v)/float64(s), v.Milliseconds(), s.Milliseconds())
		}
	}
	n, lost := 0, 0
	for _, r := range rs {
		if r.profile == "vipctl" {
			n++
			lost += r.lost
		}
	}
	m, _ := med("vipctl", "")
	s, ns := med("stock", "")
	if n == 0 || ns == 0 {
		return // the summary line compares the two profiles
	}
	fmt.Fprintf(out, "stack: drills=%d lost=%d median_outage_ms=%d stock_median_outage_ms=%d\n", n, lost, m.Milliseconds(), s.Milliseconds())
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
