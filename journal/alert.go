package journal

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FromAlert builds the event Pacemaker describes in the CRM_alert_* variables of an alert agent
// run. recordedBy names this host. It returns false for alerts that are not journaled
// (attribute alerts, cancelled operations, a run outside Pacemaker).
func FromAlert(getenv func(string) string, recordedBy string) (Event, bool) {
	env := func(k string) string { return getenv("CRM_alert_" + k) }
	e := Event{
		Kind:       env("kind"),
		Node:       env("node"),
		RecordedBy: recordedBy,
		Desc:       env("desc"),
		Sequence:   atoi64(env("node_sequence")),
		Time:       alertTime(env("timestamp_epoch"), env("timestamp_usec")),
	}
	switch e.Kind {
	case KindResource:
		e.Resource = env("rsc")
		e.Task = env("task")
		e.IntervalMS = atoi64(env("interval"))
		e.RC = int(atoi64(env("rc")))
		e.TargetRC = int(atoi64(env("target_rc")))
		e.Status = int(atoi64(env("status")))
		e.ExecMS = atoi64(env("exec_time"))
		if e.Desc == "Cancelled" { // a recurring monitor Pacemaker stopped: no result of the agent
			return Event{}, false
		}
	case KindNode:
		e.NodeID = env("nodeid")
	case KindFencing:
		e.Task = env("task")
		e.RC = int(atoi64(env("rc")))
	default:
		return Event{}, false
	}
	return e, true
}

// alertTime is the event's time from Pacemaker's epoch seconds and microseconds, else now.
func alertTime(epoch, usec string) time.Time {
	s, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || s <= 0 {
		return time.Now().UTC()
	}
	us, _ := strconv.ParseInt(usec, 10, 64)
	return time.Unix(s, us*1000).UTC()
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// AlertBudget bounds one run of the alert agent. The CIB gives the alert a longer timeout
// (cib renders AlertTimeout), so Pacemaker never has to kill it: the agent gives up first.
const AlertBudget = 20 * time.Second

// AlertTimeout is the timeout the CIB gives the alert: the agent's budget and a margin.
const AlertTimeout = AlertBudget + 10*time.Second

// Placer says where the VIPs run as this host sees them.
type Placer interface {
	// Placement says where each VIP runs; with settle it first waits, within ctx, until
	// Pacemaker has nothing left to do.
	Placement(ctx context.Context, settle bool) ([]Sighting, error)
	// Handover says where resource ran before it started on node at started: the other node
	// Pacemaker stopped it on just before (within HandoverWindow); false when there is none.
	Handover(ctx context.Context, resource, node string, started time.Time) (Sighting, bool, error)
	// Keeps reports whether resource is one of the VIPs placements are about.
	Keeps(resource string) bool
}

// Alert is one run of the alert agent.
type Alert struct {
	Getenv   func(string) string
	Hostname string // this host: each line's recorded_by
	Stderr   io.Writer
	Placer   Placer // nil: no placement lines
	Now      func() time.Time
}

// Run appends the event of this run to the journal named by the alert's recipient
// (CRM_alert_recipient; else DefaultPath) and returns the exit code, 0 when the event was
// written or is not journaled. It also records placements (KindPlacement), so that each host's
// journal holds both ends of every move it takes part in, although Pacemaker alerts an
// operation only on the host that ran it:
//   - after a node event, where each VIP runs, right away and once the cluster has settled;
//   - after a VIP's successful stop here, where each VIP runs once the cluster has settled
//     (where it went);
//   - after a VIP's successful start here, the node it was stopped on just before (where it
//     came from), dated at that stop.
//
// It ends within AlertBudget.
func (a *Alert) Run(ctx context.Context) int {
	if a.Getenv("CRM_alert_version") == "" {
		fmt.Fprintln(a.Stderr, "vipctl alert: run by Pacemaker as an alert agent (CRM_alert_version is not set)")
		return 1
	}
	e, ok := FromAlert(a.Getenv, a.Hostname)
	if !ok {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, AlertBudget)
	defer cancel()
	j := Journal{Path: a.Getenv("CRM_alert_recipient")}
	if err := j.Append(ctx, e); err != nil {
		fmt.Fprintf(a.Stderr, "vipctl alert: %v\n", err)
		return 1
	}
	if a.Placer == nil {
		return 0
	}
	var err error
	switch {
	case e.Kind == KindNode:
		for _, settle := range []bool{false, true} {
			if err = a.place(ctx, j, settle); err != nil {
				break
			}
		}
	case !a.handedOver(e):
	case e.Task == "stop":
		err = a.place(ctx, j, true)
	case e.Task == "start":
		err = a.cameFrom(ctx, j, e)
	}
	if err != nil {
		fmt.Fprintf(a.Stderr, "vipctl alert: placement: %v\n", err)
		return 1
	}
	return 0
}

// handedOver reports whether e is a VIP's successful start or stop on this host, which moves
// it between hosts (a probe, a recurring monitor or a failed operation does not by itself).
func (a *Alert) handedOver(e Event) bool {
	return e.Kind == KindResource && e.IntervalMS == 0 && e.Succeeded() && e.Node == a.Hostname &&
		(e.Task == "start" || e.Task == "stop") && a.Placer.Keeps(e.Resource)
}

// cameFrom records where the VIP started by e ran before, when Pacemaker stopped it on another
// node just before.
func (a *Alert) cameFrom(ctx context.Context, j Journal, e Event) error {
	s, ok, err := a.Placer.Handover(ctx, e.Resource, e.Node, e.Time)
	if err != nil || !ok {
		return err
	}
	return j.Append(ctx, Event{Time: s.At, Kind: KindPlacement, Resource: s.Resource, Node: s.Node, RecordedBy: a.Hostname, Desc: DescStopped})
}

// place appends one placement line per VIP.
func (a *Alert) place(ctx context.Context, j Journal, settle bool) error {
	seen, err := a.Placer.Placement(ctx, settle)
	if err != nil {
		return err
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	for _, s := range seen {
		at := s.At
		if at.IsZero() {
			at = now().UTC()
		}
		desc := ""
		if s.Stopped {
			desc = DescStopped
		}
		if err := j.Append(ctx, Event{Time: at, Kind: KindPlacement, Resource: s.Resource, Node: s.Node, RecordedBy: a.Hostname, Desc: desc}); err != nil {
			return err
		}
	}
	return nil
}
