package status

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/journal"
)

// TestAddMoves: each group gets its own VIP's last n moves from the journal, oldest first; a
// journal that cannot be read is said, not a problem of the system.
func TestAddMoves(t *testing.T) {
	base := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	var events []journal.Event
	for i, node := range []string{"pg-01", "pg-02", "pg-03", "pg-01"} {
		events = append(events,
			journal.Event{Time: base.Add(time.Duration(i) * time.Minute), Kind: journal.KindPlacement, Resource: "vip-db-a", Node: node},
			journal.Event{Time: base.Add(time.Duration(i) * time.Minute), Kind: journal.KindPlacement, Resource: "vip-other", Node: node})
	}
	r := healthyReport()
	r.addMoves(func() ([]journal.Event, error) { return events, nil }, 2)
	why := "placed elsewhere by Pacemaker (nothing failed here)"
	want := []journal.Move{
		{Resource: "vip-db-a", Time: base.Add(2 * time.Minute), From: "pg-02", To: "pg-03", Why: why},
		{Resource: "vip-db-a", Time: base.Add(3 * time.Minute), From: "pg-03", To: "pg-01", Why: why},
	}
	if diff := cmp.Diff(want, r.Groups[0].LastMoves); diff != "" {
		t.Errorf("last moves (-want +got):\n%s", diff)
	}

	r = healthyReport()
	r.addMoves(func() ([]journal.Event, error) { return nil, errors.New("permission denied") }, 2)
	if r.JournalError == "" {
		t.Error("an unreadable journal is not reported")
	}
	if r.judge(topologyHosts); !r.Healthy {
		t.Errorf("an unreadable journal made the system unhealthy: %v", r.Problems)
	}
}
