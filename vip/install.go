package vip

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Where Pacemaker finds vipctl's OCF agents (provider vipctl): the one vipctl binary, installed
// as ocf:vipctl:vip and, beside it, as ocf:vipctl:health. `vipctl ocf install` and bootstrap put
// it there; the binary knows which agent it is by the name it was run as.
const (
	AgentPath       = "/usr/lib/ocf/resource.d/vipctl/vip"
	HealthAgentName = "health"
	HealthAgentPath = "/usr/lib/ocf/resource.d/vipctl/" + HealthAgentName
)

// ErrUnreachable means an installed agent could not be run by unprivileged users.
var ErrUnreachable = errors.New("not reachable by other users")

// Install copies the executable src to dest with mode 0755 through a temporary file and a rename,
// creating missing directories with mode 0755. Every directory above dest must be searchable by
// other users (Pacemaker and ocf-tester run meta-data as an unprivileged user).
func Install(src, dest string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer in.Close()
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("install %s: directory %s (mode %s) is %w", dest, d, st.Mode().Perm(), ErrUnreachable)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	tmp, err := os.CreateTemp(dir, ".vip.*")
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer os.Remove(tmp.Name()) // finds nothing after the rename
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("install: %w", err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("install: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("install: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return nil
}
