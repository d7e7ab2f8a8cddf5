package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vipctl/vipctl/internal/reserved"
)

// ErrConfig is matched (errors.Is) by every error about the agent's parameters themselves:
// a value that is wrong on every host (OCF_ERR_CONFIGURED).
var ErrConfig = errors.New("invalid parameter")

// Forever is the lifetime of an address that never expires (preferred_lft "forever").
const Forever = -1

// Params are the agent's parameters, read from OCF_RESKEY_* variables.
type Params struct {
	Addr            netip.Addr // the VIP
	Bits            int        // prefix length; -1: take it from the route that contains Addr
	NIC             string     // "" means route lookup
	Label           string     // IPv4 address label
	NoPrefixRoute   bool
	PreferredLft    int // seconds or Forever
	ARPCount        int
	ARPInterval     time.Duration
	ARPCountRefresh int
	DADProbe        bool
	DADProbeWindow  time.Duration // how long the duplicate probe listens (dad_probe_ms)
	NoDAD           bool
	Netns           string // network namespace name ("" = the agent's own)

	Interval time.Duration // OCF_RESKEY_CRM_meta_interval: 0 makes monitor a probe
	Timeout  time.Duration // OCF_RESKEY_CRM_meta_timeout: every action ends inside it
}

// defaultTimeout is Pacemaker's default operation timeout, used when CRM_meta_timeout is absent.
const defaultTimeout = 20 * time.Second

// param describes one agent parameter: its name, default and documentation.
// The table below is the single place where defaults are defined; meta-data prints it.
type param struct {
	name     string
	typ      string // string, integer or boolean
	def      string
	required bool
	unique   bool
	short    string
	long     string
}

var params = []param{
	{name: "ip", typ: "string", required: true, unique: true,
		short: "IPv4 or IPv6 address of the VIP",
		long: "The virtual IP address, IPv4 or IPv6, with or without a /prefix length " +
			"(for example 10.20.0.100 or 10.20.0.100/24)."},
	{name: "cidr_netmask", typ: "string",
		short: "Prefix length of the VIP",
		long: "The prefix length (24) or, for IPv4, a dotted netmask (255.255.255.0). " +
			"Empty: the /prefix of ip, else the length of the route that contains ip."},
	{name: "nic", typ: "string",
		short: "Interface that carries the VIP",
		long: "The network interface to put the address on. Empty: the interface of the lowest-metric " +
			"route of the main table containing ip (default, unreachable, blackhole and prohibit " +
			"routes ignored). Stop removes the address from whatever interface holds it."},
	{name: "label", typ: "string",
		short: "IPv4 address label",
		long:  "An IPv4 address label (nic:label, at most 15 characters in all). Ignored for IPv6."},
	{name: "noprefixroute", typ: "boolean", def: "false",
		short: "Add the address without its prefix route",
		long:  "When true the kernel adds no route for the VIP's prefix (IFA_F_NOPREFIXROUTE)."},
	{name: "preferred_lft", typ: "string", def: "forever",
		short: "Preferred lifetime of the address",
		long: "Seconds, or forever. 0 marks the address deprecated so that it is never chosen as a " +
			"source address for outgoing connections."},
	{name: "arp_count", typ: "integer", def: "5",
		short: "Announcements sent after start",
		long: "How many rounds of gratuitous ARP (IPv4: one request and one reply each) or unsolicited " +
			"neighbour advertisements (IPv6) are sent after start. The first round is sent before start " +
			"returns, the rest by a background helper that stop ends."},
	{name: "arp_interval_ms", typ: "integer", def: "200",
		short: "Milliseconds between announcement rounds",
		long:  "Milliseconds between two announcement rounds."},
	{name: "arp_count_refresh", typ: "integer", def: "0",
		short: "Announcements sent by each recurring monitor",
		long: "Rounds of announcements sent by each successful recurring monitor, to repair stale ARP " +
			"caches of neighbours. 0 sends none."},
	{name: "dad_probe", typ: "boolean", def: "true",
		short: "Check the wire for a duplicate before start (IPv4)",
		long: "Before adding an IPv4 address, send three ARP probes (sender 0.0.0.0, RFC 5227) within " +
			"dad_probe_ms and listen until it ends; a reply makes start fail and names the other " +
			"MAC address. IPv6 always relies on the kernel's duplicate address detection unless nodad is set."},
	{name: "dad_probe_ms", typ: "integer", def: "10",
		short: "Milliseconds the duplicate probe listens (1-300)",
		long: "How long the IPv4 duplicate probe lasts, at most 300. Probes go out at 0, 1/4 and 1/2 " +
			"of it and start waits the whole window before adding the address. A host holding the " +
			"address answers from its kernel, well under a millisecond on a LAN; raise this on a " +
			"segment with slow links or heavily loaded hosts."},
	{name: "nodad", typ: "boolean", def: "false",
		short: "Skip IPv6 duplicate address detection",
		long:  "Add an IPv6 address without duplicate address detection (IFA_F_NODAD) and do not wait for it."},
	{name: "network_namespace", typ: "string",
		short: "Network namespace of the interface",
		long: "Name of a network namespace (as under /run/netns) in which to manage the address. " +
			"Empty: the agent's own namespace."},
}

// defaultOf returns the default of a parameter from the table.
func defaultOf(name string) string {
	for _, p := range params {
		if p.name == name {
			return p.def
		}
	}
	panic("vip: no parameter " + name)
}

