package nomad

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

func renderBackup(t *testing.T, tp *topology.Topology, c topology.Cluster) []File {
	t.Helper()
	files, err := BackupFiles(tp, c)
	if err != nil {
		t.Fatalf("BackupFiles(%s): %v", c.Name, err)
	}
	again, err := BackupFiles(tp, c)
	if err != nil || !bkSameFiles(files, again) {
		t.Fatalf("BackupFiles(%s) is not idempotent (err %v)", c.Name, err)
	}
	return files
}

func TestBackupFilesGolden(t *testing.T) {
	tp := backupExampleTopology()
	var files []File
	for _, c := range tp.Clusters {
		files = append(files, renderBackup(t, tp, c)...)
	}
	bkCheckGolden(t, filepath.Join("testdata", "backup-example"), files)

	bkCheckGolden(t, filepath.Join("testdata", "backup-s3"), renderBackup(t, tp, backupS3Cluster()))
}

func TestBackupFilesLayout(t *testing.T) {
	tp := backupExampleTopology()
	files := renderBackup(t, tp, tp.Clusters[0])
	type entry struct {
		Path string
		Mode string
	}
	var got []entry
	for _, f := range files {
		got = append(got, entry{f.Path, f.Mode.String()})
	}
	want := []entry{
		{"backup/msrvc01/pgbackrest.conf", "-rw-r--r--"},
		{"backup/msrvc01/stanza_init.sh", "-rwxr-xr-x"},
		{"backup/msrvc01/backup_if_primary.sh", "-rwxr-xr-x"},
		{"backup/msrvc01/pgsql_backup.sh", "-rwxr-xr-x"},
		{"backup/msrvc01/cron_backup", "-rw-r--r--"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
}

func TestBackupFilesDisabled(t *testing.T) {
	tp := backupExampleTopology()
	c := tp.Clusters[0]
	c.Backup.Enabled = false
	c.Backup.Schedule = "not a schedule" // not looked at when disabled
	files, err := BackupFiles(tp, c)
	if err != nil || files != nil {
		t.Fatalf("BackupFiles(disabled) = %v, %v; want nil, nil", files, err)
	}
}

func TestBackupFilesRefusesBadValues(t *testing.T) {
	tp := backupExampleTopology()
	for name, mutate := range map[string]func(*topology.Cluster){
		"schedule with four fields": func(c *topology.Cluster) { c.Backup.Schedule = "0 3 * *" },
		"schedule with a command":   func(c *topology.Cluster) { c.Backup.Schedule = "0 3 * * ; rm" },
		"newline in repo path":      func(c *topology.Cluster) { c.Backup.Repo.Path = "/var/lib\nrepo1-type=s3" },
		"relative posix path":       func(c *topology.Cluster) { c.Backup.Repo.Path = "backups" },
		"unknown repo type":         func(c *topology.Cluster) { c.Backup.Repo.Type = "gcs" },
		"s3 without bucket": func(c *topology.Cluster) {
			c.Backup.Repo = topology.Repo{Type: topology.RepoS3, Path: "/x", Endpoint: "e", Region: "r"}
		},
		"cluster name not a stanza": func(c *topology.Cluster) { c.Name = "Msrvc 01" },
	} {
		t.Run(name, func(t *testing.T) {
			c := tp.Clusters[0]
			mutate(&c)
			files, err := BackupFiles(tp, c)
			if !errors.Is(err, ErrInvalidBackup) || files != nil {
				t.Fatalf("BackupFiles = %d files, %v; want ErrInvalidBackup", len(files), err)
			}
		})
	}
}

func TestArchiveCommand(t *testing.T) {
	c := backupExampleTopology().Clusters[0]
	if got, want := ArchiveCommand(c), "pgbackrest --stanza=msrvc01 archive-push %p"; got != want {
		t.Errorf("ArchiveCommand = %q, want %q", got, want)
	}
}

// TestBackupScriptsCheck runs bash -n and shellcheck on every rendered script, as the
// consuming tools read them.
func TestBackupScriptsCheck(t *testing.T) {
	bash := testenv.RequireTool(t, "bash")
	shellcheck := testenv.RequireTool(t, "shellcheck")
	tp := backupExampleTopology()
	files := append(renderBackup(t, tp, tp.Clusters[0]), renderBackup(t, tp, backupS3Cluster())...)
	dir := t.TempDir()
	bkWriteFiles(t, dir, files)
	var scripts int
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".sh") {
			continue
		}
		scripts++
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if out, err := exec.CommandContext(ctx, bash, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f.Path, err, out)
		}
		if out, err := exec.CommandContext(ctx, shellcheck, "-S", "style", p).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f.Path, err, out)
		}
		cancel()
	}
	if scripts != 6 {
		t.Errorf("checked %d scripts, want 6", scripts)
	}
}
