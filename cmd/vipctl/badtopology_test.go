package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every bad topology file of the topology package makes `vipctl cib render` exit 2 with
// nothing on stdout and each expected diagnostic (file:line,col and its message) on stderr.
func TestBadTopologyExit2(t *testing.T) {
	files, err := filepath.Glob("../../topology/testdata/bad/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 35 {
		t.Fatalf("found %d bad topology files; want at least 35", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"vipctl", "cib", "render", "-f", file}, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, exitUsage, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
			for _, w := range wantDiagnostics(t, file) {
				if !strings.Contains(stderr.String(), file+":"+w.pos) || !strings.Contains(stderr.String(), w.summary) {
					t.Errorf("stderr does not name %s:%s and %q:\n%s", file, w.pos, w.summary, stderr.String())
				}
			}
		})
	}
}

func TestMissingTopologyExit2(t *testing.T) {
	var stdout, stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "none.hcl")
	code := run([]string{"vipctl", "cib", "render", "-f", missing}, strings.NewReader(""), &stdout, &stderr)
	if code != exitUsage || stdout.Len() != 0 || !strings.Contains(stderr.String(), missing) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, the path on stderr",
			code, stdout.String(), stderr.String())
	}
}

type wantDiagnostic struct{ pos, summary string }

// wantDiagnostics reads the "# want: line,col summary" lines of a bad file.
func wantDiagnostics(t *testing.T, file string) []wantDiagnostic {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var wants []wantDiagnostic
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			pos, summary, _ := strings.Cut(rest, " ")
			wants = append(wants, wantDiagnostic{pos, summary})
		}
	}
	if len(wants) == 0 {
		t.Fatalf("%s has no '# want:' line", file)
	}
	return wants
}
