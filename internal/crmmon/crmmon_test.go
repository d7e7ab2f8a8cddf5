package crmmon

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The captures were made with Pacemaker's own crm_simulate and crm_mon (status/testdata/crm_mon/gen.sh).
func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../status/testdata/crm_mon/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	got, err := Parse(read(t, "monitor-failed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	fence := func(host, on string) Resource {
		return Resource{ID: "vipctl-fence-ipmi-" + host, Agent: "stonith:fence_ipmilan", Role: "Started", Active: true, Nodes: []string{on}}
	}
	want := Report{
		DC:      "pg-01",
		Quorate: true,
		Nodes: []Node{
			{Name: "pg-01", Online: true},
			{Name: "pg-02", Online: true},
			{Name: "pg-03", Online: true},
		},
		Resources: []Resource{
			fence("pg-01", "pg-02"), fence("pg-02", "pg-01"), fence("pg-03", "pg-01"),
			{ID: "vip-db-a", Agent: "ocf:vipctl:vip", Role: "Started", Active: true, Nodes: []string{"pg-03"}},
		},
		Failures: []Failure{{Resource: "vip-db-a", Task: "monitor", Node: "pg-03", ExitStatus: "not running",
			ExitReason: "Simulated action result", LastChange: "2026-11-26 01:35:19Z"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
}

func TestParseRefusals(t *testing.T) {
	_, err := Parse(read(t, "not-connected.xml"))
	if !errors.Is(err, ErrNoCluster) {
		t.Fatalf("not connected: err = %v, want ErrNoCluster", err)
	}
	const want = "Not connected (code 102): error: Could not connect to launcher: Connection refused; crm_mon: Connection to cluster failed: Connection refused"
	if err.Error() != want {
		t.Errorf("not connected: message %q, want crm_mon's own words %q", err, want)
	}
	if _, err := Parse([]byte("<html>")); !errors.Is(err, ErrNotXML) {
		t.Errorf("garbage: err = %v, want ErrNotXML", err)
	}
}
