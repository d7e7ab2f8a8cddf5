package cib

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// The tests below play a failed start through the real scheduler. crm_simulate records an
// injected failure as Pacemaker's controller does with start-failure-is-fatal=false: the fail
// count goes up by one. What the controller writes is named by the transition graph's
// failed-start-offset (TestStartFailureOffset); a fail count of INFINITY, what it writes by
// default, is set by hand where the default is the comparison.

// TestStartFailureOffset checks that the scheduler, given vipctl's CIB, tells the controller to
// count a failed start as one failure (failed-start-offset="1"), where Pacemaker's default
// would set the fail count to INFINITY at the first failed start.
func TestStartFailureOffset(t *testing.T) {
	tools := realTools(t)
	dir, up := exampleUp(t, tools)
	offset := func(t *testing.T, cib string) string {
		t.Helper()
		graph := filepath.Join(dir, "graph.xml")
		crmSimulate(t, tools, "--xml-file", cib, "--simulate", "--save-graph", graph)
		g := etree.NewDocument()
		if err := g.ReadFromFile(graph); err != nil {
			t.Fatal(err)
		}
		return g.Root().SelectAttrValue("failed-start-offset", "")
	}
	if got := offset(t, up); got != "1" {
		t.Errorf("rendered CIB: failed-start-offset = %q, want 1", got)
	}
	doc := readCIB(t, up)
	nv := doc.FindElement(fmt.Sprintf("//cluster_property_set[@id='%s']/nvpair[@name='%s']", BootstrapOptions, StartFailureIsFatal))
	if nv == nil {
		t.Fatalf("the rendered CIB sets no %s", StartFailureIsFatal)
	}
	nv.Parent().RemoveChild(nv)
	if got := offset(t, writeCIB(t, doc, filepath.Join(dir, "default.xml"))); got != "INFINITY" {
		t.Errorf("without %s: failed-start-offset = %q, want INFINITY (Pacemaker's default)", StartFailureIsFatal, got)
	}
}

// TestFailedStartDoesNotBan: after one failed start of a VIP on a host, the host stays eligible
// and Pacemaker recovers the VIP there (it runs on one host); after MigrationThreshold failed
// starts the VIP goes to another host of its group, and once FailureTimeout has passed the host
// is eligible again. With a fail count of INFINITY (Pacemaker's default) one failed start is
// enough to ban the host.
func TestFailedStartDoesNotBan(t *testing.T) {
	tools := realTools(t)
	dir, failed, host := failStart(t, tools, "vip-db-a")
	const vip = "vip-db-a"
	group := []string{"pg-01", "pg-02", "pg-03"}

	t.Run("one failure", func(t *testing.T) {
		out := crmSimulate(t, tools, "--xml-file", failed, "--simulate", "--show-scores")
		if got := allocScore(t, out, vip, host); got == "-INFINITY" {
			t.Errorf("score of %s on %s after one failed start = -INFINITY: banned", vip, host)
		}
		if got := runsOn(t, out, vip); got != host {
			t.Errorf("after one failed start on %s, %s runs on %q, want it recovered on %s", host, vip, got, host)
		}
	})

	for _, c := range []struct{ name, count string }{
		{"threshold reached", strconv.Itoa(MigrationThreshold)},
		{"Pacemaker's default: INFINITY", "INFINITY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := readCIB(t, failed)
			last := setFailCount(t, doc, host, vip, c.count)
			cib := writeCIB(t, doc, filepath.Join(dir, "count.xml"))
			out := crmSimulate(t, tools, "--xml-file", cib, "--simulate", "--show-scores")
			if got := allocScore(t, out, vip, host); got != "-INFINITY" {
				t.Errorf("fail count %s on %s: score %s, want -INFINITY", c.count, host, got)
			}
			if got := runsOn(t, out, vip); got == host || !slices.Contains(group, got) {
				t.Errorf("fail count %s on %s: %s runs on %q, want another host of %v", c.count, host, vip, got, group)
			}
			// Once failure-timeout has passed since the last failure the count has expired.
			timeout, err := time.ParseDuration(FailureTimeout)
			if err != nil {
				t.Fatal(err)
			}
			later := last.Add(timeout + time.Second).UTC().Format("2006-01-02 15:04:05Z")
			out = crmSimulate(t, tools, "--xml-file", cib, "--simulate", "--show-scores", "--set-datetime", later)
			if got := allocScore(t, out, vip, host); got == "-INFINITY" {
				t.Errorf("fail count %s on %s, %s later: score still -INFINITY", c.count, host, FailureTimeout)
			}
		})
	}
}

