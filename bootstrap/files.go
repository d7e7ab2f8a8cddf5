package bootstrap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// fileState is how a file on the host compares with what it should be.
type fileState int

const (
	fileSame     fileState = iota // content and mode as wanted
	fileMissing                   // no file there
	fileContent                   // another content
	fileModeOnly                  // the content, with another mode
)

// compare says how the file f found on the host differs from data with mode, and describes
// a difference for the operator ("" when the same).
func compare(f hostFile, data []byte, mode fs.FileMode) (fileState, string, error) {
	switch {
	case f.err != nil:
		return 0, "", f.err
	case !f.exists:
		return fileMissing, "missing", nil
	case !bytes.Equal(f.data, data):
		return fileContent, "content differs", nil
	case f.mode != mode:
		return fileModeOnly, fmt.Sprintf("mode %04o, want %04o", f.mode, mode), nil
	}
	return fileSame, "", nil
}

// writeFile puts data at path with mode through a temporary file in the same directory, synced
// and renamed over path, so a reader sees the old file or the new one, never a part. Missing
// directories are made with mode 0755. When keepOld is set and a file with other content is
// replaced, it is first copied to path.vipctl-<UTC time>.bak (mode 0600; -2.bak, -3.bak … when
// that exists) and that path returned.
func writeFile(path string, data []byte, mode fs.FileMode, keepOld bool, now time.Time) (backup string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if keepOld {
		old, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return "", err
		case !bytes.Equal(old, data):
			if backup, err = keepCopy(path+".vipctl-"+now.UTC().Format("20060102T150405Z"), old); err != nil {
				return "", err
			}
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return backup, err
	}
	defer os.Remove(tmp.Name()) // finds nothing after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return backup, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return backup, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return backup, err
	}
	if err := tmp.Close(); err != nil {
		return backup, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return backup, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return backup, err
	}
	defer d.Close()
	return backup, d.Sync()
}

// keepCopy writes data to a new file base.bak (mode 0600), or base-2.bak, base-3.bak … when
// that exists already, and returns its path. An existing file is never overwritten.
func keepCopy(base string, data []byte) (string, error) {
	for n := 1; ; n++ {
		path := base + ".bak"
		if n > 1 {
			path = fmt.Sprintf("%s-%d.bak", base, n)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, werr := f.Write(data)
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return "", err
		}
		return path, nil
	}
}

// sameContent reports whether the files at a and b have the same bytes (b missing: false).
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer fb.Close()
	sa, err := fa.Stat()
	if err != nil {
		return false, err
	}
	sb, err := fb.Stat()
	if err != nil {
		return false, err
	}
	if sa.Size() != sb.Size() {
		return false, nil
	}
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, bufA)
		nb, eb := io.ReadFull(fb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == io.EOF || eb == io.ErrUnexpectedEOF, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}

// confRecordPath lists the SHA-256 of every corosync.conf bootstrap wrote on this host, one
// a line, newest last: a corosync.conf whose digest is not among them was edited by hand.
const confRecordPath = "/etc/corosync/corosync.conf.vipctl-sha256"

// confRecordKeep bounds the record: the digests of the last confRecordKeep files written.
const confRecordKeep = 50

// confRecord is the record as read; nil when there is none (no vipctl wrote corosync.conf here).
type confRecord struct {
	digests []string
	err     error
}

func readConfRecord(path string) confRecord {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return confRecord{}
	}
	if err != nil {
		return confRecord{err: err}
	}
	return confRecord{digests: strings.Fields(string(b))}
}

// wrote reports whether data is a corosync.conf vipctl wrote.
func (r confRecord) wrote(data []byte) bool { return slices.Contains(r.digests, digest(data)) }

// with returns the record's file content once data is written too.
func (r confRecord) with(data []byte) []byte {
	d := append(slices.Clone(r.digests), digest(data))
	if len(d) > confRecordKeep {
		d = d[len(d)-confRecordKeep:]
	}
	return []byte(strings.Join(d, "\n") + "\n")
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
