package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/journal"
)

// TestEvents: `vipctl events -o json` lists the journal's events and the VIP's moves; --since
// cuts both by time, but the host before it still counts for the first move after it.
func TestEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	j := journal.Journal{Path: path}
	now := time.Now().UTC().Truncate(time.Second)
	for _, e := range []journal.Event{
		{Time: now.Add(-3 * time.Hour), Kind: journal.KindResource, Node: "lab-1", Resource: "vip-lab", Task: "start", Desc: "ok"},
		{Time: now.Add(-2 * time.Hour), Kind: journal.KindResource, Node: "lab-1", Resource: "vipctl-health-lab", Task: "start", Desc: "ok"},
		{Time: now.Add(-10 * time.Minute), Kind: journal.KindNode, Node: "lab-1", Desc: "lost"},
		{Time: now.Add(-9 * time.Minute), Kind: journal.KindPlacement, Resource: "vip-lab", Node: "lab-2"},
	} {
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runVipctl(t, "events", "--journal", path, "--since", "1h", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var h journal.History
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(h.Events) != 2 {
		t.Errorf("%d events since 1h, want the last 2: %+v", len(h.Events), h.Events)
	}
	want := []journal.Move{{Resource: "vip-lab", Time: now.Add(-9 * time.Minute), From: "lab-1", To: "lab-2", Why: "node lab-1 lost"}}
	if diff := cmp.Diff(want, h.Moves); diff != "" {
		t.Errorf("moves (-want +got):\n%s", diff)
	}
	if code, _, _ := runVipctl(t, "events", "--journal", path, "--since", "-1h"); code != exitUsage {
		t.Errorf("--since -1h: exit %d, want %d", code, exitUsage)
	}
	if code, out, _ := runVipctl(t, "events", "--journal", filepath.Join(t.TempDir(), "none")); code != exitOK || out == "" {
		t.Errorf("a journal not written yet: exit %d, output %q; want 0 and an empty listing", code, out)
	}
}
