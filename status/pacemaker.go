package status

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
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

// crmMonXML is the part of `crm_mon --output-as=xml` that status reads.
type crmMonXML struct {
	Status struct {
		Code    int      `xml:"code,attr"`
		Message string   `xml:"message,attr"`
		Errors  []string `xml:"errors>error"`
	} `xml:"status"`
	Summary struct {
		DC struct {
			Present bool   `xml:"present,attr"`
			Name    string `xml:"name,attr"`
			Quorum  bool   `xml:"with_quorum,attr"`
		} `xml:"current_dc"`
	} `xml:"summary"`
	Nodes []struct {
		Name        string `xml:"name,attr"`
		Online      bool   `xml:"online,attr"`
		Standby     bool   `xml:"standby,attr"`
		Maintenance bool   `xml:"maintenance,attr"`
		Pending     bool   `xml:"pending,attr"`
		Unclean     bool   `xml:"unclean,attr"`
	} `xml:"nodes>node"`
	Resources []crmResource `xml:"resources>resource"`
	Groups    []struct {
		Resources []crmResource `xml:"resource"`
	} `xml:"resources>group"`
	Clones []struct {
		Resources []crmResource `xml:"resource"`
	} `xml:"resources>clone"`
	Failures []struct {
		OpKey      string `xml:"op_key,attr"`
		Node       string `xml:"node,attr"`
		ExitStatus string `xml:"exitstatus,attr"`
		ExitReason string `xml:"exitreason,attr"`
		Task       string `xml:"task,attr"`
		LastChange string `xml:"last-rc-change,attr"`
	} `xml:"failures>failure"`
}

type crmResource struct {
	ID     string `xml:"id,attr"`
	Role   string `xml:"role,attr"`
	Active bool   `xml:"active,attr"`
	Failed bool   `xml:"failed,attr"`
	Nodes  []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

// ErrCrmMon is returned when crm_mon could not be run or could not read the cluster.
var ErrCrmMon = errors.New("crm_mon")

var errNotXML = errors.New("output is not crm_mon XML")

// parseCrmMon reads the XML of `crm_mon --output-as=xml --one-shot`. crm_mon reports a
// cluster it cannot reach in the same document (a status code other than 0); that is an
// error matching ErrCrmMon naming crm_mon's own messages.
func parseCrmMon(b []byte) (Pacemaker, []resource, error) {
	var m crmMonXML
	if err := xml.Unmarshal(b, &m); err != nil {
		return Pacemaker{}, nil, fmt.Errorf("%w: %w: %w", ErrCrmMon, errNotXML, err)
	}
	if m.Status.Code != 0 {
		msg := fmt.Sprintf("%s (code %d)", m.Status.Message, m.Status.Code)
		if len(m.Status.Errors) > 0 {
			msg += ": " + strings.Join(m.Status.Errors, "; ")
		}
		return Pacemaker{}, nil, fmt.Errorf("%w: %s", ErrCrmMon, msg)
	}
	p := Pacemaker{Nodes: []Node{}, Failed: []FailedAction{}}
	if m.Summary.DC.Present {
		p.DC = m.Summary.DC.Name
		p.Quorate = m.Summary.DC.Quorum
	}
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
			Resource:   resourceOfOpKey(f.OpKey, f.Task),
			Operation:  f.Task,
			Node:       f.Node,
			ExitStatus: f.ExitStatus,
			ExitReason: f.ExitReason,
			LastChange: f.LastChange,
		})
	}
	crs := m.Resources
	for _, g := range m.Groups {
		crs = append(crs, g.Resources...)
	}
	for _, c := range m.Clones {
		crs = append(crs, c.Resources...)
	}
	var rs []resource
	for _, cr := range crs {
		r := resource{ID: cr.ID, Role: cr.Role, Failed: cr.Failed}
		if cr.Active {
			for _, n := range cr.Nodes {
				r.Nodes = append(r.Nodes, n.Name)
			}
		}
		rs = append(rs, r)
	}
	return p, rs, nil
}

// resourceOfOpKey returns the resource of an operation key "<resource>_<task>_<interval>".
func resourceOfOpKey(key, task string) string {
	if i := strings.LastIndex(key, "_"+task+"_"); i > 0 {
		return key[:i]
	}
	return key
}

// runner runs an external command and returns its standard output; a non-zero exit is an
// error, returned together with what the command wrote to standard output.
type runner interface {
	output(ctx context.Context, name string, args ...string) ([]byte, error)
}

// execRunner runs commands on this machine.
type execRunner struct{}

func (execRunner) output(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// readPacemaker runs crm_mon and reads its report. crm_mon exits non-zero when it cannot
// reach the cluster but still writes XML saying why: that reason is preferred to the bare
// exit status.
func readPacemaker(ctx context.Context, r runner, crmMon string) (Pacemaker, []resource, error) {
	out, runErr := r.output(ctx, crmMon, "--output-as=xml", "--one-shot")
	if runErr == nil {
		return parseCrmMon(out)
	}
	if ctx.Err() != nil {
		return Pacemaker{}, nil, fmt.Errorf("%w: no answer: %w", ErrCrmMon, ctx.Err())
	}
	if _, _, err := parseCrmMon(out); err != nil && len(out) > 0 && !errors.Is(err, errNotXML) {
		return Pacemaker{}, nil, err // crm_mon said why
	}
	return Pacemaker{}, nil, fmt.Errorf("%w: %w", ErrCrmMon, runErr)
}
