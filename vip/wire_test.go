package vip

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"golang.org/x/sys/unix"

	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/vip/viptest"
)

// arpSeen is what the peer saw of one ARP frame.
type arpSeen struct {
	Op                 arp.Operation
	SenderMAC          string
	SenderIP, TargetIP netip.Addr
}

func arpFrames(frames [][]byte, match func(*arp.Packet) bool) []arpSeen {
	var out []arpSeen
	for _, f := range frames {
		if p := parseARP(f); p != nil && match(p) {
			out = append(out, arpSeen{p.Operation, p.SenderHardwareAddr.String(), p.SenderIP, p.TargetIP})
		}
	}
	return out
}

// naSeen is what the peer saw of one neighbour advertisement.
type naSeen struct {
	SrcMAC, DstMAC, TargetLLA string
	Src, Dst, Target          netip.Addr
	HopLimit                  int
	Override, Solicited       bool
}

func naFrames(frames [][]byte, target netip.Addr) []naSeen {
	var out []naSeen
	for _, f := range frames {
		p := parseNDP(f)
		if p == nil {
			continue
		}
		na, ok := p.Message.(*ndp.NeighborAdvertisement)
		if !ok || na.TargetAddress != target {
			continue
		}
		out = append(out, naSeen{p.SrcMAC.String(), p.DstMAC.String(), targetLLA(na.Options, nil).String(),
			p.Src, p.Dst, na.TargetAddress, p.HopLimit, na.Override, na.Solicited})
	}
	return out
}

func gratuitous(vip netip.Addr) func(*arp.Packet) bool {
	return func(p *arp.Packet) bool { return p.SenderIP == vip && p.TargetIP == vip }
}

// addrs returns the entries of addr in namespace ns, by interface name.
func addrsIn(t *testing.T, ns string, addr netip.Addr) []string {
	t.Helper()
	h, err := OpenHost(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	found, err := h.Find(addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range found {
		l, err := h.LinkByIndex(f.LinkIndex)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Name+" "+f.Prefix.String())
	}
	return out
}

func wantAddrs(t *testing.T, ns string, addr netip.Addr, want ...string) {
	t.Helper()
	if d := cmp.Diff(want, addrsIn(t, ns, addr)); d != "" {
		t.Errorf("entries of %s in %s (-want +got):\n%s", addr, ns, d)
	}
}

// waitHelperGone waits until no announcement helper pidfile is left in dir.
func waitHelperGone(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wait.Until(ctx, 20*time.Millisecond, func() (bool, error) {
		m, err := filepath.Glob(filepath.Join(dir, "announce-*"))
		return len(m) == 0, err
	}); err != nil {
		t.Fatalf("announcement helper still running after 5s: %v", err)
	}
}

func TestStartAnnouncesIPv4(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("10.99.0.100")
	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": vip.String(), "cidr_netmask": "24", "nic": pair.IfA,
		"arp_count": "3", "arp_interval_ms": "50"})
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start: %d %s", code, stderr)
	}
	wantAddrs(t, pair.A, vip, "veth0 10.99.0.100/24")
	waitHelperGone(t, e.runDir)
	// The helper has sent its last frame; the capture may still be reading it.
	cap.WaitFor(time.Second, func(f [][]byte) bool { return len(arpFrames(f, gratuitous(vip))) >= 6 })
	mac := pair.MACA.String()
	req := arpSeen{arp.OperationRequest, mac, vip, vip}
	rep := arpSeen{arp.OperationReply, mac, vip, vip}
	if d := cmp.Diff([]arpSeen{req, rep, req, rep, req, rep}, arpFrames(cap.Frames(), gratuitous(vip)), addrCmp); d != "" {
		t.Errorf("gratuitous ARP seen by the peer (-want +got):\n%s", d)
	}
	probe := arpSeen{arp.OperationRequest, mac, netip.IPv4Unspecified(), vip}
	probes := arpFrames(cap.Frames(), func(p *arp.Packet) bool { return p.SenderIP.IsUnspecified() })
	if d := cmp.Diff([]arpSeen{probe, probe, probe}, probes, addrCmp); d != "" {
		t.Errorf("ARP probes seen by the peer (-want +got):\n%s", d)
	}
}

