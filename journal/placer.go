package journal

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// Sighting is one resource seen on one node ("" when it runs nowhere), at At (zero: now).
type Sighting struct {
	Resource, Node string
	At             time.Time
	// Stopped: At is when Pacemaker stopped the resource there (a handover: Handover).
	Stopped bool
}

// HandoverWindow bounds how long before a start the stop on another node may be for that node
// to be taken as where the resource ran before (Handover): one transition stops and starts
// within seconds; a stop older than this is of an earlier move.
const HandoverWindow = 2 * time.Minute

// CrmPlacer is the Placer of a live host. Where each resource accepted by Keep runs comes from
// crm_mon (after crm_resource --wait when settling). A node that has left the cluster no longer
// runs anything in crm_mon's view, but its resource history stays in the CIB's status section
// until it rejoins: a resource whose last operation there was a successful start or monitor ran
// there when the node left, and is reported as seen there at that start.
type CrmPlacer struct {
	Keep func(resource string) bool
}

// Placement implements Placer.
func (p CrmPlacer) Placement(ctx context.Context, settle bool) ([]Sighting, error) {
	if settle {
		d := time.Until(deadline(ctx)) - time.Second
		if d < time.Second {
			return nil, fmt.Errorf("no time left to wait for the cluster to settle")
		}
		// A cluster that does not settle in time is placed as it is: the error is not fatal.
		wait := pcmk.Command("crm_resource", "--wait", "--timeout="+strconv.Itoa(int(d.Seconds()))+"s")
		_, _ = pcmk.Local{Timeout: d + time.Second}.Run(ctx, wait)
	}
	var seen []Sighting
	if out, err := (pcmk.Local{}).Run(ctx, pcmk.Command("cibadmin", "--query", "--scope", "status")); err == nil {
		seen = append(seen, lostHolders(out, p.Keep)...)
	}
	rep, err := pcmk.ReadCrmMon(ctx, pcmk.Local{}, "")
	if err != nil {
		return nil, err
	}
	for _, r := range rep.Resources {
		if p.Keep != nil && !p.Keep(r.ID) {
			continue
		}
		switch {
		case !r.Active || len(r.Nodes) == 0:
			seen = append(seen, Sighting{Resource: r.ID})
		case len(r.Nodes) == 1:
			seen = append(seen, Sighting{Resource: r.ID, Node: r.Nodes[0]})
		}
		// Several nodes: a moment of a probe or a recovery, not a placement.
	}
	return seen, nil
}

// Keeps implements Placer: the resources Keep accepts (all when Keep is nil).
func (p CrmPlacer) Keeps(resource string) bool { return p.Keep == nil || p.Keep(resource) }

// Handover implements Placer from the CIB's status section (cibadmin --query --scope status).
func (p CrmPlacer) Handover(ctx context.Context, resource, node string, started time.Time) (Sighting, bool, error) {
	out, err := (pcmk.Local{}).Run(ctx, pcmk.Command("cibadmin", "--query", "--scope", "status"))
	if err != nil {
		return Sighting{}, false, err
	}
	s, ok := handover(out, resource, node, started)
	return s, ok, nil
}

// handover reads a CIB status section: of the nodes other than node whose last operation of
// resource (its <resource>_last_0 entry) was a successful stop within HandoverWindow before
// started, the latest. Pacemaker records that entry in seconds, and a stop and the start after
// it often fall in the same second: the sighting is placed just before started.
func handover(status []byte, resource, node string, started time.Time) (Sighting, bool) {
	var s statusSection
	if err := xml.Unmarshal(status, &s); err != nil {
		return Sighting{}, false
	}
	var best Sighting
	for _, n := range s.Nodes {
		if n.Uname == node {
			continue
		}
		for _, r := range n.Resources {
			if r.ID != resource {
				continue
			}
			for _, op := range r.Ops {
				at, ok := lastOp(r.ID, op, "stop")
				if !ok || at.After(started) || at.Before(started.Add(-HandoverWindow)) || at.Before(best.At) {
					continue
				}
				best = Sighting{Resource: resource, Node: n.Uname, At: at, Stopped: true}
			}
		}
	}
	if best.Node == "" {
		return Sighting{}, false
	}
	if !best.At.Before(started) {
		best.At = started.Add(-time.Millisecond)
	}
	return best, true
}

// lastOp returns the time of a resource's <resource>_last_0 entry when it records a successful
// operation of one of tasks.
func lastOp(rsc string, op statusOp, tasks ...string) (time.Time, bool) {
	if op.ID != rsc+"_last_0" || op.RC != "0" || op.OpStatus != "0" || !slices.Contains(tasks, op.Operation) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(op.LastChange, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}

// statusOp is one lrm_rsc_op entry of the CIB's status section.
type statusOp struct {
	ID         string `xml:"id,attr"`
	Operation  string `xml:"operation,attr"`
	RC         string `xml:"rc-code,attr"`
	OpStatus   string `xml:"op-status,attr"`
	LastChange string `xml:"last-rc-change,attr"`
}

// statusSection is the part of the CIB's status section lostHolders reads.
type statusSection struct {
	Nodes []struct {
		Uname     string `xml:"uname,attr"`
		InCCM     string `xml:"in_ccm,attr"`
		Crmd      string `xml:"crmd,attr"`
		Resources []struct {
			ID  string     `xml:"id,attr"`
			Ops []statusOp `xml:"lrm_rsc_op"`
		} `xml:"lrm>lrm_resources>lrm_resource"`
	} `xml:"node_state"`
}

// lostHolders reads `cibadmin --query --scope status`: for every node that is not a member, each
// kept resource whose last operation there (the <resource>_last_0 entry) was a successful start
// or monitor, seen there at that operation's time.
func lostHolders(status []byte, keep func(string) bool) []Sighting {
	var s statusSection
	if err := xml.Unmarshal(status, &s); err != nil {
		return nil
	}
	var seen []Sighting
	for _, n := range s.Nodes {
		if n.InCCM != "false" && n.Crmd != "offline" {
			continue
		}
		for _, r := range n.Resources {
			if keep != nil && !keep(r.ID) {
				continue
			}
			for _, op := range r.Ops {
				if at, ok := lastOp(r.ID, op, "start", "monitor"); ok {
					seen = append(seen, Sighting{Resource: r.ID, Node: n.Uname, At: at})
				}
			}
		}
	}
	return seen
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(AlertBudget)
}
