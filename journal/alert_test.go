package journal

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// envOf returns a getenv over the variables Pacemaker 2.1.5 set for one alert (captured in the
// lab with an agent that printed its environment).
func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

var (
	startEnv = map[string]string{
		"CRM_alert_desc": "ok", "CRM_alert_exec_time": "132", "CRM_alert_interval": "0", "CRM_alert_kind": "resource",
		"CRM_alert_node": "lab-2", "CRM_alert_node_sequence": "2", "CRM_alert_rc": "0",
		"CRM_alert_rsc": "vip-lab", "CRM_alert_status": "0", "CRM_alert_target_rc": "0", "CRM_alert_task": "start",
		"CRM_alert_timestamp": "03:34:39.275154", "CRM_alert_timestamp_epoch": "1796614479", "CRM_alert_timestamp_usec": "275154",
		"CRM_alert_version": "2.1.5",
	}
	lostEnv = map[string]string{
		"CRM_alert_desc": "lost", "CRM_alert_kind": "node", "CRM_alert_node": "lab-1", "CRM_alert_node_sequence": "1",
		"CRM_alert_nodeid": "1", "CRM_alert_timestamp_epoch": "1796614478", "CRM_alert_timestamp_usec": "807154",
		"CRM_alert_version": "2.1.5",
	}
)

func TestFromAlert(t *testing.T) {
	got, ok := FromAlert(envOf(startEnv), "lab-2")
	want := Event{Time: at("2026-12-07T03:34:39.275154Z"), Kind: KindResource, Node: "lab-2", RecordedBy: "lab-2",
		Resource: "vip-lab", Task: "start", Desc: "ok", ExecMS: 132, Sequence: 2}
	if !ok {
		t.Fatal("a start alert is not journaled")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("start (-want +got):\n%s", diff)
	}
	got, _ = FromAlert(envOf(lostEnv), "lab-3")
	want = Event{Time: at("2026-12-07T03:34:38.807154Z"), Kind: KindNode, Node: "lab-1", RecordedBy: "lab-3", Desc: "lost", NodeID: "1", Sequence: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node lost (-want +got):\n%s", diff)
	}
	for _, kind := range []string{"attribute", ""} {
		if _, ok := FromAlert(envOf(map[string]string{"CRM_alert_kind": kind}), "h"); ok {
			t.Errorf("kind %q is journaled", kind)
		}
	}
}

type fakePlacer struct {
	calls []bool
	where [][]Sighting
	keep  string    // the one VIP; "" keeps none
	from  *Sighting // Handover's answer; nil: none
	asked []string  // Handover's questions: "resource node started"
}

func (f *fakePlacer) Placement(_ context.Context, settle bool) ([]Sighting, error) {
	f.calls = append(f.calls, settle)
	return f.where[len(f.calls)-1], nil
}

func (f *fakePlacer) Handover(_ context.Context, resource, node string, started time.Time) (Sighting, bool, error) {
	f.asked = append(f.asked, resource+" "+node+" "+started.Format(time.RFC3339Nano))
	if f.from == nil {
		return Sighting{}, false, nil
	}
	return *f.from, true, nil
}

func (f *fakePlacer) Keeps(resource string) bool { return resource == f.keep }

