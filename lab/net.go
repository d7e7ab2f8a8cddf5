package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// netRunner runs the ip command (and friends) that build the lab's network, on this host,
// each under its own timeout; a failure is a *pcmk.ExitError carrying the command's stderr.
var netRunner pcmk.Runner = pcmk.Local{Timeout: 15 * time.Second}

// exec runs name with args through the lab's runner (netRunner but in tests).
func (l *Lab) exec(ctx context.Context, name string, args ...string) error {
	if _, err := l.run.Run(ctx, pcmk.Command(name, args...)); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// ip runs `ip -n ns args...` (ns "" runs in this namespace).
func (l *Lab) ip(ctx context.Context, ns string, args ...string) error {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	return l.exec(ctx, "ip", args...)
}

// addNetNS creates a network namespace with lo up and records it in the state.
func (l *Lab) addNetNS(ctx context.Context, name string) error {
	if err := l.ip(ctx, "", "netns", "add", name); err != nil {
		return err
	}
	if !slices.Contains(l.state.Created, name) { // a task's namespace is made anew at each start
		l.state.Created = append(l.state.Created, name)
		if err := l.save(); err != nil {
			return err
		}
	}
	return l.ip(ctx, name, "link", "set", "lo", "up")
}

// wire joins namespace ns to the main bridge: nic inside ns, port on the switch.
func (l *Lab) wire(ctx context.Context, ns, nic, port string, addrs []netip.Prefix) error {
	return l.wireTo(ctx, mainBridge, ns, nic, port, addrs)
}

// wireTo joins namespace ns to the bridge br of the switch.
func (l *Lab) wireTo(ctx context.Context, br, ns, nic, port string, addrs []netip.Prefix) error {
	if err := l.ip(ctx, "", "link", "add", nic, "netns", ns, "type", "veth", "peer", "name", port, "netns", l.state.switchNS()); err != nil {
		return err
	}
	if err := l.ip(ctx, l.state.switchNS(), "link", "set", port, "master", br, "up"); err != nil {
		return err
	}
	for _, a := range addrs {
		if err := l.addAddr(ctx, ns, nic, a); err != nil {
			return err
		}
	}
	return l.ip(ctx, ns, "link", "set", nic, "up")
}

func (l *Lab) addAddr(ctx context.Context, ns, nic string, a netip.Prefix) error {
	args := []string{"addr", "add", a.String(), "dev", nic}
	if a.Addr().Is6() {
		args = append(args, "nodad")
	}
	return l.ip(ctx, ns, args...)
}

// netlinkIn opens a netlink handle inside the named network namespace.
func netlinkIn(ns string) (*netlink.Handle, error) {
	nsh, err := netns.GetFromName(ns)
	if err != nil {
		return nil, fmt.Errorf("lab: netns %s: %w", ns, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return nil, fmt.Errorf("lab: netlink in %s: %w", ns, err)
	}
	return h, nil
}

// holds reports whether the network namespace ns has addr on any interface.
func holds(ns string, addr netip.Addr) (bool, error) {
	h, err := netlinkIn(ns)
	if err != nil {
		return false, err
	}
	defer h.Close()
	family := netlink.FAMILY_V4
	if addr.Is6() {
		family = netlink.FAMILY_V6
	}
	list, err := h.AddrList(nil, family)
	if err != nil {
		return false, fmt.Errorf("lab: addresses in %s: %w", ns, err)
	}
	for _, a := range list {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == addr.Unmap() {
			return true, nil
		}
	}
	return false, nil
}

// linkUp reports whether interface nic in namespace ns is administratively up and has carrier.
func linkUp(ns, nic string) (bool, error) {
	h, err := netlinkIn(ns)
	if err != nil {
		return false, err
	}
	defer h.Close()
	link, err := h.LinkByName(nic)
	if err != nil {
		return false, fmt.Errorf("lab: %s in %s: %w", nic, ns, err)
	}
	a := link.Attrs()
	return a.Flags&net.FlagUp != 0 && a.OperState == netlink.OperUp, nil
}

// labNamespaces lists the existing network namespaces whose name carries prefix.
func labNamespaces(prefix string) ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
