package cib

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// CountChanges says how many changes of each kind there are: "3 changes (2 added, 1 changed)".
func CountChanges(cs []Change) string {
	n := map[Op]int{}
	for _, c := range cs {
		n[c.Op]++
	}
	s := fmt.Sprintf("%d change", len(cs))
	if len(cs) != 1 {
		s += "s"
	}
	sep := " ("
	for _, op := range []Op{OpAdd, OpChange, OpRemove} {
		if n[op] > 0 {
			s += fmt.Sprintf("%s%d %s", sep, n[op], op)
			sep = ", "
		}
	}
	if sep != " (" {
		s += ")"
	}
	return s
}

// WriteSimulation writes a simulation for a person: one line per VIP with every host up, then
// one per VIP after the failed hosts failed.
func WriteSimulation(w io.Writer, sim *Simulation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "All %s up (quorum):\n", nHosts(len(sim.Hosts)))
	for _, p := range sim.Up {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Resource, p.VIP, describePlacement(p, ""))
	}
	if len(sim.Failed) > 0 {
		left := len(sim.Hosts) - len(sim.Failed)
		q := "quorum kept"
		if !sim.Quorate {
			q = "quorum LOST"
		}
		fmt.Fprintf(tw, "After %s failed (%d of %s left, %s):\n", strings.Join(sim.Failed, ", "), left, nHosts(len(sim.Hosts)), q)
		for i, p := range sim.After {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Resource, p.VIP, describePlacement(p, sim.Up[i].Node))
		}
	}
	return tw.Flush()
}

func describePlacement(p Placement, before string) string {
	switch p.State {
	case StateStarted:
		if before != "" && before != p.Node {
			return fmt.Sprintf("started on %s (moved from %s)", p.Node, before)
		}
		return "started on " + p.Node
	case StateStranded:
		return fmt.Sprintf("STRANDED on failed %s (survivors cannot fence or recover it)", p.Node)
	default:
		return "STOPPED"
	}
}

func nHosts(n int) string {
	if n == 1 {
		return "1 host"
	}
	return fmt.Sprintf("%d hosts", n)
}
