package cib

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

// liveTopology is a one-host cluster "pg-lab" whose host pg-01 matches the captured live CIBs in
// testdata/live (and the cluster the apply tests start).
func liveTopology() *topology.Topology {
	return &topology.Topology{
		File:        "lab.hcl",
		Datacenters: []string{"dc1"},
		Corosync:    topology.Corosync{ClusterName: "pg-lab", TokenMS: 1000},
		Pacemaker:   topology.Pacemaker{StonithEnabled: true, NoQuorumPolicy: "stop", ResourceStickiness: 100},
		Hosts:       []topology.Host{{Name: "pg-01", Address: netip.MustParseAddr("127.0.0.1"), NodeID: 1}},
		Groups: []topology.HostGroup{{
			Name:  "db",
			Hosts: []string{"pg-01"},
			VIP:   topology.VIP{Prefix: netip.MustParsePrefix("127.0.0.2/8"), NIC: "lo", Agent: topology.AgentIPaddr2},
		}},
		Clusters: []topology.Cluster{{Name: "app", HostGroup: "db", Port: 5001, PatroniPort: 8008, StatsPort: 6001}},
	}
}

// liveXML reads a captured live CIB from testdata/live.
func liveXML(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "live", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// liveDoc parses a captured live CIB, applying edit (when not nil) to its configuration.
func liveDoc(t *testing.T, name string, edit func(conf *etree.Element)) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(liveXML(t, name)); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(doc.Root().SelectElement("configuration"))
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addXML parses a fragment and appends it to the child tag of conf.
func addXML(t *testing.T, conf *etree.Element, tag, fragment string) {
	t.Helper()
	frag := etree.NewDocument()
	if err := frag.ReadFromString(fragment); err != nil {
		t.Fatal(err)
	}
	confSection(conf, tag).AddChild(frag.Root())
}

func desiredDoc(t *testing.T, topo *topology.Topology) *etree.Document {
	t.Helper()
	doc, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func plan(t *testing.T, live []byte, topo *topology.Topology) *Plan {
	t.Helper()
	p, err := PlanFor(live, topo, desiredDoc(t, topo))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// headline is a change without its fields: what one line of the text diff says.
type headline struct {
	Op                        Op
	Section, Element, ID, Set string
}

func headlines(cs []Change) []headline {
	var hs []headline
	for _, c := range cs {
		hs = append(hs, headline{c.Op, c.Section, c.Element, c.ID, c.Set})
	}
	return hs
}

func TestPlanOntoFreshCluster(t *testing.T) {
	p := plan(t, liveXML(t, "fresh.xml"), liveTopology())
	want := []headline{
		{OpAdd, "crm_config", "nvpair", "stonith-enabled", BootstrapOptions},
		{OpAdd, "crm_config", "nvpair", "no-quorum-policy", BootstrapOptions},
		{OpAdd, "crm_config", "nvpair", StartFailureIsFatal, BootstrapOptions},
		{OpAdd, "resources", "primitive", "vip-db", ""},
		{OpAdd, "resources", "clone", "vipctl-health-db-clone", ""},
		{OpAdd, "constraints", "rsc_location", "vipctl-location-vip-db", ""},
		{OpAdd, "constraints", "rsc_location", "vipctl-location-vipctl-health-db-clone", ""},
		{OpAdd, "constraints", "rsc_location", "vipctl-location-vip-db-health", ""},
		{OpAdd, "alerts", "alert", AlertID, ""},
		{OpAdd, "rsc_defaults", "nvpair", "resource-stickiness", "vipctl-rsc_defaults"},
	}
	if diff := cmp.Diff(want, headlines(p.Changes)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if got, want := p.Version, (Version{AdminEpoch: 0, Epoch: 5, NumUpdates: 4}); got != want {
		t.Errorf("version = %v, want %v", got, want)
	}
	// An added element lists every value it brings.
	var vip Change
	for _, c := range p.Changes {
		if c.ID == "vip-db" {
			vip = c
		}
	}
	wantFields := []Field{
		{Op: OpAdd, Path: "@class", New: "ocf"},
		{Op: OpAdd, Path: "@provider", New: "heartbeat"},
		{Op: OpAdd, Path: "@type", New: "IPaddr2"},
		{Op: OpAdd, Path: "instance_attributes[vip-db-instance_attributes]/nvpair[ip]", New: "127.0.0.2"},
		{Op: OpAdd, Path: "instance_attributes[vip-db-instance_attributes]/nvpair[cidr_netmask]", New: "8"},
	}
	if diff := cmp.Diff(wantFields, vip.Fields[:len(wantFields)]); diff != "" {
		t.Errorf("fields of vip-db (-want +got):\n%s", diff)
	}
}

// The merged CIB keeps every live value that is not vipctl's, including Pacemaker's own.
func TestMergeKeepsHandEdits(t *testing.T) {
	topo := liveTopology()
	p := plan(t, liveXML(t, "hand-edited.xml"), topo)
	want := []headline{
		{OpChange, "crm_config", "nvpair", "no-quorum-policy", BootstrapOptions},
		{OpAdd, "crm_config", "nvpair", "stonith-enabled", BootstrapOptions},
		{OpAdd, "crm_config", "nvpair", StartFailureIsFatal, BootstrapOptions},
		{OpAdd, "resources", "primitive", "vip-db", ""},
		{OpAdd, "resources", "clone", "vipctl-health-db-clone", ""},
		{OpAdd, "constraints", "rsc_location", "vipctl-location-vip-db", ""},
		{OpAdd, "constraints", "rsc_location", "vipctl-location-vipctl-health-db-clone", ""},
		{OpAdd, "constraints", "rsc_location", "vipctl-location-vip-db-health", ""},
		// The operator's set already names resource-stickiness: its value changes there, so no
		// second set competes with it.
		{OpChange, "rsc_defaults", "nvpair", "resource-stickiness", "build-resource-defaults"},
		{OpAdd, "alerts", "alert", AlertID, ""},
	}
	if diff := cmp.Diff(want, headlines(p.Changes)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	nqp := p.Changes[0]
	if diff := cmp.Diff([]Field{{Op: OpChange, Path: "value", Old: "ignore", New: "stop"}}, nqp.Fields); diff != "" {
		t.Errorf("no-quorum-policy (-want +got):\n%s", diff)
	}

	merged := nvpairs(p.merged.Root().SelectElement("configuration").SelectElement("crm_config"), "cluster_property_set")
	wantProps := map[string]string{
		"have-watchdog":            "false",
		"dc-version":               "2.1.5-a3f44794f94",
		"cluster-infrastructure":   "corosync",
		"cluster-name":             "pg-lab",
		"no-quorum-policy":         "stop",
		"cluster-recheck-interval": "5min",
		"stonith-enabled":          "true",
		StartFailureIsFatal:        "false",
	}
	if diff := cmp.Diff(wantProps, merged); diff != "" {
		t.Errorf("merged cib-bootstrap-options (-want +got):\n%s", diff)
	}
	mconf := p.merged.Root().SelectElement("configuration")
	for _, path := range []string{"resources/primitive[@id='hand-dummy']", "constraints/rsc_location[@id='hand-dummy-prefers-pg-01']"} {
		got, live := mconf.FindElement(path), p.live.Root().SelectElement("configuration").FindElement(path)
		if got == nil || !sameElement(got, live) {
			t.Errorf("%s did not survive the merge unchanged", path)
		}
	}
	if !sameElement(p.merged.Root().SelectElement("status"), p.live.Root().SelectElement("status")) {
		t.Error("the status section changed in the merge")
	}
}

// Merging the desired CIB into its own merge changes nothing: a second apply is a no-op.
func TestMergeIdempotent(t *testing.T) {
	for _, name := range []string{"fresh.xml", "hand-edited.xml"} {
		t.Run(name, func(t *testing.T) {
			topo := liveTopology()
			first := plan(t, liveXML(t, name), topo)
			b, err := first.merged.WriteToBytes()
			if err != nil {
				t.Fatal(err)
			}
			second := plan(t, b, topo)
			if !second.Unchanged() {
				t.Errorf("second plan has changes: %+v", second.Changes)
			}
			third, err := Merge(second.merged, desiredDoc(t, topo))
			if err != nil {
				t.Fatal(err)
			}
			a, _ := second.merged.WriteToString()
			c, _ := third.WriteToString()
			if diff := cmp.Diff(a, c); diff != "" {
				t.Errorf("merge of a merged CIB rewrote it (-before +after):\n%s", diff)
			}
		})
	}
}

// What vipctl owns and the topology no longer has is removed; what it does not own stays, even
// with a vip- id.
func TestMergeRemovesOnlyOwned(t *testing.T) {
	live := liveDoc(t, "hand-edited.xml", func(conf *etree.Element) {
		addXML(t, conf, "resources", `<primitive id="vip-old" class="ocf" provider="heartbeat" type="IPaddr2">
			<instance_attributes id="vip-old-ia"><nvpair id="vip-old-ia-ip" name="ip" value="127.0.0.9"/></instance_attributes>
			<meta_attributes id="vip-old-meta"><nvpair id="vip-old-meta-m" name="vipctl-managed" value="true"/></meta_attributes>
		</primitive>`)
		addXML(t, conf, "resources", `<primitive id="vip-web" class="ocf" provider="heartbeat" type="IPaddr2"/>`)
		addXML(t, conf, "constraints", `<rsc_location id="vipctl-location-vip-old" rsc="vip-old" node="pg-01" score="10"/>`)
	})
	p := plan(t, live, liveTopology())
	var removed []headline
	for _, h := range headlines(p.Changes) {
		if h.Op == OpRemove {
			removed = append(removed, h)
		}
	}
	want := []headline{
		{OpRemove, "resources", "primitive", "vip-old", ""},
		{OpRemove, "constraints", "rsc_location", "vipctl-location-vip-old", ""},
	}
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if p.merged.FindElement("//primitive[@id='vip-web']") == nil {
		t.Error("unmarked resource vip-web was removed")
	}
}

// A changed value of a vipctl resource is one field of one change, old and new.
func TestPlanChangedResource(t *testing.T) {
	topo := liveTopology()
	first := plan(t, liveXML(t, "fresh.xml"), topo)
	b, err := first.merged.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	topo.Clusters[0].Port = 5011
	topo.Groups[0].VIP.Prefix = netip.MustParsePrefix("127.0.0.3/8")
	p := plan(t, b, topo)
	want := []Change{{
		Op: OpChange, Section: "resources", Element: "primitive", ID: "vip-db",
		Fields: []Field{
			{Op: OpChange, Path: "instance_attributes[vip-db-instance_attributes]/nvpair[ip]", Old: "127.0.0.2", New: "127.0.0.3"},
			{Op: OpChange, Path: "meta_attributes[vip-db-meta_attributes]/nvpair[vipctl-cluster-app]",
				Old: "port=5001,patroni=8008,stats=6001", New: "port=5011,patroni=8008,stats=6001"},
		},
	}, {
		Op: OpChange, Section: "resources", Element: "clone", ID: "vipctl-health-db-clone",
		Fields: []Field{
			{Op: OpChange, Path: "primitive[vipctl-health-db]/instance_attributes[vipctl-health-db-instance_attributes]/nvpair[clusters]",
				Old: "app:5001:6001", New: "app:5011:6001"},
		},
	}}
	if diff := cmp.Diff(want, p.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// An operator's target-role on a vipctl resource (pcs resource disable) is kept.
func TestMergeKeepsOperatorMeta(t *testing.T) {
	topo := liveTopology()
	first := plan(t, liveXML(t, "fresh.xml"), topo)
	meta := first.merged.FindElement("//primitive[@id='vip-db']/meta_attributes")
	nv := meta.CreateElement("nvpair")
	nv.CreateAttr("id", "vip-db-meta_attributes-target-role")
	nv.CreateAttr("name", "target-role")
	nv.CreateAttr("value", "Stopped")
	b, err := first.merged.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, b, topo)
	if !p.Unchanged() {
		t.Errorf("plan would change: %+v", p.Changes)
	}
	if p.merged.FindElement("//primitive[@id='vip-db']/meta_attributes/nvpair[@name='target-role']") == nil {
		t.Error("target-role dropped from the merged CIB")
	}
}

func TestPlanRefusals(t *testing.T) {
	topo := liveTopology()
	tests := []struct {
		name string
		live []byte
		topo func(*topology.Topology)
		want error
	}{
		{"other cluster name", liveXML(t, "fresh.xml"), func(t *topology.Topology) { t.Corosync.ClusterName = "pg-prod" }, ErrWrongCluster},
		{"no cluster name yet", liveDoc(t, "fresh.xml", func(conf *etree.Element) {
			set := conf.FindElement("crm_config/cluster_property_set")
			set.RemoveChild(set.FindElement("nvpair[@name='cluster-name']"))
		}), nil, ErrWrongCluster},
		{"unknown node", liveDoc(t, "fresh.xml", func(conf *etree.Element) {
			addXML(t, conf, "nodes", `<node id="7" uname="stranger"/>`)
		}), nil, ErrUnknownNode},
		{"renamed host", liveXML(t, "fresh.xml"), func(t *topology.Topology) {
			t.Hosts[0].Name = "pg-09"
			t.Groups[0].Hosts = []string{"pg-09"}
		}, ErrUnknownNode},
		{"unmarked element holds a vipctl id", liveDoc(t, "fresh.xml", func(conf *etree.Element) {
			addXML(t, conf, "resources", `<primitive id="vip-db" class="ocf" provider="heartbeat" type="Dummy"/>`)
		}), nil, ErrIDConflict},
		{"not a CIB", []byte("<html/>"), nil, ErrBadCIB},
		{"nested without end", liveDoc(t, "fresh.xml", func(conf *etree.Element) {
			e := confSection(conf, "resources")
			for range 100 {
				e = e.CreateElement("x")
			}
		}), nil, ErrBadCIB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := liveTopology()
			if tt.topo != nil {
				tt.topo(tp)
			}
			_, err := PlanFor(tt.live, tp, desiredDoc(t, topo))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCompareIgnoresOrder(t *testing.T) {
	a, b := etree.NewDocument(), etree.NewDocument()
	if err := a.ReadFromString(`<cib><configuration><resources>
		<primitive id="p" class="ocf" type="Dummy"><meta_attributes id="m"><nvpair id="m-1" name="x" value="1"/><nvpair id="m-2" name="y" value="2"/></meta_attributes></primitive>
		</resources></configuration></cib>`); err != nil {
		t.Fatal(err)
	}
	if err := b.ReadFromString(`<cib><configuration><resources>
		<primitive type="Dummy" class="ocf" id="p"><meta_attributes id="m"><nvpair value="2" name="y" id="m-2"/><nvpair id="m-1" name="x" value="1"/></meta_attributes></primitive>
		</resources></configuration></cib>`); err != nil {
		t.Fatal(err)
	}
	changes, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 {
		t.Errorf("reordering counted as changes: %+v", changes)
	}
}

func TestWriteChanges(t *testing.T) {
	changes := []Change{
		{Op: OpChange, Section: "crm_config", Element: "nvpair", ID: "no-quorum-policy", Set: BootstrapOptions,
			Fields: []Field{{Op: OpChange, Path: "value", Old: "ignore", New: "stop"}}},
		{Op: OpAdd, Section: "resources", Element: "primitive", ID: "vip-db",
			Fields: []Field{{Op: OpAdd, Path: "@class", New: "ocf"}}},
		{Op: OpChange, Section: "resources", Element: "primitive", ID: "vip-x",
			Fields: []Field{{Op: OpChange, Path: "@type", Old: "", New: " x"}}},
		{Op: OpRemove, Section: "constraints", Element: "rsc_location", ID: "vipctl-old",
			Fields: []Field{{Op: OpRemove, Path: "@score", Old: "10"}}},
	}
	var b strings.Builder
	if err := WriteChanges(&b, changes); err != nil {
		t.Fatal(err)
	}
	want := `~ crm_config cib-bootstrap-options: no-quorum-policy: ignore → stop
+ resources: primitive vip-db
    + @class: ocf
~ resources: primitive vip-x
    ~ @type: "" → " x"
- constraints: rsc_location vipctl-old
    - @score: 10
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestVersionOf(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(liveXML(t, "hand-edited.xml")); err != nil {
		t.Fatal(err)
	}
	got, err := VersionOf(doc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Version{Epoch: 10}, got); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
	doc.Root().CreateAttr("epoch", "x")
	if _, err := VersionOf(doc); !errors.Is(err, ErrBadCIB) {
		t.Errorf("epoch x: err = %v, want ErrBadCIB", err)
	}
}

// fakeTool puts an executable script named name, running body, first on PATH.
func fakeTool(t *testing.T, name, body string) {
	t.Helper()
	testenv.RequireTool(t, "sh")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// A cibadmin that does not answer in time is stopped by LiveConfig.Timeout, and the error
// says so.
func TestLiveToolTimeout(t *testing.T) {
	fakeTool(t, "cibadmin", "exec sleep 10")
	l := NewLive(LiveConfig{Timeout: 50 * time.Millisecond})
	_, err := l.Query(context.Background())
	var ee *pcmk.ExitError
	if !errors.As(err, &ee) || ee.Code != -1 || ee.Command[0] != "cibadmin" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want cibadmin's *pcmk.ExitError matching context.DeadlineExceeded", err)
	}
}

// A patch reaches cibadmin on its standard input; its exit code 103 (the CIB changed since it
// was read) is errStale, and its standard error comes back in the *pcmk.ExitError.
func TestLiveToolExit(t *testing.T) {
	in := filepath.Join(t.TempDir(), "stdin")
	fakeTool(t, "cibadmin", "cat >"+in+"; echo oops >&2; exit 103")
	l := NewLive(LiveConfig{Timeout: 10 * time.Second})
	err := l.tools.applyPatch(context.Background(), []byte("<diff/>"))
	var ee *pcmk.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, errStale) {
		t.Fatalf("err = %v, want a *pcmk.ExitError matching errStale", err)
	}
	got, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{103, "oops", "<diff/>"}, []any{ee.Code, ee.Stderr, string(got)}); diff != "" {
		t.Errorf("exit, stderr, stdin (-want +got):\n%s", diff)
	}
}
