package bundle

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
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

// onlyEntry fails unless dir's parent holds nothing but dir (no temporary directory left).
func onlyEntry(t *testing.T, dir string) {
	t.Helper()
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

func TestWriteNewDir(t *testing.T) {
	files := []File{
		{Path: "a.txt", Mode: 0o644, Data: []byte("a\n")},
		{Path: "sub/run.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	dir := filepath.Join(t.TempDir(), "out", "bundle")
	if err := Write(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(asTree(files), readTree(t, dir)); d != "" {
		t.Errorf("written tree (-want +got):\n%s", d)
	}
	onlyEntry(t, dir)
}

func TestWriteExistingDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{"keep.txt": "mine\n", "a.txt": "old\n", "sub/mine.txt": "also mine\n", "other/deep/x": "x\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files := []File{
		{Path: "a.txt", Mode: 0o644, Data: []byte("new\n")},
		{Path: "sub/b.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	if err := Write(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	want := asTree(append(files,
		File{Path: "keep.txt", Mode: 0o600, Data: []byte("mine\n")},
		File{Path: "sub/mine.txt", Mode: 0o600, Data: []byte("also mine\n")},
		File{Path: "other/deep/x", Mode: 0o600, Data: []byte("x\n")}))
	if d := cmp.Diff(want, readTree(t, dir)); d != "" {
		t.Errorf("written tree (-want +got):\n%s", d)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("bundle directory mode: %v %v, want 0750 kept", fi.Mode(), err)
	}
	// Idempotent: writing the same files again gives the same tree.
	if err := Write(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, readTree(t, dir)); d != "" {
		t.Errorf("second write (-want +got):\n%s", d)
	}
	onlyEntry(t, dir)
}

func TestWriteThroughSymlink(t *testing.T) {
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
	if err := Write(context.Background(), link, files); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(asTree(files), readTree(t, target)); d != "" {
		t.Errorf("written tree (-want +got):\n%s", d)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi, err)
	}
}

func TestWriteRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", `a\b`, ".", "ok/inner"} {
		dir := filepath.Join(t.TempDir(), "bundle")
		err := Write(context.Background(), dir, []File{{Path: "ok", Mode: 0o644}, {Path: p, Mode: 0o644}})
		if !errors.Is(err, ErrPath) {
			t.Errorf("path %q: err = %v, want ErrPath", p, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("path %q: bundle dir written despite the error", p)
		}
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := Write(context.Background(), dir, []File{{Path: "x"}, {Path: "x"}}); !errors.Is(err, ErrPath) {
		t.Errorf("duplicate path: err = %v, want ErrPath", err)
	}
}

// TestWriteConflictLeavesOldBundle: a bundle whose haproxy/ is now a file (or whose file is
// now a directory) is refused before anything moves: the old bundle stays byte for byte, and
// nothing is left beside it.
func TestWriteConflictLeavesOldBundle(t *testing.T) {
	old := []File{
		{Path: "cib.xml", Mode: 0o644, Data: []byte("<old/>\n")},
		{Path: "corosync/corosync.conf", Mode: 0o644, Data: []byte("old\n")},
		{Path: "nomad/pgsql-a.nomad", Mode: 0o644, Data: []byte("old\n")},
		{Path: "haproxy/a.cfg", Mode: 0o644, Data: []byte("old\n")},
	}
	nw := []File{
		{Path: "cib.xml", Mode: 0o644, Data: []byte("<new/>\n")},
		{Path: "corosync/corosync.conf", Mode: 0o644, Data: []byte("new\n")},
		{Path: "nomad/pgsql-a.nomad", Mode: 0o644, Data: []byte("new\n")},
		{Path: "haproxy/a.cfg", Mode: 0o644, Data: []byte("new\n")},
	}
	for name, block := range map[string]func(dir string) error{
		"haproxy is a file": func(dir string) error {
			if err := os.RemoveAll(filepath.Join(dir, "haproxy")); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "haproxy"), []byte("in the way\n"), 0o644)
		},
		"a file is a directory": func(dir string) error {
			if err := os.Remove(filepath.Join(dir, "nomad", "pgsql-a.nomad")); err != nil {
				return err
			}
			return os.MkdirAll(filepath.Join(dir, "nomad", "pgsql-a.nomad", "blocker"), 0o755)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			if err := Write(context.Background(), dir, old); err != nil {
				t.Fatal(err)
			}
			if err := block(dir); err != nil {
				t.Fatal(err)
			}
			before := readTree(t, dir)
			err := Write(context.Background(), dir, nw)
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
			if d := cmp.Diff(before, readTree(t, dir)); d != "" {
				t.Errorf("the old bundle changed (-before +after):\n%s", d)
			}
			onlyEntry(t, dir)
		})
	}
}

func TestWriteHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "deep", "bundle")
	if err := Write(ctx, dir, []File{{Path: "a", Mode: 0o644}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("parent directory left after cancel")
	}
}

// TestWriteFullDisk writes a bundle that does not fit into a missing deep path on a small
// tmpfs of its own (testenv.PrivateTmpfs): Write fails with ENOSPC and leaves the file system as
// it was: no temporary directory and none of the parent directories it created; an existing
// bundle there stays whole.
func TestWriteFullDisk(t *testing.T) {
	mnt := testenv.PrivateTmpfs(t, "256k")
	if mnt == "" {
		return
	}
	big := make([]byte, 400<<10) // more than the tmpfs holds
	files := []File{{Path: "cib.xml", Mode: 0o644, Data: []byte("<cib/>\n")}, {Path: "nomad/big.json", Mode: 0o644, Data: big}}

	err := Write(context.Background(), filepath.Join(mnt, "a", "b", "c", "bundle"), files)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	if entries, err := os.ReadDir(mnt); err != nil || len(entries) != 0 {
		t.Errorf("left on the full disk: %v %v", entries, err)
	}

	small := []File{{Path: "cib.xml", Mode: 0o644, Data: []byte("<old/>\n")}, {Path: "nomad/job.json", Mode: 0o644, Data: []byte("{}\n")}}
	dir := filepath.Join(mnt, "bundle")
	if err := Write(context.Background(), dir, small); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), dir, files); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("over an existing bundle: err = %v, want ENOSPC", err)
	}
	if d := cmp.Diff(asTree(small), readTree(t, dir)); d != "" {
		t.Errorf("the old bundle changed (-want +got):\n%s", d)
	}
	onlyEntry(t, dir)
}
