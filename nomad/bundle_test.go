package nomad

import (
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBundleFiles(t *testing.T) {
	files, err := Bundle(exampleTopology(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	modes := map[string]fs.FileMode{}
	for _, f := range files {
		got = append(got, f.Path)
		modes[f.Path] = f.Mode
	}
	var want []string
	for _, c := range []string{"msrvc01", "msrvc02"} {
		for _, j := range []string{"pgsql-", "haproxy-", "backup-"} {
			want = append(want, "nomad/"+j+c+".nomad", "nomad/"+j+c+".json")
		}
	}
	want = append(want, "haproxy/msrvc01.cfg", "haproxy/msrvc02.cfg")
	for _, c := range []string{"msrvc01", "msrvc02"} {
		for _, f := range []string{"pgbackrest.conf", "stanza_init.sh", "backup_if_primary.sh", "pgsql_backup.sh", "cron_backup"} {
			want = append(want, "backup/"+c+"/"+f)
		}
	}
	want = append(want, composeBundlePaths...)
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("bundle files (-want +got):\n%s", d)
	}
	for p, m := range modes {
		wantMode := fs.FileMode(0o644)
		if filepath.Ext(p) == ".sh" {
			wantMode = 0o755
		}
		if m != wantMode {
			t.Errorf("%s: mode %v, want %v", p, m, wantMode)
		}
	}
}

// composeBundlePaths are the compose files of the bundle.
var composeBundlePaths = []string{
	"compose/docker-compose.yml", "compose/Dockerfile", "compose/entrypoint.sh", "compose/patroni.yml",
	"compose/haproxy.cfg", "compose/stanza_init.sh", "compose/backup_if_primary.sh", "compose/pgbackrest.conf",
}
