package topology

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/badtopo"
)

// readWants reads the "# want: L,C summary" and "# first: L,C" lines at the end of a bad file.
func readWants(t *testing.T, src []byte) []badtopo.Want {
	t.Helper()
	var wants []badtopo.Want
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# want: "):
			var w badtopo.Want
			rest := strings.TrimPrefix(line, "# want: ")
			pos, summary, _ := strings.Cut(rest, " ")
			if _, err := fmt.Sscanf(pos, "%d,%d", &w.Line, &w.Col); err != nil {
				t.Fatalf("bad want line %q: %v", line, err)
			}
			w.Summary = summary
			wants = append(wants, w)
		case strings.HasPrefix(line, "# first: "):
			wants[len(wants)-1].First = strings.TrimPrefix(line, "# first: ")
		}
	}
	if len(wants) == 0 {
		t.Fatal("no '# want:' line in the file")
	}
	return wants
}

// gotDiags turns the diagnostics of an *Error into the same form.
func gotDiags(filename string, e *Error) []badtopo.Want {
	firstRE := regexp.MustCompile(regexp.QuoteMeta(filename) + `:(\d+,\d+)`)
	var got []badtopo.Want
	for _, d := range e.Diagnostics {
		g := badtopo.Want{Summary: d.Summary}
		if d.Subject != nil {
			g.Line, g.Col = d.Subject.Start.Line, d.Subject.Start.Column
		}
		if m := firstRE.FindStringSubmatch(d.Detail); m != nil {
			g.First = m[1]
		}
		got = append(got, g)
	}
	return got
}

// badCase is the bad case of that name.
func badCase(t *testing.T, name string) badtopo.Case {
	t.Helper()
	for _, c := range badtopo.Cases() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no bad case %q", name)
	return badtopo.Case{}
}

func badFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/bad/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkBad loads file and checks that it fails with exactly the diagnostics wants, in order.
func checkBad(t *testing.T, file string, wants []badtopo.Want) {
	t.Helper()
	top, err := Load(file)
	if top != nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load = %v, %v; want nil and an error matching ErrInvalid", top, err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *topology.Error", err)
	}
	if diff := cmp.Diff(wants, gotDiags(file, e)); diff != "" {
		t.Errorf("diagnostics mismatch (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
}

// The base of the bad cases is valid: each case fails only by its edits.
func TestBadBaseIsValid(t *testing.T) {
	if _, err := Parse([]byte(badtopo.Base), "base.hcl"); err != nil {
		t.Fatalf("badtopo.Base does not load: %v", err)
	}
}

// Every bad topology fails with exactly its diagnostics, in order: each bad case (badtopo.Cases),
// written to a file of its own so that messages name a real file, and each file of testdata/bad
// (for input that is not an edit of badtopo.Base), whose "# want:" lines say what it gives.
func TestBadTopologies(t *testing.T) {
	cases, files := badtopo.Cases(), badFiles(t)
	if len(cases)+len(files) < 35 {
		t.Fatalf("only %d bad topologies; want at least 35", len(cases)+len(files))
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("testdata/bad", c.Name+".hcl")); err == nil {
				t.Errorf("testdata/bad/%s.hcl is also a case of badtopo", c.Name)
			}
			checkBad(t, c.Write(t, dir), c.Want)
		})
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			checkBad(t, file, readWants(t, src))
		})
	}
}

// Every error of a file comes in one error, one line each, in file order, naming the file,
// the position and the offending value.
func TestAllErrorsTogether(t *testing.T) {
	file := badCase(t, "many-errors").Write(t, t.TempDir())
	_, err := Load(file)
	want := []string{
		file + `:6,22-29: Invalid no_quorum_policy "panic"`,
		file + `:12,13-24: Duplicate address "192.0.2.1"`,
		file + `:15,24-28: Unknown host "h7"`,
		file + `:21,18-24: Unknown host_group "nope"`,
		file + `:22,18-22: Invalid port 8600`,
	}
	var got []string
	for _, line := range strings.Split(fmt.Sprint(err), "\n") {
		summary, _, _ := strings.Cut(line, ";")
		got = append(got, summary)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%s) error lines (-want +got):\n%s", file, diff)
	}
}

func TestErrorString(t *testing.T) {
	src := []byte("corosync {\n  cluster_name = \"t\"\n  token_ms     = 5\n}\n")
	_, err := Parse(src, "x.hcl")
	want := "x.hcl:1,1-1: No host block; The file needs at least one host block.\n" +
		"x.hcl:1,1-1: No host_group block; The file needs at least one host_group block.\n" +
		"x.hcl:3,18-19: Invalid token_ms 5; corosync.token_ms must be within 200..60000 milliseconds."
	if diff := cmp.Diff(want, fmt.Sprint(err)); diff != "" {
		t.Errorf("error text (-want +got):\n%s", diff)
	}
}

// TestNomadVersion: nomad.version is a Nomad release no older than the jobs need, named at its
// line and column when it is not.
func TestNomadVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    NomadVersion
		err     string // the summary of the error at 2,13, "" for none
	}{
		{version: "1.6.1", want: NomadVersion{1, 6}},
		{version: "1.10", want: NomadVersion{1, 10}},
		{version: "2.0.0", want: NomadVersion{2, 0}},
		{version: "1.4", want: NomadVersion{1, 4}},
		{version: "1.3", err: `Unsupported nomad version "1.3"`},
		{version: "1.8x", err: `Invalid nomad version "1.8x"`},
		{version: "1", err: `Invalid nomad version "1"`},
		{version: "01.8", err: `Invalid nomad version "01.8"`},
		{version: "1.8.0.1", err: `Invalid nomad version "1.8.0.1"`},
		{version: "v1.8", err: `Invalid nomad version "v1.8"`},
		{version: "", err: `Invalid nomad version ""`},
	} {
		t.Run(tc.version, func(t *testing.T) {
			src := fmt.Appendf(nil, "nomad {\n  version = %q\n}\ncorosync {\n  cluster_name = \"t\"\n}\n", tc.version)
			top, err := Parse(src, "x.hcl")
			var nomadLines []string
			for _, line := range strings.Split(fmt.Sprint(err), "\n") {
				if strings.Contains(line, "nomad") {
					nomadLines = append(nomadLines, line)
				}
			}
			if tc.err == "" {
				if len(nomadLines) != 0 {
					t.Fatalf("errors about nomad: %q", nomadLines)
				}
				// The file has no host: Parse fails, but decoding the version is not what failed.
				if got, ok := ParseNomadVersion(tc.version); !ok || got != tc.want {
					t.Errorf("ParseNomadVersion(%q) = %v, %v, want %v", tc.version, got, ok, tc.want)
				}
				return
			}
			if top != nil {
				t.Errorf("Parse returned a topology")
			}
			if len(nomadLines) != 1 || !strings.HasPrefix(nomadLines[0], "x.hcl:2,13-") ||
				!strings.Contains(nomadLines[0], ": "+tc.err+";") {
				t.Errorf("errors about nomad %q, want one at x.hcl:2,13 saying %s", nomadLines, tc.err)
			}
		})
	}
}