// ParseParams reads the agent's parameters through getenv (OCF_RESKEY_<name>).
// Errors match ErrConfig.
func ParseParams(getenv func(string) string) (Params, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv("OCF_RESKEY_" + name)); v != "" {
			return v
		}
		return defaultOf(name)
	}
	var p Params
	var errs []error
	bad := func(name, val, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s=%q: %s", ErrConfig, name, val, fmt.Sprintf(format, args...)))
	}

	p.Bits = -1
	ip := get("ip")
	switch {
	case ip == "":
		errs = append(errs, fmt.Errorf("%w: ip is required", ErrConfig))
	case strings.Contains(ip, "/"):
		pfx, err := netip.ParsePrefix(ip)
		if err != nil {
			bad("ip", ip, "not an address with a prefix length")
		} else {
			p.Addr, p.Bits = pfx.Addr(), pfx.Bits()
		}
	default:
		a, err := netip.ParseAddr(ip)
		if err != nil {
			bad("ip", ip, "not an IPv4 or IPv6 address")
		} else {
			p.Addr = a
		}
	}
	if p.Addr.IsValid() {
		switch {
		case p.Addr.Zone() != "":
			bad("ip", ip, "a zone is not allowed")
		case p.Addr.Is4In6():
			bad("ip", ip, "use the IPv4 form")
		case p.Addr.IsUnspecified(), p.Addr.IsMulticast(), p.Addr.IsLoopback():
			bad("ip", ip, "not a unicast address")
		case p.Addr.Is4() && p.Addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			bad("ip", ip, "not a unicast address")
		}
	}

	if m := get("cidr_netmask"); m != "" {
		bits, err := parseNetmask(m, p.Addr)
		switch {
		case err != nil:
			bad("cidr_netmask", m, "%v", err)
		case p.Bits >= 0 && p.Bits != bits:
			bad("cidr_netmask", m, "disagrees with the prefix length of ip %q", ip)
		default:
			p.Bits = bits
		}
	}

	if p.Addr.IsValid() && p.Bits >= 0 {
		if what := reserved.Of(netip.PrefixFrom(p.Addr, p.Bits)); what != "" {
			bad("ip", ip, "the %s address of %s, not usable as a VIP", what, netip.PrefixFrom(p.Addr, p.Bits).Masked())
		}
	}

	p.NIC = get("nic")
	if strings.ContainsAny(p.NIC, " /:") || len(p.NIC) > 15 {
		bad("nic", p.NIC, "not an interface name")
	}
	p.Label = get("label")
	if p.Label != "" && p.Addr.Is4() && p.NIC != "" && len(p.NIC)+1+len(p.Label) > 15 {
		bad("label", p.Label, "nic:label is longer than 15 characters")
	}
	p.Netns = get("network_namespace")
	if strings.ContainsAny(p.Netns, "/") || p.Netns == "." || p.Netns == ".." {
		bad("network_namespace", p.Netns, "not a namespace name")
	}

	boolean := func(name string, dst *bool) {
		v := get(name)
		b, ok := parseBool(v)
		if !ok {
			bad(name, v, "not a boolean")
		}
		*dst = b
	}
	boolean("noprefixroute", &p.NoPrefixRoute)
	boolean("dad_probe", &p.DADProbe)
	boolean("nodad", &p.NoDAD)

	integer := func(name string, lo, hi int) int {
		v := get(name)
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad(name, v, "not an integer in %d..%d", lo, hi)
		}
		return n
	}
	p.ARPCount = integer("arp_count", 0, 1000)
	p.ARPInterval = time.Duration(integer("arp_interval_ms", 1, 60000)) * time.Millisecond
	p.ARPCountRefresh = integer("arp_count_refresh", 0, 1000)
	p.DADProbeWindow = time.Duration(integer("dad_probe_ms", 1, int(MaxProbe/time.Millisecond))) * time.Millisecond

	if v := get("preferred_lft"); v == "forever" {
		p.PreferredLft = Forever
	} else if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < 1<<31 {
		p.PreferredLft = n
	} else {
		bad("preferred_lft", v, "neither forever nor a number of seconds")
	}

	ms := func(name string, def time.Duration) time.Duration {
		v := strings.TrimSpace(getenv("OCF_RESKEY_" + name))
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad(name, v, "not a number of milliseconds")
			return def
		}
		// Pacemaker keeps operation times in 32-bit milliseconds (about 24.8 days); a larger
		// value (1e13) would overflow time.Duration into a deadline in the past.
		return time.Duration(min(n, maxOperationMS)) * time.Millisecond
	}
	p.Interval = ms("CRM_meta_interval", 0)
	p.Timeout = ms("CRM_meta_timeout", defaultTimeout)
	if p.Timeout == 0 {
		p.Timeout = defaultTimeout
	}
	return p, errors.Join(errs...)
}

// maxOperationMS bounds CRM_meta_interval and CRM_meta_timeout: Pacemaker's own limit.
const maxOperationMS = 1<<31 - 1

// parseNetmask accepts a prefix length or, for IPv4, a dotted netmask.
func parseNetmask(s string, addr netip.Addr) (int, error) {
	maxBits := 128
	if addr.Is4() {
		maxBits = 32
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > maxBits {
			return 0, fmt.Errorf("prefix length out of 1..%d", maxBits)
		}
		return n, nil
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() || !addr.Is4() {
		return 0, errors.New("neither a prefix length nor an IPv4 netmask")
	}
	v := m.As4()
	u := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	bits := 0
	for u&(1<<31) != 0 {
		bits++
		u <<= 1
	}
	if u != 0 || bits == 0 {
		return 0, errors.New("netmask is not contiguous")
	}
	return bits, nil
}

// parseBool accepts the spellings of ocf_is_true and their negations.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "true", "on", "y":
		return true, true
	case "0", "no", "false", "off", "n":
		return false, true
	}
	return false, false
}
