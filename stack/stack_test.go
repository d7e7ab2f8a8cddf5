package stack

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/topology"
)

func TestFiles(t *testing.T) {
	files, err := Files(bundletest.Example(t))
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

// passwordValue finds a password, token or secret written out: "password = x", "PASSWORD=x",
// "token: x",
// where x is not a reference to where the password really is: a template action reading Nomad
// Variables ("{{ … }}"), an environment variable ("${…}", "${X:?…}") or a placeholder ("...").
var passwordValue = regexp.MustCompile(`(?i)(passw(or)?d|token|secret)\w*["']?\s*[:=]\s*["']?([^\s"'{$.?][^\s"']*)`)

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func TestNoPasswordInRenderedFiles(t *testing.T) {
	for _, tp := range []*topology.Topology{bundletest.Example(t), bundletest.ManyClusters(t, 10, 2)} {
		files, err := Files(tp)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			for _, m := range passwordValue.FindAllSubmatch(f.Data, -1) {
				if v := strings.TrimRight(string(m[3]), ","); v == "null" || v == "false" || isNumber(v) {
					continue // an empty JSON field ("NomadTokenID": null) or a setting (token: 1000)
				}
				t.Errorf("%s: secret written out: %q", f.Path, m[0])
			}
		}
	}
	// The check finds a password written out.
	for _, s := range []string{"PATRONI_SUPERUSER_PASSWORD=secret", `"password": "x"`, "password = hunter2", "CONSUL_HTTP_TOKEN=abc", `"SecretID": "5e1f"`} {
		if !passwordValue.MatchString(s) {
			t.Errorf("passwordValue misses %q", s)
		}
	}
	for _, s := range []string{"PATRONI_SUPERUSER_PASSWORD={{ .superuser_password }}", `PASSWORD: "${PATRONI_SUPERUSER_PASSWORD:?set it}"`} {
		if passwordValue.MatchString(s) {
			t.Errorf("passwordValue matches a reference: %q", s)
		}
	}
}
