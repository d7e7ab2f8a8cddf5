package journal

import (
	"fmt"
	"strings"
	"time"
)

// KindPlacement is an event vipctl adds itself: after a node joined or left, the alert agent
// waits for the cluster to settle and records where each VIP then runs as this host sees it
// (Node "" when it runs nowhere). Pacemaker alerts a resource operation only on the host that
// ran it, but a node joining or leaving on every host, so these lines give every host's journal
// each failover, not only the old and new holders'.
const KindPlacement = "placement"

// DescStopped is the Desc of a placement line that says where a VIP ran until Pacemaker stopped
// it there, at that stop: what a host that started the VIP records of where it came from.
const DescStopped = "stopped"

// Move is one change of the host running a resource, derived from the journal.
type Move struct {
	Resource string    `json:"resource"`
	Time     time.Time `json:"time"` // the start on the new host; else when this host saw the new placement
	From     string    `json:"from"`
	To       string    `json:"to"`
	Why      string    `json:"why"` // what this host saw happen to the old host: node lost, failed operations, stop
}

// Moves derives the moves of every resource accepted by keep (nil: all) from events, oldest
// first. A resource's first known host is not a move; a resource that stopped and later started
// on another host moved from the last host it ran on.
func Moves(events []Event, keep func(resource string) bool) []Move {
	type state struct {
		holder string   // the host it last ran on, as far as this journal knows
		why    []string // what happened since that host was known
	}
	res := map[string]*state{}
	get := func(r string) *state {
		s, ok := res[r]
		if !ok {
			s = &state{}
			res[r] = s
		}
		return s
	}
	var moves []Move
	gone := map[string]string{} // nodes that left the cluster and have not joined again: how
	arrive := func(r, node string, at time.Time, recordedBy string) {
		s := get(r)
		if node == "" || node == s.holder { // runs nowhere for now, or still there
			return
		}
		if s.holder != "" {
			if desc, ok := gone[s.holder]; ok {
				s.why = append([]string{fmt.Sprintf("node %s %s", s.holder, desc)}, s.why...)
			}
			why := strings.Join(dedup(s.why), "; ")
			if why == "" && s.holder == recordedBy {
				why = fmt.Sprintf("%s (this host) was down or cut off", s.holder)
			}
			if why == "" {
				why = "placed elsewhere by Pacemaker (nothing failed here)"
			}
			moves = append(moves, Move{Resource: r, Time: at, From: s.holder, To: node, Why: why})
		}
		s.holder, s.why = node, nil
	}
	for _, e := range Sorted(events) {
		switch e.Kind {
		case KindNode:
			if e.Desc == "member" {
				delete(gone, e.Node)
			} else {
				gone[e.Node] = e.Desc
			}
		case KindFencing:
			for _, s := range res {
				if e.Node == s.holder {
					s.why = append(s.why, "fencing: "+e.Desc)
				}
			}
		case KindResource:
			if keep != nil && !keep(e.Resource) {
				continue
			}
			s := get(e.Resource)
			switch {
			case e.Task == "start" && e.IntervalMS == 0 && e.Succeeded():
				if e.Node == s.holder { // recovered in place: what happened before is no move
					s.why = nil
				}
				arrive(e.Resource, e.Node, e.Time, e.RecordedBy)
			case e.Node != s.holder && s.holder != "":
				// about another host: not why this resource left its host
			case !e.Succeeded():
				s.why = append(s.why, fmt.Sprintf("%s failed on %s: %s", opName(e), e.Node, e.Desc))
			case e.Task == "stop":
				s.why = append(s.why, "stopped on "+e.Node)
			}
		case KindPlacement:
			if keep != nil && !keep(e.Resource) {
				continue
			}
			arrive(e.Resource, e.Node, e.Time, e.RecordedBy)
			if e.Desc == DescStopped && e.Node != "" {
				s := get(e.Resource)
				s.why = append(s.why, "stopped on "+e.Node)
			}
		}
	}
	return moves
}

func opName(e Event) string {
	if e.IntervalMS > 0 {
		return fmt.Sprintf("%s (every %s)", e.Task, time.Duration(e.IntervalMS)*time.Millisecond)
	}
	return e.Task
}

func dedup(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
