package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
)

// vipctlIn runs the vipctl binary inside a lab host with the lab's topology and returns its exit
// code, standard output and standard error.
func vipctlIn(t *testing.T, ctx context.Context, l *Lab, vipctl, host string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	argv := append([]string{vipctl, "-f", l.Topology().File}, args...)
	code, err := l.Exec(ctx, host, argv, nil, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: vipctl %s: exit %d\n%s%s", host, strings.Join(args, " "), code, errb.String(), out.String())
	return code, out.String(), errb.String()
}

// moveJSON is the part of vip move's and host drain's JSON the test reads.
type moveJSON struct {
	From     []string `json:"from"`
	To       string   `json:"to"`
	Answered string   `json:"answered"`
	Groups   []struct {
		To       string `json:"to"`
		Answered string `json:"answered"`
	} `json:"groups"`
	Constraint string `json:"constraint"`
}

// moveConstraintsIn returns the move constraints (cli-prefer-/cli-ban-) of the live CIB with
// whether each carries a lifetime rule (a date expression).
func moveConstraintsIn(t *testing.T, ctx context.Context, l *Lab, host string) map[string]bool {
	t.Helper()
	h, err := l.Host(host)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Command(ctx, "cibadmin", "--query", "--scope", "constraints").Output()
	if err != nil {
		t.Fatalf("cibadmin: %v", err)
	}
	var doc struct {
		Locations []struct {
			ID    string `xml:"id,attr"`
			Dates []struct {
				Operation string `xml:"operation,attr"`
			} `xml:"rule>date_expression"`
		} `xml:"rsc_location"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("constraints: %v\n%s", err, out)
	}
	m := map[string]bool{}
	for _, c := range doc.Locations {
		if strings.HasPrefix(c.ID, "cli-") {
			m[c.ID] = len(c.Dates) > 0
		}
	}
	return m
}

// score returns the allocation score of rsc on host that the scheduler computes now
// (crm_simulate --live-check --show-scores), or "" when it prints none.
func score(t *testing.T, ctx context.Context, l *Lab, host, rsc, on string) string {
	t.Helper()
	h, err := l.Host(host)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Command(ctx, "crm_simulate", "--live-check", "--show-scores").Output()
	if err != nil {
		t.Fatalf("crm_simulate: %v", err)
	}
	re := regexp.MustCompile(`(?m)^\S+: ` + regexp.QuoteMeta(rsc) + ` allocation score on ` + regexp.QuoteMeta(on) + `: (\S+)$`)
	if m := re.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	t.Fatalf("crm_simulate shows no allocation score of %s on %s:\n%s", rsc, on, out)
	return ""
}

func TestMoveAndDrainInLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, vipctl := upLab(t, ctx, false)
	g := l.Topology().Groups[0]
	d := &drill{t: t, l: l, group: g, vip: g.VIP.Prefix.Addr()}
	rsc := "vip-" + g.Name
	other := func(not ...string) string {
		for _, h := range g.Hosts {
			if !slices.Contains(not, h) {
				return h
			}
		}
		t.Fatalf("no host of %v outside %v", g.Hosts, not)
		return ""
	}

	t.Run("move to a host, with a lifetime", func(t *testing.T) {
		d.t = t
		from := d.holder(ctx)
		to := other(from)
		code, out, errOut := vipctlIn(t, ctx, l, vipctl, from, "vip", "move", g.Name, "--to", to, "--lifetime", "10m", "-o", "json")
		if code != 0 {
			t.Fatalf("vip move: exit %d", code)
		}
		var res moveJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("vip move -o json: %v\n%s", err, out)
		}
		if res.To != to || res.Answered != "arp" || !slices.Equal(res.From, []string{from}) {
			t.Errorf("vip move said %+v, want from [%s] to %s answered by arp", res, from, to)
		}
		if !strings.Contains(errOut, "answers on "+to) {
			t.Errorf("no progress line saying the VIP answers on %s:\n%s", to, errOut)
		}
		if got := d.holder(ctx); got != to {
			t.Errorf("after the move %s holds the VIP, want %s", got, to)
		}
		if got := d.connect(ctx, vipctl); got != to {
			t.Errorf("a client reached %q, want %s", got, to)
		}
		if c := moveConstraintsIn(t, ctx, l, to); !c["cli-prefer-"+rsc] {
			t.Errorf("move constraints %v: want cli-prefer-%s with a lifetime rule", c, rsc)
		}
		if s := score(t, ctx, l, to, rsc, to); s != "INFINITY" {
			t.Errorf("score of %s on %s while moved: %s, want INFINITY", rsc, to, s)
		}
	})

	t.Run("move to where it runs replaces the earlier constraint", func(t *testing.T) {
		d.t = t
		holder := d.holder(ctx) // moved here with --lifetime 10m by the subtest before
		for _, c := range []struct {
			args     []string
			lifetime bool
		}{
			{nil, false},                         // the 10m constraint gives way to one without lifetime
			{[]string{"--lifetime", "5m"}, true}, // and that one to a fresh 5m one
		} {
			args := append([]string{"vip", "move", g.Name, "--to", holder, "-o", "json"}, c.args...)
			code, out, _ := vipctlIn(t, ctx, l, vipctl, holder, args...)
			if code != 0 {
				t.Fatalf("vip move %v: exit %d", c.args, code)
			}
			var res struct {
				moveJSON
				Already bool `json:"already_there"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("vip move -o json: %v\n%s", err, out)
			}
			if !res.Already || res.To != holder || res.Constraint != "cli-prefer-"+rsc {
				t.Errorf("vip move %v said %+v, want already there on %s with cli-prefer-%s", c.args, res, holder, rsc)
			}
			want := map[string]bool{"cli-prefer-" + rsc: c.lifetime}
			if got := moveConstraintsIn(t, ctx, l, holder); !maps.Equal(got, want) {
				t.Errorf("vip move %v: move constraints %v, want %v (name: has a lifetime rule)", c.args, got, want)
			}
			if got := d.holder(ctx); got != holder {
				t.Errorf("vip move %v: the VIP is on %s, want it still on %s", c.args, got, holder)
			}
		}
	})

	t.Run("unmove keeps the VIP where it is", func(t *testing.T) {
		d.t = t
		holder := d.holder(ctx)
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, holder, "vip", "unmove", g.Name); code != 0 {
			t.Fatalf("vip unmove: exit %d", code)
		}
		if c := moveConstraintsIn(t, ctx, l, holder); len(c) != 0 {
			t.Errorf("constraints left after unmove: %v", c)
		}
		d.settle(ctx)
		if got := d.holder(ctx); got != holder {
			t.Errorf("after unmove the VIP moved to %s; want it to stay on %s", got, holder)
		}
	})

	t.Run("a lifetime ends in Pacemaker", func(t *testing.T) {
		d.t = t
		holder := d.holder(ctx)
		to := other(holder)
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, holder, "vip", "move", g.Name, "--to", to, "--lifetime", "5s"); code != 0 {
			t.Fatalf("vip move: exit %d", code)
		}
		// Once the lifetime is over the constraint no longer counts: only stickiness (100).
		err := wait.Until(ctx, time.Second, func() (bool, error) {
			return score(t, ctx, l, to, rsc, to) != "INFINITY", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := score(t, ctx, l, to, rsc, to); s != "100" {
			t.Errorf("score of %s on %s after its lifetime: %s, want the stickiness 100", rsc, to, s)
		}
		vipctlIn(t, ctx, l, vipctl, to, "vip", "unmove", g.Name)
	})

	t.Run("move away from the holder", func(t *testing.T) {
		d.t = t
		from := d.holder(ctx)
		code, out, _ := vipctlIn(t, ctx, l, vipctl, from, "vip", "move", g.Name)
		if code != 0 {
			t.Fatalf("vip move: exit %d", code)
		}
		got := d.holder(ctx)
		if got == from || !strings.Contains(out, "-> "+got) {
			t.Errorf("moved away from %s: now on %s; said %q", from, got, out)
		}
		vipctlIn(t, ctx, l, vipctl, got, "vip", "unmove", g.Name)
	})

	t.Run("drain and undrain", func(t *testing.T) {
		d.t = t
		from := d.holder(ctx)
		code, out, _ := vipctlIn(t, ctx, l, vipctl, from, "host", "drain", from, "-o", "json")
		if code != 0 {
			t.Fatalf("host drain: exit %d", code)
		}
		var res moveJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("host drain -o json: %v\n%s", err, out)
		}
		now := d.holder(ctx)
		if now == from || len(res.Groups) != 1 || res.Groups[0].To != now || res.Groups[0].Answered != "arp" {
			t.Errorf("drained %s: the VIP is on %s; drain said %+v", from, now, res)
		}
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, from, "host", "undrain", from); code != 0 {
			t.Fatalf("host undrain: exit %d", code)
		}
		d.settle(ctx)
		if got := d.holder(ctx); got != now {
			t.Errorf("after undrain the VIP moved back to %s; want it to stay on %s", got, now)
		}
	})

	t.Run("drain of the last host is refused, unless forced", func(t *testing.T) {
		d.t = t
		holder := d.holder(ctx)
		var drained []string
		for _, h := range g.Hosts {
			if h != holder {
				if code, _, _ := vipctlIn(t, ctx, l, vipctl, h, "host", "drain", h); code != 0 {
					t.Fatalf("host drain %s: exit %d", h, code)
				}
				drained = append(drained, h)
			}
		}
		code, _, errOut := vipctlIn(t, ctx, l, vipctl, holder, "host", "drain", holder)
		if code != 1 || !strings.Contains(errOut, "group "+g.Name) {
			t.Errorf("drain of the last host %s: exit %d, stderr %q; want exit 1 naming group %s", holder, code, errOut, g.Name)
		}
		if got := d.holder(ctx); got != holder {
			t.Errorf("after the refused drain the VIP is on %s, want %s", got, holder)
		}
		// --force drains it anyway: the VIP stops.
		if code, _, _ := vipctlIn(t, ctx, l, vipctl, holder, "host", "drain", holder, "--force"); code != 0 {
			t.Fatalf("host drain --force %s: exit %d", holder, code)
		}
		d.waitHolders(ctx, func(h []string) bool { return len(h) == 0 }, "the VIP to stop after a forced drain")
		drained = append(drained, holder)
		for _, h := range drained {
			if code, _, _ := vipctlIn(t, ctx, l, vipctl, h, "host", "undrain", h); code != 0 {
				t.Errorf("host undrain %s: exit %d", h, code)
			}
		}
		d.settle(ctx)
	})
}
