package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// MaxFailoverLag is the replication lag above which Patroni does not promote a replica
// (maximum_lag_on_failover in the rendered patroni.yml): such a replica is a problem.
const MaxFailoverLag = 1 << 20

// patroniMember is what the leader's Patroni says of one member: how many bytes it is behind
// (lagKnown false when Patroni does not know) and whether it is the synchronous standby.
type patroniMember struct {
	lag      int64
	lagKnown bool
	sync     bool
}

// readPatroniCluster asks the Patroni REST API at addr (/cluster) for its view of the members,
// by member name.
func readPatroniCluster(ctx context.Context, client *http.Client, addr netip.AddrPort) (map[string]patroniMember, error) {
	url := "http://" + addr.String() + "/cluster"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	var body struct {
		Members []struct {
			Name string `json:"name"`
			Role string `json:"role"` // leader, replica, sync_standby, standby_leader
			Lag  any    `json:"lag"`  // a number, or "unknown"
		} `json:"members"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	ms := map[string]patroniMember{}
	for _, m := range body.Members {
		pm := patroniMember{sync: m.Role == "sync_standby"}
		if n, ok := m.Lag.(float64); ok && m.Role != "leader" && n >= 0 {
			pm.lag, pm.lagKnown = int64(n), true
		}
		ms[m.Name] = pm
	}
	return ms, nil
}

// addPatroni fills the members' LagBytes and SyncStandby from the leader's Patroni (its REST
// API on patroniPort at the leader's address); a failure is kept in LagError, not judged.
func (c *Consul) addPatroni(ctx context.Context, client *http.Client, patroniPort int) {
	leader, ok := leaderAddress(*c)
	if !ok || patroniPort < 1 || patroniPort > 65535 {
		return
	}
	ms, err := readPatroniCluster(ctx, client, netip.AddrPortFrom(leader.Addr(), uint16(patroniPort)))
	if err != nil {
		c.LagError = err.Error()
		return
	}
	for i := range c.Members {
		m := &c.Members[i]
		_, name, _ := strings.Cut(m.ID, "/") // Patroni's service ID: <scope>/<member name>
		pm, ok := ms[name]
		if !ok || m.Role == RoleLeader {
			continue
		}
		if pm.lagKnown {
			m.LagBytes = &pm.lag
		}
		m.SyncStandby = pm.sync
	}
}