func TestStartAnnouncesIPv6AfterDAD(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("fd00:99::100")
	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": vip.String() + "/64", "nic": pair.IfA,
		"arp_count": "2", "arp_interval_ms": "50"})
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start: %d %s", code, stderr)
	}
	h, err := OpenHost(pair.A)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	found, err := h.Find(vip)
	if err != nil || len(found) != 1 || found[0].Tentative() || found[0].DADFailed() {
		t.Fatalf("after start: %+v, %v; want one entry, DAD done", found, err)
	}
	waitHelperGone(t, e.runDir)
	cap.WaitFor(time.Second, func(f [][]byte) bool { return len(naFrames(f, vip)) >= 2 })
	na := naSeen{SrcMAC: pair.MACA.String(), DstMAC: "33:33:00:00:00:01", TargetLLA: pair.MACA.String(),
		Src: vip, Dst: netip.MustParseAddr("ff02::1"), Target: vip, HopLimit: 255, Override: true}
	if d := cmp.Diff([]naSeen{na, na}, naFrames(cap.Frames(), vip), addrCmp); d != "" {
		t.Errorf("unsolicited NAs seen by the peer (-want +got):\n%s", d)
	}
	// The kernel's DAD probe went out before the announcements.
	var dad bool
	for _, f := range cap.Frames() {
		if p := parseNDP(f); p != nil {
			if ns, ok := p.Message.(*ndp.NeighborSolicitation); ok && ns.TargetAddress == vip && p.Src.IsUnspecified() {
				dad = true
			}
		}
	}
	if !dad {
		t.Error("the peer saw no DAD solicitation for the VIP")
	}
}

// TestStartFailsOnDuplicateIPv4: a peer that holds the address for the whole start: start
// probes until freeReserve before its deadline (CRM_meta_timeout 3 s: 2.7 s, so until 1.7 s),
// then fails naming the peer's MAC, and adds nothing.
func TestStartFailsOnDuplicateIPv4(t *testing.T) {
	pair := viptest.NewPair(t)
	viptest.IP(t, pair.B, "addr", "add", "10.99.0.100/24", "dev", pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100", "cidr_netmask": "24", "nic": pair.IfA, "CRM_meta_timeout": "3000"})
	began := time.Now()
	code, stderr := e.run("start")
	took := time.Since(began)
	if code != OCFErrGeneric {
		t.Errorf("start: %d, want %d (%s)", code, OCFErrGeneric, stderr)
	}
	reason := stderr[strings.LastIndex(stderr, "\n"+"ocf-exit-reason:")+1:]
	if !strings.HasPrefix(reason, "ocf-exit-reason:") || !strings.Contains(reason, ErrDuplicate.Error()) || !strings.Contains(reason, pair.MACB.String()) {
		t.Errorf("stderr %q: no exit reason naming %q and the peer's MAC %s", stderr, ErrDuplicate, pair.MACB)
	}
	// It kept probing until about 1.7 s, and returned well inside the 2.7 s budget.
	if took < 1500*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("start took %s, want about 1.7 s (probing until 1 s before its 2.7 s budget)", took)
	}
	wantAddrs(t, pair.A, netip.MustParseAddr("10.99.0.100"))
}

