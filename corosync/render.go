package corosync

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vipctl/vipctl/topology"
)

// KeyFile is where Corosync reads the cluster's shared authkey: the rendered file names no
// keyfile, so Corosync uses its default. bootstrap installs the key given with --authkey here.
const KeyFile = "/etc/corosync/authkey"

// Render returns the corosync.conf of the topology's cluster: knet transport with
// authenticated encryption (the key is read from KeyFile), one node entry per host,
// votequorum (two_node for exactly two hosts) and logging to stderr and syslog.
// Values that corosync.conf cannot carry are refused with an error matching topology.ErrInvalid.
func Render(t *topology.Topology) ([]byte, error) {
	if err := check(t); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# corosync.conf of cluster %s, rendered by vipctl from %s.\n", t.Corosync.ClusterName, sourceName(t))
	b.WriteString("# The shared key is read from " + KeyFile + " (vipctl bootstrap --authkey FILE installs it).\n\n")

	b.WriteString("totem {\n")
	kv(&b, 1, "version", "2")
	kv(&b, 1, "cluster_name", t.Corosync.ClusterName)
	kv(&b, 1, "transport", "knet")
	kv(&b, 1, "ip_version", ipVersion(t.Hosts))
	kv(&b, 1, "token", fmt.Sprint(t.Corosync.TokenMS))
	kv(&b, 1, "crypto_cipher", "aes256")
	kv(&b, 1, "crypto_hash", "sha256")
	links(&b, t.Hosts)
	b.WriteString("}\n\n")

	b.WriteString("nodelist {\n")
	for _, h := range t.Hosts {
		b.WriteString("\tnode {\n")
		kv(&b, 2, "name", h.Name)
		kv(&b, 2, "nodeid", fmt.Sprint(h.NodeID))
		for i, a := range ringAddrs(h) {
			kv(&b, 2, fmt.Sprintf("ring%d_addr", i), a.Unmap().String())
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n\n")

	b.WriteString("quorum {\n")
	kv(&b, 1, "provider", "corosync_votequorum")
	if len(t.Hosts) == 2 {
		// Two hosts cannot outvote each other: two_node keeps the survivor quorate
		// (and implies wait_for_all, so a lone host never starts resources at boot).
		kv(&b, 1, "two_node", "1")
	}
	b.WriteString("}\n\n")

	b.WriteString("logging {\n")
	kv(&b, 1, "to_stderr", "yes")
	kv(&b, 1, "to_syslog", "yes")
	kv(&b, 1, "to_logfile", "no")
	kv(&b, 1, "timestamp", "on")
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// ringAddrs are the host's link addresses: its Links, or Address alone.
func ringAddrs(h topology.Host) []netip.Addr {
	if len(h.Links) > 0 {
		return h.Links
	}
	return []netip.Addr{h.Address}
}

// links writes, for hosts with two links, knet's passive link mode and one interface block per
// link: link 0 carries the traffic (priority 1), link 1 takes over when link 0 fails (priority 0).
func links(b *bytes.Buffer, hosts []topology.Host) {
	n := len(ringAddrs(hosts[0]))
	if n < 2 {
		return
	}
	kv(b, 1, "link_mode", "passive")
	for i := range n {
		b.WriteString("\tinterface {\n")
		kv(b, 2, "linknumber", fmt.Sprint(i))
		kv(b, 2, "knet_link_priority", fmt.Sprint(n-1-i))
		b.WriteString("\t}\n")
	}
}

// sourceName is the topology's file name for the header comment, without directories
// so that the rendering does not depend on where the file was loaded from.
func sourceName(t *topology.Topology) string {
	if t.File == "" {
		return "a topology"
	}
	name := t.File[strings.LastIndexByte(t.File, '/')+1:]
	if !safeValue(name) {
		return "a topology"
	}
	return name
}

func kv(b *bytes.Buffer, depth int, key, value string) {
	b.WriteString(strings.Repeat("\t", depth))
	b.WriteString(key)
	b.WriteString(": ")
	b.WriteString(value)
	b.WriteByte('\n')
}

// ipVersion is "ipv4" or "ipv6": knet needs every ring0 address in one family.
func ipVersion(hosts []topology.Host) string {
	if len(hosts) > 0 && hosts[0].Address.Unmap().Is6() {
		return "ipv6"
	}
	return "ipv4"
}

// check refuses a topology whose values would not survive corosync.conf's syntax.
func check(t *topology.Topology) error {
	if t == nil {
		return fmt.Errorf("%w: corosync: no topology", topology.ErrInvalid)
	}
	if !safeValue(t.Corosync.ClusterName) {
		return fmt.Errorf("%w: corosync: cluster_name %q: need letters, digits, '-', '_' or '.'", topology.ErrInvalid, t.Corosync.ClusterName)
	}
	if t.Corosync.TokenMS <= 0 {
		return fmt.Errorf("%w: corosync: token_ms %d: must be positive", topology.ErrInvalid, t.Corosync.TokenMS)
	}
	if len(t.Hosts) == 0 {
		return fmt.Errorf("%w: corosync: no hosts", topology.ErrInvalid)
	}
	first := t.Hosts[0].Address.Unmap()
	names := map[string]bool{}
	ids := map[int]string{}
	for _, h := range t.Hosts {
		if names[h.Name] {
			return fmt.Errorf("%w: corosync: host %s listed twice", topology.ErrInvalid, h.Name)
		}
		names[h.Name] = true
		if other, dup := ids[h.NodeID]; dup {
			return fmt.Errorf("%w: corosync: hosts %s and %s share nodeid %d", topology.ErrInvalid, other, h.Name, h.NodeID)
		}
		ids[h.NodeID] = h.Name
		if !safeValue(h.Name) {
			return fmt.Errorf("%w: corosync: host name %q: need letters, digits, '-', '_' or '.'", topology.ErrInvalid, h.Name)
		}
		if h.NodeID <= 0 {
			return fmt.Errorf("%w: corosync: host %s: nodeid %d: must be positive", topology.ErrInvalid, h.Name, h.NodeID)
		}
		if n, n0 := len(ringAddrs(h)), len(ringAddrs(t.Hosts[0])); n != n0 {
			return fmt.Errorf("%w: corosync: host %s has %d links, %s has %d: every host needs an address on each link",
				topology.ErrInvalid, h.Name, n, t.Hosts[0].Name, n0)
		}
		for _, a := range ringAddrs(h) {
			a = a.Unmap()
			if !a.IsValid() || a.Zone() != "" {
				return fmt.Errorf("%w: corosync: host %s: address %v is not a ring address", topology.ErrInvalid, h.Name, a)
			}
			if a.Is4() != first.Is4() {
				return fmt.Errorf("%w: corosync: host %s: address %v: knet needs every address in one family (%s has %v)",
					topology.ErrInvalid, h.Name, a, t.Hosts[0].Name, first)
			}
		}
	}
	return nil
}

// safeValue reports whether s can be written as a bare corosync.conf value.
func safeValue(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
