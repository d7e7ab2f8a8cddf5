package vip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// OCF exit codes (OCF resource agent API 1.0).
const (
	OCFSuccess          = 0
	OCFErrGeneric       = 1
	OCFErrArgs          = 2
	OCFErrUnimplemented = 3
	OCFErrPerm          = 4
	OCFErrInstalled     = 5
	OCFErrConfigured    = 6
	OCFNotRunning       = 7
)

// Status is an action's outcome other than success: an OCF exit code and why.
type Status struct {
	Code int
	Err  error
}

func (s *Status) Error() string { return s.Err.Error() }
func (s *Status) Unwrap() error { return s.Err }

func status(code int, err error) error { return &Status{Code: code, Err: err} }

// errNotRunning is the reason of a monitor that found the VIP absent.
var errNotRunning = errors.New("address is not on any interface")

// Agent runs the actions of the ocf:vipctl:vip resource agent.
type Agent struct {
	Getenv func(string) string // OCF_RESKEY_* source; default os.Getenv
	Stdout io.Writer           // meta-data goes here
	Stderr io.Writer           // ocf-exit-reason lines go here
	Exe    string              // executable re-run as the announcement helper; default /proc/self/exe
	RunDir string              // pidfiles of announcement helpers; default DefaultRunDir
}

const usage = "usage: vip {start|stop|monitor|validate-all|meta-data}"

// Run runs the action args[0] and returns its OCF exit code. On failure it writes an
// "ocf-exit-reason:" line to Stderr.
func (a *Agent) Run(ctx context.Context, args []string) int {
	if a.Getenv == nil {
		a.Getenv = os.Getenv
	}
	if a.Stdout == nil {
		a.Stdout = io.Discard
	}
	if a.Stderr == nil {
		a.Stderr = io.Discard
	}
	if a.Exe == "" {
		a.Exe = "/proc/self/exe"
	}
	if a.RunDir == "" {
		a.RunDir = DefaultRunDir
	}
	if len(args) == 0 {
		fmt.Fprintln(a.Stderr, usage)
		return OCFErrArgs
	}
	return exit(a.Stderr, a.run(ctx, args[0], args[1:]))
}

// exit maps an action's outcome to its OCF exit code, writing the "ocf-exit-reason:" line that
// Pacemaker shows for a failure.
func exit(stderr io.Writer, err error) int {
	if err == nil {
		return OCFSuccess
	}
	fmt.Fprintf(stderr, "ocf-exit-reason:%s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	return codeOf(err)
}

// codeOf maps an action's error to its OCF exit code. This is the only place that does.
func codeOf(err error) int {
	var st *Status
	switch {
	case errors.As(err, &st):
		return st.Code
	case errors.Is(err, ErrConfig):
		return OCFErrConfigured
	case errors.Is(err, ErrPermission):
		return OCFErrPerm
	case errors.Is(err, ErrNoNetns), errors.Is(err, ErrNoInterface), errors.Is(err, ErrNoRoute), errors.Is(err, ErrNoTool):
		return OCFErrInstalled
	default:
		return OCFErrGeneric
	}
}

func (a *Agent) run(ctx context.Context, action string, rest []string) error {
	switch action {
	case "meta-data":
		return WriteMetadata(a.Stdout)
	case "usage", "help":
		_, err := fmt.Fprintln(a.Stdout, usage)
		return err
	case announcerAction:
		return runAnnouncer(ctx, rest)
	case "start", "stop", "monitor", "status", "validate-all":
	default:
		fmt.Fprintln(a.Stderr, usage)
		return status(OCFErrUnimplemented, fmt.Errorf("action %q is not implemented", action))
	}
	p, err := ParseParams(a.Getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout-p.Timeout/10)
	defer cancel()
	h, err := OpenHost(p.Netns)
	if err != nil {
		if action == "stop" && errors.Is(err, ErrNoNetns) {
			return nil // nothing can be in a namespace that does not exist
		}
		return err
	}
	defer h.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := h.SetDeadline(dl); err != nil {
			return fmt.Errorf("netlink: %w", err)
		}
	}
	switch action {
	case "start", "stop":
		unlock, err := a.lock(ctx, h.Netns, p.Addr)
		if err != nil {
			return err
		}
		defer unlock()
		if action == "stop" {
			return a.stop(ctx, h, p)
		}
		return a.start(ctx, h, p)
	case "validate-all":
		_, _, err := resolve(h, p)
		return err
	default: // monitor, status
		return a.monitor(ctx, h, p)
	}
}

