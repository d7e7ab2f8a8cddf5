package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/move"
	"github.com/vipctl/vipctl/topology"
)

// Flags land in the options; the run function is not called for real.
func TestVipMoveFlags(t *testing.T) {
	var got *vipMoveOptions
	cmd := newCmdVipMove(&globals{Output: "json"}, func(_ context.Context, o *vipMoveOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"db-a", "--to", "pg-02", "--lifetime", "30m", "--timeout", "10s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Group != "db-a" || got.To != "pg-02" || got.Lifetime != 30*time.Minute || got.Timeout != 10*time.Second || !got.json {
		t.Errorf("options %+v", got)
	}
}

func TestHostDrainFlags(t *testing.T) {
	var got *hostDrainOptions
	cmd := newCmdHostDrain(&globals{}, func(_ context.Context, o *hostDrainOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"pg-01", "--force"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Host != "pg-01" || !got.Force || got.Timeout != move.DefaultTimeout {
		t.Errorf("options %+v", got)
	}
}

// Unknown groups and hosts, hosts of another group and bad durations are usage errors (exit 2),
// found before any Pacemaker tool runs (none is needed to get exit 2 here).
func TestMoveDrainUsageExit2(t *testing.T) {
	for _, args := range [][]string{
		{"vip", "move", "nosuch"},
		{"vip", "move", "db-a", "--to", "nosuch"},
		{"vip", "move", "db-a", "--lifetime", "-1s"},
		{"vip", "move", "db-a", "--timeout", "0s"},
		{"vip", "move"},
		{"vip", "unmove", "nosuch"},
		{"host", "drain", "nosuch"},
		{"host", "undrain", "nosuch"},
		{"host", "drain", "pg-01", "pg-02"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runVipctl(t, append(args, "-f", cibExampleFile)...)
			if code != exitUsage || stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing\nstderr: %s", code, stdout, stderr)
			}
		})
	}
}

// stubPacemaker is a one-VIP cluster: crm_resource --move puts the VIP on the named node,
// crm_attribute standby=on moves it off that node to the next one.
type stubPacemaker struct {
	holder  string
	standby map[string]bool
}

func (s *stubPacemaker) Run(_ context.Context, c pcmk.Cmd) ([]byte, error) {
	name, args := c.Name, c.Args
	arg := func(flag string) string { return args[slices.Index(args, flag)+1] }
	switch {
	case name == "crm_resource" && slices.Contains(args, "--move"):
		s.holder = arg("--node")
	case name == "crm_attribute":
		s.standby[arg("--node")] = arg("--update") == "on"
		if s.standby[s.holder] {
			s.holder = map[string]string{"pg-01": "pg-02", "pg-02": "pg-03", "pg-03": "pg-01"}[s.holder]
		}
	case name == "crm_mon":
		var b strings.Builder
		b.WriteString(`<pacemaker-result><nodes>`)
		for _, n := range []string{"pg-01", "pg-02", "pg-03"} {
			fmt.Fprintf(&b, `<node name="%s" online="true" standby="%v"/>`, n, s.standby[n])
		}
		fmt.Fprintf(&b, `</nodes><resources><resource id="vip-db-a" active="true" role="Started"><node name="%s"/></resource></resources><status code="0"/></pacemaker-result>`, s.holder)
		return []byte(b.String()), nil
	}
	return nil, nil
}

func (s *stubPacemaker) options() move.Options {
	return move.Options{Run: s, Poll: time.Millisecond, Answers: func(_ context.Context, _ netip.Addr, h topology.Host) (string, error) {
		if h.Name == s.holder {
			return "arp", nil
		}
		return "", nil
	}}
}

func exampleTopology(t *testing.T) func() (*topology.Topology, error) {
	t.Helper()
	return func() (*topology.Topology, error) { return topology.Load(cibExampleFile) }
}

func TestVipMoveText(t *testing.T) {
	s := &stubPacemaker{holder: "pg-01", standby: map[string]bool{}}
	var stdout, stderr bytes.Buffer
	opts := &vipMoveOptions{Group: "db-a", To: "pg-03", placement: placement{Timeout: time.Second, stdout: &stdout, stderr: &stderr, load: exampleTopology(t), move: s.options()}}
	if err := vipMoveRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(stdout.String(), " in ")
	if first != "group db-a: VIP 10.20.0.100 moved pg-01 -> pg-03" {
		t.Errorf("stdout %q", stdout.String())
	}
	if !strings.Contains(stdout.String(), "stays until `vipctl vip unmove db-a`") {
		t.Errorf("stdout does not say how long the constraint stays: %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "vip-db-a: answers on pg-03") {
		t.Errorf("progress %q", stderr.String())
	}
}

// A move to where the VIP runs says it stays there and what constraint it now has.
func TestVipMoveAlreadyThereText(t *testing.T) {
	s := &stubPacemaker{holder: "pg-01", standby: map[string]bool{}}
	var stdout, stderr bytes.Buffer
	opts := &vipMoveOptions{Group: "db-a", To: "pg-01", Lifetime: 10 * time.Minute, placement: placement{Timeout: time.Second, stdout: &stdout, stderr: &stderr, load: exampleTopology(t), move: s.options()}}
	if err := vipMoveRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(stdout.String(), "\n")
	if first != "group db-a: VIP 10.20.0.100 already runs on pg-01: stays there (answers: arp)" ||
		!strings.HasPrefix(rest, "constraint cli-prefer-vip-db-a: Pacemaker removes it at ") {
		t.Errorf("stdout %q", stdout.String())
	}
}

func TestHostDrainJSON(t *testing.T) {
	s := &stubPacemaker{holder: "pg-01", standby: map[string]bool{}}
	var stdout, stderr bytes.Buffer
	opts := &hostDrainOptions{Host: "pg-01", placement: placement{Timeout: time.Second, json: true, stdout: &stdout, stderr: &stderr, load: exampleTopology(t), move: s.options()}}
	if err := hostDrainRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	group := got["groups"].([]any)[0].(map[string]any)
	delete(group, "elapsed_ms")
	want := map[string]any{"host": "pg-01", "standby": true, "groups": []any{map[string]any{
		"group": "db-a", "vip": "10.20.0.100", "from": []any{"pg-01"}, "to": "pg-02", "answered": "arp"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drain JSON (-want +got):\n%s", diff)
	}
}
