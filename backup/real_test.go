package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"

	"github.com/vipctl/vipctl/backup"
)

// pgBinDir holds Debian's PostgreSQL 15 server binaries.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// realPG is a PostgreSQL 15 started for one test in its own directory, archiving through the
// rendered archive_command into a posix pgbackrest repository in the same directory.
type realPG struct {
	dir    string              // everything of the test lives below it
	files  string              // the rendered backup files: files/backup/<cluster>/...
	repo   string              // the posix repository (repo1-path)
	port   int                 // PostgreSQL's port on 127.0.0.1
	cred   *syscall.Credential // the postgres user
	env    []string            // environment of PostgreSQL and of the in-container scripts
	stanza string
}

// patroniStub is a stand-in for the local Patroni REST API: GET /primary answers 200 or 503.
type patroniStub struct {
	srv     *httptest.Server
	primary atomic.Bool
	asked   atomic.Int32
}

func newPatroniStub(t *testing.T) *patroniStub {
	p := &patroniStub{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/primary" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		p.asked.Add(1)
		if p.primary.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// prepareRealPG makes the temporary directory of a test PostgreSQL (an empty data directory,
// socket, repository, log and lock directories owned by postgres) and renders the backup files
// of the example's first cluster, backed up into the temporary posix repository unless mutate
// changes it. pgbackrest reads the rendered pgbackrest.conf; only what differs on a test
// machine (pg1-path, pg1-port, log and lock paths) is overridden through pgbackrest's
// environment, to which env is added.
func prepareRealPG(t *testing.T, mutate func(*topology.Cluster), env ...string) (*realPG, topology.Cluster) {
	t.Helper()
	testenv.RequireRoot(t)
	for _, tool := range []string{"bash", "curl", "pgbackrest", "runuser"} {
		testenv.RequireTool(t, tool)
	}
	for _, bin := range []string{"initdb", "pg_ctl", "pg_isready"} {
		testenv.RequireFile(t, filepath.Join(pgBinDir, bin))
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("the postgres user (Debian's postgresql package creates it): %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	dir, err := os.MkdirTemp("", "vipctl-pgbackrest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pg := &realPG{dir: dir, files: filepath.Join(dir, "files"), repo: filepath.Join(dir, "repo"),
		port: freePort(t), cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	for _, d := range []string{"pgdata", "sock", "repo", "log", "lock"} {
		p := filepath.Join(dir, d)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	tp := bundletest.BackupExample()
	c := tp.Clusters[0]
	c.Backup.Repo.Path = pg.repo
	if mutate != nil {
		mutate(&c)
	}
	pg.stanza = c.Name
	files := renderBackup(t, tp, c)
	bundletest.WriteFiles(t, pg.files, files)

	pgdata := filepath.Join(dir, "pgdata")
	pg.env = []string{
		"PATH=" + pgBinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + dir,
		"LANG=C.UTF-8",
		"PGBACKREST_CONFIG=" + pg.path("pgbackrest.conf"),
		"PGBACKREST_PG1_PATH=" + pgdata,
		"PGBACKREST_PG1_PORT=" + strconv.Itoa(pg.port),
		"PGBACKREST_LOG_PATH=" + filepath.Join(dir, "log"),
		"PGBACKREST_LOCK_PATH=" + filepath.Join(dir, "lock"),
		"VIPCTL_PGPORT=" + strconv.Itoa(pg.port),
	}
	pg.env = append(pg.env, env...)
	return pg, c
}

// startRealPG prepares a test PostgreSQL (prepareRealPG), initialises it and starts it with
// pg_ctl, archive_mode on and the rendered archive_command; its unix socket is in the
// temporary directory. repo, when not nil, replaces the temporary posix repository.
func startRealPG(t *testing.T, repo *topology.Repo, env ...string) *realPG {
	t.Helper()
	var mutate func(*topology.Cluster)
	if repo != nil {
		mutate = func(c *topology.Cluster) { c.Backup.Repo = *repo }
	}
	pg, c := prepareRealPG(t, mutate, env...)
	dir := pg.dir
	pgdata := filepath.Join(dir, "pgdata")
	pg.env = append(pg.env, "PGBACKREST_PG1_SOCKET_PATH="+filepath.Join(dir, "sock"), "VIPCTL_PGHOST="+filepath.Join(dir, "sock"))
	if out, err := pg.run(t, 60*time.Second, nil, filepath.Join(pgBinDir, "initdb"), "-D", pgdata,
		"-U", "postgres", "--auth=peer", "-E", "UTF8", "--no-instructions"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
wal_level = replica
max_wal_senders = 3
archive_mode = on
archive_command = '%s'
`, pg.port, filepath.Join(dir, "sock"), strings.ReplaceAll(backup.ArchiveCommand(c), "'", "''"))
	f, err := os.OpenFile(filepath.Join(pgdata, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := pg.run(t, 60*time.Second, nil, filepath.Join(pgBinDir, "pg_ctl"), "-D", pgdata,
		"-l", filepath.Join(dir, "log", "postgresql.log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log", "postgresql.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		if out, err := pg.run(t, 60*time.Second, nil, filepath.Join(pgBinDir, "pg_ctl"), "-D", pgdata,
			"-m", "immediate", "-w", "stop"); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	return pg
}

// path is a rendered backup file of the test cluster.
func (pg *realPG) path(name string) string {
	return filepath.Join(pg.files, "backup", pg.stanza, name)
}

// run runs a command as postgres with the test environment plus extra, and returns its
// combined output.
func (pg *realPG) run(t *testing.T, timeout time.Duration, extra []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = pg.dir
	cmd.Env = append(append([]string{}, pg.env...), extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// pgbackrestInfo is the part of `pgbackrest info --output=json` the tests look at.
type pgbackrestInfo struct {
	Name   string `json:"name"`
	Backup []struct {
		Type string `json:"type"`
	} `json:"backup"`
	DB []struct {
		SystemID int64 `json:"system-id"`
	} `json:"db"`
}

// info returns the stanza as pgbackrest reports it from the repository.
func (pg *realPG) info(t *testing.T) pgbackrestInfo {
	t.Helper()
	out, err := pg.run(t, 30*time.Second, nil, "pgbackrest", "--stanza="+pg.stanza, "--output=json", "info")
	if err != nil {
		t.Fatalf("pgbackrest info: %v\n%s", err, out)
	}
	var infos []pgbackrestInfo
	if err := json.Unmarshal([]byte(out), &infos); err != nil || len(infos) != 1 {
		t.Fatalf("pgbackrest info: %v: %s", err, out)
	}
	return infos[0]
}

func backupTypes(i pgbackrestInfo) []string {
	types := []string{}
	for _, b := range i.Backup {
		types = append(types, b.Type)
	}
	return types
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestBackupScriptsReal runs the rendered stanza_init.sh and backup_if_primary.sh for real,
// against PostgreSQL 15, pgbackrest and a stub Patroni REST API.
func TestBackupScriptsReal(t *testing.T) {
	t.Parallel() // slow: runs real tools; independent of every other test
	pg := startRealPG(t, nil)
	patroni := newPatroniStub(t)
	url := "VIPCTL_PATRONI_URL=" + patroni.srv.URL
	fast := []string{url, "VIPCTL_STANZA_INIT_INTERVAL=1", "VIPCTL_STANZA_INIT_TIMEOUT=40"}

	// A replica gives up at its deadline without touching the repository.
	out, err := pg.run(t, 30*time.Second, []string{url, "VIPCTL_STANZA_INIT_INTERVAL=1", "VIPCTL_STANZA_INIT_TIMEOUT=2"},
		pg.path("stanza_init.sh"))
	if exitCode(err) != 1 || !strings.Contains(out, "gave up") {
		t.Fatalf("stanza_init.sh on a lasting replica: %v, want exit 1 and a message\n%s", err, out)
	}
	if i := pg.info(t); len(i.DB) != 0 {
		t.Fatalf("a replica created the stanza: %+v", i)
	}

	// A replica that becomes the leader while polling (a failover) creates the stanza.
	patroni.asked.Store(0)
	done := make(chan error, 1)
	var initOut string
	go func() {
		var err error
		initOut, err = pg.run(t, 60*time.Second, fast, pg.path("stanza_init.sh"))
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for patroni.asked.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	patroni.primary.Store(true)
	if err := <-done; err != nil {
		t.Fatalf("stanza_init.sh after becoming leader: %v\n%s", err, initOut)
	}
	if waited, created := strings.Index(initOut, "member is replica: waiting"), strings.Index(initOut, "stanza is ready"); waited < 0 || created < waited {
		t.Errorf("stanza_init.sh did not wait as a replica, then create the stanza as the leader:\n%s", initOut)
	}
	if i := pg.info(t); len(i.DB) != 1 || len(i.Backup) != 0 {
		t.Fatalf("after stanza_init.sh on the leader: %+v, want the stanza without backups", i)
	}

	// Rerunning it on the leader is harmless; on a replica it finds the stanza and stops at once.
	if out, err := pg.run(t, 60*time.Second, fast, pg.path("stanza_init.sh")); err != nil {
		t.Fatalf("stanza_init.sh again on the leader: %v\n%s", err, out)
	}
	patroni.primary.Store(false)
	if out, err := pg.run(t, 30*time.Second, fast, pg.path("stanza_init.sh")); err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("stanza_init.sh on a replica with the stanza present: %v\n%s", err, out)
	}

	// backup_if_primary.sh on a replica: nothing runs.
	out, err = pg.run(t, 30*time.Second, []string{url}, pg.path("backup_if_primary.sh"), "full")
	if err != nil || out != "skipped: replica\n" {
		t.Fatalf("backup_if_primary.sh on a replica = %v, %q; want exit 0, \"skipped: replica\"", err, out)
	}
	if got := backupTypes(pg.info(t)); len(got) != 0 {
		t.Fatalf("backups after a replica's run: %v, want none", got)
	}

	// On the primary: a full backup, then pgbackrest's default (incremental).
	patroni.primary.Store(true)
	if out, err := pg.run(t, 60*time.Second, []string{url}, pg.path("backup_if_primary.sh"), "full"); err != nil {
		t.Fatalf("backup_if_primary.sh full on the primary: %v\n%s", err, out)
	}
	if out, err := pg.run(t, 60*time.Second, []string{url}, pg.path("backup_if_primary.sh")); err != nil {
		t.Fatalf("backup_if_primary.sh on the primary: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"full", "incr"}, backupTypes(pg.info(t))); d != "" {
		t.Errorf("backups in the repository (-want +got):\n%s", d)
	}

	// Bad usage and an unreachable Patroni are errors, not silent successes.
	if out, err := pg.run(t, 10*time.Second, []string{url}, pg.path("backup_if_primary.sh"), "weekly"); exitCode(err) != 2 {
		t.Errorf("backup_if_primary.sh weekly: %v, want exit 2\n%s", err, out)
	}
	closed := "VIPCTL_PATRONI_URL=http://127.0.0.1:" + strconv.Itoa(freePort(t))
	out, err = pg.run(t, 30*time.Second, []string{closed}, pg.path("backup_if_primary.sh"))
	if exitCode(err) != 1 || !strings.Contains(out, "unreachable") {
		t.Errorf("backup_if_primary.sh with Patroni down: %v, want exit 1 naming it unreachable\n%s", err, out)
	}
	if got := len(pg.info(t).Backup); got != 2 {
		t.Errorf("%d backups after the refused runs, want still 2", got)
	}

	t.Run("pgsql_backup.sh", func(t *testing.T) { testHostBackupScript(t, pg, patroni) })
}

// dockerStub is a fake docker command: it records each call, answers `ps` with a container id
// when the filter matches STUB_MATCH, and runs `exec` as the given user against the rendered
// in-container scripts (STUB_ROOT maps /usr/local/bin/... to the rendered files).
const dockerStub = `#!/bin/bash
set -euo pipefail
printf '%s\n' "$*" >>"$STUB_LOG"
case $1 in
ps)
	if [[ $* == *"--filter $STUB_MATCH"* ]]; then
		echo "$STUB_ID"
	fi
	;;
exec)
	shift
	[[ $1 == --user ]] || { echo "stub: exec without --user" >&2; exit 125; }
	user=$2
	shift 3
	inner=$1
	shift
	exec runuser -u "$user" -- "$STUB_ROOT/$(basename "$inner")" "$@"
	;;
*)
	echo "stub: unexpected docker $*" >&2
	exit 125
	;;
esac
`

// testHostBackupScript runs the rendered pgsql_backup.sh as on a host, with the stub docker on PATH.
func testHostBackupScript(t *testing.T, pg *realPG, patroni *patroniStub) {
	bin := filepath.Join(pg.dir, "stubbin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(dockerStub), 0o755); err != nil {
		t.Fatal(err)
	}
	script := pg.path("pgsql_backup.sh")
	const id = "3f2c9a1b7d4e"
	run := func(t *testing.T, match string, args ...string) (string, []string, error) {
		t.Helper()
		logFile := filepath.Join(t.TempDir(), "docker.log")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, args...)
		cmd.Env = append(append([]string{}, pg.env...), "PATH="+bin+":"+pgBinDir+":/usr/sbin:/usr/bin:/sbin:/bin",
			"VIPCTL_PATRONI_URL="+patroni.srv.URL, "STUB_LOG="+logFile, "STUB_MATCH="+match, "STUB_ID="+id,
			"STUB_ROOT="+filepath.Dir(script))
		out, err := cmd.CombinedOutput()
		calls, _ := os.ReadFile(logFile)
		return string(out), strings.Split(strings.TrimSpace(string(calls)), "\n"), err
	}
	psLabel := "ps -q --filter label=vipctl.cluster=msrvc01"
	psJob := "ps -q --filter label=com.hashicorp.nomad.job_name=pgsql-msrvc01"

	t.Run("no container on this host", func(t *testing.T) {
		out, calls, err := run(t, "label=nothing")
		if err != nil || !strings.Contains(out, "no running container") {
			t.Fatalf("pgsql_backup.sh = %v, want exit 0 with a message\n%s", err, out)
		}
		if d := cmp.Diff([]string{psLabel, psJob}, calls); d != "" {
			t.Errorf("docker calls (-want +got):\n%s", d)
		}
	})
	t.Run("primary found by the vipctl label", func(t *testing.T) {
		patroni.primary.Store(true)
		before := len(pg.info(t).Backup)
		out, calls, err := run(t, "label=vipctl.cluster=msrvc01", "diff")
		if err != nil {
			t.Fatalf("pgsql_backup.sh diff: %v\n%s", err, out)
		}
		want := []string{psLabel, "exec --user postgres " + id + " /usr/local/bin/backup_if_primary.sh diff"}
		if d := cmp.Diff(want, calls); d != "" {
			t.Errorf("docker calls (-want +got):\n%s", d)
		}
		types := backupTypes(pg.info(t))
		if len(types) != before+1 || types[len(types)-1] != "diff" {
			t.Errorf("backups after pgsql_backup.sh diff: %v, want one more, a diff", types)
		}
	})
	t.Run("replica found by Nomad's job label", func(t *testing.T) {
		patroni.primary.Store(false)
		out, calls, err := run(t, "label=com.hashicorp.nomad.job_name=pgsql-msrvc01")
		if err != nil || !strings.Contains(out, "skipped: replica") {
			t.Fatalf("pgsql_backup.sh on a replica host = %v, want exit 0 and skipped\n%s", err, out)
		}
		want := []string{psLabel, psJob, "exec --user postgres " + id + " /usr/local/bin/backup_if_primary.sh"}
		if d := cmp.Diff(want, calls); d != "" {
			t.Errorf("docker calls (-want +got):\n%s", d)
		}
	})
	t.Run("the step in the container fails", func(t *testing.T) {
		out, _, err := run(t, "label=vipctl.cluster=msrvc01", "weekly")
		if exitCode(err) != 1 || !strings.Contains(out, "backup step failed") {
			t.Fatalf("pgsql_backup.sh weekly = %v, want exit 1\n%s", err, out)
		}
	})
}
