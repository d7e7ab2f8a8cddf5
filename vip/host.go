package vip

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Errors about this host (never about the parameters). Callers match them with errors.Is.
var (
	ErrNoNetns     = errors.New("network namespace not found")
	ErrNoInterface = errors.New("interface not found")
	ErrNoRoute     = errors.New("no route contains the address")
	ErrLinkDown    = errors.New("link is down")
	ErrElsewhere   = errors.New("address is on another interface")
	ErrDuplicate   = errors.New("address is in use by another host")
	ErrDADFailed   = errors.New("duplicate address detection failed")
	ErrTentative   = errors.New("address still tentative")
	ErrPermission  = errors.New("operation not permitted")
)

// nlHandle is the part of *netlink.Handle this package uses.
type nlHandle interface {
	LinkByName(name string) (netlink.Link, error)
	LinkByIndex(index int) (netlink.Link, error)
	AddrList(link netlink.Link, family int) ([]netlink.Addr, error)
	AddrAdd(link netlink.Link, addr *netlink.Addr) error
	AddrDel(link netlink.Link, addr *netlink.Addr) error
	RouteListFiltered(family int, filter *netlink.Route, filterMask uint64) ([]netlink.Route, error)
}

var _ nlHandle = (*netlink.Handle)(nil)

// Host is a network namespace of this machine seen through netlink.
type Host struct {
	nl     nlHandle
	handle *netlink.Handle
	ns     netns.NsHandle // -1: the process's own namespace
	Netns  string         // namespace name, "" for the process's own
}

// OpenHost opens a netlink handle on the named network namespace ("" = the process's own).
// A missing namespace gives an error matching ErrNoNetns.
func OpenHost(name string) (*Host, error) {
	if name == "" {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		return &Host{nl: h, handle: h, ns: netns.None()}, nil
	}
	ns, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoNetns, name, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		if ns.IsOpen() {
			ns.Close()
		}
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Host{nl: h, handle: h, ns: ns, Netns: name}, nil
}

// Close releases the netlink handle.
func (h *Host) Close() {
	h.handle.Close()
	if h.ns.IsOpen() {
		h.ns.Close()
	}
}

// SetDeadline bounds every later netlink call to end by t.
func (h *Host) SetDeadline(t time.Time) error {
	d := time.Until(t)
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return h.handle.SetSocketTimeout(d)
}

// Link is an interface of the host.
type Link struct {
	Index int
	Name  string
	MAC   net.HardwareAddr
	MTU   int
	Up    bool // administratively up and with carrier (IFF_UP and IFF_RUNNING)
}

func linkOf(l netlink.Link) Link {
	a := l.Attrs()
	return Link{
		Index: a.Index,
		Name:  a.Name,
		MAC:   a.HardwareAddr,
		MTU:   a.MTU,
		Up:    a.Flags&net.FlagUp != 0 && a.Flags&net.FlagRunning != 0,
	}
}

// LinkByName returns the named interface; a missing one matches ErrNoInterface.
func (h *Host) LinkByName(name string) (Link, error) {
	l, err := h.nl.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return Link{}, fmt.Errorf("%w: %s", ErrNoInterface, name)
		}
		return Link{}, fmt.Errorf("netlink: link %s: %w", name, err)
	}
	return linkOf(l), nil
}

// LinkByIndex returns the interface with the given index.
func (h *Host) LinkByIndex(index int) (Link, error) {
	l, err := h.nl.LinkByIndex(index)
	if err != nil {
		return Link{}, fmt.Errorf("%w: index %d: %w", ErrNoInterface, index, err)
	}
	return linkOf(l), nil
}

// Address is one address entry of an interface.
type Address struct {
	LinkIndex int
	Prefix    netip.Prefix // the address with its prefix length
	Flags     int          // IFA_F_* flags
	Label     string
}

// Tentative reports whether IPv6 duplicate address detection is still running.
func (a Address) Tentative() bool { return a.Flags&unix.IFA_F_TENTATIVE != 0 }

// DADFailed reports whether IPv6 duplicate address detection found a duplicate.
func (a Address) DADFailed() bool { return a.Flags&unix.IFA_F_DADFAILED != 0 }

func family(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// Find returns every entry of addr on any interface of the host.
func (h *Host) Find(addr netip.Addr) ([]Address, error) {
	list, err := h.nl.AddrList(nil, family(addr))
	if err != nil {
		return nil, fmt.Errorf("netlink: list addresses: %w", err)
	}
	var found []Address
	for _, a := range list {
		p, ok := prefixOf(a.IPNet)
		if !ok || p.Addr() != addr {
			continue
		}
		found = append(found, Address{LinkIndex: a.LinkIndex, Prefix: p, Flags: a.Flags, Label: a.Label})
	}
	return found, nil
}

// AddrsOn returns the addresses of one family on an interface.
func (h *Host) AddrsOn(link Link, v6 bool) ([]Address, error) {
	fam := netlink.FAMILY_V4
	if v6 {
		fam = netlink.FAMILY_V6
	}
	list, err := h.nl.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: link.Index, Name: link.Name}}, fam)
	if err != nil {
		return nil, fmt.Errorf("netlink: list addresses of %s: %w", link.Name, err)
	}
	var out []Address
	for _, a := range list {
		if p, ok := prefixOf(a.IPNet); ok {
			out = append(out, Address{LinkIndex: link.Index, Prefix: p, Flags: a.Flags, Label: a.Label})
		}
	}
	return out, nil
}

