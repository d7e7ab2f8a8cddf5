package lab

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes a lab report for a person: one line per host (address, processes, link,
// a dead corosync or pacemakerd, the cluster as that host sees it), the partition if any, and who holds each VIP.
func WriteText(w io.Writer, r Report) error {
	fmt.Fprintf(w, "%-12s %-18s %-9s %-5s %s\n", "HOST", "ADDRESS", "PROCS", "LINK", "CLUSTER (as this host sees it)")
	for _, h := range r.Hosts {
		procs := fmt.Sprint(h.Processes)
		if h.PowerOff {
			procs = "off"
		}
		link := "down"
		if h.LinkUp {
			link = "up"
		}
		view := h.Error
		if h.PowerOff {
			view = "powered off"
		}
		if h.Cluster != nil {
			q := "no quorum"
			if h.Cluster.Quorate {
				q = "quorate"
			}
			view = fmt.Sprintf("%s, DC %s, online %s", q, orNone(h.Cluster.DC), strings.Join(h.Cluster.Online, ","))
		}
		if len(h.Dead) > 0 {
			view = strings.Join(h.Dead, " and ") + " dead (lab heal starts it); " + view
		}
		fmt.Fprintf(w, "%-12s %-18s %-9s %-5s %s\n", h.Name, h.Address, procs, link, view)
	}
	fmt.Fprintln(w)
	if len(r.Partition) > 0 {
		var sets []string
		for _, set := range r.Partition {
			sets = append(sets, strings.Join(set, ","))
		}
		fmt.Fprintf(w, "partitioned: %s\n", strings.Join(sets, " | "))
	}
	for _, v := range r.VIPs {
		_, err := fmt.Fprintf(w, "VIP %s (group %s): held by %s; Pacemaker says %s\n",
			v.VIP, v.Group, orNone(strings.Join(v.Holders, ", ")), orNone(strings.Join(v.Pacemaker, ", ")))
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteFailText writes what `lab fail` did to host for a person: how it failed and, when the
// failovers were measured, each VIP's move and the outage its client saw.
func WriteFailText(w io.Writer, host string, linkOnly, measured bool, fs []Failover) error {
	how := "powered off"
	if linkOnly {
		how = "link down"
	}
	fmt.Fprintf(w, "%s: %s\n", host, how)
	for _, f := range fs {
		fmt.Fprintf(w, "VIP %s (group %s) moved %s -> %s: the client's outage was %.2f s\n",
			f.Address, f.Group, f.From, f.To, f.Outage.Seconds())
	}
	if len(fs) == 0 && measured {
		_, err := fmt.Fprintf(w, "%s held no VIP\n", host)
		return err
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