// TestStartWaitsForDuplicateToLetGo: the peer holds the address when start begins and lets go
// of it once start has been answered twice (its third probe is on the wire: it kept probing
// after two answers, as for a lost holder that stops, or is fenced): start keeps probing, adds
// the address soon after it is free, and succeeds.
func TestStartWaitsForDuplicateToLetGo(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("10.99.0.100")
	viptest.IP(t, pair.B, "addr", "add", "10.99.0.100/24", "dev", pair.IfB)
	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100", "cidr_netmask": "24", "nic": pair.IfA, "CRM_meta_timeout": "20000"})
	probe := func(p *arp.Packet) bool { return p.SenderIP.IsUnspecified() && p.TargetIP == vip }
	letGo := make(chan time.Time, 1)
	go func() {
		defer close(letGo)
		// B's kernel answers every probe while it holds the address: a third probe means two
		// were answered and start probed again instead of giving up or adding the address.
		if _, ok := cap.WaitFor(15*time.Second, func(f [][]byte) bool { return len(arpFrames(f, probe)) >= 3 }); !ok {
			t.Errorf("the peer saw %d probes from start in 15 s, want 3", len(arpFrames(cap.Frames(), probe)))
			return
		}
		out, err := exec.Command("ip", "-n", pair.B, "addr", "del", "10.99.0.100/24", "dev", pair.IfB).CombinedOutput()
		if err != nil {
			t.Errorf("ip addr del in %s: %v: %s", pair.B, err, out)
		}
		letGo <- time.Now()
	}()
	code, stderr := e.run("start")
	done := time.Now()
	freed, ok := <-letGo // the peer's goroutine has ended either way
	if code != OCFSuccess {
		t.Fatalf("start: %d (%s), want %d", code, stderr, OCFSuccess)
	}
	if !ok {
		t.FailNow()
	}
	if done.Before(freed) {
		t.Errorf("start returned before the peer let go of the address (%s)", stderr)
	}
	// One pause and one probe window after the address is free, with room for a loaded machine.
	if late := done.Sub(freed); late > freeRetry+time.Second {
		t.Errorf("start returned %s after the peer let go, want within %s", late, freeRetry+time.Second)
	}
	if !strings.Contains(stderr, pair.MACB.String()+" answers for") || !strings.Contains(stderr, "let go of 10.99.0.100") {
		t.Errorf("stderr %q does not say whom it waited for and when it let go", stderr)
	}
	wantAddrs(t, pair.A, vip, pair.IfA+" 10.99.0.100/24")
	e.run("stop")
	waitHelperGone(t, e.runDir)
}

// TestStartFailsOnSlowDuplicateIPv4: a peer that answers each ARP probe only after a delay, far
// longer than a kernel takes (0.2 ms at most measured on an idle veth pair), is still caught
// inside the probe window: the default one (10 ms), and a longer one set with dad_probe_ms.
func TestStartFailsOnSlowDuplicateIPv4(t *testing.T) {
	for _, tc := range []struct {
		name   string
		delay  time.Duration
		params map[string]string
	}{
		{"3ms, default window", 3 * time.Millisecond, nil},
		{"40ms, dad_probe_ms=90", 40 * time.Millisecond, map[string]string{"dad_probe_ms": "90"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair := viptest.NewPair(t)
			vip := netip.MustParseAddr("10.99.0.100")
			answered := slowARPResponder(t, pair, vip, tc.delay)
			params := map[string]string{"ip": "10.99.0.100", "cidr_netmask": "24", "nic": pair.IfA, "CRM_meta_timeout": "2000"}
			for k, v := range tc.params {
				params[k] = v
			}
			e := newAgentEnv(t, pair, params)
			code, stderr := e.run("start")
			if code != OCFErrGeneric || !strings.Contains(stderr, ErrDuplicate.Error()) || !strings.Contains(stderr, pair.MACB.String()) {
				t.Errorf("start: %d %q, want %d naming %q and the peer's MAC %s", code, stderr, OCFErrGeneric, ErrDuplicate, pair.MACB)
			}
			if answered.Load() == 0 {
				t.Error("the responder answered no probe")
			}
			wantAddrs(t, pair.A, vip)
		})
	}
}

