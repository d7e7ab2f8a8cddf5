package compose

import (
	"context"
	"errors"
	"flag"
	"os"
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
)

// updateGolden rewrites the golden files of the package: go test ./compose -run Golden -update.
var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

func renderCompose(t *testing.T, tp *topology.Topology) []bundle.File {
	t.Helper()
	files, err := Files(tp)
	if err != nil {
		t.Fatalf("ComposeFiles: %v", err)
	}
	again, err := Files(tp)
	if err != nil || !bundletest.SameFiles(files, again) {
		t.Fatalf("ComposeFiles is not idempotent (err %v)", err)
	}
	return files
}

// composeS3Topology is the example whose first cluster backs up to S3.
func composeS3Topology() *topology.Topology {
	tp := bundletest.BackupExample()
	tp.Clusters = []topology.Cluster{bundletest.BackupS3Cluster()}
	return tp
}

// composeNoBackupTopology is the example whose first cluster has no backup.
func composeNoBackupTopology() *topology.Topology {
	tp := bundletest.BackupExample()
	tp.Clusters[0].Backup = topology.Backup{Enabled: false}
	return tp
}

func TestComposeFilesGolden(t *testing.T) {
	bundletest.CheckGolden(t, filepath.Join("testdata", "compose-example"), renderCompose(t, bundletest.BackupExample()), *updateGolden)
	bundletest.CheckGolden(t, filepath.Join("testdata", "compose-s3"), renderCompose(t, composeS3Topology()), *updateGolden)
	bundletest.CheckGolden(t, filepath.Join("testdata", "compose-nobackup"), renderCompose(t, composeNoBackupTopology()), *updateGolden)
}

func TestComposeFilesList(t *testing.T) {
	var got []string
	for _, f := range renderCompose(t, bundletest.BackupExample()) {
		got = append(got, f.Path+" "+f.Mode.String())
	}
	want := []string{
		"compose/docker-compose.yml -rw-r--r--",
		"compose/Dockerfile -rw-r--r--",
		"compose/entrypoint.sh -rwxr-xr-x",
		"compose/patroni.yml -rw-r--r--",
		"compose/haproxy.cfg -rw-r--r--",
		"compose/pgbackrest.conf -rw-r--r--",
		"compose/stanza_init.sh -rwxr-xr-x",
		"compose/backup_if_primary.sh -rwxr-xr-x",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("compose files (-want +got):\n%s", d)
	}
}

func TestComposeFilesNoCluster(t *testing.T) {
	tp := bundletest.BackupExample()
	tp.Clusters = nil
	if _, err := Files(tp); !errors.Is(err, ErrRender) {
		t.Fatalf("Files(no cluster) error = %v, want ErrRender", err)
	}
}

// TestComposeReferencedFilesRendered checks that every file the Dockerfile copies and every
// file the compose file binds from its directory is rendered beside them, and that the
// cluster's files are bound, not baked into the image.
func TestComposeReferencedFilesRendered(t *testing.T) {
	for name, tc := range map[string]struct {
		tp    *topology.Topology
		binds []string
	}{
		"example":  {bundletest.BackupExample(), []string{"patroni.yml", "pgbackrest.conf", "stanza_init.sh", "backup_if_primary.sh"}},
		"s3":       {composeS3Topology(), []string{"patroni.yml", "pgbackrest.conf", "stanza_init.sh", "backup_if_primary.sh"}},
		"nobackup": {composeNoBackupTopology(), []string{"patroni.yml"}},
	} {
		rendered := map[string][]byte{}
		for _, f := range renderCompose(t, tc.tp) {
			rendered[strings.TrimPrefix(f.Path, "compose/")] = f.Data
		}
		var copied []string
		for _, line := range strings.Split(string(rendered["Dockerfile"]), "\n") {
			if fields := strings.Fields(line); len(fields) >= 3 && fields[0] == "COPY" {
				copied = append(copied, fields[1:len(fields)-1]...)
			}
		}
		if d := cmp.Diff([]string{"entrypoint.sh"}, copied); d != "" {
			t.Errorf("%s: files the Dockerfile copies (-want +got):\n%s", name, d)
		}
		binds := map[string]int{}
		for _, line := range strings.Split(string(rendered["docker-compose.yml"]), "\n") {
			if src, ok := strings.CutPrefix(strings.TrimSpace(line), "- ./"); ok {
				src, _, _ = strings.Cut(src, ":")
				binds[src]++
			}
		}
		want := map[string]int{"haproxy.cfg": 1}
		for _, b := range tc.binds {
			want[b] = composeMembers
		}
		if d := cmp.Diff(want, binds); d != "" {
			t.Errorf("%s: files bound from the compose directory, with counts (-want +got):\n%s", name, d)
		}
		for _, f := range append(copied, tc.binds...) {
			if rendered[f] == nil {
				t.Errorf("%s: %s is referenced but not rendered", name, f)
			}
		}
	}
}

func composeConfig(t *testing.T, dir string, env []string) ([]byte, error) {
	t.Helper()
	dc := testenv.RequireTool(t, "docker-compose")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dc, "-f", filepath.Join(dir, "compose", "docker-compose.yml"), "config", "-q")
	cmd.Dir = filepath.Join(dir, "compose")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	return cmd.CombinedOutput()
}

// TestComposeConfigAccepted runs docker-compose config on the rendered micro-cluster: it
// accepts the file with the passwords set and refuses it without them (no default password).
func TestComposeConfigAccepted(t *testing.T) {
	t.Parallel() // slow: runs real tools; independent of every other test
	for name, tc := range map[string]struct {
		tp  *topology.Topology
		env []string
	}{
		"example":  {bundletest.BackupExample(), nil},
		"nobackup": {composeNoBackupTopology(), nil},
		"s3":       {composeS3Topology(), []string{"PGBACKREST_REPO1_S3_KEY=k", "PGBACKREST_REPO1_S3_KEY_SECRET=s"}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			bundletest.WriteFiles(t, dir, renderCompose(t, tc.tp))
			pw := []string{"PATRONI_SUPERUSER_PASSWORD=su-secret", "PATRONI_REPLICATION_PASSWORD=repl-secret"}
			if out, err := composeConfig(t, dir, append(pw, tc.env...)); err != nil {
				t.Fatalf("docker-compose config: %v\n%s", err, out)
			}
			out, err := composeConfig(t, dir, tc.env)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("docker-compose config without passwords: %v, want a refusal\n%s", err, out)
			}
			if !strings.Contains(string(out), "set PATRONI_SUPERUSER_PASSWORD") {
				t.Errorf("the refusal does not tell the operator what to set:\n%s", out)
			}
		})
	}
}

// TestComposeHAProxyAndScripts checks the compose haproxy.cfg with haproxy -dW -c and the
// entrypoint with bash -n and shellcheck.
func TestComposeHAProxyAndScripts(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	bash := testenv.RequireTool(t, "bash")
	shellcheck := testenv.RequireTool(t, "shellcheck")
	dir := t.TempDir()
	bundletest.WriteFiles(t, dir, renderCompose(t, bundletest.BackupExample()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{haproxy, "-dW", "-c", "-f", filepath.Join(dir, "compose", "haproxy.cfg")},
		{bash, "-n", filepath.Join(dir, "compose", "entrypoint.sh")},
		{shellcheck, "-S", "style", filepath.Join(dir, "compose", "entrypoint.sh")},
	} {
		if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
