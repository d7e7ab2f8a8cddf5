package move

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/topology"
)

const topo = `
corosync { cluster_name = "t" }
pacemaker { stonith_enabled = false }
host "a" { address = "192.0.2.11" }
host "b" { address = "192.0.2.12" }
host "c" { address = "192.0.2.13" }
host_group "g" {
  hosts = ["a", "b", "c"]
  vip { address = "192.0.2.100/24" }
}
`

// fakeCluster answers crm_mon from its state and changes the state as Pacemaker would for the
// crm_resource and crm_attribute calls move makes: a VIP moves to the first eligible host that
// is preferred, else stays where it runs while allowed (stickiness), else the first allowed.
type fakeCluster struct {
	hosts   []string
	standby map[string]bool
	offline map[string]bool
	holder  string
	prefer  string
	life    string // the --lifetime of the prefer constraint ("" none)
	bans    map[string]bool
	calls   []string
	lag     int // crm_mon answers that still show the old state after a change
	pending int
}

func newFake(holder string) *fakeCluster {
	return &fakeCluster{hosts: []string{"a", "b", "c"}, standby: map[string]bool{}, offline: map[string]bool{}, bans: map[string]bool{}, holder: holder}
}

func (f *fakeCluster) allowed(h string) bool { return !f.standby[h] && !f.offline[h] && !f.bans[h] }

func (f *fakeCluster) place() {
	switch {
	case f.prefer != "" && f.allowed(f.prefer):
		f.holder = f.prefer
	case f.holder != "" && f.allowed(f.holder):
	default:
		f.holder = ""
		for _, h := range f.hosts {
			if f.allowed(h) {
				f.holder = h
				break
			}
		}
	}
}

func (f *fakeCluster) Run(_ context.Context, c pcmk.Cmd) ([]byte, error) {
	name, args := c.Name, c.Args
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	arg := func(flag string) string {
		if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	switch name {
	case "crm_mon":
		if f.pending > 0 {
			f.pending--
			if f.pending == 0 {
				f.place()
			}
		}
		return f.xml(), nil
	case "cibadmin":
		var b strings.Builder
		b.WriteString("<constraints>")
		if f.prefer != "" {
			b.WriteString(`<rsc_location id="cli-prefer-vip-g" rsc="vip-g" node="` + f.prefer + `" score="INFINITY"/>`)
		}
		for _, h := range slices.Sorted(mapKeys(f.bans)) {
			b.WriteString(`<rsc_location id="cli-ban-vip-g-on-` + h + `" rsc="vip-g" node="` + h + `" score="-INFINITY"/>`)
		}
		b.WriteString(`<rsc_location id="vipctl-location-vip-g" rsc="vip-g"/></constraints>`)
		return []byte(b.String()), nil
	case "crm_resource":
		switch {
		case slices.Contains(args, "--clear"):
			f.prefer, f.life, f.bans = "", "", map[string]bool{}
		case slices.Contains(args, "--move"):
			// As crm_resource: a move to where the resource already runs alone is refused
			// unless --force (exit 108 in the lab).
			if arg("--node") == f.holder && !slices.Contains(args, "--force") {
				return nil, fmt.Errorf("%w: crm_resource: exit status 108: Error performing operation: Requested item already exists", ErrTool)
			}
			f.prefer, f.life = arg("--node"), arg("--lifetime")
		case slices.Contains(args, "--ban"):
			f.bans[arg("--node")] = true
		}
	case "crm_attribute":
		f.standby[arg("--node")] = arg("--update") == "on"
	default:
		return nil, fmt.Errorf("%w: unexpected %s", ErrTool, name)
	}
	f.pending = f.lag + 1
	return nil, nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k, v := range m {
			if v && !yield(k) {
				return
			}
		}
	}
}

func (f *fakeCluster) xml() []byte {
	var b strings.Builder
	b.WriteString(`<pacemaker-result api-version="2.25" request="crm_mon"><summary><current_dc present="true" name="a" with_quorum="true"/></summary><nodes>`)
	for _, h := range f.hosts {
		fmt.Fprintf(&b, `<node name="%s" online="%v" standby="%v" maintenance="false" pending="false" unclean="false"/>`, h, !f.offline[h], f.standby[h])
	}
	b.WriteString(`</nodes><resources>`)
	if f.holder != "" {
		fmt.Fprintf(&b, `<resource id="vip-g" resource_agent="ocf:vipctl:vip" role="Started" active="true" failed="false"><node name="%s"/></resource>`, f.holder)
	} else {
		b.WriteString(`<resource id="vip-g" resource_agent="ocf:vipctl:vip" role="Stopped" active="false" failed="false"/>`)
	}
	b.WriteString(`</resources><status code="0" message="OK"/></pacemaker-result>`)
	return []byte(b.String())
}

