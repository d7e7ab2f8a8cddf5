package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/sys/unix"
)

// MaxProbe bounds the duplicate probe before start (dad_probe_ms) and the one of check nic.
const MaxProbe = 300 * time.Millisecond

// probes is how many probes go out: at 0, 1/4 and 1/2 of the window, so that the answer to the
// last one still has half the window to arrive, and a lost frame costs no more than a quarter.
const probes = 3

// ErrProbeNotSent means the link refused every probe: nothing is known about duplicates.
var ErrProbeNotSent = errors.New("no probe could be sent")

// Probe looks for another host that holds addr on link's segment, for at most d (and never past
// ctx's deadline): ARP probes with sender 0.0.0.0 (RFC 5227) for IPv4, a neighbour solicitation
// from the unspecified address for IPv6. It returns the MAC address of a host that answered, or
// nil when none did. It opens a packet socket of its own; closing it waits for an RCU grace
// period (milliseconds), which the agent's start avoids by probing on its wire socket.
func (h *Host) Probe(ctx context.Context, link Link, addr netip.Addr, d time.Duration) (net.HardwareAddr, error) {
	sock, err := h.wireSocket(link, addr)
	if err != nil {
		return nil, err
	}
	defer sock.Close()
	return probe(ctx, sock, link, addr, d)
}

// wireSocket opens a packet socket on link that receives the frames which can reveal another
// holder of addr (ARP for IPv4, IPv6 for neighbour discovery) and can send any frame.
func (h *Host) wireSocket(link Link, addr netip.Addr) (*os.File, error) {
	proto := uint16(unix.ETH_P_ARP)
	if addr.Is6() {
		proto = unix.ETH_P_IPV6
	}
	return h.packetSocket(link, proto)
}

// probe runs the duplicate probe for addr on sock, a socket from wireSocket.
func probe(ctx context.Context, sock *os.File, link Link, addr netip.Addr, d time.Duration) (net.HardwareAddr, error) {
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	if d <= 0 {
		return nil, context.DeadlineExceeded
	}
	var (
		frame []byte
		err   error
	)
	if addr.Is4() {
		frame, err = arpProbeFrame(link.MAC, addr)
	} else {
		frame, err = nsProbeFrame(link.MAC, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("build probe for %s: %w", addr, err)
	}
	fd := int(sock.Fd())

	// Any answer ends the window. A probe the link refuses to send (a full queue, an egress
	// filter) is skipped: only when none went out is it an error.
	start := time.Now()
	end := start.Add(d)
	next := start
	buf := make([]byte, 1600)
	var sendErr error
	for sent, ok := 0, 0; ; {
		now := time.Now()
		if sent < probes && !now.Before(next) {
			if err := sendFrames(fd, link.Index, [][]byte{frame}); err != nil {
				sendErr = err
			} else {
				ok++
			}
			sent++
			next = start.Add(d * time.Duration(sent) / (probes + 1))
		}
		wake := end
		if sent < probes && next.Before(wake) {
			wake = next
		}
		wait := time.Until(wake)
		if wait <= 0 {
			if !time.Now().Before(end) {
				if ok == 0 {
					return nil, fmt.Errorf("%w: %s on %s: %w", ErrProbeNotSent, addr, link.Name, sendErr)
				}
				// An answer that arrived in time but was not read yet (this process was not
				// scheduled) still counts.
				return claimant(sock, link.MAC, addr), nil
			}
			continue
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		ts := unix.NsecToTimespec(wait.Nanoseconds())
		n, err := unix.Ppoll(fds, &ts, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("probe %s: %w", addr, err)
		}
		if n == 0 {
			continue
		}
		m, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			return nil, fmt.Errorf("probe %s: %w", addr, err)
		}
		if mac := conflict(buf[:m], link.MAC, addr); mac != nil {
			return mac, nil
		}
	}
}

// conflict returns the MAC of another host claiming addr in frame, or nil.
func conflict(frame []byte, own net.HardwareAddr, addr netip.Addr) net.HardwareAddr {
	if addr.Is4() {
		p := parseARP(frame)
		if p == nil || sameMAC(p.SenderHardwareAddr, own) {
			return nil
		}
		// A host using addr, or another host probing for it at the same time (RFC 5227 2.1.1).
		if p.SenderIP == addr || (p.SenderIP.IsUnspecified() && p.TargetIP == addr && p.Operation == 1) {
			return p.SenderHardwareAddr
		}
		return nil
	}
	f := parseNDP(frame)
	if f == nil || sameMAC(f.SrcMAC, own) {
		return nil
	}
	switch m := f.Message.(type) {
	case *ndp.NeighborAdvertisement:
		if m.TargetAddress == addr {
			return targetLLA(m.Options, f.SrcMAC)
		}
	case *ndp.NeighborSolicitation:
		if m.TargetAddress == addr && f.Src.IsUnspecified() {
			return f.SrcMAC
		}
	}
	return nil
}

func targetLLA(opts []ndp.Option, fallback net.HardwareAddr) net.HardwareAddr {
	for _, o := range opts {
		if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == ndp.Target {
			return l.Addr
		}
	}
	return fallback
}

func sameMAC(a, b net.HardwareAddr) bool { return string(a) == string(b) }
