package topology

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vipctl/vipctl/internal/badtopo"
)

// FuzzParse: Parse never panics; an error is always an *Error matching ErrInvalid whose
// diagnostics have a position; whatever loads, formatted and loaded again, is the same.
// The seed corpus (testdata/fuzz/FuzzParse) holds the example, the bad files of the time,
// generated topologies and nesting within the depth limit and past it; every bad case of
// badtopo is added as a seed too.
func FuzzParse(f *testing.F) {
	for _, c := range badtopo.Cases() {
		src, err := c.Source()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	// Size seeds, too big to commit: at the limit, one byte past it.
	f.Add(bytes.Repeat([]byte("#\n"), MaxFileSize/2))
	f.Add(append(bytes.Repeat([]byte("#\n"), MaxFileSize/2), '\n'))
	f.Fuzz(func(t *testing.T, src []byte) {
		top, err := Parse(src, "fuzz.hcl")
		if err != nil {
			checkError(t, err)
			return
		}
		again, err := Parse(Format(top), "fuzz.hcl")
		if err != nil {
			t.Fatalf("formatted topology does not load: %v\n%s", err, Format(top))
		}
		if diff := cmp.Diff(top, again, cmpNetip, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Topology{}, "Warnings")); diff != "" {
			t.Errorf("round trip mismatch (-loaded +reloaded):\n%s", diff)
		}
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || len(e.Diagnostics) == 0 {
		t.Fatalf("error %v: want a non-empty *Error matching ErrInvalid", err)
	}
	for _, d := range e.Diagnostics {
		if d.Subject == nil {
			t.Errorf("diagnostic without position: %s", d.Summary)
		}
	}
}

// The example, formatted, loads to the same topology, and formatting is stable.
func TestFormatRoundTrip(t *testing.T) {
	top, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	text := Format(top)
	again, err := Parse(text, example)
	if err != nil {
		t.Fatalf("formatted example does not load: %v\n%s", err, text)
	}
	if diff := cmp.Diff(top, again, cmpNetip); diff != "" {
		t.Errorf("round trip mismatch (-loaded +reloaded):\n%s", diff)
	}
	if diff := cmp.Diff(string(text), string(Format(again))); diff != "" {
		t.Errorf("Format is not stable (-first +second):\n%s", diff)
	}
}
