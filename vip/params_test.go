package vip

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m["OCF_RESKEY_"+kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func defaults(addr string, bits int) Params {
	return Params{
		Addr: netip.MustParseAddr(addr), Bits: bits, PreferredLft: Forever,
		ARPCount: 5, ARPInterval: 200 * time.Millisecond, DADProbe: true, DADProbeWindow: 10 * time.Millisecond,
		Timeout: 20 * time.Second,
	}
}

func TestParseParams(t *testing.T) {
	withV6 := defaults("fd00::10", 64)
	withV6.NIC = "eth1"
	withV6.NoDAD = true
	withV6.PreferredLft = 0
	withV6.Interval = 10 * time.Second
	withV6.Timeout = 5 * time.Second
	withV6.Netns = "blue"

	dotted := defaults("10.0.0.5", 24)
	dotted.Label = "vip"
	dotted.NIC = "eth0"
	dotted.NoPrefixRoute = true
	dotted.ARPCount = 0
	dotted.ARPCountRefresh = 2
	dotted.ARPInterval = 10 * time.Millisecond
	dotted.DADProbe = false
	dotted.DADProbeWindow = 300 * time.Millisecond

	for _, tc := range []struct {
		name string
		env  func(string) string
		want Params
	}{
		{"bare", envOf("ip", "10.0.0.5"), defaults("10.0.0.5", -1)},
		{"prefix in ip", envOf("ip", "10.0.0.5/24"), defaults("10.0.0.5", 24)},
		{"prefix both agree", envOf("ip", "10.0.0.5/24", "cidr_netmask", "24"), defaults("10.0.0.5", 24)},
		{"dotted and options", envOf("ip", "10.0.0.5", "cidr_netmask", "255.255.255.0", "label", "vip", "nic", "eth0",
			"noprefixroute", "yes", "arp_count", "0", "arp_count_refresh", "2", "arp_interval_ms", "10", "dad_probe", "off", "dad_probe_ms", "300"), dotted},
		{"ipv6", envOf("ip", "fd00::10", "cidr_netmask", "64", "nic", "eth1", "nodad", "true", "preferred_lft", "0",
			"CRM_meta_interval", "10000", "CRM_meta_timeout", "5000", "network_namespace", "blue"), withV6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, addrCmp); d != "" {
				t.Errorf("-want +got\n%s", d)
			}
		})
	}
}

func TestParseParamsErrors(t *testing.T) {
	for _, env := range []func(string) string{
		envOf(),
		envOf("ip", "10.0.0"),
		envOf("ip", "10.0.0.5/33"),
		envOf("ip", "0.0.0.0"),
		envOf("ip", "224.0.0.5"),
		envOf("ip", "::ffff:10.0.0.5"),
		envOf("ip", "fe80::1%eth0"),
		envOf("ip", "10.0.0.5/24", "cidr_netmask", "16"),
		envOf("ip", "10.0.0.5", "cidr_netmask", "255.0.255.0"),
		envOf("ip", "fd00::1", "cidr_netmask", "255.255.255.0"),
		envOf("ip", "10.0.0.5", "arp_count", "-1"),
		envOf("ip", "10.0.0.5", "arp_interval_ms", "x"),
		envOf("ip", "10.0.0.5", "dad_probe_ms", "0"),
		envOf("ip", "10.0.0.5", "dad_probe_ms", "301"),
		envOf("ip", "10.0.0.5", "nodad", "maybe"),
		envOf("ip", "10.0.0.5", "preferred_lft", "never"),
		envOf("ip", "10.0.0.5", "nic", "eth0/1"),
		envOf("ip", "10.0.0.5", "CRM_meta_timeout", "soon"),
	} {
		_, err := ParseParams(env)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%v: got %v, want ErrConfig", env("OCF_RESKEY_ip"), err)
		}
	}
}

// Values every host would refuse are OCF_ERR_CONFIGURED: the network or broadcast address of
// the VIP's own prefix.
func TestParseParamsReservedAddress(t *testing.T) {
	for _, kv := range [][]string{
		{"ip", "10.0.0.0/24"},
		{"ip", "10.0.0.255/24"},
		{"ip", "10.0.0.0", "cidr_netmask", "24"},
		{"ip", "10.0.0.127", "cidr_netmask", "255.255.255.128"},
		{"ip", "fd00::/64"},
	} {
		if _, err := ParseParams(envOf(kv...)); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseParams(%q) = %v; want ErrConfig", kv, err)
		}
	}
	for _, kv := range [][]string{{"ip", "10.0.0.0/31"}, {"ip", "10.0.0.1/32"}, {"ip", "10.0.0.1/24"}, {"ip", "10.0.0.0"}} {
		if _, err := ParseParams(envOf(kv...)); err != nil {
			t.Errorf("ParseParams(%q) = %v; want no error", kv, err)
		}
	}
}

// A CRM_meta_timeout beyond Pacemaker's 32-bit milliseconds is its limit, not an overflow into a
// deadline in the past.
func TestParseParamsHugeTimeout(t *testing.T) {
	for _, v := range []string{"10000000000000", "9223372036854775807"} {
		p, err := ParseParams(envOf("ip", "10.0.0.1", "CRM_meta_timeout", v, "CRM_meta_interval", v))
		if err != nil || p.Timeout != maxOperationMS*time.Millisecond || p.Interval != maxOperationMS*time.Millisecond {
			t.Errorf("CRM_meta_timeout=%s: timeout %v, interval %v, %v; want %v", v, p.Timeout, p.Interval, err, maxOperationMS*time.Millisecond)
		}
	}
}
