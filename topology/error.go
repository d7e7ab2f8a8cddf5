package topology

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/vipctl/vipctl/internal/printable"
)

// Error lists every problem found in one topology file, in file order.
// It matches ErrInvalid.
type Error struct {
	Diagnostics hcl.Diagnostics
}

func newError(diags hcl.Diagnostics) *Error {
	sorted := slices.Clone(diags)
	slices.SortStableFunc(sorted, func(a, b *hcl.Diagnostic) int {
		return cmp.Compare(offset(a), offset(b))
	})
	return &Error{Diagnostics: sorted}
}

func offset(d *hcl.Diagnostic) int {
	if d.Subject == nil {
		return -1
	}
	return d.Subject.Start.Byte
}

// Error prints one line per diagnostic: "file:line,col-line,col: summary; detail". Control
// characters, ANSI escapes and line breaks from the file's name or values are printed as Go
// escapes (\x1b), so each diagnostic stays one line and a terminal shows what the file holds.
func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Diagnostics))
	for _, d := range e.Diagnostics {
		line := d.Summary
		if d.Detail != "" {
			line += "; " + d.Detail
		}
		if d.Subject != nil {
			line = d.Subject.String() + ": " + line
		}
		lines = append(lines, printable.Line(line))
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes every *Error match ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// collector gathers diagnostics.
type collector struct {
	diags hcl.Diagnostics
}

func (c *collector) add(diags hcl.Diagnostics) { c.diags = append(c.diags, diags...) }

// errorf records an error at r; detail is formatted with args.
func (c *collector) errorf(r hcl.Range, summary, detail string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detail, args...),
		Subject:  r.Ptr(),
	})
}

// at names a position for a detail text, e.g. "vipctl.hcl:12,3".
func at(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}
