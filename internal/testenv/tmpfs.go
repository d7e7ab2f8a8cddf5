package testenv

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// tmpfsEnv carries "TestName=mountpoint" to the child that PrivateTmpfs starts.
const tmpfsEnv = "VIPCTL_TESTENV_TMPFS"

// PrivateTmpfs gives a top-level test a real, small file system of its own: it runs the test
// binary again, for this test alone, in a private mount namespace (unshare -m, so nothing
// outside sees the mount) where a tmpfs of size (mount's size=, e.g. "1m") is mounted on a new
// directory. In that child it returns the mount point and the test goes on there; in the
// parent it waits for the child, fails the test unless the child passed (its output is logged),
// and returns "": the caller returns then. It needs root (RequireRoot).
func PrivateTmpfs(t *testing.T, size string) string {
	t.Helper()
	if name, mnt, ok := strings.Cut(os.Getenv(tmpfsEnv), "="); ok && name == t.Name() {
		return mnt
	}
	RequireRoot(t)
	unshare := RequireTool(t, "unshare")
	mnt := t.TempDir()
	script := `mount -t tmpfs -o size="$1" vipctl-test "$2" && exec "$3" -test.run="$4" -test.count=1 -test.v`
	cmd := exec.CommandContext(t.Context(), unshare, "-m", "--propagation", "private", "--", "sh", "-c", script,
		"sh", size, mnt, os.Args[0], "^"+regexp.QuoteMeta(t.Name())+"$")
	cmd.Env = append(os.Environ(), tmpfsEnv+"="+t.Name()+"="+mnt)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child on a private tmpfs: %v\n%s", err, out)
	}
	t.Logf("child on a private tmpfs of %s:\n%s", size, out)
	return ""
}

// Fill writes the file path until its file system is full (ENOSPC), then frees room bytes of
// it again.
func Fill(t testing.TB, path string, room int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(max(size-room, 0)); err != nil {
		t.Fatal(err)
	}
}