// TestFailedStartOfOtherResources documents what start-failure-is-fatal=false changes for
// resources that are not vipctl's: a resource without migration-threshold (Pacemaker's default
// is INFINITY) is started again on the host where its start failed, where the default fail
// count of INFINITY would have moved it to another host. vipctl's own resources all carry
// migration-threshold, so for them a failed start moves the resource at the threshold.
func TestFailedStartOfOtherResources(t *testing.T) {
	tools := realTools(t)
	dir, up := exampleUp(t, tools)
	doc := readCIB(t, up)
	resources := doc.FindElement("//configuration/resources")
	d := resources.CreateElement("primitive")
	d.CreateAttr("id", "hand-dummy")
	d.CreateAttr("class", "ocf")
	d.CreateAttr("provider", "pacemaker")
	d.CreateAttr("type", "Dummy")
	cib := writeCIB(t, doc, filepath.Join(dir, "dummy.xml"))
	failed, host := failStartIn(t, tools, dir, cib, "hand-dummy")

	out := crmSimulate(t, tools, "--xml-file", failed, "--simulate", "--show-scores")
	if got := runsOn(t, out, "hand-dummy"); got != host {
		t.Errorf("start-failure-is-fatal=false: hand-dummy runs on %q after a failed start on %s, want it started again there", got, host)
	}
	doc = readCIB(t, failed)
	setFailCount(t, doc, host, "hand-dummy", "INFINITY")
	out = crmSimulate(t, tools, "--xml-file", writeCIB(t, doc, filepath.Join(dir, "inf.xml")), "--simulate")
	if got := runsOn(t, out, "hand-dummy"); got == host || got == "" {
		t.Errorf("fail count INFINITY (the default): hand-dummy runs on %q, want another host than %s", got, host)
	}
}

