package status

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/vip"
	"github.com/vipctl/vipctl/vip/viptest"
)

// localVIP through real netlink, in a namespace the test creates: the VIP is seen when it is
// on an interface, and only then; an address that merely contains the VIP's text is not it.
func TestLocalVIPNetlink(t *testing.T) {
	pair := viptest.NewPair(t)
	h, err := vip.OpenHost(pair.A)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	addr := netip.MustParseAddr("10.99.0.10")
	viptest.IP(t, pair.A, "addr", "add", "110.99.0.10/24", "dev", pair.IfA)
	if d := cmp.Diff(LocalVIP{Host: "h1", Holder: true}, localVIP(h, "h1", addr, true)); d != "" {
		t.Errorf("VIP absent (-want +got):\n%s", d)
	}
	viptest.IP(t, pair.A, "addr", "add", "10.99.0.10/24", "dev", pair.IfA)
	if d := cmp.Diff(LocalVIP{Host: "h1", Holder: true, Present: true, Usable: true}, localVIP(h, "h1", addr, true)); d != "" {
		t.Errorf("VIP present (-want +got):\n%s", d)
	}
	// IPv6 with duplicate address detection still running: present but not usable.
	v6 := netip.MustParseAddr("fd00:99::10")
	viptest.Sysctl(t, pair.A, "net.ipv6.conf."+pair.IfA+".dad_transmits", "200")
	viptest.IP(t, pair.A, "addr", "add", "fd00:99::10/64", "dev", pair.IfA)
	if d := cmp.Diff(LocalVIP{Host: "h1", Present: true}, localVIP(h, "h1", v6, false)); d != "" {
		t.Errorf("tentative VIP (-want +got):\n%s", d)
	}
}
