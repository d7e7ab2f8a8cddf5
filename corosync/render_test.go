package corosync

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func hosts(addrs ...string) []topology.Host {
	hs := make([]topology.Host, len(addrs))
	for i, a := range addrs {
		hs[i] = topology.Host{Name: "pg-0" + strconv.Itoa(i+1), Address: netip.MustParseAddr(a), NodeID: i + 1}
	}
	return hs
}

// withLinks gives each host a second Corosync link at the given address.
func withLinks(hs []topology.Host, second ...string) []topology.Host {
	for i := range hs {
		hs[i].Links = []netip.Addr{hs[i].Address, netip.MustParseAddr(second[i])}
	}
	return hs
}

func topo(file string, hs []topology.Host) *topology.Topology {
	return &topology.Topology{
		File:     file,
		Corosync: topology.Corosync{ClusterName: "pg-prod", TokenMS: 1000},
		Hosts:    hs,
	}
}

var goldenCases = []struct {
	name string
	t    *topology.Topology
}{
	{"three-hosts", topo("/etc/vipctl/vipctl.hcl", hosts("10.20.0.11", "10.20.0.12", "10.20.0.13"))},
	{"two-hosts", topo("vipctl.hcl", hosts("10.20.0.11", "10.20.0.12"))},
	{"ipv6", topo("", hosts("fd00::11", "fd00::12", "fd00::13"))},
	{"two-links", topo("vipctl.hcl", withLinks(hosts("10.20.0.11", "10.20.0.12", "10.20.0.13"), "10.30.0.11", "10.30.0.12", "10.30.0.13"))},
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Render(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatal("two renders of one topology differ")
			}
			golden := filepath.Join("testdata", tc.name+".conf")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("render differs from %s (-want +got):\n%s", golden, d)
			}
		})
	}
}

// TestRenderParsesBack reads the rendered file with a minimal corosync.conf reader and
// compares what Corosync would see with the topology.
func TestRenderParsesBack(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Render(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(summarize(tc.t), got); d != "" {
				t.Errorf("parsed render differs (-want +got):\n%s", d)
			}
		})
	}
}

// conf is what a test cares about in a corosync.conf.
type conf struct {
	Totem      map[string]string
	Interfaces []map[string]string // totem's interface sections, in order
	Nodes      []map[string]string
	Quorum     map[string]string
	Logging    map[string]string
}

func summarize(t *topology.Topology) conf {
	v := "ipv4"
	if t.Hosts[0].Address.Is6() {
		v = "ipv6"
	}
	c := conf{
		Totem: map[string]string{
			"version": "2", "cluster_name": t.Corosync.ClusterName, "transport": "knet", "ip_version": v,
			"token": strconv.Itoa(t.Corosync.TokenMS), "crypto_cipher": "aes256", "crypto_hash": "sha256",
		},
		Quorum:  map[string]string{"provider": "corosync_votequorum"},
		Logging: map[string]string{"to_stderr": "yes", "to_syslog": "yes", "to_logfile": "no", "timestamp": "on"},
	}
	if len(t.Hosts) == 2 {
		c.Quorum["two_node"] = "1"
	}
	for _, h := range t.Hosts {
		n := map[string]string{"name": h.Name, "nodeid": strconv.Itoa(h.NodeID), "ring0_addr": h.Address.String()}
		if len(h.Links) == 2 {
			n["ring1_addr"] = h.Links[1].String()
		}
		c.Nodes = append(c.Nodes, n)
	}
	if len(t.Hosts[0].Links) == 2 { // link 0 carries the traffic, link 1 stands by
		c.Totem["link_mode"] = "passive"
		c.Interfaces = []map[string]string{{"linknumber": "0", "knet_link_priority": "1"}, {"linknumber": "1", "knet_link_priority": "0"}}
	}
	return c
}

// parse reads the subset of corosync.conf syntax that Render writes: sections, nested
// node sections and "key: value" lines; comments and blank lines are skipped.
func parse(b []byte) (conf, error) {
	c := conf{Totem: map[string]string{}, Quorum: map[string]string{}, Logging: map[string]string{}}
	var stack []string
	var node, iface map[string]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasSuffix(line, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(line, "{"))
			stack = append(stack, name)
			switch name {
			case "node":
				node = map[string]string{}
			case "interface":
				iface = map[string]string{}
			}
		case line == "}":
			if len(stack) == 0 {
				return c, errors.New("line " + strconv.Itoa(n) + ": unbalanced }")
			}
			switch stack[len(stack)-1] {
			case "node":
				c.Nodes = append(c.Nodes, node)
			case "interface":
				c.Interfaces = append(c.Interfaces, iface)
			}
			stack = stack[:len(stack)-1]
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || len(stack) == 0 {
				return c, errors.New("line " + strconv.Itoa(n) + ": not key: value inside a section: " + line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch strings.Join(stack, "/") {
			case "totem":
				c.Totem[k] = v
			case "quorum":
				c.Quorum[k] = v
			case "logging":
				c.Logging[k] = v
			case "nodelist/node":
				node[k] = v
			case "totem/interface":
				iface[k] = v
			default:
				return c, errors.New("line " + strconv.Itoa(n) + ": unexpected section " + strings.Join(stack, "/"))
			}
		}
	}
	if len(stack) != 0 {
		return c, errors.New("unclosed section " + strings.Join(stack, "/"))
	}
	return c, sc.Err()
}

