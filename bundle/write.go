package bundle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File is one rendered file of the bundle: a path relative to the bundle directory, its mode and content.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}

// ErrPath is matched (errors.Is) by an error about a bundle file's path.
var ErrPath = errors.New("bad bundle path")

// ErrConflict is matched (errors.Is) when DIR holds something in the way of the bundle: a file
// where the bundle needs a directory, or a directory where it needs a file. Nothing is written.
var ErrConflict = errors.New("bundle directory holds something in the way")

// Write writes files as the bundle directory dir, whole or not at all: every file is written
// and synced into a temporary directory beside dir (same file system), the entries of an
// existing dir that the bundle does not name are carried over as hard links, and the new tree
// then takes dir's place in one rename (renameat2 RENAME_EXCHANGE; the old tree is removed).
// A reader sees the old bundle or the new one, never a mix. On any error dir is as it was,
// the temporary directory is removed, and parent directories that Write created are removed
// again. A symlinked dir is written where it points.
func Write(ctx context.Context, dir string, files []File) (err error) {
	if err := checkPaths(files); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	parent := filepath.Dir(dir)
	created, err := mkdirAll(parent)
	if err != nil {
		return fmt.Errorf("bundle directory: %w", err)
	}
	defer func() {
		if err != nil {
			removeCreated(created)
		}
	}()
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("bundle directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("remove %s: %w", tmp, rmErr)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("bundle directory: %w", err)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeSynced(filepath.Join(tmp, filepath.FromSlash(f.Path)), f.Mode, f.Data); err != nil {
			return err
		}
	}

	old, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := syncTree(tmp); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("move bundle into place: %w", err)
		}
		return syncDir(parent)
	case err != nil:
		return fmt.Errorf("bundle directory: %w", err)
	case !old.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrConflict, dir)
	}
	if err := carry(dir, tmp, "", newTree(files)); err != nil {
		return err
	}
	if err := keepOwner(tmp, old); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := exchange(tmp, dir); err != nil {
		return fmt.Errorf("move bundle into place: %w", err)
	}
	// tmp now holds the old tree; the deferred RemoveAll drops it.
	return syncDir(parent)
}

// checkPaths accepts clean, relative, slash-separated paths, each once, none inside another.
func checkPaths(files []File) error {
	seen := map[string]bool{}
	for _, f := range files {
		p := f.Path
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." || strings.Contains(p, `\`) {
			return fmt.Errorf("%w: %q", ErrPath, p)
		}
		if seen[p] {
			return fmt.Errorf("%w: %s twice", ErrPath, p)
		}
		seen[p] = true
	}
	for p := range seen {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if seen[d] {
				return fmt.Errorf("%w: %s is a file and the directory of %s", ErrPath, d, p)
			}
		}
	}
	return nil
}

// tree is the shape of the new bundle: its files and the directories that hold them.
type tree struct{ files, dirs map[string]bool }

func newTree(files []File) tree {
	t := tree{files: map[string]bool{}, dirs: map[string]bool{}}
	for _, f := range files {
		t.files[f.Path] = true
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			t.dirs[d] = true
		}
	}
	return t
}

// carry hard-links every entry of old/rel that the bundle does not name into nw/rel, so that
// files in DIR which are not the bundle's survive the swap unchanged (same inode, mode and
// owner). An entry in the bundle's way is an ErrConflict.
func carry(old, nw, rel string, t tree) error {
	entries, err := os.ReadDir(filepath.Join(old, rel))
	if err != nil {
		return fmt.Errorf("read bundle directory: %w", err)
	}
	for _, e := range entries {
		p := path.Join(rel, e.Name())
		src, dst := filepath.Join(old, filepath.FromSlash(p)), filepath.Join(nw, filepath.FromSlash(p))
		switch {
		case t.files[p]:
			if e.IsDir() {
				return fmt.Errorf("%w: %s is a directory, the bundle writes a file there", ErrConflict, src)
			}
		case t.dirs[p]:
			if !e.IsDir() {
				return fmt.Errorf("%w: %s is not a directory, the bundle writes %s/ there", ErrConflict, src, p)
			}
			if err := carry(old, nw, p, t); err != nil {
				return err
			}
		default:
			if err := linkTree(src, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// linkTree recreates src at dst: directories with their mode, everything else as a hard link.
func linkTree(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("keep %s: %w", src, err)
	}
	if !fi.IsDir() {
		if err := os.Link(src, dst); err != nil {
			return fmt.Errorf("keep %s: %w", src, err)
		}
		return nil
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("keep %s: %w", src, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("keep %s: %w", src, err)
	}
	for _, e := range entries {
		if err := linkTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return keepOwner(dst, fi)
}

// keepOwner gives dst the permission bits of fi and, when running as root, its owner.
func keepOwner(dst string, fi fs.FileInfo) error {
	if err := os.Chmod(dst, fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return fmt.Errorf("bundle directory: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("bundle directory: %w", err)
		}
	}
	return nil
}

// exchange swaps the directories a and b atomically; where the file system cannot exchange,
// b is moved aside to a first (two renames: for an instant b does not exist).
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	aside := a + ".old"
	if err := os.Rename(b, aside); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		if back := os.Rename(aside, b); back != nil {
			return errors.Join(err, back)
		}
		return err
	}
	return os.Rename(aside, a)
}

// mkdirAll creates d and its missing parents and returns the directories it created, the
// outermost first.
func mkdirAll(d string) ([]string, error) {
	var missing []string
	for p := d; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			removeCreated(created)
			return nil, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// removeCreated removes the directories mkdirAll created, the innermost first. Only empty
// directories go: one that something else wrote into meanwhile stays.
func removeCreated(created []string) {
	for i := len(created) - 1; i >= 0; i-- {
		if os.Remove(created[i]) != nil {
			return
		}
	}
}

// writeSynced writes a new file with exactly the given mode and syncs it to disk.
func writeSynced(p string, mode fs.FileMode, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode.Perm())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// syncTree syncs every directory under root (the files are synced as they are written), so
// the new tree's entries are durable before it takes the bundle's place.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("sync %s: %w", p, err)
		}
		if d.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}

// syncDir makes the entries of a directory durable.
func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return fmt.Errorf("sync %s: %w", d, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", d, err)
	}
	return nil
}
