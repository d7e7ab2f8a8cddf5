package status

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
)

func readCapture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "crm_mon", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nodes(state map[string]string) []Node {
	var ns []Node
	for _, n := range []string{"pg-01", "pg-02", "pg-03"} {
		if s, ok := state[n]; ok {
			ns = append(ns, Node{Name: n, State: s})
		}
	}
	return ns
}

var allOnline = map[string]string{"pg-01": NodeOnline, "pg-02": NodeOnline, "pg-03": NodeOnline}

// Captures of crm_mon (testdata/crm_mon/gen.sh) read into what status uses.
func TestParseCrmMon(t *testing.T) {
	for _, tc := range []struct {
		file string
		pm   Pacemaker
		vip  resource
	}{
		{
			file: "healthy.xml",
			pm:   Pacemaker{DC: "pg-01", Quorate: true, Nodes: nodes(allOnline), Failed: []FailedAction{}},
			vip:  resource{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-03"}},
		},
		{
			file: "holder-failed.xml",
			pm: Pacemaker{DC: "pg-01", Quorate: true, Failed: []FailedAction{},
				Nodes: nodes(map[string]string{"pg-01": NodeOnline, "pg-02": NodeOnline, "pg-03": NodeOffline})},
			vip: resource{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-02"}},
		},
		{
			file: "standby.xml",
			pm: Pacemaker{DC: "pg-01", Quorate: true, Failed: []FailedAction{},
				Nodes: nodes(map[string]string{"pg-01": NodeOnline, "pg-02": NodeStandby, "pg-03": NodeOnline})},
			vip: resource{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-03"}},
		},
		{
			file: "monitor-failed.xml",
			pm: Pacemaker{DC: "pg-01", Quorate: true, Nodes: nodes(allOnline), Failed: []FailedAction{{
				Resource: "vip-db-a", Operation: "monitor", Node: "pg-03", ExitStatus: "not running",
				ExitReason: "Simulated action result", LastChange: "2026-11-26 01:35:19Z",
			}}},
			vip: resource{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-03"}},
		},
		{
			file: "no-quorum.xml",
			pm: Pacemaker{DC: "pg-01", Quorate: false, Failed: []FailedAction{},
				Nodes: nodes(map[string]string{"pg-01": NodeOnline, "pg-02": NodeUnclean, "pg-03": NodeUnclean})},
			vip: resource{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-03"}}, // not fenced: Pacemaker cannot know it stopped
		},
		{
			file: "stopped.xml",
			pm:   Pacemaker{DC: "pg-01", Quorate: false, Failed: []FailedAction{}, Nodes: nodes(map[string]string{"pg-01": NodeOnline})},
			vip:  resource{ID: "vip-db-a", Role: "Stopped"},
		},
		{
			file: "multiple.xml",
			pm:   Pacemaker{DC: "pg-01", Quorate: true, Nodes: nodes(allOnline), Failed: []FailedAction{}},
			vip:  resource{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-03", "pg-01"}},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pm, rs, err := parseCrmMon(readCapture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.pm, pm); d != "" {
				t.Errorf("Pacemaker (-want +got):\n%s", d)
			}
			if len(rs) == 0 {
				t.Fatal("no resources")
			}
			if d := cmp.Diff(tc.vip, rs[len(rs)-1], cmp.AllowUnexported(resource{})); d != "" {
				t.Errorf("vip-db-a (-want +got):\n%s", d)
			}
		})
	}
}

// The capture of the lab (internal/pcmkhost) has failed fence devices and their failures.
func TestParseCrmMonLabCapture(t *testing.T) {
	b, err := os.ReadFile("../internal/pcmk/testdata/crm_mon-example.xml")
	if err != nil {
		t.Fatal(err)
	}
	pm, rs, err := parseCrmMon(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Pacemaker{DC: "pg-03", Quorate: true, Nodes: nodes(allOnline), Failed: []FailedAction{
		{Resource: "vipctl-fence-ipmi-pg-02", Operation: "start", Node: "pg-01", ExitStatus: "error", LastChange: "2026-11-25 21:15:28Z"},
		{Resource: "vipctl-fence-ipmi-pg-03", Operation: "start", Node: "pg-01", ExitStatus: "error", LastChange: "2026-11-25 21:15:28Z"},
	}}
	if d := cmp.Diff(want, pm); d != "" {
		t.Errorf("Pacemaker (-want +got):\n%s", d)
	}
	wantRs := []resource{
		{ID: "vipctl-fence-ipmi-pg-01", Role: "Starting", Nodes: []string{"pg-02"}},
		{ID: "vipctl-fence-ipmi-pg-02", Role: "Started", Failed: true, Nodes: []string{"pg-01"}},
		{ID: "vipctl-fence-ipmi-pg-03", Role: "Started", Failed: true, Nodes: []string{"pg-01"}},
		{ID: "vip-db-a", Role: "Started", Nodes: []string{"pg-03"}},
	}
	if d := cmp.Diff(wantRs, rs, cmp.AllowUnexported(resource{})); d != "" {
		t.Errorf("resources (-want +got):\n%s", d)
	}
}

// fakeRunner returns canned output and error, or blocks until the context ends and then fails
// as pcmk.Local does.
type fakeRunner struct {
	out   []byte
	err   error
	block bool
	argv  []string
}

func (f *fakeRunner) Run(ctx context.Context, c pcmk.Cmd) ([]byte, error) {
	f.argv = append([]string{c.Name}, c.Args...)
	if f.block {
		<-ctx.Done()
		return nil, &pcmk.ExitError{Command: f.argv, Code: -1, Err: fmt.Errorf("no answer: %w", ctx.Err())}
	}
	return f.out, f.err
}

func TestReadPacemakerErrors(t *testing.T) {
	exitErr := errors.New("exit status 102")
	for _, tc := range []struct {
		name  string
		r     *fakeRunner
		match error // besides ErrCrmMon
	}{
		{"crm_mon says not connected", &fakeRunner{out: readCapture(t, "not-connected.xml"), err: exitErr}, nil},
		{"no output", &fakeRunner{err: exitErr}, exitErr},
		{"garbage output", &fakeRunner{out: []byte("Segmentation fault"), err: exitErr}, exitErr},
		{"garbage with exit 0", &fakeRunner{out: []byte("<html>")}, pcmk.ErrNotXML},
		{"hangs", &fakeRunner{block: true}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, _, err := readPacemaker(ctx, tc.r, "crm_mon")
			if !errors.Is(err, ErrCrmMon) {
				t.Fatalf("err = %v; want ErrCrmMon", err)
			}
			if tc.match != nil && !errors.Is(err, tc.match) {
				t.Errorf("err = %v; want it to match %v", err, tc.match)
			}
			if d := cmp.Diff([]string{"crm_mon", "--output-as=xml", "--one-shot", "--inactive"}, tc.r.argv); d != "" {
				t.Errorf("argv (-want +got):\n%s", d)
			}
		})
	}
	// The reason crm_mon gives is kept, not just its exit status.
	_, _, err := readPacemaker(context.Background(), &fakeRunner{out: readCapture(t, "not-connected.xml"), err: exitErr}, "crm_mon")
	const want = "crm_mon: Not connected (code 102): error: Could not connect to launcher: Connection refused; crm_mon: Connection to cluster failed: Connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// The real crm_mon, where no cluster runs (outside the lab), is read as unreachable with
// crm_mon's own reason, through the real runner.
func TestReadPacemakerRealCrmMonNoCluster(t *testing.T) {
	crmMon := testenv.RequireTool(t, "crm_mon")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, crmMon, "-1").Run() == nil {
		t.Skip("a cluster runs on this machine")
	}
	_, _, err := readPacemaker(ctx, pcmk.Local{}, crmMon)
	if !errors.Is(err, ErrCrmMon) || errors.Is(err, pcmk.ErrNotXML) {
		t.Fatalf("err = %v; want crm_mon's own reason", err)
	}
}
