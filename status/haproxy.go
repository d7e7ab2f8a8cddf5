package status

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/vipctl/vipctl/internal/haproxystats"
)

// statsCSVPath is the CSV form of the stats page that nomad's haproxy.cfg serves on the
// cluster's stats_port (`stats uri /`); HAProxy appends ";csv" to the stats URI for CSV.
const statsCSVPath = "/;csv"

// maxStatsBytes bounds what status reads of a stats page.
const maxStatsBytes = 4 << 20

// HAProxy is one cluster's HAProxy as its stats page reports it. The page read is the one
// behind the VIP: the HAProxy that serves the clients right now.
type HAProxy struct {
	URL     string   `json:"url"`             // the stats page read
	Error   string   `json:"error,omitempty"` // the page could not be read; the fields below are then empty
	Up      int      `json:"up"`              // servers UP: exactly one (the leader) when all is well
	Servers []Server `json:"servers"`         // the servers of the cluster's proxy, in HAProxy's order
}

// Server is one server line of HAProxy's stats.
type Server struct {
	Name    string `json:"name"`              // e.g. pg1 (server-template pg 1-N)
	Status  string `json:"status"`            // UP, DOWN, MAINT, "UP 1/3", "MAINT (resolution)", ...
	Address string `json:"address,omitempty"` // the server's address, as HAProxy writes it ("" while unresolved)
	Check   string `json:"check,omitempty"`   // last health check result, e.g. L7OK, L7STS, L4CON
}

// IsUp reports whether HAProxy sends new connections to the server: UP, also while it is
// failing checks but not yet marked down ("UP 1/3").
func (s Server) IsUp() bool { return s.Status == "UP" || strings.HasPrefix(s.Status, "UP ") }

// parseStatsCSV returns the servers of proxy in HAProxy's stats CSV (haproxystats.Read), in
// HAProxy's order; a page that does not list proxy matches haproxystats.ErrNoProxy.
func parseStatsCSV(r io.Reader, proxy string) ([]Server, error) {
	recs, err := haproxystats.Read(r, proxy)
	if err != nil {
		return nil, err
	}
	servers := []Server{}
	for _, rec := range recs {
		if rec.IsServer() {
			servers = append(servers, Server{Name: rec.Name, Status: rec.Status, Address: rec.Address, Check: rec.Check})
		}
	}
	return servers, nil
}

// ReadHAProxy reads the stats page at addr (the CSV of the stats listener vipctl's haproxy.cfg
// serves) and the servers of proxy on it. A page that cannot be read is reported in HAProxy.Error.
// It is the one reader of HAProxy's stats in status and metrics.
func ReadHAProxy(ctx context.Context, client *http.Client, addr netip.AddrPort, proxy string) HAProxy {
	h := HAProxy{URL: "http://" + addr.String() + statsCSVPath, Servers: []Server{}}
	fail := func(err error) HAProxy {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer: %w", ctx.Err())
		}
		h.Error = err.Error()
		return h
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fail(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("stats page: HTTP %s", resp.Status))
	}
	servers, err := parseStatsCSV(io.LimitReader(resp.Body, maxStatsBytes), proxy)
	if err != nil {
		return fail(err)
	}
	h.Servers = servers
	for _, s := range servers {
		if s.IsUp() {
			h.Up++
		}
	}
	return h
}