// slowARPResponder answers, from namespace B, every ARP probe for vip after delay, as a host
// holding vip would (B itself does not hold it, so its kernel stays silent). It returns the
// number of answers sent.
func slowARPResponder(t *testing.T, pair *viptest.Pair, vip netip.Addr, delay time.Duration) *atomic.Int64 {
	t.Helper()
	fd, ifindex := -1, 0
	viptest.InNetns(t, pair.B, func() {
		ifi, err := net.InterfaceByName(pair.IfB)
		if err != nil {
			t.Error(err)
			return
		}
		s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			t.Error(err)
			return
		}
		if err := unix.Bind(s, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
			unix.Close(s)
			t.Error(err)
			return
		}
		fd, ifindex = s, ifi.Index
	})
	if fd < 0 {
		t.FailNow()
	}
	tv := unix.NsecToTimeval((20 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	var answered atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1600)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue
			}
			p := parseARP(buf[:n])
			if p == nil || !p.SenderIP.IsUnspecified() || p.TargetIP != vip {
				continue
			}
			reply, err := arpFrame(arp.OperationReply, pair.MACB, vip, p.SenderHardwareAddr, p.SenderIP, p.SenderHardwareAddr)
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(delay)
			if sendFrames(fd, ifindex, [][]byte{reply}) == nil {
				answered.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		unix.Close(fd)
	})
	return &answered
}

func TestStartFailsOnIPv6DAD(t *testing.T) {
	pair := viptest.NewPair(t)
	viptest.IP(t, pair.B, "addr", "add", "fd00:99::100/64", "dev", pair.IfB, "nodad")
	e := newAgentEnv(t, pair, map[string]string{"ip": "fd00:99::100", "cidr_netmask": "64", "nic": pair.IfA})
	code, stderr := e.run("start")
	if code != OCFErrGeneric || !strings.Contains(stderr, ErrDADFailed.Error()) || !strings.Contains(stderr, pair.MACB.String()) {
		t.Errorf("start: %d %q, want %d naming %q and the peer's MAC %s", code, stderr, OCFErrGeneric, ErrDADFailed, pair.MACB)
	}
	wantAddrs(t, pair.A, netip.MustParseAddr("fd00:99::100"))
}

// TestStartEndsInsideTimeout: DAD that would take 100 s must not hold start past its timeout,
// and the still-tentative address is not left behind.
func TestStartEndsInsideTimeout(t *testing.T) {
	pair := viptest.NewPair(t)
	viptest.Sysctl(t, pair.A, "net.ipv6.conf.veth0.dad_transmits", "100")
	e := newAgentEnv(t, pair, map[string]string{"ip": "fd00:99::100/64", "nic": pair.IfA})
	began := time.Now()
	code, stderr := e.run("start", "CRM_meta_timeout", "1500")
	if took := time.Since(began); took > 1500*time.Millisecond {
		t.Errorf("start took %s, timeout 1.5s", took)
	}
	if code != OCFErrGeneric || !strings.Contains(stderr, ErrTentative.Error()) {
		t.Errorf("start: %d %q, want %d naming %q", code, stderr, OCFErrGeneric, ErrTentative)
	}
	wantAddrs(t, pair.A, netip.MustParseAddr("fd00:99::100"))
}

func TestStopEndsBurst(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("10.99.0.100")
	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100/24", "nic": pair.IfA,
		"arp_count": "1000", "arp_interval_ms": "20", "dad_probe": "false"})
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start: %d %s", code, stderr)
	}
	if _, ok := cap.WaitFor(5*time.Second, func(f [][]byte) bool { return len(arpFrames(f, gratuitous(vip))) >= 6 }); !ok {
		t.Fatal("burst did not run")
	}
	if code, stderr := e.run("stop"); code != OCFSuccess {
		t.Fatalf("stop: %d %s", code, stderr)
	}
	after := len(arpFrames(cap.Frames(), gratuitous(vip)))
	// A quiet period, not a wait for something (an absence cannot be polled for): a helper
	// left running would send a frame every arp_interval_ms (20 ms), 15 of them in this time.
	time.Sleep(300 * time.Millisecond)
	if n := len(arpFrames(cap.Frames(), gratuitous(vip))); n != after {
		t.Errorf("%d announcements after stop", n-after)
	}
	if m, _ := filepath.Glob(filepath.Join(e.runDir, "*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
	wantAddrs(t, pair.A, vip)
}

// TestStartAfterKill recreates what a SIGKILL between the add and the announcements leaves:
// the address present, no helper running, and a stale pidfile whose pid now belongs to an
// unrelated process. Start again must succeed, announce, keep one entry and spare the process.
func TestStartAfterKill(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("10.99.0.100")
	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100/24", "nic": pair.IfA,
		"arp_count": "2", "arp_interval_ms": "20"})
	viptest.IP(t, pair.A, "addr", "add", "10.99.0.100/24", "dev", pair.IfA)

	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	pf := pidfile(e.runDir, pair.A, vip)
	if err := os.WriteFile(pf, []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start: %d %s", code, stderr)
	}
	waitHelperGone(t, e.runDir)
	if _, ok := cap.WaitFor(2*time.Second, func(f [][]byte) bool { return len(arpFrames(f, gratuitous(vip))) == 4 }); !ok {
		t.Errorf("peer saw %d gratuitous ARPs, want 4", len(arpFrames(cap.Frames(), gratuitous(vip))))
	}
	wantAddrs(t, pair.A, vip, "veth0 10.99.0.100/24")
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("unrelated process named by a stale pidfile was killed: %v", err)
	}
}

