// crm_mon --output-as=xml --one-shot: the one parser of its report, for status, bootstrap, move,
// the journal and the lab.

package pcmk

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// ErrNotXML is matched when the output is not crm_mon's XML at all.
var ErrNotXML = errors.New("output is not crm_mon XML")

// ErrNoCluster is matched when crm_mon reports, in its XML, that it could not read the
// cluster (a status code other than 0, e.g. "Not connected" while Pacemaker starts).
var ErrNoCluster = errors.New("crm_mon could not read the cluster")

// noClusterError carries crm_mon's own words (its message, code and errors) and matches
// ErrNoCluster.
type noClusterError string

func (e noClusterError) Error() string        { return string(e) }
func (e noClusterError) Is(target error) bool { return target == ErrNoCluster }

// Report is what crm_mon says about the cluster, as seen from the host it ran on.
type Report struct {
	DC        string // the designated controller; "" when none is elected
	Quorate   bool   // this partition has quorum (false when there is no DC)
	Nodes     []Node // in crm_mon's order
	Resources []Resource
	Failures  []Failure // failed operations Pacemaker recorded, in crm_mon's order
}

// Node is one configured node and the flags crm_mon gives it.
type Node struct {
	Name                                           string
	Online, Standby, Maintenance, Pending, Unclean bool
}

// Resource is one primitive — top level, in a group or a clone instance — and the nodes
// crm_mon lists for it.
type Resource struct {
	ID     string   `json:"id"`
	Agent  string   `json:"agent"`            // e.g. ocf:vipctl:vip
	Role   string   `json:"role"`             // Started, Stopped, ...
	Active bool     `json:"-"`                // Nodes is where it runs
	Failed bool     `json:"failed,omitempty"` // crm_mon marks it failed
	Nodes  []string `json:"nodes,omitempty"`  // nodes crm_mon lists for it
}

// Failure is one failed operation.
type Failure struct {
	Resource   string // from the operation key "<resource>_<task>_<interval>"
	Task       string // start, stop, monitor, ...
	Node       string
	ExitStatus string // e.g. "error", "not running"
	ExitReason string
	LastChange string // as crm_mon prints it
}

type document struct {
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
	Resources []resource `xml:"resources>resource"`
	Groups    []struct {
		Resources []resource `xml:"resource"`
	} `xml:"resources>group"`
	Clones []struct {
		Resources []resource `xml:"resource"`
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

type resource struct {
	ID     string `xml:"id,attr"`
	Agent  string `xml:"resource_agent,attr"`
	Role   string `xml:"role,attr"`
	Active bool   `xml:"active,attr"`
	Failed bool   `xml:"failed,attr"`
	Nodes  []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

// Parse reads crm_mon's XML. A document in which crm_mon says it could not read the cluster
// is an error matching ErrNoCluster that carries crm_mon's own message.
func Parse(b []byte) (Report, error) {
	var d document
	if err := xml.Unmarshal(b, &d); err != nil {
		return Report{}, fmt.Errorf("%w: %w", ErrNotXML, err)
	}
	if d.Status.Code != 0 {
		msg := fmt.Sprintf("%s (code %d)", d.Status.Message, d.Status.Code)
		if len(d.Status.Errors) > 0 {
			msg += ": " + strings.Join(d.Status.Errors, "; ")
		}
		return Report{}, noClusterError(msg)
	}
	var r Report
	if d.Summary.DC.Present {
		r.DC, r.Quorate = d.Summary.DC.Name, d.Summary.DC.Quorum
	}
	for _, n := range d.Nodes {
		r.Nodes = append(r.Nodes, Node{Name: n.Name, Online: n.Online, Standby: n.Standby,
			Maintenance: n.Maintenance, Pending: n.Pending, Unclean: n.Unclean})
	}
	rs := d.Resources
	for _, g := range d.Groups {
		rs = append(rs, g.Resources...)
	}
	for _, c := range d.Clones {
		rs = append(rs, c.Resources...)
	}
	for _, x := range rs {
		res := Resource{ID: x.ID, Agent: x.Agent, Role: x.Role, Active: x.Active, Failed: x.Failed}
		for _, n := range x.Nodes {
			res.Nodes = append(res.Nodes, n.Name)
		}
		r.Resources = append(r.Resources, res)
	}
	for _, f := range d.Failures {
		r.Failures = append(r.Failures, Failure{Resource: resourceOfOpKey(f.OpKey, f.Task), Task: f.Task,
			Node: f.Node, ExitStatus: f.ExitStatus, ExitReason: f.ExitReason, LastChange: f.LastChange})
	}
	return r, nil
}

// resourceOfOpKey returns the resource of an operation key "<resource>_<task>_<interval>".
func resourceOfOpKey(key, task string) string {
	if i := strings.LastIndex(key, "_"+task+"_"); i > 0 {
		return key[:i]
	}
	return key
}
