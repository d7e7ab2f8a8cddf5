package nomad

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readTree returns every regular file under dir with its mode and content.
func readTree(t *testing.T, dir string) map[string]File {
	t.Helper()
	out := map[string]File{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = File{Path: filepath.ToSlash(rel), Mode: info.Mode().Perm(), Data: data}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func asTree(files []File) map[string]File {
	out := map[string]File{}
	for _, f := range files {
		out[f.Path] = f
	}
	return out
}

func TestBundleFiles(t *testing.T) {
	files, err := Bundle(exampleTopology(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	modes := map[string]fs.FileMode{}
	for _, f := range files {
		got = append(got, f.Path)
		modes[f.Path] = f.Mode
	}
	var want []string
	for _, c := range []string{"msrvc01", "msrvc02"} {
		for _, j := range []string{"pgsql-", "haproxy-", "backup-"} {
			want = append(want, "nomad/"+j+c+".nomad", "nomad/"+j+c+".json")
		}
	}
	want = append(want, "haproxy/msrvc01.cfg", "haproxy/msrvc02.cfg")
	for _, c := range []string{"msrvc01", "msrvc02"} {
		for _, f := range []string{"pgbackrest.conf", "stanza_init.sh", "backup_if_primary.sh", "pgsql_backup.sh", "cron_backup"} {
			want = append(want, "backup/"+c+"/"+f)
		}
	}
	want = append(want, composeBundlePaths...)
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("bundle files (-want +got):\n%s", d)
	}
	for p, m := range modes {
		wantMode := fs.FileMode(0o644)
		if filepath.Ext(p) == ".sh" {
			wantMode = 0o755
		}
		if m != wantMode {
			t.Errorf("%s: mode %v, want %v", p, m, wantMode)
		}
	}
}

func TestWriteFilesNewDir(t *testing.T) {
	files := []File{
		{Path: "a.txt", Mode: 0o644, Data: []byte("a\n")},
		{Path: "sub/run.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	dir := filepath.Join(t.TempDir(), "out", "bundle")
	if err := WriteFiles(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(asTree(files), readTree(t, dir)); d != "" {
		t.Errorf("written tree (-want +got):\n%s", d)
	}
	// No temporary directory is left beside the bundle.
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "bundle" {
		t.Errorf("beside the bundle: %v", entries)
	}
}

func TestWriteFilesExistingDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []File{
		{Path: "a.txt", Mode: 0o644, Data: []byte("new\n")},
		{Path: "sub/b.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	if err := WriteFiles(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	want := asTree(append(files, File{Path: "keep.txt", Mode: 0o600, Data: []byte("mine\n")}))
	if d := cmp.Diff(want, readTree(t, dir)); d != "" {
		t.Errorf("written tree (-want +got):\n%s", d)
	}
	// Idempotent: writing the same files again gives the same tree.
	if err := WriteFiles(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, readTree(t, dir)); d != "" {
		t.Errorf("second write (-want +got):\n%s", d)
	}
}

func TestWriteFilesThroughSymlink(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	files := []File{{Path: "a.txt", Mode: 0o644, Data: []byte("a\n")}}
	if err := WriteFiles(context.Background(), link, files); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(asTree(files), readTree(t, target)); d != "" {
		t.Errorf("written tree (-want +got):\n%s", d)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
}

func TestWriteFilesRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", `a\b`, "."} {
		dir := filepath.Join(t.TempDir(), "bundle")
		err := WriteFiles(context.Background(), dir, []File{{Path: "ok", Mode: 0o644}, {Path: p, Mode: 0o644}})
		if !errors.Is(err, ErrBundlePath) {
			t.Errorf("path %q: err = %v, want ErrBundlePath", p, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("path %q: bundle dir written despite the error", p)
		}
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := WriteFiles(context.Background(), dir, []File{{Path: "x"}, {Path: "x"}}); !errors.Is(err, ErrBundlePath) {
		t.Errorf("duplicate path: err = %v, want ErrBundlePath", err)
	}
}

// TestWriteFilesFailureLeavesNoPartialFile: when a file cannot be moved into place (here a
// directory is in the way), no temporary file remains and every file in DIR is whole.
func TestWriteFilesFailureLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "b.txt", "blocker"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := []File{
		{Path: "a.txt", Mode: 0o644, Data: []byte("aaa\n")},
		{Path: "b.txt", Mode: 0o644, Data: []byte("bbb\n")},
	}
	if err := WriteFiles(context.Background(), dir, files); err == nil {
		t.Fatal("no error with a directory in the way")
	}
	got := readTree(t, dir)
	if f, ok := got["a.txt"]; ok && string(f.Data) != "aaa\n" {
		t.Errorf("a.txt half written: %q", f.Data)
	}
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(dir) {
			t.Errorf("left beside the bundle: %s", e.Name())
		}
	}
}

func TestWriteFilesHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := WriteFiles(ctx, dir, []File{{Path: "a", Mode: 0o644}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bundle dir written after cancel")
	}
}

// composeBundlePaths are the compose files of the bundle.
var composeBundlePaths = []string{
	"compose/docker-compose.yml", "compose/Dockerfile", "compose/entrypoint.sh", "compose/patroni.yml",
	"compose/haproxy.cfg", "compose/stanza_init.sh", "compose/backup_if_primary.sh", "compose/pgbackrest.conf",
}