// failStart brings the example's hosts up and fails the first start of rsc (wherever the
// scheduler puts it); it returns the directory, the CIB with that failure and the host.
func failStart(t *testing.T, tools Tools, rsc string) (dir, failed, host string) {
	t.Helper()
	dir = t.TempDir()
	input := filepath.Join(dir, "cib.xml")
	doc, err := Render(load(t, "../examples/vipctl.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeDoc(doc, input); err != nil {
		t.Fatal(err)
	}
	failed, host = failStartIn(t, tools, dir, input, rsc, "--node-up", "pg-01", "--node-up", "pg-02", "--node-up", "pg-03")
	return dir, failed, host
}

// failStartIn runs one transition of cib in which every start of rsc fails with exit 1
// (OCF_ERR_GENERIC) and returns the saved result and the host whose start failed.
func failStartIn(t *testing.T, tools Tools, dir, cib, rsc string, extra ...string) (failed, host string) {
	t.Helper()
	failed = filepath.Join(dir, "failed-"+rsc+".xml")
	args := append([]string{"--xml-file", cib, "--simulate", "--quorum", "1", "--save-output", failed}, extra...)
	for _, h := range []string{"pg-01", "pg-02", "pg-03"} {
		args = append(args, "--op-fail", rsc+"_start_0@"+h+"=1")
	}
	crmSimulate(t, tools, args...)
	doc := readCIB(t, failed)
	for _, nv := range doc.FindElements(fmt.Sprintf("//node_state//nvpair[@name='fail-count-%s#start_0']", rsc)) {
		for p := nv.Parent(); p != nil; p = p.Parent() {
			if p.Tag == "node_state" {
				if host != "" {
					t.Fatalf("%s failed to start on %s and %s: want one host", rsc, host, p.SelectAttrValue("uname", ""))
				}
				host = p.SelectAttrValue("uname", "")
				if v := nv.SelectAttrValue("value", ""); v != "1" {
					t.Fatalf("fail count of %s on %s after one injected failure = %s, want 1", rsc, host, v)
				}
			}
		}
	}
	if host == "" {
		t.Fatalf("no failed start of %s recorded in %s", rsc, failed)
	}
	return failed, host
}

// setFailCount sets the start fail count of rsc on host and returns its last-failure time.
func setFailCount(t *testing.T, doc *etree.Document, host, rsc, value string) time.Time {
	t.Helper()
	node := fmt.Sprintf("//node_state[@uname='%s']//nvpair", host)
	nv := doc.FindElement(fmt.Sprintf("%s[@name='fail-count-%s#start_0']", node, rsc))
	last := doc.FindElement(fmt.Sprintf("%s[@name='last-failure-%s#start_0']", node, rsc))
	if nv == nil || last == nil {
		t.Fatalf("no fail count or last failure of %s on %s", rsc, host)
	}
	nv.CreateAttr("value", value)
	sec, err := strconv.ParseInt(last.SelectAttrValue("value", ""), 10, 64)
	if err != nil {
		t.Fatalf("last-failure of %s on %s: %v", rsc, host, err)
	}
	return time.Unix(sec, 0)
}

// crmSimulate runs crm_simulate with XML output and returns that output.
func crmSimulate(t *testing.T, tools Tools, args ...string) *etree.Document {
	t.Helper()
	res, err := tools.run(context.Background(), tools.CrmSimulate, append(args, "--output-as=xml")...)
	if err != nil || res.exitCode != 0 {
		t.Fatalf("crm_simulate %v: %v, exit %d: %s", args, err, res.exitCode, res.stderr)
	}
	out := etree.NewDocument()
	if err := out.ReadFromBytes(res.stdout); err != nil {
		t.Fatal(err)
	}
	return out
}

// runsOn returns the one node rsc runs on after the simulated transition ("" when stopped).
func runsOn(t *testing.T, out *etree.Document, rsc string) string {
	t.Helper()
	r := out.FindElement(fmt.Sprintf("/pacemaker-result/revised_cluster_status/resources/resource[@id='%s']", rsc))
	if r == nil {
		t.Fatalf("%s missing from crm_simulate's revised status", rsc)
	}
	nodes := r.SelectElements("node")
	switch {
	case r.SelectAttrValue("failed", "") == "true":
		t.Fatalf("%s still failed after the transition", rsc)
	case len(nodes) > 1:
		t.Fatalf("%s active on %d nodes", rsc, len(nodes))
	case len(nodes) == 1 && r.SelectAttrValue("active", "") == "true":
		return nodes[0].SelectAttrValue("name", "")
	}
	return ""
}

// allocScore returns the allocation score of rsc on node in crm_simulate's --show-scores output.
func allocScore(t *testing.T, out *etree.Document, rsc, node string) string {
	t.Helper()
	w := out.FindElement(fmt.Sprintf("//node_weight[@function='pcmk__primitive_assign'][@id='%s'][@node='%s']", rsc, node))
	if w == nil {
		t.Fatalf("no allocation score of %s on %s", rsc, node)
	}
	return w.SelectAttrValue("score", "")
}

func readCIB(t *testing.T, path string) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(path); err != nil {
		t.Fatal(err)
	}
	return doc
}

func writeCIB(t *testing.T, doc *etree.Document, path string) string {
	t.Helper()
	if err := doc.WriteToFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEveryResourceHasFailureMeta checks, on the golden files, that every primitive vipctl
// renders carries migration-threshold and failure-timeout: with start-failure-is-fatal=false a
// resource without them would be started again for ever on a host where its start fails.
func TestEveryResourceHasFailureMeta(t *testing.T) {
	for _, c := range goldenCases(t) {
		root := readGolden(t, c.golden)
		for _, p := range root.FindElements("//resources//primitive") {
			id := p.SelectAttrValue("id", "")
			got := map[string]string{}
			for _, nv := range p.FindElements("meta_attributes/nvpair") {
				got[nv.SelectAttrValue("name", "")] = nv.SelectAttrValue("value", "")
			}
			if got["migration-threshold"] != strconv.Itoa(MigrationThreshold) || got["failure-timeout"] != FailureTimeout {
				t.Errorf("%s: %s has migration-threshold %q, failure-timeout %q; want %d, %s",
					c.golden, id, got["migration-threshold"], got["failure-timeout"], MigrationThreshold, FailureTimeout)
			}
		}
		if root.FindElement(fmt.Sprintf("//cluster_property_set[@id='%s']/nvpair[@name='%s'][@value='false']", BootstrapOptions, StartFailureIsFatal)) == nil {
			t.Errorf("%s: no %s=false in %s", c.golden, StartFailureIsFatal, BootstrapOptions)
		}
	}
}
