package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// Node states, from worst to best as Pacemaker reports them.
const (
	NodeUnclean     = "unclean"     // lost and not yet fenced
	NodeOffline     = "offline"     // not a member of this partition
	NodePending     = "pending"     // joining
	NodeStandby     = "standby"     // online, but may run no resource
	NodeMaintenance = "maintenance" // online, resources unmanaged
	NodeOnline      = "online"
)

// Pacemaker is the cluster as crm_mon reports it from this host.
type Pacemaker struct {
	Error   string         `json:"error,omitempty"` // crm_mon could not be run or read; the fields below are then empty
	DC      string         `json:"dc"`              // designated controller; "" when none is elected
	Quorate bool           `json:"quorate"`
	Nodes   []Node         `json:"nodes"`          // sorted by name
	Failed  []FailedAction `json:"failed_actions"` // crm_mon's failures, in its order
}

// Node is one cluster node and its state.
type Node struct {
	Name  string `json:"name"`
	State string `json:"state"` // one of the Node* constants
}

// FailedAction is one failed resource operation recorded by Pacemaker.
type FailedAction struct {
	Resource   string `json:"resource"`
	Operation  string `json:"operation"` // start, stop, monitor, ...
	Node       string `json:"node"`
	ExitStatus string `json:"exit_status"` // e.g. "error", "not running"
	ExitReason string `json:"exit_reason,omitempty"`
	LastChange string `json:"last_change"` // as crm_mon prints it
}

// resource is one primitive (or clone instance) and where crm_mon says it is active.
type resource struct {
	ID     string
	Role   string
	Failed bool
	Nodes  []string
}

// ErrCrmMon is returned when crm_mon could not be run or could not read the cluster.
var ErrCrmMon = errors.New("crm_mon")

// parseCrmMon reads the XML of crm_mon (pcmk.Parse). crm_mon reports a cluster it cannot
// reach in the same document (a status code other than 0); that is an error matching ErrCrmMon
// naming crm_mon's own messages.
func parseCrmMon(b []byte) (Pacemaker, []resource, error) {
	m, err := pcmk.Parse(b)
	if err != nil {
		return Pacemaker{}, nil, fmt.Errorf("%w: %w", ErrCrmMon, err)
	}
	p, rs := fromReport(m)
	return p, rs, nil
}

// fromReport is status's view of crm_mon's report.
func fromReport(m pcmk.Report) (Pacemaker, []resource) {
	p := Pacemaker{DC: m.DC, Quorate: m.Quorate, Nodes: []Node{}, Failed: []FailedAction{}}
	for _, n := range m.Nodes {
		state := NodeOnline
		switch {
		case n.Unclean:
			state = NodeUnclean
		case !n.Online:
			state = NodeOffline
		case n.Pending:
			state = NodePending
		case n.Standby:
			state = NodeStandby
		case n.Maintenance:
			state = NodeMaintenance
		}
		p.Nodes = append(p.Nodes, Node{Name: n.Name, State: state})
	}
	slices.SortFunc(p.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range m.Failures {
		p.Failed = append(p.Failed, FailedAction{
			Resource:   f.Resource,
			Operation:  f.Task,
			Node:       f.Node,
			ExitStatus: f.ExitStatus,
			ExitReason: f.ExitReason,
			LastChange: f.LastChange,
		})
	}
	var rs []resource
	for _, cr := range m.Resources {
		r := resource{ID: cr.ID, Role: cr.Role, Failed: cr.Failed}
		if cr.Active {
			r.Nodes = cr.Nodes
		}
		rs = append(rs, r)
	}
	return p, rs
}

// readPacemaker runs crm_mon and reads its report (pcmk.ReadCrmMon: when crm_mon cannot reach
// the cluster, the reason it writes is preferred to its bare exit status). Errors match ErrCrmMon.
func readPacemaker(ctx context.Context, r pcmk.Runner, crmMon string) (Pacemaker, []resource, error) {
	m, err := pcmk.ReadCrmMon(ctx, r, crmMon)
	if err != nil {
		return Pacemaker{}, nil, fmt.Errorf("%w: %w", ErrCrmMon, err)
	}
	p, rs := fromReport(m)
	return p, rs, nil
}
