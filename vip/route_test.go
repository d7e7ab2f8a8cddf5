package vip

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// fakeRoutes serves a fixed route table; the other methods are not used by LookupRoute.
type fakeRoutes struct {
	nlHandle
	routes []netlink.Route
}

func (f fakeRoutes) RouteListFiltered(int, *netlink.Route, uint64) ([]netlink.Route, error) {
	return f.routes, nil
}

func route(dst string, link, metric int, typ int, src string) netlink.Route {
	_, n, err := net.ParseCIDR(dst)
	if err != nil {
		panic(err)
	}
	r := netlink.Route{Dst: n, LinkIndex: link, Priority: metric, Type: typ}
	if src != "" {
		r.Src = net.ParseIP(src)
	}
	return r
}

// TestLookupRoute checks the findif rules: lowest metric, then longest prefix; default,
// unreachable, blackhole and prohibit routes and the VIP's own prefix route ignored.
func TestLookupRoute(t *testing.T) {
	vip := netip.MustParseAddr("10.20.0.100")
	table := []netlink.Route{
		route("0.0.0.0/0", 1, 0, unix.RTN_UNICAST, ""),               // default
		route("10.20.0.0/16", 9, 0, unix.RTN_BLACKHOLE, ""),          // blackhole
		route("10.20.0.0/24", 9, 0, unix.RTN_UNREACHABLE, ""),        // unreachable
		route("10.20.0.0/25", 9, 0, unix.RTN_PROHIBIT, ""),           // prohibit
		route("10.20.0.0/24", 7, 0, unix.RTN_UNICAST, "10.20.0.100"), // created by the VIP itself
		route("10.20.0.0/24", 2, 100, unix.RTN_UNICAST, "10.20.0.11"),
		route("10.20.0.0/16", 3, 50, unix.RTN_UNICAST, "10.20.5.1"),
		route("10.20.0.0/22", 4, 50, unix.RTN_UNICAST, "10.20.1.1"),
		route("10.30.0.0/24", 5, 0, unix.RTN_UNICAST, "10.30.0.1"), // does not contain the VIP
	}
	h := &Host{nl: fakeRoutes{routes: table}}
	for _, tc := range []struct {
		name   string
		onLink int
		want   Route
		err    error
	}{
		{"lowest metric, then longest prefix", 0, Route{LinkIndex: 4, Dst: netip.MustParsePrefix("10.20.0.0/22"), Metric: 50}, nil},
		{"restricted to one link", 2, Route{LinkIndex: 2, Dst: netip.MustParsePrefix("10.20.0.0/24"), Metric: 100}, nil},
		{"only ignored routes on the link", 7, Route{}, ErrNoRoute},
		{"no route on the link", 5, Route{}, ErrNoRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.LookupRoute(vip, tc.onLink)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
