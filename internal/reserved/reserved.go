// Package reserved names the addresses of a prefix that cannot be a host's: its network and
// IPv4 broadcast address. The topology loader and the OCF agent share it; it imports nothing
// heavy, so the agent's start-up stays cheap.
package reserved

import "net/netip"

// Of names what a prefix's address is when it is its network's own address ("network", or
// "broadcast" for IPv4), else "". /31, /32, /127 and /128 have none: every address is usable.
func Of(p netip.Prefix) string {
	a, bits := p.Addr(), p.Bits()
	if bits < 0 || bits >= a.BitLen()-1 {
		return ""
	}
	if a == p.Masked().Addr() {
		return "network"
	}
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if v|(1<<(32-bits)-1) == v {
			return "broadcast"
		}
	}
	return ""
}
