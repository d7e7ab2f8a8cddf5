package nomad

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vipctl/vipctl/topology"
)

// ErrBundlePath is matched (errors.Is) by an error about a bundle file's path.
var ErrBundlePath = errors.New("bad bundle path")

// Bundle returns the files of the bundle that this package renders, in a fixed order:
// nomad/<job>.nomad and .json for every job, haproxy/<cluster>.cfg, backup/<cluster>/* for
// clusters with backup on, and compose/* (the micro-cluster of the first cluster, when there is
// one). (cib.xml and corosync/corosync.conf come from
// their own packages; vipctl render adds them.)
func Bundle(t *topology.Topology) ([]File, error) {
	jobs, err := Jobs(t)
	if err != nil {
		return nil, err
	}
	var files []File
	for _, j := range jobs {
		h, err := JobHCL(j)
		if err != nil {
			return nil, err
		}
		js, err := JobJSON(j)
		if err != nil {
			return nil, err
		}
		files = append(files,
			File{Path: "nomad/" + *j.ID + ".nomad", Mode: 0o644, Data: h},
			File{Path: "nomad/" + *j.ID + ".json", Mode: 0o644, Data: js})
	}
	hx, err := HAProxyFiles(t)
	if err != nil {
		return nil, err
	}
	files = append(files, hx...)
	for _, c := range t.Clusters {
		bf, err := BackupFiles(t, c)
		if err != nil {
			return nil, err
		}
		files = append(files, bf...)
	}
	if len(t.Clusters) > 0 {
		cf, err := ComposeFiles(t)
		if err != nil {
			return nil, err
		}
		files = append(files, cf...)
	}
	return files, nil
}

// WriteFiles writes files under dir so that no file is ever seen half written: everything is
// first written and synced into a temporary directory beside dir, then moved into place with
// rename(2). When dir does not exist yet, the whole temporary directory becomes dir in one
// rename. Files already in dir that are not in files are left alone. On error nothing of the
// temporary directory remains.
func WriteFiles(ctx context.Context, dir string, files []File) (err error) {
	seen := map[string]bool{}
	for _, f := range files {
		if err := checkBundlePath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("%w: %s twice", ErrBundlePath, f.Path)
		}
		seen[f.Path] = true
	}
	dir = filepath.Clean(dir)
	// A symlinked bundle directory is written where it points: the temporary directory must
	// be on the same file system for rename(2).
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("bundle directory: %w", err)
	}
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

	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("move bundle into place: %w", err)
		}
		return syncDir(parent)
	}
	dirs := map[string]bool{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("bundle directory: %w", err)
		}
		if err := os.Rename(filepath.Join(tmp, filepath.FromSlash(f.Path)), dst); err != nil {
			return fmt.Errorf("move %s into place: %w", f.Path, err)
		}
		dirs[filepath.Dir(dst)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// checkBundlePath accepts a clean, relative, slash-separated path inside the bundle.
func checkBundlePath(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." || strings.Contains(p, `\`) {
		return fmt.Errorf("%w: %q", ErrBundlePath, p)
	}
	return nil
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

// syncDir makes the renames in a directory durable.
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
