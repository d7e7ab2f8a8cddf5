package move

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// probeWindow bounds one ARP/neighbour probe.
const probeWindow = 200 * time.Millisecond

// NetAnswers reports how addr answers on host ("" when it does not). On host itself (this machine's hostname is
// the host's name) it asks netlink whether the address is on an interface. Elsewhere it probes
// the segment the way a client's neighbour would: the MAC that answers for addr must be the MAC
// that answers for the host's own address (ARP probes for IPv4, neighbour solicitations for
// IPv6, on the interface the route to addr leaves through).
func NetAnswers(ctx context.Context, addr netip.Addr, host topology.Host) (string, error) {
	h, err := vip.OpenHost("")
	if err != nil {
		return "", err
	}
	defer h.Close()
	if name, _ := os.Hostname(); name == host.Name {
		found, err := h.Find(addr)
		if err != nil || len(found) == 0 {
			return "", err
		}
		return "netlink", nil
	}
	rt, err := h.LookupRoute(addr, 0)
	if err != nil {
		return "", fmt.Errorf("no route on a link of this host to %s: run vipctl on a host of the VIP's segment: %w", addr, err)
	}
	link, err := h.LinkByIndex(rt.LinkIndex)
	if err != nil {
		return "", err
	}
	vipMAC, err := h.Probe(ctx, link, addr, probeWindow)
	if err != nil || vipMAC == nil {
		return "", err
	}
	hostMAC, err := h.Probe(ctx, link, host.Address, probeWindow)
	if err != nil {
		return "", err
	}
	if hostMAC == nil {
		return "", errors.New("the host's own address " + host.Address.String() + " does not answer on " + link.Name)
	}
	if vipMAC.String() != hostMAC.String() {
		return "", nil
	}
	if addr.Is4() {
		return "arp", nil
	}
	return "ndp", nil
}
