package bootstrap

import (
	"fmt"
	"io"
)

// statusText is how each status reads in the text output.
var statusText = map[Status]string{
	StatusOK:          "ok",
	StatusChanged:     "changed",
	StatusWouldChange: "would change",
	StatusFailed:      "FAILED",
	StatusNotRun:      "not run",
}

// WriteStep writes one step for a person: status, step, and what changed (else what the step
// ensures).
func WriteStep(w io.Writer, r Result) error {
	detail := r.Detail
	if detail == "" {
		detail = r.What
	}
	_, err := fmt.Fprintf(w, "%-12s  %-22s  %s\n", statusText[r.Status], r.Step, detail)
	return err
}

// WriteSummary writes the last line of a run for a person; failed says the run returned an
// error.
func WriteSummary(w io.Writer, r *Report, failed bool) error {
	var s string
	switch {
	case failed:
		s = fmt.Sprintf("%s: failed at step %s; the steps after it were not run", r.Host, r.Failed)
	case r.DryRun:
		n := 0
		for _, st := range r.Steps {
			if st.Status == StatusWouldChange {
				n++
			}
		}
		s = fmt.Sprintf("%s: dry run: %d of %d steps would change something; nothing was changed", r.Host, n, len(r.Steps))
	default:
		s = fmt.Sprintf("%s is a working member of cluster %s", r.Host, r.Cluster)
	}
	_, err := fmt.Fprintln(w, s)
	return err
}
