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
// nothing on stdout and each expected diagnostic, by file:line,col, on stderr.
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
			for _, pos := range wantPositions(t, file) {
				if want := file + ":" + pos; !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not name %s:\n%s", want, stderr.String())
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

// wantPositions reads the "line,col" of each "# want: line,col summary" line of a bad file.
func wantPositions(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pos []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			p, _, _ := strings.Cut(rest, " ")
			pos = append(pos, p)
		}
	}
	if len(pos) == 0 {
		t.Fatalf("%s has no '# want:' line", file)
	}
	return pos
}
