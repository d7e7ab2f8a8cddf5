package lab

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/topology"
)

// TestCheckChange: a membership change of the lab changes the named host alone.
func TestCheckChange(t *testing.T) {
	l, _ := testLab(t)
	dir := t.TempDir()
	three := []labHost{{"lab-1", "192.0.2.11", 1}, {"lab-2", "192.0.2.12", 2}, {"lab-3", "192.0.2.13", 3}}
	load := func(name string, hosts []labHost) *topology.Topology {
		tp, err := topology.Load(labTopology(t, filepath.Join(dir, name), hosts))
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	four := load("four.hcl", append(three[:3:3], labHost{"lab-4", "192.0.2.14", 4}))
	two := load("two.hcl", three[:2])
	fiveAt := load("five.hcl", append(three[:3:3], labHost{"lab-4", "192.0.2.14", 4}, labHost{"lab-5", "192.0.2.15", 5}))
	readdressed := load("readdressed.hcl", []labHost{{"lab-1", "192.0.2.21", 1}, three[1], three[2], {"lab-4", "192.0.2.14", 4}})
	for _, c := range []struct {
		name   string
		t      *topology.Topology
		host   string
		change hostChange
		bad    string // part of the refusal; "" accepted
	}{
		{"add lab-4", four, "lab-4", addMachine, ""},
		{"remove lab-3", two, "lab-3", removeMachine, ""},
		{"add a host of the lab", four, "lab-1", addMachine, "in the lab already"},
		{"add a host the topology lacks", two, "lab-4", addMachine, "has no host lab-4"},
		{"remove a host the topology still names", four, "lab-1", removeMachine, "still names host lab-1"},
		{"remove a host not in the lab", four, "lab-9", removeMachine, "unknown host"},
		{"two hosts at once", fiveAt, "lab-4", addMachine, "names host lab-5, which is not in the lab"},
		{"another host readdressed", readdressed, "lab-4", addMachine, "gives host lab-1 other addresses"},
		{"another host dropped", two, "lab-4", addMachine, "has no host lab-4"},
		{"another host moved", load("moved.hcl", []labHost{three[0], {"lab-3", "192.0.2.23", 3}}), "lab-2", removeMachine, "gives host lab-3 other addresses"},
	} {
		err := checkChange(l.state.Hosts, l.topo, c.t, c.host, c.change)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.bad)
		}
	}
}

// TestChangeHostsRefuses: a lab not made with --fresh, or a bad change, is refused before
// anything is run or written.
func TestChangeHostsRefuses(t *testing.T) {
	l, r := testLab(t)
	four := labTopology(t, filepath.Join(t.TempDir(), "four.hcl"),
		[]labHost{{"lab-1", "192.0.2.11", 1}, {"lab-2", "192.0.2.12", 2}, {"lab-3", "192.0.2.13", 3}, {"lab-4", "192.0.2.14", 4}})
	if err := l.AddHost(context.Background(), four, "lab-4"); !errors.Is(err, ErrNotFresh) {
		t.Errorf("AddHost on a lab not made with --fresh: %v, want ErrNotFresh", err)
	}
	l.state.Fresh = true
	if err := l.RemoveHost(context.Background(), four, "lab-3"); err == nil || !strings.Contains(err.Error(), "still names host lab-3") {
		t.Errorf("RemoveHost with a topology naming the host: %v", err)
	}
	if err := l.AddHost(context.Background(), filepath.Join(t.TempDir(), "missing.hcl"), "lab-4"); err == nil {
		t.Error("AddHost with a missing topology file: no error")
	}
	if len(r.cmds) > 0 || len(l.state.Hosts) != 3 {
		t.Errorf("refused changes ran %v, left hosts %v", r.cmds, l.state.Hosts)
	}
}
