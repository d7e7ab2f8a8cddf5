package status

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vipctl/vipctl/vip"
)

// Reach is the result of a TCP connection to VIP:port, as a client would make it.
type Reach struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// dialer opens TCP connections; *net.Dialer is one.
type dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

var _ dialer = (*net.Dialer)(nil)

// reach connects to addr and closes the connection at once.
func reach(ctx context.Context, d dialer, addr netip.AddrPort) Reach {
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer: %w", ctx.Err())
		}
		return Reach{Error: err.Error()}
	}
	_ = c.Close()
	return Reach{OK: true}
}

// LocalVIP is this host's own view of its group's VIP, read through netlink.
type LocalVIP struct {
	Host    string `json:"host"`            // this host's name in the topology
	Holder  bool   `json:"holder"`          // Pacemaker says this host runs the VIP
	Present bool   `json:"present"`         // the address is on an interface of this host
	Usable  bool   `json:"usable"`          // present and not tentative or failed (IPv6 duplicate detection)
	Error   string `json:"error,omitempty"` // netlink could not be asked
}

// addrFinder finds the entries of an address on this host's interfaces; *vip.Host is one.
type addrFinder interface {
	Find(addr netip.Addr) ([]vip.Address, error)
}

var _ addrFinder = (*vip.Host)(nil)

// localVIP reports whether addr is on one of this host's interfaces.
func localVIP(f addrFinder, host string, addr netip.Addr, holder bool) LocalVIP {
	l := LocalVIP{Host: host, Holder: holder}
	found, err := f.Find(addr)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Present = len(found) > 0
	for _, a := range found {
		if !a.Tentative() && !a.DADFailed() {
			l.Usable = true
		}
	}
	return l
}
