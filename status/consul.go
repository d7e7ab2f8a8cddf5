package status

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Patroni's Consul service tags for a member's role (consul.register_service). The leader is
// tagged "master" in every Patroni version; Patroni 3 adds "primary".
var leaderTags = []string{"master", "primary"}

// Roles of a member, as status reports them.
const (
	RoleLeader  = "leader"
	RoleReplica = "replica"
	RoleOther   = "other" // no role tag status knows (e.g. standby-leader, uninitialized)
)

// Consul is what Consul knows of one cluster's Patroni members.
type Consul struct {
	Service  string   `json:"service"`         // pgsql-<cluster>: Patroni's scope, registered by Patroni
	Error    string   `json:"error,omitempty"` // Consul could not be asked; the fields below are then empty
	Replicas int      `json:"replicas"`        // members the topology expects
	Healthy  int      `json:"healthy"`         // registered members whose checks all pass
	Leaders  []string `json:"leaders"`         // healthy members tagged leader (one when all is well)
	Members  []Member `json:"members"`         // every registered member, sorted by id
	// LagError says why the leader's Patroni could not be asked for the replicas' lag.
	LagError string `json:"lag_error,omitempty"`
	// Synchronous is the topology's synchronous_mode: a commit waits for the synchronous
	// standby, and Patroni fails over only to it.
	Synchronous bool `json:"synchronous"`
}

// Member is one registered Patroni member.
type Member struct {
	ID      string         `json:"id"`   // Consul service ID (Patroni: <scope>/<member name>)
	Node    string         `json:"node"` // Consul node (the host) it registered through
	Address netip.AddrPort `json:"address"`
	Role    string         `json:"role"` // leader, replica or other
	Tags    []string       `json:"tags"`
	Health  string         `json:"health"` // passing, warning or critical: the worst of its checks
	// LagBytes is how far a replica's WAL replay is behind the leader, as the leader's Patroni
	// reports it; nil for the leader and when unknown.
	LagBytes *int64 `json:"lag_bytes,omitempty"`
	// SyncStandby: the leader's Patroni names this replica its synchronous standby.
	SyncStandby bool `json:"sync_standby,omitempty"`
}

// consulHealth is the part of the Consul API status uses.
type consulHealth interface {
	Service(service, tag string, passingOnly bool, q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error)
}

var _ consulHealth = (*api.Health)(nil)

// readConsul asks Consul for every registered instance of service, with its checks.
func readConsul(ctx context.Context, h consulHealth, service string, replicas int) Consul {
	c := Consul{Service: service, Replicas: replicas, Leaders: []string{}, Members: []Member{}}
	entries, _, err := h.Service(service, "", false, (&api.QueryOptions{AllowStale: true}).WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer: %w", ctx.Err())
		}
		c.Error = err.Error()
		return c
	}
	for _, e := range entries {
		if e == nil || e.Service == nil {
			continue
		}
		m := Member{ID: e.Service.ID, Tags: slices.Clone(e.Service.Tags), Health: e.Checks.AggregatedStatus(), Role: RoleOther}
		if m.Tags == nil {
			m.Tags = []string{}
		}
		if e.Node != nil {
			m.Node = e.Node.Node
		}
		addr := e.Service.Address
		if addr == "" && e.Node != nil {
			addr = e.Node.Address // an empty service address means the node's
		}
		if a, err := netip.ParseAddr(addr); err == nil && e.Service.Port > 0 && e.Service.Port < 1<<16 {
			m.Address = netip.AddrPortFrom(a.Unmap(), uint16(e.Service.Port))
		}
		switch {
		case slices.ContainsFunc(m.Tags, func(t string) bool { return slices.Contains(leaderTags, t) }):
			m.Role = RoleLeader
		case slices.Contains(m.Tags, RoleReplica):
			m.Role = RoleReplica
		}
		if m.Health == api.HealthPassing {
			c.Healthy++
			if m.Role == RoleLeader {
				c.Leaders = append(c.Leaders, m.ID)
			}
		}
		c.Members = append(c.Members, m)
	}
	slices.SortFunc(c.Members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	slices.Sort(c.Leaders)
	return c
}
