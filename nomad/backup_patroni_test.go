package nomad

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
)

// TestBackupWithRealPatroni runs a real Patroni (Debian's) on the rendered patroni.yml, with
// Patroni's built-in Raft as a one-member DCS in place of Consul (not obtainable here), and
// the environment a member gets from the job. The rendered scripts run unchanged: they find
// Patroni's REST API at 127.0.0.1:<patroni_port> and PostgreSQL's socket in
// /var/run/postgresql, as in the container. stanza_init.sh creates the stanza (its pgbackrest
// check proves patroni.yml's archive_command works) and backup_if_primary.sh backs up.
func TestBackupWithRealPatroni(t *testing.T) {
	t.Parallel() // slow: runs real tools; independent of every other test
	patroni := testenv.RequireTool(t, "patroni")
	testenv.RequireFile(t, "/usr/lib/python3/dist-packages/pysyncobj") // Patroni's Raft DCS
	testenv.RequireFile(t, ContainerPGSocketDir)
	restPort := freePort(t)
	pg, c := prepareRealPG(t, func(c *topology.Cluster) { c.PatroniPort = restPort })
	conf, err := PatroniConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(pg.dir, "patroni.yml")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	raft := filepath.Join(pg.dir, "raft")
	if err := os.Mkdir(raft, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(raft, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
		t.Fatal(err)
	}
	pgAddr := "127.0.0.1:" + strconv.Itoa(pg.port)
	restAddr := "127.0.0.1:" + strconv.Itoa(restPort)
	member := []string{
		"PATRONI_NAME=pgsql-0",
		"PATRONI_SCOPE=" + PatroniJobName(c),
		"PATRONI_RAFT_SELF_ADDR=127.0.0.1:" + strconv.Itoa(freePort(t)),
		"PATRONI_RAFT_DATA_DIR=" + raft,
		"PATRONI_RESTAPI_LISTEN=" + restAddr,
		"PATRONI_RESTAPI_CONNECT_ADDRESS=" + restAddr,
		"PATRONI_POSTGRESQL_LISTEN=" + pgAddr,
		"PATRONI_POSTGRESQL_CONNECT_ADDRESS=" + pgAddr,
		"PATRONI_POSTGRESQL_DATA_DIR=" + filepath.Join(pg.dir, "pgdata"),
		"PATRONI_POSTGRESQL_BIN_DIR=" + pgBinDir,
		"PATRONI_SUPERUSER_USERNAME=postgres",
		"PATRONI_SUPERUSER_PASSWORD=test-only-superuser",
		"PATRONI_REPLICATION_USERNAME=replicator",
		"PATRONI_REPLICATION_PASSWORD=test-only-replication",
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, patroni, confPath)
	cmd.Dir = pg.dir
	cmd.Env = append(append([]string{}, pg.env...), member...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred, Setpgid: true}
	// Patroni stops PostgreSQL on SIGTERM; kill what is left after the grace period.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	logFile, err := os.Create(filepath.Join(pg.dir, "patroni.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start patroni: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything Patroni left in its group
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("patroni log:\n%s", log)
		}
	})

	// Patroni bootstraps the cluster and takes the leader lock: /primary answers 200.
	leader := false
	for deadline := time.Now().Add(60 * time.Second); !leader && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		if resp, err := http.Get("http://" + restAddr + "/primary"); err == nil {
			resp.Body.Close()
			leader = resp.StatusCode == http.StatusOK
		}
	}
	if !leader {
		t.Fatal("Patroni did not become the leader within 60 s")
	}

	fast := []string{"VIPCTL_STANZA_INIT_INTERVAL=1", "VIPCTL_STANZA_INIT_TIMEOUT=60"}
	if out, err := pg.run(t, 90*time.Second, fast, pg.path("stanza_init.sh")); err != nil {
		t.Fatalf("stanza_init.sh: %v\n%s", err, out)
	}
	if out, err := pg.run(t, 90*time.Second, nil, pg.path("backup_if_primary.sh"), "full"); err != nil {
		t.Fatalf("backup_if_primary.sh full: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"full"}, backupTypes(pg.info(t))); d != "" {
		t.Errorf("backups listed by pgbackrest info (-want +got):\n%s", d)
	}
}
