// Package testenv lets tests demand real components: missing ones fail the test in CI and skip
// it elsewhere; live ones (root, namespaces, real daemons) never run under go test -short.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run in CI (CI set and not "false").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// missing fails the test in CI and skips it elsewhere, with the reason.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI requires it: "+format, args...)
	}
	t.Skipf("skipped outside CI: "+format, args...)
}

// RequireTool returns the path of an executable on PATH, or stops the test (fail in CI, skip elsewhere).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "%s not found on PATH (make test installs it)", name)
	}
	return p
}

// Live marks a live test: one that needs root, makes network or mount namespaces, or starts a
// real Pacemaker, Corosync, Consul or Nomad. Under `go test -short` it skips the test with a
// message, in CI too: a -short run is a unit run and starts nothing, even as root. `make test`
// (what CI runs) passes no -short, so every live test runs there. RequireRoot and the helpers
// that start daemons call it; a live test that calls neither calls it itself.
func Live(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("live test skipped with -short (%s); go test without -short, or make test, runs it", what)
	}
}

// RequireRoot stops the test unless it runs as root (fail in CI, skip elsewhere). A test that
// needs root is live (Live): -short skips it.
func RequireRoot(t testing.TB) {
	t.Helper()
	Live(t, "needs root: namespaces, mounts, Pacemaker")
	if os.Geteuid() != 0 {
		missing(t, "test needs root (network namespaces, Pacemaker)")
	}
}

// RequireFile stops the test unless path exists (fail in CI, skip elsewhere).
func RequireFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(t, "%s: %v", path, err)
	}
}

// RequireBinary returns the path of a component that scripts/install-deps.sh builds into the
// cache rather than installs: $env when set, else name on the PATH, else
// ${VIPCTL_CACHE:-/var/cache/vipctl}/bin/name. When none is there it stops the test (fail in CI,
// skip elsewhere), naming the script that builds it.
func RequireBinary(t testing.TB, env, name, script string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, "$%s=%s: %v", env, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	cache := os.Getenv("VIPCTL_CACHE")
	if cache == "" {
		cache = "/var/cache/vipctl"
	}
	p := filepath.Join(cache, "bin", name)
	if _, err := os.Stat(p); err != nil {
		missing(t, "%s: not in $%s, not on PATH, not at %s (%s builds it; make test runs it)", name, env, p, script)
	}
	return p
}
