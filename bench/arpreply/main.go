// Command arpreply measures how long a host that holds an IPv4 address takes to answer an ARP
// probe for it (sender 0.0.0.0, RFC 5227), as the vip agent's duplicate probe sends it: the
// figures behind the default of dad_probe_ms. Run it as root in the namespace of the interface,
// e.g. `vipctl lab exec lab-2 -- arpreply -nic eth0 -ip 192.0.2.11`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"golang.org/x/sys/unix"
)

func main() {
	nic := flag.String("nic", "eth0", "interface to probe on")
	ip := flag.String("ip", "", "IPv4 address held by another host on the segment (required)")
	n := flag.Int("n", 200, "probes")
	gap := flag.Duration("gap", 10*time.Millisecond, "pause between probes")
	timeout := flag.Duration("timeout", 300*time.Millisecond, "longest wait for one answer")
	flag.Parse()
	addr, err := netip.ParseAddr(*ip)
	if err != nil || !addr.Is4() {
		fmt.Fprintln(os.Stderr, "arpreply: -ip must be an IPv4 address")
		os.Exit(2)
	}
	if err := run(*nic, addr, *n, *gap, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "arpreply:", err)
		os.Exit(1)
	}
}

func run(nic string, addr netip.Addr, n int, gap, timeout time.Duration) error {
	ifi, err := net.InterfaceByName(nic)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
		return err
	}
	p, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, netip.IPv4Unspecified(),
		net.HardwareAddr{0, 0, 0, 0, 0, 0}, addr)
	if err != nil {
		return err
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	frame, err := (&ethernet.Frame{Destination: ethernet.Broadcast, Source: ifi.HardwareAddr,
		EtherType: ethernet.EtherTypeARP, Payload: pb}).MarshalBinary()
	if err != nil {
		return err
	}
	to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(unix.ETH_P_ARP)}

	var rtts []time.Duration
	lost := 0
	buf := make([]byte, 1600)
	for range n {
		drain(fd, buf)
		sent := time.Now()
		if err := unix.Sendto(fd, frame, 0, to); err != nil {
			return err
		}
		if d, ok := answer(fd, buf, ifi.HardwareAddr, addr, sent.Add(timeout)); ok {
			rtts = append(rtts, d.Sub(sent))
		} else {
			lost++
		}
		time.Sleep(gap)
	}
	if len(rtts) == 0 {
		return fmt.Errorf("no answer for %s on %s in %d probes", addr, nic, n)
	}
	slices.Sort(rtts)
	q := func(f float64) time.Duration { return rtts[min(len(rtts)-1, int(f*float64(len(rtts))))] }
	fmt.Printf("%s on %s: %d probes, %d unanswered within %s; answer after min %s, median %s, p99 %s, max %s\n",
		addr, nic, n, lost, timeout, rtts[0], q(0.5), q(0.99), rtts[len(rtts)-1])
	return nil
}

// answer waits until deadline for an ARP packet from another host whose sender is addr.
func answer(fd int, buf []byte, own net.HardwareAddr, addr netip.Addr, deadline time.Time) (time.Time, bool) {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return time.Time{}, false
		}
		ts := unix.NsecToTimespec(left.Nanoseconds())
		n, err := unix.Ppoll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, &ts, nil)
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return time.Time{}, false
		}
		m, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		now := time.Now()
		var f ethernet.Frame
		var p arp.Packet
		if f.UnmarshalBinary(buf[:m]) != nil || p.UnmarshalBinary(f.Payload) != nil {
			continue
		}
		if p.SenderIP == addr && string(p.SenderHardwareAddr) != string(own) {
			return now, true
		}
	}
}

// drain discards frames queued before a probe.
func drain(fd int, buf []byte) {
	for {
		if _, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
