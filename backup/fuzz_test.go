package backup_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"

	"github.com/vipctl/vipctl/backup"
)

// parseINI reads pgbackrest.conf the way pgbackrest does: [section] headers, key=value lines,
// # comments and blank lines; a line of any other shape is an error.
func parseINI(data []byte) (map[string]map[string]string, error) {
	ini := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if ini[section] != nil {
				return nil, errors.New("section " + section + " twice")
			}
			ini[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, errors.New("stray line " + line)
			}
			if _, dup := ini[section][k]; dup {
				return nil, errors.New("key " + k + " twice")
			}
			ini[section][k] = v
		}
	}
	return ini, sc.Err()
}

// FuzzBackupFiles renders the backup files of a cluster with arbitrary repository values and
// schedule: either they are refused with backup.ErrInvalid, or pgbackrest.conf carries each
// value back unchanged and every script passes bash -n.
func FuzzBackupFiles(f *testing.F) {
	bash := testenv.RequireTool(f, "bash")
	f.Add("posix", "/var/lib/pgbackrest", "", "", "", "0 3 * * *")
	f.Add("s3", "/pgbackrest", "pg-backups", "s3.example:9000", "eu-west-1", "*/15 1-5 * * mon-fri")
	f.Add("posix", "/var/lib/it's here", "", "", "", "0 3 * * *")
	f.Add("s3", "/p", "b\nrepo1-type=posix", "e", "r", "0 3 * * *")
	f.Add("posix", "/x", "", "", "", "0 3 * * * root rm -rf /")
	f.Fuzz(func(t *testing.T, typ, path, bucket, endpoint, region, schedule string) {
		tp := bundletest.BackupExample()
		c := tp.Clusters[0]
		c.Backup.Schedule = schedule
		c.Backup.Repo = topology.Repo{Type: typ, Path: path, Bucket: bucket, Endpoint: endpoint, Region: region}
		files, err := backup.Files(tp, c)
		if err != nil {
			if !errors.Is(err, backup.ErrInvalid) {
				t.Fatalf("error not backup.ErrInvalid: %v", err)
			}
			return
		}
		ini, err := parseINI(files[0].Data)
		if err != nil {
			t.Fatalf("pgbackrest.conf does not parse: %v\n%s", err, files[0].Data)
		}
		want := map[string]string{"repo1-type": typ, "repo1-path": path}
		if typ == topology.RepoS3 {
			want["repo1-s3-bucket"], want["repo1-s3-endpoint"], want["repo1-s3-region"] = bucket, endpoint, region
		}
		got := map[string]string{}
		for k := range want {
			got[k] = ini["global"][k]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("pgbackrest.conf values (-topology +read back):\n%s", d)
		}
		if ini[c.Name]["pg1-path"] != c.Container().PGData {
			t.Fatalf("stanza section lost: %v", ini)
		}
		for _, file := range files {
			if !strings.HasSuffix(file.Path, ".sh") {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, bash, "-n")
			cmd.Stdin = bytes.NewReader(file.Data)
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("bash -n %s: %v\n%s", file.Path, err, out)
			}
		}
	})
}
