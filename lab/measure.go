package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Failover is what the lab's client saw of one VIP when its holder failed.
type Failover struct {
	Group    string        `json:"group"`
	Address  string        `json:"address"` // VIP:port probed
	From     string        `json:"from"`    // the failed holder
	To       string        `json:"to"`      // the host that answered afterwards
	FailedAt time.Time     `json:"failed_at"`
	Outage   time.Duration `json:"outage"` // failure → first successful connection from the client
}

// FailMeasured fails the host like Fail and, for every VIP it held, measures the outage a
// client sees: a probe in the client namespace connects to VIP:port (the group's first
// cluster port) every 20 ms from before the failure until a survivor answers.
func (l *Lab) FailMeasured(ctx context.Context, name string, linkOnly bool) ([]Failover, error) {
	if _, err := l.state.host(name); err != nil {
		return nil, err
	}
	type watch struct {
		f     Failover
		lines chan probeLine
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var watches []*watch
	var probes []*exec.Cmd
	defer func() {
		cancel()
		for _, p := range probes {
			_ = p.Wait()
		}
	}()
	for _, g := range l.topo.Groups {
		holders, err := l.Holders(g.Name)
		if err != nil {
			return nil, err
		}
		cs := l.topo.ClustersOf(g.Name)
		if !slices.Contains(holders, name) || len(cs) == 0 {
			continue
		}
		addr := netip.AddrPortFrom(g.VIP.Prefix.Addr(), uint16(cs[0].Port)).String()
		p := exec.CommandContext(pctx, "ip", "netns", "exec", l.state.Client.NetNS, l.state.Vipctl, "lab", "_probe", addr,
			"--interval", "20ms", "--timeout", "200ms")
		out, err := p.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("lab: probe: %w", err)
		}
		if err := p.Start(); err != nil {
			return nil, fmt.Errorf("lab: probe: %w", err)
		}
		probes = append(probes, p)
		w := &watch{f: Failover{Group: g.Name, Address: addr, From: name}, lines: make(chan probeLine)}
		go readProbe(pctx, out, w.lines)
		if _, err := awaitProbe(pctx, w.lines, func(p probeLine) bool { return p.answer == name }); err != nil {
			return nil, fmt.Errorf("lab: the client does not reach %s at %s before the failure: %w", name, addr, err)
		}
		watches = append(watches, w)
	}
	failed := time.Now()
	if err := l.Fail(ctx, name, linkOnly); err != nil {
		return nil, err
	}
	var fs []Failover
	for _, w := range watches {
		ok, err := awaitProbe(pctx, w.lines, func(p probeLine) bool {
			return p.answer != "" && p.answer != name && p.at.After(failed)
		})
		if err != nil {
			return fs, fmt.Errorf("lab: no survivor answered at %s: %w", w.f.Address, err)
		}
		w.f.To, w.f.FailedAt, w.f.Outage = ok.answer, failed, ok.at.Sub(failed)
		fs = append(fs, w.f)
	}
	return fs, nil
}

// probeLine is one line of `vipctl lab _probe`.
type probeLine struct {
	at      time.Time
	answer  string // the host that answered; "" for a failed attempt
	outcome string // as the probe wrote it: "ok HOST" or "fail REASON"
}

// parseProbeLine reads one line of `vipctl lab _probe`; ok is false for a line that is none.
func parseProbeLine(s string) (p probeLine, ok bool) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return probeLine{}, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return probeLine{}, false
	}
	p = probeLine{at: time.Unix(0, ns), outcome: strings.Join(f[1:], " ")}
	if f[1] == "ok" && len(f) == 3 {
		p.answer = f[2]
	}
	return p, true
}

// readProbe parses the probe's output into lines until it ends or ctx does.
func readProbe(ctx context.Context, r io.Reader, lines chan<- probeLine) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p, ok := parseProbeLine(sc.Text())
		if !ok {
			continue
		}
		select {
		case lines <- p:
		case <-ctx.Done():
			return
		}
	}
}

func awaitProbe(ctx context.Context, lines <-chan probeLine, ok func(probeLine) bool) (probeLine, error) {
	for {
		select {
		case <-ctx.Done():
			return probeLine{}, ctx.Err()
		case p, more := <-lines:
			if !more {
				return probeLine{}, errors.New("the probe ended")
			}
			if ok(p) {
				return p, nil
			}
		}
	}
}
