package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/journal"
)

type eventsOptions struct {
	Since   time.Duration // --since: only events newer than this; 0 = all
	Journal string        // --journal

	json   bool
	stdout io.Writer
	now    func() time.Time
}

func newCmdEvents(g *globals) *cobra.Command {
	opts := &eventsOptions{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "The failover journal of this host: Pacemaker's resource and node events and the VIPs' moves",
		Long: "Reads the journal the alert agent writes on this host (" + journal.DefaultPath + ") and lists its " +
			"events oldest first, then the moves of each VIP derived from them: when, from, to and why. " +
			"Each host's journal holds what that host saw.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.json, opts.stdout, opts.now = g.jsonOutput(), g.Stdout, time.Now
			return eventsRun(cmd.Context(), opts)
		},
	}
	nonNegativeDurationVar(cmd.Flags(), &opts.Since, "since", 0, "only events of the last D (e.g. 1h); 0: all")
	cmd.Flags().StringVar(&opts.Journal, "journal", journal.DefaultPath, "the journal file")
	return cmd
}

// isVIPResource reports whether a resource id is a VIP primitive of vipctl's.
func isVIPResource(id string) bool { return strings.HasPrefix(id, cib.PrefixVIP) }

func eventsRun(_ context.Context, opts *eventsOptions) error {
	var since time.Time
	if opts.Since > 0 {
		since = opts.now().Add(-opts.Since)
	}
	j := journal.Journal{Path: opts.Journal}
	all, skipped, err := j.Read(time.Time{})
	if err != nil {
		return err
	}
	h := journal.History{Journal: opts.Journal, Skipped: skipped}
	// Moves are derived from the whole journal (the host a VIP ran on before --since counts),
	// then cut at --since like the events.
	for _, m := range journal.Moves(all, isVIPResource) {
		if !m.Time.Before(since) {
			h.Moves = append(h.Moves, m)
		}
	}
	for _, e := range journal.Sorted(all) {
		if !e.Time.Before(since) {
			h.Events = append(h.Events, e)
		}
	}
	if opts.json {
		return journal.WriteJSON(opts.stdout, h)
	}
	return journal.WriteText(opts.stdout, h)
}
