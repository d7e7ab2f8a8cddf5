package pcmk

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

func summary(b []byte) (Status, error) {
	r, err := Parse(b)
	return r.Summary(), err
}

func TestSummary(t *testing.T) {
	b, err := os.ReadFile("testdata/crm_mon-solo.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := summary(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{DC: "solo", Quorate: true, Online: []string{"solo"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	// The example topology in a lab: fence devices that cannot reach any IPMI, VIP started.
	b, err = os.ReadFile("testdata/crm_mon-example.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err = summary(b)
	if err != nil {
		t.Fatal(err)
	}
	want = Status{
		DC: "pg-03", Quorate: true, Online: []string{"pg-01", "pg-02", "pg-03"},
		Resources: []Resource{
			{ID: "vipctl-fence-ipmi-pg-01", Agent: "stonith:fence_ipmilan", Role: "Starting", Active: true, Nodes: []string{"pg-02"}},
			{ID: "vipctl-fence-ipmi-pg-02", Agent: "stonith:fence_ipmilan", Role: "Started", Active: true, Failed: true, Nodes: []string{"pg-01"}},
			{ID: "vipctl-fence-ipmi-pg-03", Agent: "stonith:fence_ipmilan", Role: "Started", Active: true, Failed: true, Nodes: []string{"pg-01"}},
			{ID: "vip-db-a", Agent: "ocf:vipctl:vip", Role: "Started", Active: true, Nodes: []string{"pg-03"}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("example (-want +got):\n%s", d)
	}
	if _, err := summary([]byte("<pacemaker-result")); !errors.Is(err, ErrNotXML) {
		t.Errorf("truncated XML: err = %v, want ErrNotXML", err)
	}
}
