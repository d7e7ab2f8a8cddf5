package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/topogen"
)

const exampleFile = "../../examples/vipctl.hcl"

// vipctl runs the whole program as a user would, returning exit code, stdout and stderr.
func vipctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"vipctl"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func bundleTree(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = info.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRenderBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	code, out, errOut := vipctl(t, "render", "-f", exampleFile, "-d", dir)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := map[string]fs.FileMode{"cib.xml": 0o644, "corosync/corosync.conf": 0o644}
	for _, c := range []string{"msrvc01", "msrvc02"} {
		for _, j := range []string{"pgsql-", "haproxy-", "backup-"} {
			want["nomad/"+j+c+".nomad"] = 0o644
			want["nomad/"+j+c+".json"] = 0o644
		}
		want["haproxy/"+c+".cfg"] = 0o644
		for _, f := range []string{"pgbackrest.conf", "cron_backup"} {
			want["backup/"+c+"/"+f] = 0o644
		}
		for _, f := range []string{"stanza_init.sh", "backup_if_primary.sh", "pgsql_backup.sh"} {
			want["backup/"+c+"/"+f] = 0o755
		}
	}
	for _, f := range composeFiles {
		want[f] = 0o644
		if strings.HasSuffix(f, ".sh") {
			want[f] = 0o755
		}
	}
	got := bundleTree(t, dir)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("bundle (-want +got):\n%s", d)
	}

	// No file of the whole bundle writes out a password, token or secret.
	for p, data := range readAll(t, dir) {
		for _, m := range secretValue.FindAllStringSubmatch(data, -1) {
			if v := strings.TrimRight(m[3], ","); v == "null" || v == "false" || strings.Trim(v, "0123456789") == "" {
				continue // an empty JSON field or a numeric setting (corosync's token: 1000)
			}
			t.Errorf("%s: secret written out: %q", p, m[0])
		}
	}

	// The bundle's CIB is `cib render`'s, its jobs are `nomad render`'s.
	cibXML, err := os.ReadFile(filepath.Join(dir, "cib.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := vipctl(t, "cib", "render", "-f", exampleFile); code != exitOK || out != string(cibXML) {
		t.Errorf("cib.xml differs from `vipctl cib render` (exit %d)", code)
	}
	code, hcl, _ := vipctl(t, "nomad", "render", "-f", exampleFile)
	if code != exitOK {
		t.Fatalf("nomad render: exit %d", code)
	}
	for _, j := range []string{"pgsql-msrvc01", "haproxy-msrvc02", "backup-msrvc02"} {
		b, err := os.ReadFile(filepath.Join(dir, "nomad", j+".nomad"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(hcl, string(b)) {
			t.Errorf("nomad/%s.nomad is not in `vipctl nomad render`", j)
		}
	}

	// Rendering again into the same directory gives the same files, byte for byte.
	before := readAll(t, dir)
	if code, _, errOut := vipctl(t, "render", "-f", exampleFile, "-d", dir); code != exitOK {
		t.Fatalf("second render: exit %d: %s", code, errOut)
	}
	if d := cmp.Diff(before, readAll(t, dir)); d != "" {
		t.Errorf("second render differs:\n%s", d)
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("left beside the bundle: %v", entries)
	}
}

// secretValue finds "password = x", "TOKEN=x", "secret: x" and the like, where x is not a
// reference to where the secret really is ({{ template }}, ${ENV}, a placeholder "...").
var secretValue = regexp.MustCompile(`(?i)(passw(or)?d|token|secret)\w*["']?\s*[:=]\s*["']?([^\s"'{$.?][^\s"']*)`)

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p := range bundleTree(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		out[p] = string(b)
	}
	return out
}

func TestRenderBadTopologyWritesNothing(t *testing.T) {
	src, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(string) string{
		"unknown block": func(s string) string { return s + "\nfrobnicate {}\n" },
		"port clash":    func(s string) string { return strings.Replace(s, "port         = 5002", "port         = 5001", 1) },
		// Loads, but HAProxy needs an address for its nameserver: refused by the renderer.
		"dns host name": func(s string) string { return strings.Replace(s, `"127.0.0.1:8600"`, `"consul.local:8600"`, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			bad := edit(string(src))
			if bad == string(src) {
				t.Fatal("edit changed nothing")
			}
			tmp := t.TempDir()
			file := filepath.Join(tmp, "vipctl.hcl")
			if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(tmp, "bundle")
			code, out, errOut := vipctl(t, "render", "-f", file, "-d", dir)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			if !strings.Contains(errOut, file) {
				t.Errorf("error does not name the file: %s", errOut)
			}
			entries, err := os.ReadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"vipctl.hcl"}) {
				t.Errorf("written despite the bad topology: %v", names)
			}
		})
	}
}

// TestRenderNoCluster: a topology without clusters has a CIB and corosync.conf, nothing else.
func TestRenderNoCluster(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "vipctl.hcl")
	src := topogen.HCL(topogen.Options{Groups: 1, HostsPerGroup: 3})
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "bundle")
	if code, out, errOut := vipctl(t, "render", "-f", file, "-d", dir); code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := map[string]fs.FileMode{"cib.xml": 0o644, "corosync/corosync.conf": 0o644}
	if d := cmp.Diff(want, bundleTree(t, dir)); d != "" {
		t.Errorf("bundle (-want +got):\n%s", d)
	}
}

func TestRenderNeedsDir(t *testing.T) {
	if code, _, _ := vipctl(t, "render", "-f", exampleFile); code != exitUsage {
		t.Errorf("render without -d: exit %d, want %d", code, exitUsage)
	}
}

// composeFiles are the compose files of the bundle.
var composeFiles = []string{
	"compose/docker-compose.yml", "compose/Dockerfile", "compose/entrypoint.sh", "compose/patroni.yml",
	"compose/haproxy.cfg", "compose/stanza_init.sh", "compose/backup_if_primary.sh", "compose/pgbackrest.conf",
}

// TestRenderConflictKeepsOldBundle: a bundle whose haproxy/ became a file is refused (exit 1,
// naming the path) before anything moves: cib.xml, corosync.conf and nomad/ stay the old ones.
func TestRenderConflictKeepsOldBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	if code, _, errOut := vipctl(t, "render", "-f", exampleFile, "-d", dir); code != exitOK {
		t.Fatalf("first render: exit %d: %s", code, errOut)
	}
	if err := os.RemoveAll(filepath.Join(dir, "haproxy")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "haproxy"), []byte("in the way\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An old bundle that differs from what render would write now.
	for _, p := range []string{"cib.xml", "corosync/corosync.conf", "nomad/pgsql-msrvc01.json"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := readAll(t, dir)
	code, _, errOut := vipctl(t, "render", "-f", exampleFile, "-d", dir)
	if code != exitFailure || !strings.Contains(errOut, filepath.Join(dir, "haproxy")) {
		t.Errorf("exit %d, stderr %q; want %d naming %s", code, errOut, exitFailure, filepath.Join(dir, "haproxy"))
	}
	if d := cmp.Diff(before, readAll(t, dir)); d != "" {
		t.Errorf("the old bundle changed (-before +after):\n%s", d)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("left beside the bundle: %v", entries)
	}
}
