package vip

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

var (
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	zeroMAC     = net.HardwareAddr{0, 0, 0, 0, 0, 0}
)

// announceFrames returns the Ethernet frames of one announcement round for addr:
// a gratuitous ARP request and reply (IPv4), or an unsolicited neighbour advertisement
// with the override flag to all nodes (IPv6).
func announceFrames(mac net.HardwareAddr, addr netip.Addr) ([][]byte, error) {
	if addr.Is4() {
		req, err := arpFrame(arp.OperationRequest, mac, addr, zeroMAC, addr, ethernet.Broadcast)
		if err != nil {
			return nil, err
		}
		rep, err := arpFrame(arp.OperationReply, mac, addr, mac, addr, ethernet.Broadcast)
		if err != nil {
			return nil, err
		}
		return [][]byte{req, rep}, nil
	}
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: addr,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	f, err := icmp6Frame(mac, allNodesMAC, addr, allNodes, na)
	if err != nil {
		return nil, err
	}
	return [][]byte{f}, nil
}

// arpProbeFrame is an RFC 5227 probe: sender address 0.0.0.0, target addr.
func arpProbeFrame(mac net.HardwareAddr, addr netip.Addr) ([]byte, error) {
	return arpFrame(arp.OperationRequest, mac, netip.IPv4Unspecified(), zeroMAC, addr, ethernet.Broadcast)
}

// nsProbeFrame is a neighbour solicitation for target from the unspecified address, as DAD sends.
func nsProbeFrame(mac net.HardwareAddr, target netip.Addr) ([]byte, error) {
	sn := solicitedNode(target)
	b := sn.As16()
	dst := net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
	return icmp6Frame(mac, dst, netip.IPv6Unspecified(), sn, &ndp.NeighborSolicitation{TargetAddress: target})
}

func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

func arpFrame(op arp.Operation, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr, dst net.HardwareAddr) ([]byte, error) {
	p, err := arp.NewPacket(op, sha, spa, tha, tpa)
	if err != nil {
		return nil, err
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := &ethernet.Frame{Destination: dst, Source: sha, EtherType: ethernet.EtherTypeARP, Payload: pb}
	return f.MarshalBinary()
}

// icmp6Frame wraps an NDP message in IPv6 (hop limit 255) and Ethernet.
func icmp6Frame(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, m ndp.Message) ([]byte, error) {
	body, err := ndp.MarshalMessageChecksum(m, src, dst)
	if err != nil {
		return nil, err
	}
	ip := make([]byte, 40, 40+len(body))
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(body)))
	ip[6] = 58 // ICMPv6
	ip[7] = 255
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	f := &ethernet.Frame{Destination: dstMAC, Source: srcMAC, EtherType: ethernet.EtherTypeIPv6, Payload: append(ip, body...)}
	return f.MarshalBinary()
}

// parseARP returns the ARP packet in an Ethernet frame, or nil.
func parseARP(b []byte) *arp.Packet {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return nil
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return nil
	}
	return &p
}

// ndpFrame is a neighbour discovery message taken from an Ethernet frame.
type ndpFrame struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	HopLimit       int
	Message        ndp.Message
}

// parseNDP returns the NDP message in an Ethernet frame, or nil.
func parseNDP(b []byte) *ndpFrame {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil || f.EtherType != ethernet.EtherTypeIPv6 {
		return nil
	}
	p := f.Payload
	if len(p) < 40 || p[0]>>4 != 6 || p[6] != 58 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(p[4:6]))
	if len(p) < 40+n {
		return nil
	}
	m, err := ndp.ParseMessage(p[40 : 40+n])
	if err != nil {
		return nil
	}
	return &ndpFrame{
		SrcMAC: f.Source, DstMAC: f.Destination,
		Src: netip.AddrFrom16([16]byte(p[8:24])), Dst: netip.AddrFrom16([16]byte(p[24:40])),
		HopLimit: int(p[7]), Message: m,
	}
}