// TestAlertRun: the recipient names the journal; a node event is followed by where the VIPs run
// right away and once settled; a resource event asks no placement.
func TestAlertRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	env := map[string]string{"CRM_alert_recipient": path}
	for k, v := range lostEnv {
		env[k] = v
	}
	// Right away the lost holder's history still names it (at its start); settled, lab-2 runs it.
	started := at("2026-12-07T03:00:00Z")
	p := &fakePlacer{where: [][]Sighting{{{Resource: "vip-lab"}, {Resource: "vip-lab", Node: "lab-1", At: started}}, {{Resource: "vip-lab", Node: "lab-2"}}}}
	now := at("2026-12-07T03:34:40Z")
	var stderr bytes.Buffer
	a := &Alert{Getenv: envOf(env), Hostname: "lab-3", Stderr: &stderr, Placer: p, Now: func() time.Time { return now }}
	if code := a.Run(context.Background()); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if diff := cmp.Diff([]bool{false, true}, p.calls); diff != "" {
		t.Errorf("placements asked (settle) (-want +got):\n%s", diff)
	}
	got, _, err := Journal{Path: path}.Read(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Time: at("2026-12-07T03:34:38.807154Z"), Kind: KindNode, Node: "lab-1", RecordedBy: "lab-3", Desc: "lost", NodeID: "1", Sequence: 1},
		{Time: now, Kind: KindPlacement, Resource: "vip-lab", RecordedBy: "lab-3"},
		{Time: started, Kind: KindPlacement, Resource: "vip-lab", Node: "lab-1", RecordedBy: "lab-3"},
		{Time: now, Kind: KindPlacement, Resource: "vip-lab", Node: "lab-2", RecordedBy: "lab-3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Move{{Resource: "vip-lab", Time: now, From: "lab-1", To: "lab-2", Why: "node lab-1 lost"}}, Moves(got, nil)); diff != "" {
		t.Errorf("moves (-want +got):\n%s", diff)
	}

	env2 := map[string]string{"CRM_alert_recipient": path}
	for k, v := range startEnv {
		env2[k] = v
	}
	p2 := &fakePlacer{}
	a = &Alert{Getenv: envOf(env2), Hostname: "lab-2", Stderr: &stderr, Placer: p2}
	if code := a.Run(context.Background()); code != 0 || len(p2.calls) != 0 {
		t.Errorf("resource alert: exit %d, %d placements asked; want 0 and none", code, len(p2.calls))
	}
}

// TestAlertOutsidePacemaker: run by hand, the agent says what it is and writes nothing.
func TestAlertOutsidePacemaker(t *testing.T) {
	var stderr bytes.Buffer
	a := &Alert{Getenv: envOf(nil), Hostname: "h", Stderr: &stderr}
	if code := a.Run(context.Background()); code != 1 || stderr.Len() == 0 {
		t.Errorf("exit %d, stderr %q; want 1 and a message", code, stderr.String())
	}
}

func TestMoves(t *testing.T) {
	ev := func(s, kind, node, rsc, task, desc string, rc int) Event {
		return Event{Time: at(s), Kind: kind, Node: node, Resource: rsc, Task: task, Desc: desc, RC: rc}
	}
	events := []Event{
		// first known host: not a move
		ev("2026-12-07T01:00:00Z", KindResource, "lab-1", "vip-lab", "start", "ok", 0),
		ev("2026-12-07T01:00:01Z", KindResource, "lab-1", "other", "start", "ok", 0),
		// monitor failure on lab-1, recovered on lab-2
		ev("2026-12-07T02:00:00Z", KindResource, "lab-1", "vip-lab", "monitor", "not running", 7),
		ev("2026-12-07T02:00:01Z", KindResource, "lab-1", "vip-lab", "stop", "ok", 0),
		ev("2026-12-07T02:00:02Z", KindResource, "lab-2", "vip-lab", "start", "ok", 0),
		// the placement the same host records after settling: no second move
		ev("2026-12-07T02:00:03Z", KindPlacement, "lab-2", "vip-lab", "", "", 0),
		// lab-2 lost, seen from lab-3: placement only
		ev("2026-12-07T03:00:00Z", KindNode, "lab-2", "", "", "lost", 0),
		ev("2026-12-07T03:00:01Z", KindPlacement, "", "vip-lab", "", "", 0),
		ev("2026-12-07T03:00:05Z", KindPlacement, "lab-3", "vip-lab", "", "", 0),
		ev("2026-12-07T03:10:00Z", KindNode, "lab-2", "", "", "member", 0),
		// an operator's move: a stop, nothing failed
		ev("2026-12-07T04:00:00Z", KindResource, "lab-3", "vip-lab", "stop", "ok", 0),
		ev("2026-12-07T04:00:01Z", KindResource, "lab-1", "vip-lab", "start", "ok", 0),
	}
	events[3], events[4] = events[4], events[3] // out of order in the file: time counts
	want := []Move{
		{Resource: "vip-lab", Time: at("2026-12-07T02:00:02Z"), From: "lab-1", To: "lab-2", Why: "monitor failed on lab-1: not running; stopped on lab-1"},
		{Resource: "vip-lab", Time: at("2026-12-07T03:00:05Z"), From: "lab-2", To: "lab-3", Why: "node lab-2 lost"},
		{Resource: "vip-lab", Time: at("2026-12-07T04:00:01Z"), From: "lab-3", To: "lab-1", Why: "stopped on lab-3"},
	}
	got := Moves(events, func(r string) bool { return r == "vip-lab" })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("moves (-want +got):\n%s", diff)
	}
}