// TestKilledHelperThenStart: SIGKILL of the running helper mid-burst, then start again.
func TestKilledHelperThenStart(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("10.99.0.100")
	e := newAgentEnv(t, pair, map[string]string{"ip": "10.99.0.100/24", "nic": pair.IfA,
		"arp_count": "1000", "arp_interval_ms": "50", "dad_probe": "false"})
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start: %d %s", code, stderr)
	}
	b, err := os.ReadFile(pidfile(e.runDir, pair.A, vip))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e.params["arp_count"] = "2"
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start again: %d %s", code, stderr)
	}
	waitHelperGone(t, e.runDir)
	if _, ok := cap.WaitFor(2*time.Second, func(f [][]byte) bool { return len(arpFrames(f, gratuitous(vip))) == 4 }); !ok {
		t.Errorf("peer saw %d gratuitous ARPs, want 4", len(arpFrames(cap.Frames(), gratuitous(vip))))
	}
	wantAddrs(t, pair.A, vip, "veth0 10.99.0.100/24")
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// TestSIGKILLDuringStart kills a real agent process after its add and before its announcements
// (while it waits for IPv6 DAD), then starts again: success, announcements, one address entry.
func TestSIGKILLDuringStart(t *testing.T) {
	pair := viptest.NewPair(t)
	vip := netip.MustParseAddr("fd00:99::100")
	viptest.Sysctl(t, pair.A, "net.ipv6.conf.veth0.dad_transmits", "5") // DAD lasts seconds
	env := append(os.Environ(), "OCF_RESKEY_ip=fd00:99::100/64", "OCF_RESKEY_nic="+pair.IfA,
		"OCF_RESKEY_network_namespace="+pair.A)
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{"vip", "start"}, Env: env}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	added := wait.Until(actx, 5*time.Millisecond, func() (bool, error) { return len(addrsIn(t, pair.A, vip)) > 0, nil }) == nil
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !added || !ok || !ws.Signaled() {
		t.Fatalf("agent was not killed after its add: added=%v, %v", added, err)
	}

	cap := viptest.NewCapture(t, pair.B, pair.IfB)
	e := newAgentEnv(t, pair, map[string]string{"ip": "fd00:99::100/64", "nic": pair.IfA,
		"arp_count": "2", "arp_interval_ms": "20"})
	if code, stderr := e.run("start"); code != OCFSuccess {
		t.Fatalf("start after the kill: %d %s", code, stderr)
	}
	waitHelperGone(t, e.runDir)
	if _, ok := cap.WaitFor(2*time.Second, func(f [][]byte) bool { return len(naFrames(f, vip)) == 2 }); !ok {
		t.Errorf("peer saw %d NAs, want 2", len(naFrames(cap.Frames(), vip)))
	}
	wantAddrs(t, pair.A, vip, "veth0 fd00:99::100/64")
}
