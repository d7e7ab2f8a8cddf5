package cib

import (
	"bytes"
	"context"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCase is one topology file and the golden CIB rendered from it.
type goldenCase struct {
	name, hcl, golden string
}

// goldenCases lists the example topology and every testdata/*.hcl.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	cases := []goldenCase{{"example", "../examples/vipctl.hcl", "testdata/example.golden"}}
	files, err := filepath.Glob("testdata/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hcl")
		cases = append(cases, goldenCase{name, f, "testdata/" + name + ".golden"})
	}
	return cases
}

func load(t *testing.T, path string) *topology.Topology {
	t.Helper()
	topo, err := topology.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return topo
}

func TestRenderGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, err := RenderXML(load(t, c.hcl))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(c.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cib -run TestRenderGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", c.hcl, c.golden, diff)
			}
		})
	}
}

// TestRenderIdempotent renders each topology twice, and parses and re-serialises the result:
// every way gives the same bytes.
func TestRenderIdempotent(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			topo := load(t, c.hcl)
			first, err := RenderXML(topo)
			if err != nil {
				t.Fatal(err)
			}
			second, err := RenderXML(topo)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Errorf("second render differs:\n%s", cmp.Diff(string(first), string(second)))
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(first); err != nil {
				t.Fatalf("rendered CIB does not parse: %v", err)
			}
			again, err := WriteXML(doc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(first), string(again)); diff != "" {
				t.Errorf("parse and re-serialise changed the CIB (-rendered +again):\n%s", diff)
			}
			if !strings.HasSuffix(string(first), "</cib>\n") {
				t.Errorf("CIB does not end in </cib> and one newline: %q", first[max(0, len(first)-20):])
			}
		})
	}
}

