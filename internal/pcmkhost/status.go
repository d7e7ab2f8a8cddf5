package pcmkhost

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vipctl/vipctl/internal/crmmon"
	"github.com/vipctl/vipctl/internal/wait"
)

// Status is what crm_mon reports about the cluster, as seen from one host.
type Status struct {
	DC        string     `json:"dc"`                  // the designated controller's node name; "" when none is elected
	Quorate   bool       `json:"quorate"`             // the partition has quorum
	Online    []string   `json:"online"`              // node names online, sorted
	Offline   []string   `json:"offline,omitempty"`   // configured node names not online, sorted
	Resources []Resource `json:"resources,omitempty"` // primitives, in crm_mon's order
}

// Resource is one primitive resource and where crm_mon says it is active.
type Resource struct {
	ID     string   `json:"id"`
	Agent  string   `json:"agent"`            // e.g. ocf:vipctl:vip
	Role   string   `json:"role"`             // Started, Stopped, ...
	Failed bool     `json:"failed,omitempty"` // crm_mon marks it failed
	Nodes  []string `json:"nodes,omitempty"`  // nodes where it is active
}

// ParseStatus reads the XML of `crm_mon --output-as=xml -1`.
func ParseStatus(b []byte) (Status, error) {
	m, err := crmmon.Parse(b)
	if err != nil {
		return Status{}, fmt.Errorf("pcmkhost: crm_mon output: %w", err)
	}
	s := Status{DC: m.DC, Quorate: m.Quorate}
	for _, n := range m.Nodes {
		if n.Online {
			s.Online = append(s.Online, n.Name)
		} else {
			s.Offline = append(s.Offline, n.Name)
		}
	}
	slices.Sort(s.Online)
	slices.Sort(s.Offline)
	for _, r := range m.Resources {
		s.Resources = append(s.Resources, Resource{ID: r.ID, Agent: r.Agent, Role: r.Role, Failed: r.Failed, Nodes: r.Nodes})
	}
	return s, nil
}

// Status runs crm_mon inside the host and returns what it reports.
func (h *Host) Status(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := h.Command(ctx, "crm_mon", "--output-as=xml", "--one-shot").Output()
	if err != nil {
		return Status{}, fmt.Errorf("pcmkhost: %s: crm_mon: %w", h.cfg.Name, err)
	}
	return ParseStatus(out)
}

// WaitOnline polls crm_mon in the host until at least nodes nodes are online, a DC is
// elected and the partition is quorate, or ctx ends (the error then says what was last seen).
func (h *Host) WaitOnline(ctx context.Context, nodes int) error {
	var last Status
	var lastErr error
	err := wait.Until(ctx, 500*time.Millisecond, func() (bool, error) {
		if err := h.Check(); err != nil {
			return false, err
		}
		last, lastErr = h.Status(ctx)
		return lastErr == nil && len(last.Online) >= nodes && last.DC != "" && last.Quorate, nil
	})
	if err != nil {
		if lastErr != nil {
			return fmt.Errorf("pcmkhost: %s: waiting for %d nodes online: %w (last: %w)", h.cfg.Name, nodes, err, lastErr)
		}
		return fmt.Errorf("pcmkhost: %s: waiting for %d nodes online: %w (last: online %v, dc %q, quorate %v)",
			h.cfg.Name, nodes, err, last.Online, last.DC, last.Quorate)
	}
	return nil
}
