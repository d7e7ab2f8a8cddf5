package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
)

// TestRenderFullDisk runs `vipctl render -d DIR` on a real full file system: a 1 MiB tmpfs of
// the test's own (testenv.PrivateTmpfs) holding a bundle of the example and a filler file that
// leaves less room than a new bundle needs. Rendering into a missing deep path and over the
// existing bundle both exit 1 naming ENOSPC, and leave every entry of the file system (path,
// mode, size, inode, links, mtime, content) as it was and its free space too: no half-written
// file, no temporary directory, no created parent.
func TestRenderFullDisk(t *testing.T) {
	mnt := testenv.PrivateTmpfs(t, "1m")
	if mnt != "" {
		renderFullDisk(t, mnt)
	}
}

// entryState is what a test compares of one file system entry.
type entryState struct {
	Mode         fs.FileMode
	Size         int64
	Inode, Links uint64
	MTime        int64 // ns
	SHA256       string
}

// fsState returns the state of every entry under root (root itself excluded: render makes and
// removes its temporary directory there, which changes root's mtime) and root's free blocks.
func fsState(t *testing.T, root string) (map[string]entryState, uint64) {
	t.Helper()
	state := map[string]entryState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entryState{Mode: fi.Mode(), Size: fi.Size(), Inode: st.Ino, Links: uint64(st.Nlink), MTime: fi.ModTime().UnixNano()}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.SHA256 = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		rel, _ := filepath.Rel(root, p)
		state[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(root, &sfs); err != nil {
		t.Fatal(err)
	}
	return state, sfs.Bfree
}

func renderFullDisk(t *testing.T, mnt string) {
	old := filepath.Join(mnt, "bundle")
	if code, _, errOut := vipctl(t, "render", "-f", exampleFile, "-d", old); code != exitOK {
		t.Fatalf("render of the old bundle: exit %d: %s", code, errOut)
	}
	files := len(bundleTree(t, old))
	// Room for a few of the new bundle's files, not for all: tmpfs gives each file at least a
	// page, and the bundle has more files than the room has pages.
	const room = 16 << 10
	if files*4096 <= room {
		t.Fatalf("the bundle's %d files fit into %d bytes: the test would not fill the disk", files, room)
	}
	testenv.Fill(t, filepath.Join(mnt, "filler"), room)
	before, freeBefore := fsState(t, mnt)
	if freeBefore == 0 {
		t.Fatal("no room left at all: render would fail before writing any file")
	}

	for _, dir := range []string{filepath.Join(mnt, "a", "b", "c", "bundle"), old} {
		code, stdout, errOut := vipctl(t, "render", "-f", exampleFile, "-d", dir)
		if code != exitFailure || stdout != "" || !strings.Contains(errOut, syscall.ENOSPC.Error()) {
			t.Errorf("render -d %s: exit %d, stdout %q, stderr %q; want exit %d naming %q", dir, code, stdout, errOut, exitFailure, syscall.ENOSPC.Error())
		}
		after, freeAfter := fsState(t, mnt)
		if d := cmp.Diff(before, after); d != "" {
			t.Errorf("render -d %s changed the file system (-before +after):\n%s", dir, d)
		}
		if freeAfter != freeBefore {
			t.Errorf("render -d %s: %d free blocks before, %d after", dir, freeBefore, freeAfter)
		}
	}
}
