package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// NICCheck is the preflight of one host for a VIP: what `vipctl check nic` reports.
type NICCheck struct {
	VIP        netip.Prefix `json:"vip"`
	NIC        string       `json:"nic"`        // the interface that would carry the VIP ("" if none found)
	NICSource  string       `json:"nic_source"` // "configured" or "route"
	LinkUp     bool         `json:"link_up"`
	MTU        int          `json:"mtu"`
	MAC        string       `json:"mac"`
	SubnetAddr netip.Prefix `json:"subnet_address"` // an address of NIC in the VIP's subnet (zero if none)
	PresentOn  []string     `json:"present_on"`     // interfaces of this host holding the VIP now
	AnsweredBy string       `json:"answered_by"`    // MAC of another host answering for the VIP ("" if none)
	Problems   []string     `json:"problems"`       // why the host is not ready; empty when ready
	Notes      []string     `json:"notes"`          // worth knowing, not a reason to fail
}

// Ready reports whether the host can carry the VIP.
func (c NICCheck) Ready() bool { return len(c.Problems) == 0 }

// CheckNIC checks that this host could carry vip: the interface (nic, or route lookup when
// empty) exists and is up, has an address in the VIP's subnet, the VIP is nowhere else on the
// host, and whether another host answers for it (a probe of at most MaxProbe, bounded by ctx,
// sent only when the interface has an address in the VIP's subnet).
// Conditions of the host are Problems; the error is for failures to look.
func CheckNIC(ctx context.Context, h *Host, vip netip.Prefix, nic string) (NICCheck, error) {
	c := NICCheck{VIP: vip, NIC: nic, NICSource: "configured"}
	problem := func(format string, args ...any) { c.Problems = append(c.Problems, fmt.Sprintf(format, args...)) }
	var (
		link Link
		err  error
	)
	if nic == "" {
		c.NICSource = "route"
		var r Route
		if r, err = h.LookupRoute(vip.Addr(), 0); err == nil {
			link, err = h.LinkByIndex(r.LinkIndex)
		}
	} else {
		link, err = h.LinkByName(nic)
	}
	switch {
	case errors.Is(err, ErrNoRoute), errors.Is(err, ErrNoInterface):
		problem("%v", err)
	case err != nil:
		return c, err
	}

	found, err := h.Find(vip.Addr())
	if err != nil {
		return c, err
	}
	for _, f := range found {
		name := fmt.Sprintf("interface %d", f.LinkIndex)
		if l, err := h.LinkByIndex(f.LinkIndex); err == nil {
			name = l.Name
		}
		c.PresentOn = append(c.PresentOn, name)
		if link.Index != 0 && f.LinkIndex != link.Index {
			problem("%s is already on %s, not on %s", vip.Addr(), name, link.Name)
		}
	}
	if link.Index == 0 {
		return c, nil
	}
	c.NIC, c.LinkUp, c.MTU, c.MAC = link.Name, link.Up, link.MTU, link.MAC.String()
	if !link.Up {
		problem("%v: %s", ErrLinkDown, link.Name)
	}
	addrs, err := h.AddrsOn(link, vip.Addr().Is6())
	if err != nil {
		return c, err
	}
	subnet := vip.Masked()
	for _, a := range addrs {
		if a.Prefix.Addr() != vip.Addr() && subnet.Contains(a.Prefix.Addr()) && !a.Prefix.Addr().IsLinkLocalUnicast() {
			c.SubnetAddr = a.Prefix
			break
		}
	}
	if !c.SubnetAddr.IsValid() {
		// This link is not on the VIP's network: a probe would ask a foreign network about an
		// address that is not its own, so none is sent.
		problem("%s has no address in %s", link.Name, subnet)
	}
	if link.Up && c.SubnetAddr.IsValid() {
		mac, err := h.Probe(ctx, link, vip.Addr(), MaxProbe)
		if errors.Is(err, ErrProbeNotSent) {
			problem("%v", err)
		} else if err != nil {
			return c, err
		}
		if mac != nil {
			c.AnsweredBy = mac.String()
			if len(found) > 0 {
				problem("duplicate: %s is on this host and another host (%s) answers for it", vip.Addr(), mac)
			} else {
				c.Notes = append(c.Notes, fmt.Sprintf("another host (%s) answers for %s: expected only where the cluster runs the VIP", mac, vip.Addr()))
			}
		}
	}
	return c, nil
}
