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

// readLag asks the Patroni REST API at addr (/cluster) how many bytes each replica is behind
// the leader, by member name. A member whose lag Patroni does not know is left out.
func readLag(ctx context.Context, client *http.Client, addr netip.AddrPort) (map[string]int64, error) {
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
			Role string `json:"role"`
			Lag  any    `json:"lag"` // a number, or "unknown"
		} `json:"members"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	lags := map[string]int64{}
	for _, m := range body.Members {
		if n, ok := m.Lag.(float64); ok && m.Role != "leader" && n >= 0 {
			lags[m.Name] = int64(n)
		}
	}
	return lags, nil
}

// addLag fills the members' LagBytes from the leader's Patroni (its REST API on patroniPort
// at the leader's address); a failure is kept in LagError, not judged.
func (c *Consul) addLag(ctx context.Context, client *http.Client, patroniPort int) {
	leader, ok := leaderAddress(*c)
	if !ok || patroniPort < 1 || patroniPort > 65535 {
		return
	}
	lags, err := readLag(ctx, client, netip.AddrPortFrom(leader.Addr(), uint16(patroniPort)))
	if err != nil {
		c.LagError = err.Error()
		return
	}
	for i := range c.Members {
		m := &c.Members[i]
		_, name, _ := strings.Cut(m.ID, "/") // Patroni's service ID: <scope>/<member name>
		if lag, ok := lags[name]; ok && m.Role != RoleLeader {
			m.LagBytes = &lag
		}
	}
}
