package backup_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipctl/vipctl/bundle"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"

	"github.com/vipctl/vipctl/compose"
	"github.com/vipctl/vipctl/patroni"
)

// patroniMember is one real Patroni process of a test.
type patroniMember struct {
	name string
	rest string // REST API address, 127.0.0.1:port
	raft string // Raft address, 127.0.0.1:port
}

// startPatroni starts Debian's Patroni as postgres with the environment a member gets from
// the job (name, scope, addresses, data directory, credentials) and Patroni's built-in Raft as
// DCS: the first member alone, later ones joining partner. Each member has its own data
// directory, ports and pgpass file under pg.dir. Patroni stops (and stops PostgreSQL) at the
// end of the test.
//
// With image nil, Patroni runs on the rendered patroni.yml at conf. Otherwise the member
// starts as the container does: image's files (the compose files the Dockerfile copies) are
// laid over /etc and /usr/local/bin at their image paths, in a private mount namespace
// (overlayfs, nothing changes outside it), and the rendered entrypoint.sh runs as postgres;
// pgbackrest then reads its configuration from its default path.
func startPatroni(t *testing.T, pg *realPG, c topology.Cluster, conf string, image []bundle.File, name string, restPort, pgPort int, partner string) patroniMember {
	t.Helper()
	m := patroniMember{name: name, rest: "127.0.0.1:" + strconv.Itoa(restPort), raft: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	dir := filepath.Join(pg.dir, name)
	for _, d := range []string{dir, filepath.Join(dir, "raft"), filepath.Join(dir, "pgdata")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	pgAddr := "127.0.0.1:" + strconv.Itoa(pgPort)
	env := []string{
		"PATRONI_NAME=" + name,
		"PATRONI_SCOPE=" + c.PatroniJobName(),
		"PATRONI_RAFT_SELF_ADDR=" + m.raft,
		"PATRONI_RAFT_DATA_DIR=" + filepath.Join(dir, "raft"),
		"PATRONI_RESTAPI_LISTEN=" + m.rest,
		"PATRONI_RESTAPI_CONNECT_ADDRESS=" + m.rest,
		"PATRONI_POSTGRESQL_LISTEN=" + pgAddr,
		"PATRONI_POSTGRESQL_CONNECT_ADDRESS=" + pgAddr,
		"PATRONI_POSTGRESQL_DATA_DIR=" + filepath.Join(dir, "pgdata"),
		"PATRONI_POSTGRESQL_PGPASS=" + filepath.Join(dir, "pgpass"),
		"PATRONI_POSTGRESQL_BIN_DIR=" + pgBinDir,
		"PATRONI_SUPERUSER_USERNAME=postgres",
		"PATRONI_SUPERUSER_PASSWORD=test-only-superuser",
		"PATRONI_REPLICATION_USERNAME=replicator",
		"PATRONI_REPLICATION_PASSWORD=test-only-replication",
	}
	if partner != "" {
		env = append(env, `PATRONI_RAFT_PARTNER_ADDRS=["`+partner+`"]`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var cmd *exec.Cmd
	if image == nil {
		cmd = exec.CommandContext(ctx, testenv.RequireTool(t, "patroni"), conf)
		cmd.Env = append(append([]string{}, pg.env...), env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred, Setpgid: true}
	} else {
		script := imageOverlay(t, dir, image) + fmt.Sprintf("exec setpriv --reuid=%d --regid=%d --init-groups %s\n",
			pg.cred.Uid, pg.cred.Gid, "/usr/local/bin/entrypoint.sh")
		cmd = exec.CommandContext(ctx, testenv.RequireTool(t, "unshare"), "-m", "--propagation", "private",
			testenv.RequireTool(t, "bash"), "-c", script)
		for _, kv := range pg.env {
			if !strings.HasPrefix(kv, "PGBACKREST_CONFIG=") { // the image's default path instead
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	cmd.Dir = dir
	// Patroni stops PostgreSQL on SIGTERM; what is left after the grace period is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	logFile, err := os.Create(filepath.Join(dir, "patroni.log"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start patroni %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything Patroni left in its group
		cancel()
		logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("patroni %s log:\n%s", name, log)
		}
	})
	return m
}

// imageOverlay stages the image's files under dir and returns the shell lines that, in the
// private mount namespace, lay them over /etc and /usr/local/bin: overlayfs whose upper
// directories live on a tmpfs (overlayfs refuses an upper directory on overlayfs, which the
// root of a CI container may be).
func imageOverlay(t *testing.T, dir string, image []bundle.File) string {
	t.Helper()
	container := topology.Cluster{}.Container()
	dest := map[string]string{ // compose file -> path in the container, as the Nomad job binds it
		"entrypoint.sh":        "/usr/local/bin/entrypoint.sh",
		"stanza_init.sh":       container.StanzaInit,
		"backup_if_primary.sh": container.BackupIfPrimary,
		"patroni.yml":          container.PatroniConf,
		"pgbackrest.conf":      container.PgbackrestConf,
	}
	scratch := filepath.Join(dir, "overlay")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	fmt.Fprintf(&lines, "set -euo pipefail\nmount -t tmpfs -o mode=0755 tmpfs %s\n", scratch)
	for _, lower := range []string{"/etc", "/usr/local/bin"} {
		name := strings.ReplaceAll(strings.TrimPrefix(lower, "/"), "/", "-")
		stage := filepath.Join(dir, "stage-"+name)
		if err := os.MkdirAll(stage, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range image {
			p, ok := dest[path.Base(f.Path)]
			rel, under := strings.CutPrefix(p, lower+"/")
			if ok && under {
				bundletest.WriteFiles(t, stage, []bundle.File{{Path: rel, Mode: f.Mode, Data: f.Data}})
			}
		}
		upper, work := filepath.Join(scratch, name), filepath.Join(scratch, name+".work")
		fmt.Fprintf(&lines, "mkdir %s %s\ncp -a %s/. %s/\n", upper, work, stage, upper)
		fmt.Fprintf(&lines, "mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s\n", lower, upper, work, lower)
	}
	return lines.String()
}

// roleWait bounds waitRole. Patroni's bootstrap (initdb, then its first loop) takes seconds on
// an idle machine but over a minute when the 2-core CI machine runs other real tests beside it:
// the bound is generous because it only limits how long a broken run takes to fail.
const roleWait = 2 * time.Minute

// waitRole waits until the member's REST API answers 200 on /primary or /replica.
func (m patroniMember) waitRole(t *testing.T, role string) {
	t.Helper()
	for deadline := time.Now().Add(roleWait); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get("http://" + m.rest + "/" + role)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	t.Fatalf("Patroni member %s did not become %s within %s", m.name, role, roleWait)
}

// TestBackupWithRealPatroni runs real Patroni members (Debian's) on the rendered patroni.yml,
// with Patroni's built-in Raft as DCS in place of Consul (not obtainable here). On the leader
// the rendered scripts run unchanged: they find Patroni's REST API at 127.0.0.1:<patroni_port>
// and PostgreSQL's socket in /var/run/postgresql, as in the container; stanza_init.sh creates
// the stanza (its pgbackrest check proves patroni.yml's archive_command archives) and
// backup_if_primary.sh backs up. A second member, cloned by Patroni as a replica, answers 503
// on /primary: there the scripts do nothing and exit 0.
func TestBackupWithRealPatroni(t *testing.T) {
	t.Parallel() // slow: runs real tools; independent of every other test
	testenv.RequireTool(t, "patroni")
	testenv.RequireFile(t, "/usr/lib/python3/dist-packages/pysyncobj") // Patroni's Raft DCS
	testenv.RequireTool(t, "setpriv")
	restPort := freePort(t)
	pg, c := prepareRealPG(t, func(c *topology.Cluster) { c.PatroniPort = restPort })
	// patroni.yml puts the socket where Debian's postgresql-common keeps it (its tmpfiles.d
	// entry makes it at boot; a fresh container may lack it): make it the same way.
	if _, err := os.Stat(c.Container().PGSocketDir); errors.Is(err, fs.ErrNotExist) {
		t.Logf("creating %s as postgresql-common does", c.Container().PGSocketDir)
		if err := os.Mkdir(c.Container().PGSocketDir, 0o2775); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(c.Container().PGSocketDir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	// The leader's data directory is the one pgbackrest is pointed at.
	pg.env = append(pg.env, "PGBACKREST_PG1_PATH="+filepath.Join(pg.dir, "pgsql-0", "pgdata"))
	conf, err := patroni.Config(c)
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(pg.dir, "patroni.yml")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}

	// The leader starts as the container does: the image's entrypoint.sh starts stanza_init.sh
	// in the background, then Patroni; the stanza appears without any other step.
	tp := bundletest.BackupExample()
	tp.Clusters = []topology.Cluster{c}
	image, err := compose.Files(tp)
	if err != nil {
		t.Fatal(err)
	}
	pg.env = append(pg.env, "VIPCTL_STANZA_INIT_INTERVAL=1", "VIPCTL_STANZA_INIT_TIMEOUT=60")
	leader := startPatroni(t, pg, c, "", image, "pgsql-0", restPort, pg.port, "")
	leader.waitRole(t, "primary")
	for deadline := time.Now().Add(60 * time.Second); len(pg.info(t).DB) == 0; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("the entrypoint's stanza_init.sh did not create the stanza within 60 s")
		}
	}
	fast := []string{"VIPCTL_STANZA_INIT_INTERVAL=1", "VIPCTL_STANZA_INIT_TIMEOUT=60"}
	if out, err := pg.run(t, 90*time.Second, fast, pg.path("stanza_init.sh")); err != nil {
		t.Fatalf("stanza_init.sh again on the leader: %v\n%s", err, out)
	}

	replica := startPatroni(t, pg, c, confPath, nil, "pgsql-1", freePort(t), freePort(t), leader.raft)
	replica.waitRole(t, "replica")
	onReplica := append([]string{"VIPCTL_PATRONI_URL=http://" + replica.rest}, fast...)
	if out, err := pg.run(t, 30*time.Second, onReplica, pg.path("stanza_init.sh")); err != nil || !strings.Contains(out, "member is replica and the repository holds the stanza") {
		t.Errorf("stanza_init.sh on the replica: %v, want exit 0 finding the stanza\n%s", err, out)
	}
	if out, err := pg.run(t, 30*time.Second, onReplica, pg.path("backup_if_primary.sh"), "full"); err != nil || out != "skipped: replica\n" {
		t.Errorf("backup_if_primary.sh on the replica = %v, %q; want exit 0, \"skipped: replica\"", err, out)
	}

	if out, err := pg.run(t, 90*time.Second, nil, pg.path("backup_if_primary.sh"), "full"); err != nil {
		t.Fatalf("backup_if_primary.sh full on the leader: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"full"}, backupTypes(pg.info(t))); d != "" {
		t.Errorf("backups listed by pgbackrest info (-want +got):\n%s", d)
	}
}
