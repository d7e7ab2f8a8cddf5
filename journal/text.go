package journal

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// timeFormat is how text output writes times: UTC, milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// History is what `vipctl events` reports: the journal's events and the moves derived from them.
type History struct {
	Journal string  `json:"journal"`
	Skipped int     `json:"skipped_lines"` // lines that did not parse (a write cut short by a crash)
	Events  []Event `json:"events"`
	Moves   []Move  `json:"moves"`
}

// WriteJSON writes h as one indented JSON document.
func WriteJSON(w io.Writer, h History) error {
	if h.Events == nil {
		h.Events = []Event{}
	}
	if h.Moves == nil {
		h.Moves = []Move{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(h)
}

// WriteText writes h for a person: one line per event, then the moves.
func WriteText(w io.Writer, h History) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TIME\tRECORDED BY\tEVENT\n")
	for _, e := range h.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Time.UTC().Format(timeFormat), e.RecordedBy, Describe(e))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nmoves (%d):\n", len(h.Moves))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range h.Moves {
		fmt.Fprintf(tw, "%s\t%s\t%s -> %s\t%s\n", m.Time.UTC().Format(timeFormat), m.Resource, m.From, m.To, m.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if h.Skipped > 0 {
		_, err := fmt.Fprintf(w, "\n%d lines of %s did not parse and were skipped\n", h.Skipped, h.Journal)
		return err
	}
	return nil
}

// Describe says what an event is in a few words.
func Describe(e Event) string {
	switch e.Kind {
	case KindNode:
		return fmt.Sprintf("node %s %s", e.Node, e.Desc)
	case KindFencing:
		return fmt.Sprintf("fencing %s of %s: %s", e.Task, e.Node, e.Desc)
	case KindPlacement:
		if e.Node == "" {
			return e.Resource + " runs nowhere"
		}
		return fmt.Sprintf("%s runs on %s", e.Resource, e.Node)
	case KindResource:
		s := fmt.Sprintf("%s %s on %s: %s", e.Resource, opName(e), e.Node, e.Desc)
		if e.ExecMS > 0 {
			s += " (" + (time.Duration(e.ExecMS) * time.Millisecond).String() + ")"
		}
		return s
	}
	return e.Kind
}
