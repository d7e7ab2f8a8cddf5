package cib

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/journal"
)

// TestAlertRendered: the CIB's alert runs the installed alert agent on node, fencing and
// resource events (not attributes), writes the default journal, and its timeout outlasts the
// agent's own budget, so Pacemaker never kills a run.
func TestAlertRendered(t *testing.T) {
	root := desiredDoc(t, liveTopology()).Root()
	alerts := root.FindElements("configuration/alerts/alert")
	if len(alerts) != 1 {
		t.Fatalf("%d alerts rendered, want 1", len(alerts))
	}
	a := alerts[0]
	got := map[string]string{
		"id":        a.SelectAttrValue("id", ""),
		"path":      a.SelectAttrValue("path", ""),
		"recipient": a.FindElement("recipient").SelectAttrValue("value", ""),
	}
	want := map[string]string{"id": AlertID, "path": journal.AlertPath, "recipient": journal.DefaultPath}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alert (-want +got):\n%s", diff)
	}
	var selected []string
	for _, s := range a.FindElement("select").ChildElements() {
		selected = append(selected, s.Tag)
	}
	if diff := cmp.Diff([]string{"select_nodes", "select_fencing", "select_resources"}, selected); diff != "" {
		t.Errorf("selected kinds (-want +got):\n%s", diff)
	}
	timeout, err := time.ParseDuration(nvpairs(a, "meta_attributes")["timeout"])
	if err != nil {
		t.Fatalf("alert timeout: %v", err)
	}
	if timeout <= journal.AlertBudget {
		t.Errorf("alert timeout %v does not outlast the agent's budget %v", timeout, journal.AlertBudget)
	}
}

// TestMergeAlerts: apply adds vipctl's alert, replaces a changed one, keeps an alert made by
// hand, and a second plan onto the merged CIB changes nothing.
func TestMergeAlerts(t *testing.T) {
	topo := liveTopology()
	live := liveDoc(t, "fresh.xml", func(conf *etree.Element) {
		addXML(t, conf, "alerts", `<alert id="ops-mail" path="/usr/local/bin/mail-alert"/>`)
		addXML(t, conf, "alerts", `<alert id="`+AlertID+`" path="/old/alert"/>`)
	})
	p := plan(t, live, topo)
	var alertChanges []headline
	for _, h := range headlines(p.Changes) {
		if h.Section == "alerts" {
			alertChanges = append(alertChanges, h)
		}
	}
	if diff := cmp.Diff([]headline{{OpChange, "alerts", "alert", AlertID, ""}}, alertChanges); diff != "" {
		t.Errorf("alert changes (-want +got):\n%s", diff)
	}
	merged := p.merged.Root()
	if merged.FindElement("configuration/alerts/alert[@id='ops-mail']") == nil {
		t.Error("the operator's alert ops-mail was removed")
	}
	if got := merged.FindElement("configuration/alerts/alert[@id='"+AlertID+"']").SelectAttrValue("path", ""); got != journal.AlertPath {
		t.Errorf("merged %s path = %q, want %q", AlertID, got, journal.AlertPath)
	}
	b, err := p.merged.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	again := plan(t, b, topo)
	for _, c := range again.Changes {
		if strings.HasPrefix(c.Section, "alerts") {
			t.Errorf("second plan still changes %v", c)
		}
	}
}