// answersWhere answers for the fake's holder only.
func (f *fakeCluster) answers(_ context.Context, _ netip.Addr, h topology.Host) (string, error) {
	if h.Name == f.holder {
		return "arp", nil
	}
	return "", nil
}

func loadTopo(t *testing.T) *topology.Topology {
	t.Helper()
	tp, err := topology.Parse([]byte(topo), "t.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func (f *fakeCluster) opts() Options {
	return Options{Run: f, Answers: f.answers, Poll: time.Millisecond, Timeout: 5 * time.Second}
}

func TestMoveTo(t *testing.T) {
	f := newFake("a")
	f.lag = 3
	var progress []string
	o := f.opts()
	o.Progress = func(s string) { progress = append(progress, s) }
	res, err := Move(context.Background(), loadTopo(t), "g", "b", 90*time.Second+time.Millisecond, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.From[0] != "a" || res.To != "b" || res.Answered != "arp" || res.Constraint != "cli-prefer-vip-g" || res.Expires == nil {
		t.Errorf("result %+v", res)
	}
	want := []string{
		"crm_mon --output-as=xml --one-shot --inactive",
		"crm_resource --resource vip-g --clear",
		"crm_resource --resource vip-g --move --node b --lifetime PT91S",
	}
	if diff := cmp.Diff(want, f.calls[:3]); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(progress) < 3 || !strings.Contains(progress[len(progress)-1], "answers on b") {
		t.Errorf("progress: %q", progress)
	}
}

func TestMoveAwayBansTheHolder(t *testing.T) {
	f := newFake("b")
	res, err := Move(context.Background(), loadTopo(t), "g", "", 0, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.To == "b" || res.To == "" || res.Constraint != "cli-ban-vip-g-on-b" || res.Expires != nil {
		t.Errorf("result %+v", res)
	}
	if !slices.Contains(f.calls, "crm_resource --resource vip-g --ban --node b") {
		t.Errorf("calls %q", f.calls)
	}
}

// A move to where the VIP already runs still replaces an earlier move's constraint with one of
// the asked lifetime: the command promises "on HOST, with this constraint", whatever was before.
func TestMoveAlreadyThere(t *testing.T) {
	for _, c := range []struct {
		name     string
		lifetime time.Duration
		wantLife string
	}{
		{"without lifetime", 0, ""},
		{"with lifetime", 30 * time.Minute, "PT1800S"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake("c")
			f.prefer, f.life = "c", "PT600S" // an earlier vip move --to c --lifetime 10m
			res, err := Move(context.Background(), loadTopo(t), "g", "c", c.lifetime, f.opts())
			if err != nil {
				t.Fatal(err)
			}
			if !res.Already || res.To != "c" || res.Answered != "arp" || res.Constraint != "cli-prefer-vip-g" || (res.Expires != nil) != (c.lifetime > 0) {
				t.Errorf("result %+v", res)
			}
			move := "crm_resource --resource vip-g --move --node c --force"
			if c.wantLife != "" {
				move += " --lifetime " + c.wantLife
			}
			want := []string{
				"crm_mon --output-as=xml --one-shot --inactive",
				"crm_resource --resource vip-g --clear",
				move,
			}
			if diff := cmp.Diff(want, f.calls[:min(3, len(f.calls))]); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if f.prefer != "c" || f.life != c.wantLife || f.holder != "c" {
				t.Errorf("after the move: on %s, constraint prefers %q with lifetime %q; want c, c, %q", f.holder, f.prefer, f.life, c.wantLife)
			}
		})
	}
}

func TestMoveBadInput(t *testing.T) {
	tp := loadTopo(t)
	for _, c := range []struct{ group, to string }{{"nope", ""}, {"g", "nope"}} {
		f := newFake("a")
		_, err := Move(context.Background(), tp, c.group, c.to, 0, f.opts())
		if !errors.Is(err, ErrUsage) {
			t.Errorf("move %q --to %q: err = %v, want ErrUsage", c.group, c.to, err)
		}
		if len(f.calls) != 0 {
			t.Errorf("bad input ran %q", f.calls)
		}
	}
}

func TestMoveToStandbyHostFails(t *testing.T) {
	f := newFake("a")
	f.standby["b"] = true
	_, err := Move(context.Background(), loadTopo(t), "g", "b", 0, f.opts())
	if err == nil || errors.Is(err, ErrUsage) || len(f.calls) != 1 {
		t.Fatalf("err %v, calls %q", err, f.calls)
	}
}

func TestMoveTimesOut(t *testing.T) {
	f := newFake("a")
	o := f.opts()
	o.Timeout = 50 * time.Millisecond
	o.Answers = func(context.Context, netip.Addr, topology.Host) (string, error) { return "", nil } // never answers
	_, err := Move(context.Background(), loadTopo(t), "g", "b", 0, o)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
}

func TestDrainAndUndrain(t *testing.T) {
	f := newFake("a")
	tp := loadTopo(t)
	res, err := Drain(context.Background(), tp, "a", false, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	want := DrainResult{Host: "a", Standby: true, Groups: []Moved{{Group: "g", VIP: netip.MustParseAddr("192.0.2.100"), From: []string{"a"}, To: "b", Answered: "arp"}}}
	res.Groups[0].Elapsed = 0
	if diff := cmp.Diff(want, res, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("drain (-want +got):\n%s", diff)
	}
	res, err = Undrain(context.Background(), tp, "a", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Standby || f.standby["a"] || res.Groups[0].To != "b" {
		t.Errorf("undrain %+v", res)
	}
}

// TestDrainUnknownHost: drain and undrain of a name the topology lacks are usage errors that
// name the topology's hosts, wrap topology.ErrUnknownHost and run nothing.
func TestDrainUnknownHost(t *testing.T) {
	tp := loadTopo(t)
	for name, run := range map[string]func(f *fakeCluster) error{
		"drain": func(f *fakeCluster) error {
			_, err := Drain(context.Background(), tp, "nope", false, f.opts())
			return err
		},
		"undrain": func(f *fakeCluster) error { _, err := Undrain(context.Background(), tp, "nope", f.opts()); return err },
	} {
		f := newFake("a")
		err := run(f)
		if !errors.Is(err, ErrUsage) || !errors.Is(err, topology.ErrUnknownHost) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("%s nope: err = %v, want ErrUsage and topology.ErrUnknownHost naming it", name, err)
		}
		if len(f.calls) != 0 {
			t.Errorf("%s of an unknown host ran %q", name, f.calls)
		}
	}
}

func TestDrainOfTheLastHostIsRefused(t *testing.T) {
	f := newFake("c")
	f.standby["a"], f.offline["b"] = true, true
	tp := loadTopo(t)
	_, err := Drain(context.Background(), tp, "c", false, f.opts())
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) || !slices.Equal(re.Groups, []string{"g"}) {
		t.Fatalf("err = %v, want a refusal naming g", err)
	}
	if slices.ContainsFunc(f.calls, func(c string) bool { return strings.HasPrefix(c, "crm_attribute") }) {
		t.Errorf("a refused drain changed the cluster: %q", f.calls)
	}
	res, err := Drain(context.Background(), tp, "c", true, f.opts())
	if err != nil || !res.Forced || res.Groups[0].To != "" || f.holder != "" {
		t.Fatalf("forced drain: %+v, %v (holder %q)", res, err, f.holder)
	}
}

func TestUnmoveListsWhatItCleared(t *testing.T) {
	f := newFake("a")
	f.prefer, f.bans["c"] = "a", true
	res, err := Unmove(context.Background(), loadTopo(t), "g", f.opts())
	if err != nil {
		t.Fatal(err)
	}
	want := UnmoveResult{Group: "g", Cleared: []string{"cli-prefer-vip-g", "cli-ban-vip-g-on-c"}, RunsOn: []string{"a"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "PT1S", 90 * time.Minute: "PT5400S", 1500 * time.Millisecond: "PT2S"} {
		if got := ISODuration(d); got != want {
			t.Errorf("ISODuration(%v) = %s, want %s", d, got, want)
		}
	}
}
