package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/internal/badtopo"
	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// badInput is a bad topology file and the diagnostics it must give.
type badInput struct {
	name  string
	file  string
	wants []badtopo.Want
}

// badInputs are the bad topology files of the topology package and its bad cases
// (badtopo.Cases), each written to a file of its own under a test directory.
func badInputs(t *testing.T) []badInput {
	t.Helper()
	files, err := filepath.Glob("../../topology/testdata/bad/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var inputs []badInput
	for _, file := range files {
		inputs = append(inputs, badInput{filepath.Base(file), file, wantDiagnostics(t, file)})
	}
	dir := t.TempDir()
	for _, c := range badtopo.Cases() {
		inputs = append(inputs, badInput{c.Name, c.Write(t, dir), c.Want})
	}
	if len(inputs) < 35 {
		t.Fatalf("found %d bad topologies; want at least 35", len(inputs))
	}
	return inputs
}

// Every bad topology of the topology package makes `vipctl cib render` exit 2 with
// nothing on stdout and each expected diagnostic (file:line,col and its message) on stderr.
func TestBadTopologyExit2(t *testing.T) {
	for _, in := range badInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"vipctl", "cib", "render", "-f", in.file}, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit code %d; want %d\nstderr:\n%s", code, exitUsage, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
			for _, w := range in.wants {
				if !strings.Contains(stderr.String(), in.file+":"+w.Pos()) || !strings.Contains(stderr.String(), w.Summary) {
					t.Errorf("stderr does not name %s:%s and %q:\n%s", in.file, w.Pos(), w.Summary, stderr.String())
				}
			}
		})
	}
}

// A bad topology makes `vipctl render -d DIR` exit 2 and write nothing: DIR is not even created.
func TestBadTopologyRendersNothing(t *testing.T) {
	for _, in := range badInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			var stdout, stderr bytes.Buffer
			code := run([]string{"vipctl", "render", "-f", in.file, "-d", dir}, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing on stdout\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("render wrote %s for a bad topology (stat: %v)", dir, err)
			}
		})
	}
}

// The converse: every generated topology that loads also renders the whole bundle (in memory:
// writing is render's own test), so the renderers never refuse what the topology package accepts.
func TestGeneratedTopologiesRender(t *testing.T) {
	opts := []topogen.Options{
		{Groups: 2, HostsPerGroup: 4, ClustersPerGroup: 5, S3Backup: true, Agent: "IPaddr2", PerHostNIC: true},
		{Groups: 1, HostsPerGroup: 1, ClustersPerGroup: 10, IPv6: true},
	}
	for _, o := range topogen.Family() {
		if o.Groups <= 2 || o.Groups == topogen.MaxGroups { // every variant, at both ends of the size range
			opts = append(opts, o)
		}
	}
	for _, o := range opts {
		t.Run(o.String(), func(t *testing.T) {
			top, err := topology.Parse(topogen.HCL(o), o.String()+".hcl")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := renderBundle(top); err != nil {
				t.Errorf("renderBundle: %v", err)
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

// wantDiagnostics reads the "# want: line,col summary" lines of a bad file.
func wantDiagnostics(t *testing.T, file string) []badtopo.Want {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var wants []badtopo.Want
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			pos, summary, _ := strings.Cut(rest, " ")
			var w badtopo.Want
			if _, err := fmt.Sscanf(pos, "%d,%d", &w.Line, &w.Col); err != nil {
				t.Fatalf("%s: bad want line %q: %v", file, sc.Text(), err)
			}
			w.Summary = summary
			wants = append(wants, w)
		}
	}
	if len(wants) == 0 {
		t.Fatalf("%s has no '# want:' line", file)
	}
	return wants
}
