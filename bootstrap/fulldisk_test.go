package bootstrap

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/testenv"
)

// A probe that cannot tell (a timeout, a tool that does not answer as it should) fails its
// step: it is never taken for "not running", so nothing is started over a daemon that runs.
func TestProbeErrorIsNoAnswer(t *testing.T) {
	for name, probe := range map[string]string{
		"corosync":  "corosync-cmapctl -g totem.cluster_name",
		"pacemaker": "crm_mon --output-as=xml --one-shot --inactive",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.host.corosync, f.host.pacemaker, f.host.clusterName = true, true, "pg-test"
			f.host.fail[probe] = context.DeadlineExceeded
			r, err := f.run(f.options())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("run: %v; want the probe's timeout", err)
			}
			want := map[string]string{"corosync": "membership", "pacemaker": "pacemaker"}[name]
			if r.Failed != want {
				t.Errorf("failed step %q, want %q", r.Failed, want)
			}
			for _, c := range changing(f.host.takeCalls()) {
				if strings.HasPrefix(c, "systemctl ") { // a reload of the new corosync.conf is fine
					t.Errorf("ran %q after a probe that could not tell", c)
				}
			}
		})
	}
}

// A full disk while writing: the step that writes is named, the error is ENOSPC, and no file
// is half written (neither the target nor a temporary file is left). A real, tiny tmpfs is the
// host's root.
func TestFullDisk(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "mount")
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", f.root).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", f.root).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	if err := os.MkdirAll(f.root+"/etc/corosync", 0o755); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(f.root, "filler")
	noTemp := func() {
		t.Helper()
		ents, err := os.ReadDir(f.root + "/etc/corosync")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	}

	testenv.Fill(t, filler, 0)
	r, err := f.run(f.options())
	if !errors.Is(err, syscall.ENOSPC) || r.Failed != "authkey" {
		t.Fatalf("full disk: failed %q, %v; want authkey, ENOSPC", r.Failed, err)
	}
	if _, err := os.Stat(f.root + AuthkeyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("authkey after a failed write: %v; want none", err)
	}
	noTemp()

	// The key fits; corosync.conf does not: the old file stays whole.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	old := []byte("totem {\n\tcluster_name: debian\n}\n")
	if err := os.WriteFile(f.root+CorosyncConfPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.root+AuthkeyPath, must(os.ReadFile(f.key)), 0o400); err != nil {
		t.Fatal(err)
	}
	testenv.Fill(t, filler, 0)
	r, err = f.run(f.options())
	if !errors.Is(err, syscall.ENOSPC) || r.Failed != "corosync.conf" {
		t.Fatalf("full disk: failed %q, %v; want corosync.conf, ENOSPC", r.Failed, err)
	}
	if got := must(os.ReadFile(f.root + CorosyncConfPath)); string(got) != string(old) {
		t.Errorf("corosync.conf after a failed write: %q; want the old one whole", got)
	}
	noTemp()
}
