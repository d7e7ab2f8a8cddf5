package viptest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vipctl/vipctl/internal/testenv"
)

// Pair is two fresh network namespaces, A and B, joined by a veth pair: IfA in A, IfB in B.
// Both ends and lo are up. A has AddrA4/AddrA6, B has AddrB4/AddrB6 (both without DAD).
type Pair struct {
	A, B       string
	IfA, IfB   string
	MACA, MACB net.HardwareAddr
}

// Addresses of a Pair. Traffic never leaves the two namespaces.
const (
	AddrA4 = "10.99.0.1/24"
	AddrB4 = "10.99.0.2/24"
	AddrA6 = "fd00:99::1/64"
	AddrB6 = "fd00:99::2/64"
)

var seq atomic.Int64

// NewPair creates the namespaces and removes them when the test ends.
// It needs root and ip(8): missing either fails the test in CI and skips it elsewhere.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	n := seq.Add(1)
	p := &Pair{
		A:   fmt.Sprintf("vipt%d-%da", os.Getpid(), n),
		B:   fmt.Sprintf("vipt%d-%db", os.Getpid(), n),
		IfA: "veth0",
		IfB: "veth1",
	}
	IP(t, "", "netns", "add", p.A)
	t.Cleanup(func() { _ = ip("", "netns", "del", p.A) })
	IP(t, "", "netns", "add", p.B)
	t.Cleanup(func() { _ = ip("", "netns", "del", p.B) })
	IP(t, p.A, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.B)
	// No IPv6 router solicitations or DAD noise on the pair beyond what tests ask for.
	for _, ns := range []string{p.A, p.B} {
		Sysctl(t, ns, "net.ipv6.conf.all.router_solicitations", "0")
		Sysctl(t, ns, "net.ipv6.conf.default.router_solicitations", "0")
		IP(t, ns, "link", "set", "lo", "up")
	}
	IP(t, p.A, "addr", "add", AddrA4, "dev", p.IfA)
	IP(t, p.A, "addr", "add", AddrA6, "dev", p.IfA, "nodad")
	IP(t, p.B, "addr", "add", AddrB4, "dev", p.IfB)
	IP(t, p.B, "addr", "add", AddrB6, "dev", p.IfB, "nodad")
	IP(t, p.A, "link", "set", p.IfA, "up")
	IP(t, p.B, "link", "set", p.IfB, "up")
	p.MACA = mac(t, p.A, p.IfA)
	p.MACB = mac(t, p.B, p.IfB)
	return p
}

// IP runs `ip [-n ns] args...` and fails the test on error.
func IP(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := ipOut(ns, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ip(ns string, args ...string) error {
	_, err := ipOut(ns, args...)
	return err
}

func ipOut(ns string, args ...string) (string, error) {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Sysctl sets a sysctl inside the namespace ns.
func Sysctl(t testing.TB, ns, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "sysctl", "-qw", key+"="+value).CombinedOutput(); err != nil {
		t.Fatalf("sysctl %s in %s: %v: %s", key, ns, err, out)
	}
}

func mac(t testing.TB, ns, ifname string) net.HardwareAddr {
	t.Helper()
	var hw net.HardwareAddr
	InNetns(t, ns, func() {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			t.Errorf("interface %s in %s: %v", ifname, ns, err)
			return
		}
		hw = ifi.HardwareAddr
	})
	return hw
}

// InNetns runs fn on an OS thread inside namespace ns; the thread is discarded afterwards.
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	defer h.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := netns.Set(h); err != nil {
			t.Errorf("enter %s: %v", ns, err)
			return
		}
		fn()
	}()
	<-done
}

// Capture records every frame received on one interface of a namespace.
type Capture struct {
	fd     int
	mu     sync.Mutex
	frames [][]byte
	done   chan struct{}
}

// NewCapture starts capturing on ifname in namespace ns until the test ends.
func NewCapture(t testing.TB, ns, ifname string) *Capture {
	t.Helper()
	c := &Capture{fd: -1, done: make(chan struct{})}
	InNetns(t, ns, func() {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			t.Errorf("capture: %v", err)
			return
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			t.Errorf("capture: %v", err)
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			t.Errorf("capture: %v", err)
			return
		}
		c.fd = fd
	})
	if c.fd < 0 {
		t.FailNow()
	}
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		defer close(c.done)
		buf := make([]byte, 2048)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, from, err := unix.Recvfrom(c.fd, buf, 0)
			if err != nil {
				continue
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue // only what arrives from the peer
			}
			c.mu.Lock()
			c.frames = append(c.frames, append([]byte(nil), buf[:n]...))
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-c.done
		unix.Close(c.fd)
	})
	return c
}

// Frames returns a copy of the frames captured so far.
func (c *Capture) Frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// WaitFor polls until match(frames) is true or the timeout passes, and returns the frames.
func (c *Capture) WaitFor(timeout time.Duration, match func([][]byte) bool) ([][]byte, bool) {
	end := time.Now().Add(timeout)
	for {
		f := c.Frames()
		if match(f) {
			return f, true
		}
		if time.Now().After(end) {
			return f, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