// readGolden parses a golden CIB.
func readGolden(t *testing.T, path string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// nvpairs returns the name=value pairs of the sets with the given tag directly under e.
func nvpairs(e *etree.Element, set string) map[string]string {
	m := map[string]string{}
	for _, s := range e.SelectElements(set) {
		for _, nv := range s.SelectElements("nvpair") {
			m[nv.SelectAttrValue("name", "")] = nv.SelectAttrValue("value", "")
		}
	}
	return m
}

// TestGoldenFencing checks, on the golden files, that every fence device names only the host
// of its fence block in pcmk_host_list and is banned from that host.
func TestGoldenFencing(t *testing.T) {
	devices := 0
	for _, c := range goldenCases(t) {
		topo := load(t, c.hcl)
		root := readGolden(t, c.golden)
		fences := root.FindElements("configuration/resources/primitive[@class='stonith']")
		if len(fences) != len(topo.Fences) {
			t.Errorf("%s: %d stonith primitives, topology has %d fence blocks", c.golden, len(fences), len(topo.Fences))
		}
		for _, f := range topo.Fences {
			id := FenceID(f.Name)
			p := root.FindElement("configuration/resources/primitive[@id='" + id + "']")
			if p == nil {
				t.Errorf("%s: no primitive %s for fence %q", c.golden, id, f.Name)
				continue
			}
			devices++
			if got := nvpairs(p, "instance_attributes")["pcmk_host_list"]; got != f.Host {
				t.Errorf("%s: %s pcmk_host_list = %q, want only its own host %q", c.golden, id, got, f.Host)
			}
			var bans []string
			for _, l := range root.FindElements("configuration/constraints/rsc_location[@rsc='" + id + "']") {
				if l.SelectAttrValue("score", "") == "-INFINITY" {
					bans = append(bans, l.SelectAttrValue("node", ""))
				}
			}
			if diff := cmp.Diff([]string{f.Host}, bans); diff != "" {
				t.Errorf("%s: -INFINITY locations of %s (-want +got):\n%s", c.golden, id, diff)
			}
		}
	}
	if devices == 0 {
		t.Fatal("no golden CIB has a fence device: the check checked nothing")
	}
}

// TestGoldenOwnership checks that everything in the configuration carries vipctl's id prefix
// (cluster properties sit in cib-bootstrap-options), every resource carries the ownership meta
// attribute, and each VIP has a -INFINITY rule naming exactly its group's hosts.
func TestGoldenOwnership(t *testing.T) {
	for _, c := range goldenCases(t) {
		topo := load(t, c.hcl)
		root := readGolden(t, c.golden)
		for _, e := range root.FindElements("configuration//*[@id]") {
			id := e.SelectAttrValue("id", "")
			if !IsOwnedID(id) && !strings.HasPrefix(id, BootstrapOptions) {
				t.Errorf("%s: <%s id=%q> is not marked as vipctl's", c.golden, e.Tag, id)
			}
		}
		for _, p := range root.FindElements("configuration/resources/primitive") {
			if got := nvpairs(p, "meta_attributes")[ManagedMeta]; got != ManagedValue {
				t.Errorf("%s: %s %s = %q, want %q", c.golden, p.SelectAttrValue("id", ""), ManagedMeta, got, ManagedValue)
			}
		}
		for _, g := range topo.Groups {
			loc := root.FindElement("configuration/constraints/rsc_location[@rsc='" + g.VIPID() + "']")
			if loc == nil {
				t.Errorf("%s: no location constraint for %s", c.golden, g.VIPID())
				continue
			}
			rule := loc.SelectElement("rule")
			if rule == nil || rule.SelectAttrValue("score", "") != "-INFINITY" || rule.SelectAttrValue("boolean-op", "") != "and" {
				t.Errorf("%s: %s rule is not score=-INFINITY boolean-op=and", c.golden, g.VIPID())
				continue
			}
			var ne []string
			for _, x := range rule.SelectElements("expression") {
				if x.SelectAttrValue("attribute", "") == "#uname" && x.SelectAttrValue("operation", "") == "ne" {
					ne = append(ne, x.SelectAttrValue("value", ""))
				}
			}
			if diff := cmp.Diff(g.Hosts, ne); diff != "" {
				t.Errorf("%s: %s rule hosts (-group +rule):\n%s", c.golden, g.VIPID(), diff)
			}
		}
	}
}

// TestRenderVIPAttributes checks the VIP primitive's agent, instance and meta attributes for
// each agent, with one NIC per group and with NICs differing per host.
func TestRenderVIPAttributes(t *testing.T) {
	root := readGolden(t, "testdata/ipaddr2-nics.golden")
	type set struct {
		Rule  string // #uname the set applies to, "" for the common set
		Score string
		Pairs map[string]string
	}
	sets := func(id string) []set {
		var out []set
		for _, ia := range root.FindElements("configuration/resources/primitive[@id='" + id + "']/instance_attributes") {
			s := set{Score: ia.SelectAttrValue("score", ""), Pairs: map[string]string{}}
			if x := ia.FindElement("rule/expression"); x != nil {
				s.Rule = x.SelectAttrValue("value", "")
			}
			for _, nv := range ia.SelectElements("nvpair") {
				s.Pairs[nv.SelectAttrValue("name", "")] = nv.SelectAttrValue("value", "")
			}
			out = append(out, s)
		}
		return out
	}
	wantEast := []set{
		{Score: "1", Pairs: map[string]string{"ip": "192.0.2.100", "cidr_netmask": "24"}},
		{Rule: "db-1", Score: "2", Pairs: map[string]string{"nic": "ens3"}},
		{Rule: "db-2", Score: "2", Pairs: map[string]string{"nic": "ens3"}},
		{Rule: "db-3", Score: "2", Pairs: map[string]string{"nic": "enp5s0"}},
	}
	if diff := cmp.Diff(wantEast, sets("vip-east")); diff != "" {
		t.Errorf("vip-east instance attributes (-want +got):\n%s", diff)
	}
	wantWest := []set{{Pairs: map[string]string{"ip": "198.51.100.10", "cidr_netmask": "25", "nic": "bond0"}}}
	if diff := cmp.Diff(wantWest, sets("vip-west")); diff != "" {
		t.Errorf("vip-west instance attributes (-want +got):\n%s", diff)
	}
	p := root.FindElement("configuration/resources/primitive[@id='vip-east']")
	agent := []string{p.SelectAttrValue("class", ""), p.SelectAttrValue("provider", ""), p.SelectAttrValue("type", "")}
	if diff := cmp.Diff([]string{"ocf", "heartbeat", "IPaddr2"}, agent); diff != "" {
		t.Errorf("vip-east agent (-want +got):\n%s", diff)
	}
	wantMeta := map[string]string{
		"failure-timeout":       "60s",
		"migration-threshold":   "3",
		"vipctl-cluster-orders": "port=5001,patroni=8008,stats=6001",
		ManagedMeta:             ManagedValue,
	}
	if diff := cmp.Diff(wantMeta, nvpairs(p, "meta_attributes")); diff != "" {
		t.Errorf("vip-east meta attributes (-want +got):\n%s", diff)
	}

	v6 := readGolden(t, "testdata/ipv6.golden").FindElement("configuration/resources/primitive[@id='vip-v6']")
	want6 := map[string]string{"ip": "2001:db8::100", "cidr_netmask": "64"}
	if diff := cmp.Diff(want6, nvpairs(v6, "instance_attributes")); diff != "" {
		t.Errorf("vip-v6 instance attributes (-want +got):\n%s", diff)
	}
	if got := v6.SelectAttrValue("provider", "") + ":" + v6.SelectAttrValue("type", ""); got != "vipctl:vip" {
		t.Errorf("vip-v6 agent = %s, want vipctl:vip", got)
	}
}

func TestClusterPortsRoundTrip(t *testing.T) {
	p := ClusterPorts{Port: 5001, PatroniPort: 8008, StatsPort: 6001}
	if got := p.String(); got != "port=5001,patroni=8008,stats=6001" {
		t.Errorf("String() = %q", got)
	}
	back, err := ParseClusterPorts(p.String())
	if err != nil {
		t.Fatal(err)
	}
	if back != p {
		t.Errorf("round trip gave %+v, want %+v", back, p)
	}
	for _, bad := range []string{"", "port=5001", "port=5001,patroni=8008,stats=0", "port=1,patroni=2,stats=3,port=4",
		"port=1,patroni=2,web=3", "port=1;patroni=2;stats=3"} {
		if _, err := ParseClusterPorts(bad); err == nil {
			t.Errorf("ParseClusterPorts(%q) accepted it", bad)
		}
	}
}

func TestIsOwnedID(t *testing.T) {
	var got []string
	for _, id := range []string{"vip-db-a", "vipctl-fence-x", "vipctl-location-vip-db-a", "cib-bootstrap-options",
		"vip", "VIP-db-a", "my-vip-db-a", "location-vip-db-a", "fence-pg-01"} {
		if IsOwnedID(id) {
			got = append(got, id)
		}
	}
	if diff := cmp.Diff([]string{"vip-db-a", "vipctl-fence-x", "vipctl-location-vip-db-a"}, got); diff != "" {
		t.Errorf("owned ids (-want +got):\n%s", diff)
	}
}

// TestRenderUnusualNames renders fence names and parameter keys that are not valid XML ids and
// values with XML's special characters: ids are sanitised and unique, values survive as given.
func TestRenderUnusualNames(t *testing.T) {
	topo := exampleTopology()
	topo.Fences = topo.Fences[:1]
	topo.Fences[0].Name = "ipmi pg/01"
	topo.Fences[0].Params = map[string]string{"a b": "1", "a_b": "2", "9x": `<&"'>`, "pcmk_host_list": "pg-01,pg-02"}
	b, err := RenderXML(topo)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range doc.FindElements("//*[@id]") {
		ids = append(ids, e.SelectAttrValue("id", ""))
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(ids) {
		t.Errorf("ids not unique: %v", ids)
	}
	p := doc.FindElement("//primitive[@id='vipctl-fence-ipmi_pg_01']")
	if p == nil {
		t.Fatalf("no sanitised fence primitive in:\n%s", b)
	}
	want := map[string]string{"a b": "1", "a_b": "2", "9x": `<&"'>`, "pcmk_host_list": "pg-01"}
	if diff := cmp.Diff(want, nvpairs(p, "instance_attributes")); diff != "" {
		t.Errorf("fence instance attributes (-want +got):\n%s", diff)
	}
}

func TestRenderRejectsUnrepresentable(t *testing.T) {
	topo := exampleTopology()
	topo.Fences[0].Params["password"] = "a\x01b"
	if _, err := RenderXML(topo); !errorsIs(err, ErrUnrenderable) {
		t.Errorf("RenderXML with a control character: err = %v, want ErrUnrenderable", err)
	}
}

// TestExampleTopologyMatchesFile keeps the hand-built exampleTopology (used where no file is
// loaded) rendering exactly like examples/vipctl.hcl.
func TestExampleTopologyMatchesFile(t *testing.T) {
	fromFile, err := RenderXML(load(t, "../examples/vipctl.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	built, err := RenderXML(exampleTopology())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(fromFile), string(built)); diff != "" {
		t.Errorf("exampleTopology renders differently from the file (-file +built):\n%s", diff)
	}
}

// TestRenderIDsDoNotCollide renders groups and fence devices whose names make one's contract id
// equal to an id derived for another: the contract ids stay, the derived ones move aside, and
// the real crm_verify accepts the result.
func TestRenderIDsDoNotCollide(t *testing.T) {
	topo := exampleTopology()
	extra := topology.HostGroup{Name: "db-a-monitor-interval-10s", Hosts: []string{"pg-04"},
		VIP: topology.VIP{Prefix: netip.MustParsePrefix("10.20.0.101/24"), Agent: topology.AgentVipctl}}
	topo.Hosts = append(topo.Hosts, topology.Host{Name: "pg-04", Address: netip.MustParseAddr("10.20.0.14"), NodeID: 4})
	topo.Groups = append(topo.Groups, extra)
	topo.Fences = append(topo.Fences, topology.Fence{Name: "ipmi-pg-01-instance_attributes", Agent: "fence_ipmilan", Host: "pg-04"})
	doc, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range doc.FindElements("//*[@id]") {
		id := e.SelectAttrValue("id", "")
		if seen[id] {
			t.Errorf("id %q used twice", id)
		}
		seen[id] = true
	}
	for _, id := range []string{"vip-db-a-monitor-interval-10s", "vipctl-fence-ipmi-pg-01-instance_attributes"} {
		if p := doc.FindElement("//primitive[@id='" + id + "']"); p == nil {
			t.Errorf("no primitive %s", id)
		}
	}
	if err := realTools(t).Verify(context.Background(), doc); err != nil {
		t.Error(err)
	}
}
