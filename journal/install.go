package journal

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/vipctl/vipctl/vip"
)

// Install copies the executable src to dest (atomically, mode 0755) and prepares the journal's
// directory: Pacemaker runs alert agents as user hacluster, so the directory is owned by
// hacluster:haclient, mode 0750 (members of haclient read the history).
func Install(src, dest, journalPath string) error {
	if err := vip.Install(src, dest); err != nil {
		return err
	}
	return PrepareDir(filepath.Dir(journalPath))
}

// OwnedByHacluster reports whether a file belongs to user hacluster.
func OwnedByHacluster(fi os.FileInfo) bool {
	uid, _, err := hacluster()
	st, ok := fi.Sys().(*syscall.Stat_t)
	return err == nil && ok && int(st.Uid) == uid
}

func hacluster() (uid, gid int, err error) {
	u, err := user.Lookup("hacluster")
	if err != nil {
		return 0, 0, fmt.Errorf("journal: user hacluster (installed with pacemaker): %w", err)
	}
	g, err := user.LookupGroup("haclient")
	if err != nil {
		return 0, 0, fmt.Errorf("journal: group haclient (installed with pacemaker): %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(g.Gid)
	return uid, gid, nil
}

// PrepareDir creates dir for the journal, owned by hacluster:haclient with mode 0750.
func PrepareDir(dir string) error {
	uid, gid, err := hacluster()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
