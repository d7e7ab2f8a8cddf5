package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
	"github.com/vipctl/vipctl/vip/viptest"
)

// checkTopology is a one-group topology whose addresses live in viptest's namespaces.
func checkTopology(t *testing.T, vipAddr, nic string) *topology.Topology {
	t.Helper()
	nicLine := ""
	if nic != "" {
		nicLine = `nic = "` + nic + `"`
	}
	src := `
datacenters = ["dc1"]
corosync {
  cluster_name = "test"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  address = "10.99.0.1"
}
host "h2" {
  address = "10.99.0.2"
}
host_group "db-a" {
  hosts = ["h1", "h2"]
  vip {
    address = "` + vipAddr + `"
    ` + nicLine + `
  }
}
`
	topo, err := topology.Parse([]byte(src), "check.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// checkNIC runs `check nic -o json --host h1` in namespace A of pair and decodes the report.
func checkNIC(t *testing.T, pair *viptest.Pair, topo *topology.Topology) (vip.NICReport, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &checkNICOptions{Host: "h1", json: true, stdout: &out, netns: pair.A,
		load: func() (*topology.Topology, error) { return topo, nil }}
	err := checkNICRun(context.Background(), opts)
	var r vip.NICReport
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("report: %v\n%s", jerr, out.String())
	}
	return r, err
}

var prefixCmp = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestCheckNIC(t *testing.T) {
	pfx := netip.MustParsePrefix("10.99.0.100/24")
	sub := netip.MustParsePrefix(viptest.AddrA4)
	for _, tc := range []struct {
		name  string
		nic   string
		setup func(t *testing.T, p *viptest.Pair)
		want  func(p *viptest.Pair) vip.NICCheck
	}{
		{name: "ready", nic: "veth0", want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "configured", LinkUp: true, MTU: 1500,
				MAC: p.MACA.String(), SubnetAddr: sub}
		}},
		{name: "ready by route lookup", want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "route", LinkUp: true, MTU: 1500,
				MAC: p.MACA.String(), SubnetAddr: sub}
		}},
		{name: "vip held by the peer", nic: "veth0", setup: func(t *testing.T, p *viptest.Pair) {
			viptest.IP(t, p.B, "addr", "add", "10.99.0.100/24", "dev", p.IfB)
		}, want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "configured", LinkUp: true, MTU: 1500,
				MAC: p.MACA.String(), SubnetAddr: sub, AnsweredBy: p.MACB.String(),
				Notes: []string{"another host (" + p.MACB.String() + ") answers for 10.99.0.100: expected only where the cluster runs the VIP"}}
		}},
		{name: "vip here and on the peer", nic: "veth0", setup: func(t *testing.T, p *viptest.Pair) {
			viptest.IP(t, p.B, "addr", "add", "10.99.0.100/24", "dev", p.IfB)
			viptest.IP(t, p.A, "addr", "add", "10.99.0.100/24", "dev", p.IfA)
		}, want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "configured", LinkUp: true, MTU: 1500,
				MAC: p.MACA.String(), SubnetAddr: sub, PresentOn: []string{"veth0"}, AnsweredBy: p.MACB.String(),
				Problems: []string{"duplicate: 10.99.0.100 is on this host and another host (" + p.MACB.String() + ") answers for it"}}
		}},
		{name: "link down, mtu", nic: "veth0", setup: func(t *testing.T, p *viptest.Pair) {
			viptest.IP(t, p.A, "link", "set", p.IfA, "mtu", "9000")
			viptest.IP(t, p.B, "link", "set", p.IfB, "down")
		}, want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "configured", MTU: 9000,
				MAC: p.MACA.String(), SubnetAddr: sub, Problems: []string{"link is down: veth0"}}
		}},
		{name: "interface missing", nic: "eth7", want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "eth7", NICSource: "configured", Problems: []string{"interface not found: eth7"}}
		}},
		{name: "no address in the subnet", nic: "veth0", setup: func(t *testing.T, p *viptest.Pair) {
			viptest.IP(t, p.A, "addr", "del", viptest.AddrA4, "dev", p.IfA)
		}, want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "configured", LinkUp: true, MTU: 1500,
				MAC: p.MACA.String(), Problems: []string{"veth0 has no address in 10.99.0.0/24"}}
		}},
		{name: "no address in the subnet: no probe sent", nic: "veth0", setup: func(t *testing.T, p *viptest.Pair) {
			viptest.IP(t, p.A, "addr", "del", viptest.AddrA4, "dev", p.IfA)
			viptest.IP(t, p.B, "addr", "add", "10.99.0.100/24", "dev", p.IfB)
		}, want: func(p *viptest.Pair) vip.NICCheck {
			return vip.NICCheck{VIP: pfx, NIC: "veth0", NICSource: "configured", LinkUp: true, MTU: 1500,
				MAC: p.MACA.String(), Problems: []string{"veth0 has no address in 10.99.0.0/24"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair := viptest.NewPair(t)
			if tc.setup != nil {
				tc.setup(t, pair)
			}
			got, err := checkNIC(t, pair, checkTopology(t, "10.99.0.100/24", tc.nic))
			want := tc.want(pair)
			wantReport := vip.NICReport{Host: "h1", Group: "db-a", Ready: want.Ready(), NICCheck: want}
			if d := cmp.Diff(wantReport, got, prefixCmp); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
			if want.Ready() != (err == nil) || (err != nil && !errors.Is(err, errNotReady)) {
				t.Errorf("error %v, want ready=%v", err, want.Ready())
			}
			if err != nil && exitCode(err) != exitFailure {
				t.Errorf("exit code %d, want %d", exitCode(err), exitFailure)
			}
		})
	}
}

func TestCheckNICIPv6(t *testing.T) {
	pair := viptest.NewPair(t)
	viptest.IP(t, pair.B, "addr", "add", "fd00:99::100/64", "dev", pair.IfB, "nodad")
	got, err := checkNIC(t, pair, checkTopology(t, "fd00:99::100/64", "veth0"))
	if err != nil {
		t.Fatal(err)
	}
	if got.AnsweredBy != pair.MACB.String() || got.SubnetAddr != netip.MustParsePrefix(viptest.AddrA6) {
		t.Errorf("answered by %q, subnet address %s; want %s, %s", got.AnsweredBy, got.SubnetAddr, pair.MACB, viptest.AddrA6)
	}
}

func TestCheckNICTextAndExitCodes(t *testing.T) {
	var out bytes.Buffer
	r := vip.NICReport{Host: "h1", Group: "db-a", NICCheck: vip.NICCheck{VIP: netip.MustParsePrefix("10.0.0.5/24"),
		NIC: "eth0", NICSource: "configured", MTU: 1500, Problems: []string{"link is down: eth0"}}}
	if err := vip.WriteNICText(&out, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"interface           eth0 (configured)", "link                down", "ready               NO", "problem             link is down: eth0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("host \"h1\" {\n  address = \"not-an-ip\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := vipctl(t, "check", "nic", "-f", bad, "--host", "h1"); code != exitUsage {
		t.Errorf("bad topology: exit %d, want %d (%s)", code, exitUsage, stderr)
	}
	if code, _, stderr := vipctl(t, "check", "nic", "-f", exampleFile, "--host", "nosuch"); code != exitUsage {
		t.Errorf("unknown host: exit %d, want %d (%s)", code, exitUsage, stderr)
	}
}
