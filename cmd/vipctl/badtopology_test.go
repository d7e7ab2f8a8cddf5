package main

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
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

// A bad topology makes `vipctl render -d DIR` exit 2 and write nothing: DIR is not even created.
func TestBadTopologyRendersNothing(t *testing.T) {
	files, err := filepath.Glob("../../topology/testdata/bad/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			var stdout, stderr bytes.Buffer
			code := run([]string{"vipctl", "render", "-f", file, "-d", dir}, strings.NewReader(""), &stdout, &stderr)
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