func TestRenderRefuses(t *testing.T) {
	dupID := hosts("10.0.0.1", "10.0.0.2")
	dupID[1].NodeID = 1
	dupName := hosts("10.0.0.1", "10.0.0.2")
	dupName[1].Name = dupName[0].Name
	badName := hosts("10.0.0.1")
	badName[0].Name = "pg 01"
	mixed := hosts("10.0.0.1", "fd00::2")
	zero := hosts("10.0.0.1")
	zero[0].NodeID = 0
	noAddr := hosts("10.0.0.1")
	noAddr[0].Address = netip.Addr{}
	cases := map[string]*topology.Topology{
		"nil":              nil,
		"no hosts":         topo("", nil),
		"duplicate nodeid": topo("", dupID),
		"duplicate name":   topo("", dupName),
		"space in name":    topo("", badName),
		"mixed families":   topo("", mixed),
		"nodeid zero":      topo("", zero),
		"no address":       topo("", noAddr),
		"brace in cluster name": func() *topology.Topology {
			t := topo("", hosts("10.0.0.1"))
			t.Corosync.ClusterName = "pg}"
			return t
		}(),
		"no token": func() *topology.Topology {
			t := topo("", hosts("10.0.0.1"))
			t.Corosync.TokenMS = 0
			return t
		}(),
	}
	for name, tp := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := Render(tp)
			if !errors.Is(err, topology.ErrInvalid) {
				t.Fatalf("Render: got error %v, want one matching topology.ErrInvalid", err)
			}
			if out != nil {
				t.Errorf("Render returned output with its error:\n%s", out)
			}
		})
	}
}

// TestCorosyncAccepts has the real `corosync -t` check each rendered file. corosync -t wants
// one ring address local and the authkey at its default path, so it runs in a fresh network
// namespace (only lo, up) and a private mount namespace whose /etc/corosync is a temp dir.
func TestCorosyncAccepts(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "corosync")
	unshare := testenv.RequireTool(t, "unshare")
	cases := map[string]*topology.Topology{
		"three-hosts": topo("", hosts("127.0.0.1", "192.0.2.12", "192.0.2.13")),
		"two-hosts":   topo("", hosts("192.0.2.11", "127.0.0.1")),
		"ipv6":        topo("", hosts("::1", "2001:db8::12", "2001:db8::13")),
		"not-local":   topo("", hosts("192.0.2.11", "192.0.2.12", "192.0.2.13")),
		"two-links":   topo("", withLinks(hosts("127.0.0.1", "192.0.2.12", "192.0.2.13"), "127.0.0.2", "198.51.100.12", "198.51.100.13")),
	}
	for name, tp := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := Render(tp)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "corosync.conf"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			key := make([]byte, 256)
			if _, err := rand.Read(key); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "authkey"), key, 0o400); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, unshare, "--mount", "--net", "--propagation", "private", "sh", "-ec",
				`ip link set lo up; mount --bind "$1" /etc/corosync; exec corosync -t -c /etc/corosync/corosync.conf`, "sh", dir)
			msg, err := cmd.CombinedOutput()
			if name == "not-local" {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("corosync -t accepted a file with no local ring address (err %v):\n%s", err, msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("corosync -t refused the render: %v\n%s\n%s", err, msg, out)
			}
		})
	}
}

// FuzzRender: whatever a topology holds, Render either refuses it with ErrInvalid or writes
// a file that parses back to exactly the topology's values.
func FuzzRender(f *testing.F) {
	f.Add("pg-prod", 1000, "pg-01", "10.20.0.11", 1, "pg-02", "10.20.0.12", 2)
	f.Add("c", 1, "a", "::1", 7, "b", "::2", 9)
	f.Add("x y", 0, "a}", "10.0.0.1", 1, "a", "10.0.0.1", 1)
	f.Fuzz(func(t *testing.T, cluster string, token int, n1, a1 string, id1 int, n2, a2 string, id2 int) {
		var hs []topology.Host
		for _, h := range []struct {
			n, a string
			id   int
		}{{n1, a1, id1}, {n2, a2, id2}} {
			addr, err := netip.ParseAddr(h.a)
			if err != nil {
				return
			}
			hs = append(hs, topology.Host{Name: h.n, Address: addr, NodeID: h.id})
		}
		tp := &topology.Topology{Corosync: topology.Corosync{ClusterName: cluster, TokenMS: token}, Hosts: hs}
		out, err := Render(tp)
		if err != nil {
			if !errors.Is(err, topology.ErrInvalid) {
				t.Fatalf("error not matching ErrInvalid: %v", err)
			}
			return
		}
		got, err := parse(out)
		if err != nil {
			t.Fatalf("render does not parse back: %v\n%s", err, out)
		}
		want := summarize(tp)
		for i, h := range hs {
			want.Nodes[i]["ring0_addr"] = h.Address.Unmap().String()
		}
		if hs[0].Address.Unmap().Is4() {
			want.Totem["ip_version"] = "ipv4"
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("parsed render differs (-want +got):\n%s", d)
		}
	})
}
