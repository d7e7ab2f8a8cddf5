package status

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// parseCrmMon never panics; what it accepts has sorted nodes in known states, and reading the
// same bytes again gives the same result.
func FuzzParseCrmMon(f *testing.F) {
	files, _ := filepath.Glob("testdata/crm_mon/*.xml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	states := []string{NodeOnline, NodeStandby, NodeMaintenance, NodePending, NodeOffline, NodeUnclean}
	f.Fuzz(func(t *testing.T, b []byte) {
		pm, rs, err := parseCrmMon(b)
		if err != nil {
			return
		}
		if !slices.IsSortedFunc(pm.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("nodes not sorted: %v", pm.Nodes)
		}
		for _, n := range pm.Nodes {
			if !slices.Contains(states, n.State) {
				t.Errorf("node %q in unknown state %q", n.Name, n.State)
			}
		}
		if pm.Quorate && pm.DC == "" {
			t.Error("quorate without a DC")
		}
		pm2, rs2, err := parseCrmMon(b)
		if err != nil || len(pm2.Nodes) != len(pm.Nodes) || len(rs2) != len(rs) {
			t.Errorf("second parse differs: %v", err)
		}
	})
}

// parseStatsCSV never panics and never returns the FRONTEND or BACKEND lines as servers.
func FuzzParseStatsCSV(f *testing.F) {
	f.Add(statsCSV, "msrvc01")
	f.Add("# pxname,svname,status\nx,FRONTEND,OPEN\nx,s1,UP\nx,BACKEND,UP\n", "x")
	f.Add("# pxname,svname,status\n\"x\"\"\",s,\"UP\n", "x\"")
	f.Fuzz(func(t *testing.T, csv, proxy string) {
		servers, err := parseStatsCSV(strings.NewReader(csv), proxy)
		if err != nil {
			return
		}
		for _, s := range servers {
			if s.Name == "FRONTEND" || s.Name == "BACKEND" {
				t.Errorf("%s returned as a server", s.Name)
			}
		}
	})
}