// lock serialises start and stop of one address in one namespace (two starts at once would
// each probe, see the other's address and report this host's own MAC as a duplicate): an
// exclusive flock on a file beside the announcement helper's pidfile, waited for until ctx
// ends. The lock goes with the process, so a killed action never leaves it held (only, at
// worst, an empty lock file).
func (a *Agent) lock(ctx context.Context, ns string, addr netip.Addr) (func(), error) {
	if err := os.MkdirAll(a.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", addr, err)
	}
	name := strings.TrimSuffix(pidfile(a.RunDir, ns, addr), ".pid") + ".lock"
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", addr, err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil && sameFile(f, name):
			// The holder removes the file before it lets go, so that nothing is left behind;
			// a lock taken on a removed file is no lock: open again.
			return func() { os.Remove(name); f.Close() }, nil
		case err == nil:
			f.Close()
			continue
		case !errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		f.Close()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: another start or stop of %s holds it: %w", name, addr, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// sameFile reports whether the open file f is still the file at name.
func sameFile(f *os.File, name string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(name)
	return err == nil && os.SameFile(a, b)
}

// resolve finds the interface for the VIP (nic, else route lookup) and its prefix length.
func resolve(h *Host, p Params) (Link, int, error) {
	var (
		link Link
		err  error
	)
	bits := p.Bits
	if p.NIC != "" {
		link, err = h.LinkByName(p.NIC)
		if err != nil {
			return Link{}, 0, err
		}
	} else {
		r, err := h.LookupRoute(p.Addr, 0)
		if err != nil {
			return Link{}, 0, fmt.Errorf("%w; set nic", err)
		}
		if link, err = h.LinkByIndex(r.LinkIndex); err != nil {
			return Link{}, 0, err
		}
		if bits < 0 {
			bits = r.Dst.Bits()
		}
	}
	if bits < 0 {
		r, err := h.LookupRoute(p.Addr, link.Index)
		if err != nil {
			return Link{}, 0, fmt.Errorf("%w on %s; set cidr_netmask", err, link.Name)
		}
		bits = r.Dst.Bits()
	}
	return link, bits, nil
}

// split separates the entries of the VIP on link from those on other interfaces.
func split(found []Address, link Link) (here *Address, elsewhere []Address) {
	for i := range found {
		if found[i].LinkIndex == link.Index {
			here = &found[i]
		} else {
			elsewhere = append(elsewhere, found[i])
		}
	}
	return here, elsewhere
}

func (h *Host) names(as []Address) string {
	var s []string
	for _, a := range as {
		if l, err := h.LinkByIndex(a.LinkIndex); err == nil {
			s = append(s, l.Name)
		} else {
			s = append(s, fmt.Sprintf("interface %d", a.LinkIndex))
		}
	}
	return strings.Join(s, ", ")
}

func (a *Agent) start(ctx context.Context, h *Host, p Params) error {
	link, bits, err := resolve(h, p)
	if err != nil {
		return err
	}
	found, err := h.Find(p.Addr)
	if err != nil {
		return err
	}
	here, elsewhere := split(found, link)
	if len(elsewhere) > 0 {
		return fmt.Errorf("%w: %s is on %s, not on %s", ErrElsewhere, p.Addr, h.names(elsewhere), link.Name)
	}
	if !link.Up {
		return status(OCFErrInstalled, fmt.Errorf("%w: %s", ErrLinkDown, link.Name))
	}
	prefix := netip.PrefixFrom(p.Addr, bits)
	if here != nil && here.Prefix.Bits() != bits {
		// Present with another prefix length (say a hand-added /32): put it right, or the
		// prefix route and the broadcast address stay wrong while the agent says started.
		if err := h.Del(*here); err != nil {
			return fmt.Errorf("replace %s with %s on %s: %w", here.Prefix, prefix, link.Name, err)
		}
		here = nil
	}
	added := false
	// One packet socket serves the whole start when the address is new: it receives the answers
	// to the ARP probe (IPv4) or to DAD (IPv6, to name the other host's MAC), sends the first
	// announcement round and goes to the helper for the rest. Closing the last reference to a
	// packet socket waits for an RCU grace period (about 7 ms here); start leaves that to the helper.
	var wire *os.File
	if here == nil && ((p.Addr.Is4() && p.DADProbe) || (p.Addr.Is6() && !p.NoDAD)) {
		if wire, err = h.wireSocket(link, p.Addr); err != nil {
			return err
		}
		defer wire.Close()
	}
	if here == nil {
		if p.Addr.Is4() && p.DADProbe {
			if err := a.untilFree(ctx, wire, link, p); err != nil {
				return err
			}
		}
		err := h.Add(link, prefix, AddOptions{Label: p.Label, NoPrefixRoute: p.NoPrefixRoute, NoDAD: p.NoDAD, PreferredLft: p.PreferredLft})
		if err != nil {
			return err
		}
		added = true
	}
	if p.Addr.Is6() && !p.NoDAD {
		if err := waitDAD(ctx, h, link, p.Addr, wire); err != nil {
			if errors.Is(err, ErrDADFailed) || added {
				if derr := h.Del(Address{LinkIndex: link.Index, Prefix: prefix}); derr != nil {
					err = errors.Join(err, derr)
				}
			}
			return err
		}
	}
	return a.announce(ctx, h, link, p.Addr, p.ARPCount, p.ARPInterval, wire)
}

// Waiting for an address in use (see untilFree).
const (
	// freeReserve is what start keeps of its deadline, after the last probe, to add the
	// address and send the first announcement.
	freeReserve = time.Second
	// freeRetry is the pause between two probes while another host answers.
	freeRetry = 100 * time.Millisecond
)

// untilFree runs the duplicate probe and returns nil once no other host answers for the
// address. While one does, it probes again every freeRetry until freeReserve before ctx's
// deadline, and fails with ErrDuplicate only if the address is still in use then. The holder
// is most often a host the cluster has just lost that has not let go yet (fenced a moment ago,
// or, without fencing, still up); a start that fails at once would ban this host from the VIP
// for failure-timeout, and with every host banned a second fault leaves the VIP nowhere.
func (a *Agent) untilFree(ctx context.Context, wire *os.File, link Link, p Params) error {
	until := time.Now() // no deadline: one probe
	if dl, ok := ctx.Deadline(); ok {
		until = dl.Add(-freeReserve)
	}
	start := time.Now()
	var holder net.HardwareAddr
	for {
		mac, err := probe(ctx, wire, link, p.Addr, p.DADProbeWindow)
		switch {
		case errors.Is(err, ErrProbeNotSent) && holder == nil:
			fmt.Fprintf(a.Stderr, "warning: duplicate check skipped: %v\n", err)
			return nil
		case errors.Is(err, ErrProbeNotSent):
			// A holder answered before: not knowing now is no reason to go on.
		case err != nil:
			return err
		case mac == nil && holder != nil:
			fmt.Fprintf(a.Stderr, "%s let go of %s after %s: starting\n", holder, p.Addr, time.Since(start).Round(time.Millisecond))
			return nil
		case mac == nil:
			return nil
		default:
			if holder == nil {
				fmt.Fprintf(a.Stderr, "%s answers for %s on %s: probing every %s until it lets go, for at most %s\n",
					mac, p.Addr, link.Name, freeRetry, max(time.Until(until), 0).Round(time.Millisecond))
			}
			holder = mac
		}
		if time.Until(until) < freeRetry+p.DADProbeWindow {
			return fmt.Errorf("%w: %s answers for %s on %s (probed for %s, until %s before the start times out)",
				ErrDuplicate, holder, p.Addr, link.Name, time.Since(start).Round(time.Millisecond), freeReserve)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s answers for %s on %s: %w", ErrDuplicate, holder, p.Addr, link.Name, ctx.Err())
		case <-time.After(freeRetry):
		}
		drain(wire) // what arrived during the pause is older than the next probe
	}
}

// drain discards the frames queued on sock.
func drain(sock *os.File) {
	buf := make([]byte, 1600)
	for {
		if _, _, err := unix.Recvfrom(int(sock.Fd()), buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

// waitDAD waits until duplicate address detection of addr on link has ended, or ctx's deadline
// (less a reserve to clean up) has passed. When DAD fails, the frames queued on watch (a packet
// socket opened before the add; may be nil) name the other host.
func waitDAD(ctx context.Context, h *Host, link Link, addr netip.Addr, watch *os.File) error {
	deadline := time.Now().Add(10 * time.Second)
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl.Add(-200 * time.Millisecond)
	}
	for {
		as, err := h.AddrsOn(link, true)
		if err != nil {
			return err
		}
		var cur *Address
		for i := range as {
			if as[i].Prefix.Addr() == addr {
				cur = &as[i]
			}
		}
		switch {
		case cur == nil:
			return fmt.Errorf("%s vanished from %s during duplicate address detection", addr, link.Name)
		case cur.DADFailed():
			who := "another host"
			if mac := claimant(watch, link.MAC, addr); mac != nil {
				who = "another host (" + mac.String() + ")"
			}
			return fmt.Errorf("%w: %s on %s holds %s", ErrDADFailed, who, link.Name, addr)
		case !cur.Tentative():
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w: %s on %s after %s of duplicate address detection", ErrTentative, addr, link.Name, "the action's timeout")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s on %s: %w", ErrTentative, addr, link.Name, ctx.Err())
		case <-time.After(min(50*time.Millisecond, time.Until(deadline))):
		}
	}
}

func (a *Agent) stop(ctx context.Context, h *Host, p Params) error {
	errAnn := endAnnouncer(pidfile(a.RunDir, h.Netns, p.Addr), p.Addr)
	found, err := h.Find(p.Addr)
	if err != nil {
		return errors.Join(errAnn, err)
	}
	var errs []error
	for _, f := range found {
		errs = append(errs, h.Del(f))
	}
	if err := errors.Join(errs...); err != nil {
		return errors.Join(errAnn, err)
	}
	if left, err := h.Find(p.Addr); err != nil || len(left) > 0 {
		return errors.Join(errAnn, err, fmt.Errorf("%s is still on %s", p.Addr, h.names(left)))
	}
	// The address is gone: that is what stop promises. A helper that could not be ended (its
	// pidfile unreadable, say a directory) sends at most arp_count rounds more and exits by
	// itself; failing stop for it would make Pacemaker fence this host.
	if errAnn != nil {
		fmt.Fprintf(a.Stderr, "warning: %v\n", errAnn)
	}
	return nil
}

func (a *Agent) monitor(ctx context.Context, h *Host, p Params) error {
	found, err := h.Find(p.Addr)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return status(OCFNotRunning, errNotRunning)
	}
	if p.Interval == 0 {
		return nil // a probe: the address is on this host, so Pacemaker must count it as active here
	}
	link, bits, err := resolve(h, p)
	if err != nil {
		// Without nic, a link that went down took its routes along: report the link.
		for _, f := range found {
			if l, lerr := h.LinkByIndex(f.LinkIndex); lerr == nil && !l.Up {
				return status(OCFNotRunning, fmt.Errorf("%w: %s", ErrLinkDown, l.Name))
			}
		}
		return status(OCFErrGeneric, fmt.Errorf("%s is on %s, but: %w", p.Addr, h.names(found), err))
	}
	here, elsewhere := split(found, link)
	if len(elsewhere) > 0 {
		return fmt.Errorf("%w: %s is on %s, not on %s", ErrElsewhere, p.Addr, h.names(elsewhere), link.Name)
	}
	if !link.Up {
		return status(OCFNotRunning, fmt.Errorf("%w: %s", ErrLinkDown, link.Name))
	}
	if here.Prefix.Bits() != bits {
		return status(OCFErrGeneric, fmt.Errorf("%s is on %s as %s, not with prefix length %d", p.Addr, link.Name, here.Prefix, bits))
	}
	if here.DADFailed() {
		return fmt.Errorf("%w: another host on %s holds %s", ErrDADFailed, link.Name, p.Addr)
	}
	if p.ARPCountRefresh > 0 && !here.Tentative() {
		if err := a.announce(ctx, h, link, p.Addr, p.ARPCountRefresh, p.ARPInterval, nil); err != nil {
			fmt.Fprintf(a.Stderr, "warning: refresh announcements: %v\n", err)
		}
	}
	return nil
}

// claimant returns the MAC of the first frame queued on sock that claims addr, or nil.
func claimant(sock *os.File, own net.HardwareAddr, addr netip.Addr) net.HardwareAddr {
	if sock == nil {
		return nil
	}
	buf := make([]byte, 1600)
	for {
		n, _, err := unix.Recvfrom(int(sock.Fd()), buf, unix.MSG_DONTWAIT)
		if err != nil {
			return nil
		}
		if mac := conflict(buf[:n], own, addr); mac != nil {
			return mac
		}
	}
}
