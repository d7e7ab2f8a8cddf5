package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/vishvananda/netns"
)

// sample is what the lab's client saw of the VIP at one tick.
type sample struct {
	at  time.Time
	arp []string // hosts whose MAC answered an ARP request for the VIP within the tick, sorted
	tcp string   // the host that answered VIP:port within the tick, "" when none did
}

// watcher samples the VIP from the lab's client namespace every tick: one ARP request (every
// host whose kernel holds the address answers it, whatever its daemons think) and one TCP
// connection to the listener behind VIP:port (which host really serves).
type watcher struct {
	mu      sync.Mutex
	samples []sample
	err     error
	done    chan struct{}
}

// watch starts sampling in a goroutine locked to an OS thread that joins the client's network
// namespace for good (the thread ends with the goroutine and is never reused).
func watch(ctx context.Context, clientNS, nic string, vip netip.AddrPort, hostOf map[string]string, tick time.Duration) *watcher {
	w := &watcher{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		runtime.LockOSThread() // never unlocked: the thread leaves this namespace only by ending
		err := w.loop(ctx, clientNS, nic, vip, hostOf, tick)
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}()
	return w
}

func (w *watcher) loop(ctx context.Context, clientNS, nic string, vip netip.AddrPort, hostOf map[string]string, tick time.Duration) error {
	ns, err := netns.GetFromName(clientNS)
	if err != nil {
		return fmt.Errorf("watch: netns %s: %w", clientNS, err)
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("watch: join %s: %w", clientNS, err)
	}
	ifi, err := net.InterfaceByName(nic)
	if err != nil {
		return fmt.Errorf("watch: %s in %s: %w", nic, clientNS, err)
	}
	c, err := arp.Dial(ifi)
	if err != nil {
		return fmt.Errorf("watch: arp on %s: %w", nic, err)
	}
	defer c.Close()
	t := time.NewTicker(tick)
	defer t.Stop()
	budget := tick * 9 / 10
	for {
		start := time.Now()
		end := start.Add(budget)
		s := sample{at: start}
		if err := c.Request(vip.Addr()); err != nil {
			return fmt.Errorf("watch: arp request: %w", err)
		}
		s.tcp = dialName(vip, start.Add(budget*6/10))
		seen := map[string]bool{}
		for {
			_ = c.SetReadDeadline(end)
			p, _, err := c.Read()
			if err != nil {
				break // the tick's window is over
			}
			if p.Operation != arp.OperationReply || p.SenderIP != vip.Addr() {
				continue
			}
			name := hostOf[p.SenderHardwareAddr.String()]
			if name == "" {
				name = p.SenderHardwareAddr.String()
			}
			seen[name] = true
		}
		for n := range seen {
			s.arp = append(s.arp, n)
		}
		slices.Sort(s.arp)
		w.mu.Lock()
		w.samples = append(w.samples, s)
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// dialName connects to addr and reads the answering host's name (the lab's listener writes it).
func dialName(addr netip.AddrPort, deadline time.Time) string {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("tcp", addr.String())
	if err != nil {
		return ""
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(deadline)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimSpace(line)
}

// since returns the samples taken at or after t.
func (w *watcher) since(t time.Time) []sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearchFunc(w.samples, t, func(s sample, t time.Time) int { return s.at.Compare(t) })
	return slices.Clone(w.samples[i:])
}

// last returns the newest sample and whether there is one.
func (w *watcher) last() (sample, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return sample{}, false
	}
	return w.samples[len(w.samples)-1], true
}

// failure returns why sampling stopped early, if it did.
func (w *watcher) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// trim drops samples older than t (a long soak keeps only what its current drill reads).
func (w *watcher) trim(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearchFunc(w.samples, t, func(s sample, t time.Time) int { return s.at.Compare(t) })
	w.samples = slices.Delete(w.samples, 0, i)
}
