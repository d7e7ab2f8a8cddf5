package vip

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// formatParams writes p back as OCF_RESKEY_* values.
func formatParams(p Params) func(string) string {
	kv := []string{
		"ip", p.Addr.String(),
		"nic", p.NIC, "label", p.Label, "network_namespace", p.Netns,
		"noprefixroute", strconv.FormatBool(p.NoPrefixRoute),
		"dad_probe", strconv.FormatBool(p.DADProbe), "nodad", strconv.FormatBool(p.NoDAD),
		"arp_count", strconv.Itoa(p.ARPCount), "arp_count_refresh", strconv.Itoa(p.ARPCountRefresh),
		"arp_interval_ms", strconv.FormatInt(p.ARPInterval.Milliseconds(), 10),
		"CRM_meta_interval", strconv.FormatInt(p.Interval.Milliseconds(), 10),
		"CRM_meta_timeout", strconv.FormatInt(p.Timeout.Milliseconds(), 10),
	}
	if p.Bits >= 0 {
		kv = append(kv, "cidr_netmask", strconv.Itoa(p.Bits))
	}
	if p.PreferredLft == Forever {
		kv = append(kv, "preferred_lft", "forever")
	} else {
		kv = append(kv, "preferred_lft", strconv.Itoa(p.PreferredLft))
	}
	return envOf(kv...)
}

// FuzzParseParams: whatever parses, written back and parsed again, gives the same Params.
func FuzzParseParams(f *testing.F) {
	f.Add("10.0.0.5/24", "", "eth0", "yes", "5", "200", "forever", "10000")
	f.Add("fd00::10", "64", "", "0", "0", "1", "0", "0")
	f.Add("192.168.1.1", "255.255.255.128", "bond0.100", "on", "1000", "60000", "3600", "")
	f.Fuzz(func(t *testing.T, ip, mask, nic, dad, count, interval, lft, metaInterval string) {
		p, err := ParseParams(envOf("ip", ip, "cidr_netmask", mask, "nic", nic, "dad_probe", dad,
			"arp_count", count, "arp_interval_ms", interval, "preferred_lft", lft, "CRM_meta_interval", metaInterval))
		if err != nil {
			return
		}
		q, err := ParseParams(formatParams(p))
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", p, err)
		}
		if d := cmp.Diff(p, q, addrCmp); d != "" {
			t.Errorf("round trip (-first +second):\n%s", d)
		}
	})
}

// FuzzAnnounceFrames: the frames built for any unicast address parse back to that address.
func FuzzAnnounceFrames(f *testing.F) {
	f.Add([]byte{10, 0, 0, 5}, []byte{2, 0, 0, 0, 0, 1})
	f.Add(netip.MustParseAddr("fd00::1").AsSlice(), []byte{0xaa, 0xbb, 0xcc, 0, 0, 2})
	f.Fuzz(func(t *testing.T, ipb, macb []byte) {
		addr, ok := netip.AddrFromSlice(ipb)
		if !ok || len(macb) != 6 || addr.Is4In6() {
			return
		}
		mac := net.HardwareAddr(macb)
		frames, err := announceFrames(mac, addr)
		if err != nil {
			if addr.Is6() && addr.IsUnspecified() {
				return
			}
			t.Fatalf("%s: %v", addr, err)
		}
		for _, fr := range frames {
			if addr.Is4() {
				p := parseARP(fr)
				if p == nil || p.SenderIP != addr || p.TargetIP != addr || !sameMAC(p.SenderHardwareAddr, mac) {
					t.Errorf("ARP frame for %s parses as %+v", addr, p)
				}
				continue
			}
			p := parseNDP(fr)
			if p == nil || p.Src != addr || p.HopLimit != 255 || !sameMAC(p.SrcMAC, mac) {
				t.Fatalf("NA frame for %s parses as %+v", addr, p)
			}
			other := net.HardwareAddr{macb[0] ^ 0xff, 0, 0, 0, 0, 0}
			if conflict(fr, other, addr) == nil {
				t.Errorf("NA for %s from %s is not seen as a claim on it", addr, mac)
			}
		}
	})
}