// withEnv is startEnv with some variables changed.
func withEnv(path string, kv ...string) func(string) string {
	env := map[string]string{"CRM_alert_recipient": path}
	for k, v := range startEnv {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return envOf(env)
}

// TestAlertHandover: a planned move (crm_resource --move, a drain) stops the VIP on lab-1 and
// starts it on lab-2, each alerted only on the host that ran it. The stop's alert on lab-1
// records where the VIP went once settled, the start's alert on lab-2 where it came from
// (Handover): each journal then holds the move, so vipctl_vip_moves_total counts it on both.
func TestAlertHandover(t *testing.T) {
	dir := t.TempDir()
	old, cur := filepath.Join(dir, "lab-1.jsonl"), filepath.Join(dir, "lab-2.jsonl")
	var stderr bytes.Buffer
	run := func(host string, p *fakePlacer, getenv func(string) string) {
		t.Helper()
		a := &Alert{Getenv: getenv, Hostname: host, Stderr: &stderr, Placer: p}
		if code := a.Run(context.Background()); code != 0 {
			t.Fatalf("%s: exit %d: %s", host, code, stderr.String())
		}
	}
	stopped := at("2026-12-07T03:34:39Z") // Pacemaker's last-rc-change of the stop: whole seconds

	// lab-1 started it long before (nothing to hand over), then stopped it.
	p1 := &fakePlacer{keep: "vip-lab", where: [][]Sighting{{{Resource: "vip-lab", Node: "lab-2"}}}}
	run("lab-1", p1, withEnv(old, "CRM_alert_node", "lab-1", "CRM_alert_timestamp_epoch", "1796610000"))
	run("lab-1", p1, withEnv(old, "CRM_alert_node", "lab-1", "CRM_alert_task", "stop", "CRM_alert_timestamp_epoch", "1796614479", "CRM_alert_timestamp_usec", "100000"))
	if diff := cmp.Diff([]bool{true}, p1.calls); diff != "" {
		t.Errorf("lab-1: placements asked (settle) (-want +got):\n%s", diff)
	}
	// lab-2 started it: it came from lab-1.
	p2 := &fakePlacer{keep: "vip-lab", from: &Sighting{Resource: "vip-lab", Node: "lab-1", At: stopped, Stopped: true}}
	run("lab-2", p2, withEnv(cur))
	if want := []string{"vip-lab lab-2 2026-12-07T03:34:39.275154Z"}; !cmp.Equal(want, p2.asked) || len(p2.calls) != 0 {
		t.Errorf("lab-2 asked handovers %v and %d placements; want %v and none", p2.asked, len(p2.calls), want)
	}

	for _, c := range []struct {
		path string
		want Move
	}{
		{old, Move{Resource: "vip-lab", Time: p1Now(t, old), From: "lab-1", To: "lab-2", Why: "stopped on lab-1"}},
		{cur, Move{Resource: "vip-lab", Time: at("2026-12-07T03:34:39.275154Z"), From: "lab-1", To: "lab-2", Why: "stopped on lab-1"}},
	} {
		events, _, err := Journal{Path: c.path}.Read(time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Move{c.want}, Moves(events, nil)); diff != "" {
			t.Errorf("%s: moves (-want +got):\n%s\n%+v", filepath.Base(c.path), diff, events)
		}
	}

	// Neither a probe, a recurring monitor, a failed start, another host's start nor another
	// resource asks anything.
	for _, kv := range [][]string{
		{"CRM_alert_task", "monitor"},
		{"CRM_alert_task", "monitor", "CRM_alert_interval", "10000"},
		{"CRM_alert_rc", "1"},
		{"CRM_alert_node", "lab-3"},
		{"CRM_alert_rsc", "vipctl-health-lab"},
	} {
		p := &fakePlacer{keep: "vip-lab"}
		run("lab-2", p, withEnv(filepath.Join(dir, "other.jsonl"), kv...))
		if len(p.calls) != 0 || len(p.asked) != 0 {
			t.Errorf("%v: %d placements and handovers %v asked, want none", kv, len(p.calls), p.asked)
		}
	}
}

// p1Now returns the time of the one placement line in a journal (the alert's own clock).
func p1Now(t *testing.T, path string) time.Time {
	t.Helper()
	events, _, err := Journal{Path: path}.Read(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == KindPlacement {
			return e.Time
		}
	}
	t.Fatalf("no placement line in %s: %+v", path, events)
	return time.Time{}
}
