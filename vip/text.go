package vip

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// NICReport is what `vipctl check nic` reports: the check of one host for its group's VIP.
type NICReport struct {
	Host  string `json:"host"`
	Group string `json:"group"`
	Ready bool   `json:"ready"`
	NICCheck
}

// WriteNICText writes a NIC report as a two-column table for a person, then its problems
// and notes.
func WriteNICText(w io.Writer, r NICReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	subnet := "none"
	if r.SubnetAddr.IsValid() {
		subnet = r.SubnetAddr.String()
	}
	link := "down"
	if r.LinkUp {
		link = "up"
	}
	rows := [][2]string{
		{"host", r.Host + " (group " + r.Group + ")"},
		{"vip", r.VIP.String()},
		{"interface", or(r.NIC, "none") + " (" + r.NICSource + ")"},
		{"link", link},
		{"mtu", fmt.Sprint(r.MTU)},
		{"mac", or(r.MAC, "-")},
		{"address in subnet", subnet},
		{"vip on this host", or(strings.Join(r.PresentOn, ", "), "no")},
		{"other host answers", or(r.AnsweredBy, "no")},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	ready := "yes"
	if !r.Ready {
		ready = "NO"
	}
	fmt.Fprintf(tw, "ready\t%s\n", ready)
	for _, p := range r.Problems {
		fmt.Fprintf(tw, "problem\t%s\n", p)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	return tw.Flush()
}