// Route is the route that findif-style lookup chose for an address.
type Route struct {
	LinkIndex int
	Dst       netip.Prefix
	Metric    int
}

// LookupRoute finds the interface for addr like IPaddr2's findif: among the unicast routes of the
// main table whose destination contains addr, the lowest metric wins (then the longest prefix).
// Default routes, unreachable/blackhole/prohibit routes and the prefix route that addr itself
// created (preferred source addr) are ignored. onLink > 0 restricts the lookup to that interface.
// No candidate gives an error matching ErrNoRoute.
func (h *Host) LookupRoute(addr netip.Addr, onLink int) (Route, error) {
	routes, err := h.nl.RouteListFiltered(family(addr), &netlink.Route{}, 0) // main table
	if err != nil {
		return Route{}, fmt.Errorf("netlink: list routes: %w", err)
	}
	var cands []Route
	for _, r := range routes {
		dst, ok := prefixOf(r.Dst)
		if !ok || dst.Bits() == 0 || r.Type != unix.RTN_UNICAST || r.LinkIndex <= 0 || !dst.Contains(addr) {
			continue
		}
		if src, ok := netip.AddrFromSlice(r.Src); ok && src.Unmap() == addr {
			continue
		}
		if onLink > 0 && r.LinkIndex != onLink {
			continue
		}
		cands = append(cands, Route{LinkIndex: r.LinkIndex, Dst: dst, Metric: r.Priority})
	}
	if len(cands) == 0 {
		return Route{}, fmt.Errorf("%w: %s", ErrNoRoute, addr)
	}
	slices.SortStableFunc(cands, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), cmp.Compare(b.Dst.Bits(), a.Dst.Bits()))
	})
	return cands[0], nil
}

// AddOptions are the attributes of an address being added.
type AddOptions struct {
	Label         string // IPv4 only; without the "nic:" part
	NoPrefixRoute bool
	NoDAD         bool
	PreferredLft  int // seconds or Forever
}

// Add puts prefix on link.
func (h *Host) Add(link Link, prefix netip.Prefix, o AddOptions) error {
	a := &netlink.Addr{IPNet: ipNet(prefix)}
	if o.Label != "" && prefix.Addr().Is4() {
		a.Label = link.Name + ":" + o.Label
	}
	if o.NoPrefixRoute {
		a.Flags |= unix.IFA_F_NOPREFIXROUTE
	}
	if o.NoDAD && prefix.Addr().Is6() {
		a.Flags |= unix.IFA_F_NODAD
	}
	if o.PreferredLft != Forever {
		a.PreferedLft = o.PreferredLft
		a.ValidLft = math.MaxUint32 // forever
	}
	if err := h.nl.AddrAdd(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: link.Index, Name: link.Name}}, a); err != nil {
		return fmt.Errorf("add %s to %s: %w", prefix, link.Name, permission(err))
	}
	return nil
}

// Del removes one address entry.
func (h *Host) Del(a Address) error {
	if err := h.nl.AddrDel(nil, &netlink.Addr{IPNet: ipNet(a.Prefix), LinkIndex: a.LinkIndex}); err != nil {
		if errors.Is(err, unix.EADDRNOTAVAIL) {
			return nil // already gone
		}
		return fmt.Errorf("remove %s from interface %d: %w", a.Prefix, a.LinkIndex, permission(err))
	}
	return nil
}

func permission(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// inNetns runs fn on a thread in the host's namespace; the thread is discarded afterwards,
// so no other goroutine ever runs in the wrong namespace.
func (h *Host) inNetns(fn func() error) error {
	if !h.ns.IsOpen() {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := netns.Set(h.ns); err != nil {
			done <- fmt.Errorf("enter network namespace %s: %w", h.Netns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// packetSocket opens a raw AF_PACKET socket in the host's namespace.
// proto 0 opens a socket that only sends; otherwise it is bound to link and receives proto.
// The socket is created with protocol 0 and gets its protocol from bind: a socket created with a
// protocol already receives it on every interface, and rebinding it to one waits for an RCU
// grace period (13 ms measured here).
func (h *Host) packetSocket(link Link, proto uint16) (*os.File, error) {
	var fd int
	err := h.inNetns(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", permission(err))
		}
		if proto != 0 {
			if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: link.Index}); err != nil {
				unix.Close(fd)
				return fmt.Errorf("bind packet socket to %s: %w", link.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "packet:"+link.Name), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
