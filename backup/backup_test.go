package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/bundle"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"

	"github.com/vipctl/vipctl/backup"
)

func renderBackup(t *testing.T, tp *topology.Topology, c topology.Cluster) []bundle.File {
	t.Helper()
	files, err := backup.Files(tp, c)
	if err != nil {
		t.Fatalf("backup.Files(%s): %v", c.Name, err)
	}
	again, err := backup.Files(tp, c)
	if err != nil || !bundletest.SameFiles(files, again) {
		t.Fatalf("backup.Files(%s) is not idempotent (err %v)", c.Name, err)
	}
	return files
}

func TestBackupFilesGolden(t *testing.T) {
	tp := bundletest.BackupExample()
	var files []bundle.File
	for _, c := range tp.Clusters {
		files = append(files, renderBackup(t, tp, c)...)
	}
	bundletest.CheckGolden(t, filepath.Join("testdata", "backup-example"), files, *updateGolden)

	bundletest.CheckGolden(t, filepath.Join("testdata", "backup-s3"), renderBackup(t, tp, bundletest.BackupS3Cluster()), *updateGolden)
}

func TestBackupFilesLayout(t *testing.T) {
	tp := bundletest.BackupExample()
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

// TestRenderBackupRoles: each role of the set is the file of that name, and the set's files
// are BackupFiles'. A disabled backup has no set.
func TestRenderBackupRoles(t *testing.T) {
	tp := bundletest.BackupExample()
	c := tp.Clusters[1]
	set, err := backup.Render(tp, c)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"conf": set.Conf.Path, "stanza": set.StanzaInit.Path,
		"inner": set.BackupIfPrimary.Path, "host": set.HostScript.Path, "cron": set.Cron.Path}
	want := map[string]string{"conf": "backup/msrvc02/pgbackrest.conf", "stanza": "backup/msrvc02/stanza_init.sh",
		"inner": "backup/msrvc02/backup_if_primary.sh", "host": "backup/msrvc02/pgsql_backup.sh", "cron": "backup/msrvc02/cron_backup"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("roles (-want +got):\n%s", d)
	}
	if d := cmp.Diff(renderBackup(t, tp, c), set.Files()); d != "" {
		t.Errorf("set.Files() differs from BackupFiles (-BackupFiles +set):\n%s", d)
	}
	c.Backup.Enabled = false
	if _, err := backup.Render(tp, c); !errors.Is(err, backup.ErrDisabled) {
		t.Errorf("backup.Render(disabled): err = %v, want backup.ErrDisabled", err)
	}
}

func TestBackupFilesDisabled(t *testing.T) {
	tp := bundletest.BackupExample()
	c := tp.Clusters[0]
	c.Backup.Enabled = false
	c.Backup.Schedule = "not a schedule" // not looked at when disabled
	files, err := backup.Files(tp, c)
	if err != nil || files != nil {
		t.Fatalf("backup.Files(disabled) = %v, %v; want nil, nil", files, err)
	}
}

func TestBackupFilesRefusesBadValues(t *testing.T) {
	tp := bundletest.BackupExample()
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
			files, err := backup.Files(tp, c)
			if !errors.Is(err, backup.ErrInvalid) || files != nil {
				t.Fatalf("BackupFiles = %d files, %v; want backup.ErrInvalid", len(files), err)
			}
		})
	}
}

func TestArchiveCommand(t *testing.T) {
	c := bundletest.BackupExample().Clusters[0]
	if got, want := backup.ArchiveCommand(c), "pgbackrest --stanza=msrvc01 archive-push %p"; got != want {
		t.Errorf("ArchiveCommand = %q, want %q", got, want)
	}
}

// TestBackupScriptsCheck runs bash -n and shellcheck on every rendered script, as the
// consuming tools read them.
func TestBackupScriptsCheck(t *testing.T) {
	bash := testenv.RequireTool(t, "bash")
	shellcheck := testenv.RequireTool(t, "shellcheck")
	tp := bundletest.BackupExample()
	files := append(renderBackup(t, tp, tp.Clusters[0]), renderBackup(t, tp, bundletest.BackupS3Cluster())...)
	dir := t.TempDir()
	bundletest.WriteFiles(t, dir, files)
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

// TestBackupS3ConfigPgbackrest has pgbackrest read the rendered s3 pgbackrest.conf: without
// credentials in the environment it refuses (the file holds none), with them it accepts every
// option and goes for the repository, here redirected to a closed port on loopback.
func TestBackupS3ConfigPgbackrest(t *testing.T) {
	t.Parallel() // slow: runs real tools; independent of every other test
	pgbackrest := testenv.RequireTool(t, "pgbackrest")
	dir := t.TempDir()
	c := bundletest.BackupS3Cluster()
	bundletest.WriteFiles(t, dir, renderBackup(t, bundletest.BackupExample(), c))
	conf := filepath.Join(dir, "backup", c.Name, "pgbackrest.conf")
	info := func(env ...string) (stdout, stderr string, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, pgbackrest, "--stanza="+c.Name, "--output=json", "info")
		cmd.Env = append([]string{"PATH=/usr/bin:/bin", "PGBACKREST_CONFIG=" + conf,
			"PGBACKREST_LOG_PATH=" + dir, "PGBACKREST_LOCK_PATH=" + dir,
			// Loopback only: the closed port of 127.0.0.1, path-style, short timeout.
			"PGBACKREST_REPO1_S3_ENDPOINT=127.0.0.1", "PGBACKREST_REPO1_STORAGE_PORT=1",
			"PGBACKREST_REPO1_S3_URI_STYLE=path", "PGBACKREST_IO_TIMEOUT=1"}, env...)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}

	_, stderr, err := info()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(stderr, "repo1-s3-key") {
		t.Fatalf("pgbackrest info without credentials: %v, want a refusal naming repo1-s3-key\n%s", err, stderr)
	}

	stdout, stderr, err := info("PGBACKREST_REPO1_S3_KEY=AKIDEXAMPLE", "PGBACKREST_REPO1_S3_KEY_SECRET=secret")
	if err != nil || stderr != "" {
		t.Fatalf("pgbackrest info with credentials: %v, stderr %q (warnings mean an option it does not know)", err, stderr)
	}
	var got []struct {
		Name string `json:"name"`
		Repo []struct {
			Status struct {
				Message string `json:"message"`
			} `json:"status"`
		} `json:"repo"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("pgbackrest info output: %v\n%s", err, stdout)
	}
	if len(got) != 1 || got[0].Name != c.Name || len(got[0].Repo) != 1 ||
		!strings.Contains(got[0].Repo[0].Status.Message, "127.0.0.1:1") {
		t.Errorf("pgbackrest info = %s, want stanza %s whose one repository it tried at 127.0.0.1:1", stdout, c.Name)
	}
}
