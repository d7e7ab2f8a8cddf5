package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON document (fields in docs/status.md).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as tables for a person: the cluster, each VIP, each database
// cluster, then every problem with its reason and the verdict.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	host := r.Host
	if host == "" {
		host = "(not a host of the topology: local VIP check skipped)"
	}
	fmt.Fprintf(tw, "host\t%s\n", host)
	fmt.Fprintf(tw, "consul\t%s\n", r.ConsulAddress)

	pm := r.Pacemaker
	if pm.Error != "" {
		fmt.Fprintf(tw, "pacemaker\tUNREACHABLE\n")
	} else {
		quorum := "quorate"
		if !pm.Quorate {
			quorum = "NO QUORUM"
		}
		fmt.Fprintf(tw, "pacemaker\t%s, DC %s, failed actions: %d\n", quorum, orText(pm.DC, "NONE"), len(pm.Failed))
		nodes := make([]string, len(pm.Nodes))
		for i, n := range pm.Nodes {
			nodes[i] = n.Name + " " + n.State
		}
		fmt.Fprintf(tw, "nodes\t%s\n", strings.Join(nodes, ", "))
	}
	fmt.Fprintln(tw)

	here := "HERE"
	if r.Host != "" {
		here = "ON " + r.Host
	}
	fmt.Fprintf(tw, "GROUP\tVIP\tRESOURCE\tRUNNING ON\t%s\n", here)
	for _, g := range r.Groups {
		running := "?"
		if pm.Error == "" {
			running = orText(strings.Join(g.RunningOn, ", "), "NOWHERE")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Name, g.VIP, g.Resource, running, localText(g.Local))
	}
	fmt.Fprintln(tw)
	if movesText(tw, r) {
		fmt.Fprintln(tw)
	}

	fmt.Fprintf(tw, "CLUSTER\tVIP:PORT\tTCP\tLEADER (CONSUL)\tMEMBERS\tHAPROXY\n")
	for _, g := range r.Groups {
		for _, c := range g.Clusters {
			tcp := "ok"
			if !c.Reach.OK {
				tcp = "FAIL"
			}
			leader, members := "?", "?"
			if c.Consul.Error == "" {
				leader = orText(strings.Join(c.Consul.Leaders, ", "), "NONE")
				members = fmt.Sprintf("%d/%d healthy", c.Consul.Healthy, c.Consul.Replicas)
				if lag, ok := maxLag(c.Consul); ok {
					members += fmt.Sprintf(", lag ≤ %d B", lag)
				}
			}
			haproxy := "?"
			if c.HAProxy.Error == "" {
				haproxy = fmt.Sprintf("%d UP of %d", c.HAProxy.Up, len(c.HAProxy.Servers))
				for _, s := range c.HAProxy.Servers {
					if s.IsUp() {
						haproxy += " (" + strings.TrimSpace(s.Name+" "+s.Address) + ")"
						break
					}
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Address, tcp, leader, members, haproxy)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\nPROBLEMS (%d)\n", len(r.Problems))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range r.Problems {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Component, p.Subject, p.Code, p.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	verdict := "healthy"
	if !r.Healthy {
		verdict = fmt.Sprintf("DEGRADED (%d problems)", len(r.Problems))
	}
	_, err := fmt.Fprintf(w, "\nstatus: %s\n", verdict)
	return err
}

// movesText writes each VIP's last moves from this host's journal, if there are any, and
// reports whether it wrote anything.
func movesText(w io.Writer, r *Report) bool {
	if r.JournalError != "" {
		fmt.Fprintf(w, "last moves\t? (%s)\n", r.JournalError)
		return true
	}
	wrote := false
	for _, g := range r.Groups {
		for _, m := range g.LastMoves {
			if !wrote {
				fmt.Fprintf(w, "LAST MOVES\tWHEN\tFROM -> TO\tWHY\n")
				wrote = true
			}
			fmt.Fprintf(w, "%s\t%s\t%s -> %s\t%s\n", g.Name, m.Time.UTC().Format("2006-01-02 15:04:05Z07:00"), m.From, m.To, m.Why)
		}
	}
	return wrote
}

func localText(l *LocalVIP) string {
	switch {
	case l == nil:
		return "-"
	case l.Error != "":
		return "UNKNOWN (netlink)"
	case l.Present && !l.Usable:
		return "present, NOT USABLE"
	case l.Present:
		return "present"
	default:
		return "absent"
	}
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// maxLag is the largest replica lag the leader's Patroni reported, when it reported any.
func maxLag(c Consul) (int64, bool) {
	var most int64
	found := false
	for _, m := range c.Members {
		if m.LagBytes != nil {
			most, found = max(most, *m.LagBytes), true
		}
	}
	return most, found
}
