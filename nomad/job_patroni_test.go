package nomad

import (
	"bufio"
	"context"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/testenv"
)

// TestPatroniJobAcceptedByPatroni gives Patroni's own validator (patroni --validate-config,
// Debian's Patroni 3.0.2) what a member of the Patroni job starts with: the job's environment
// with Nomad's runtime values filled in, the passwords rendered from a Nomad Variable through the
// job's template, and the job's patroni.yml. The only complaints left are two rules of this
// validator version that Patroni itself does not enforce.
func TestPatroniJobAcceptedByPatroni(t *testing.T) {
	patroni := testenv.RequireTool(t, "patroni")
	tp := exampleTopology(t)
	// The validator checks that the Consul agent is reachable: a listener stands in for it.
	consul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer consul.Close()
	_, consulPort, _ := net.SplitHostPort(consul.Addr().String())
	tp.Consul.JobAddress = "${attr.unique.network.ip-address}:" + consulPort
	c := tp.Clusters[0]
	j, err := PatroniJob(tp, c)
	if err != nil {
		t.Fatal(err)
	}
	task := j.TaskGroups[0].Tasks[0]

	// What Nomad fills in on a client whose address is 192.0.2.10 (the agent on loopback here).
	runtime := strings.NewReplacer(
		"${NOMAD_ALLOC_INDEX}", "0",
		"${NOMAD_JOB_NAME}", *j.ID,
		"${NOMAD_ADDR_pgsql}", "192.0.2.10:25432",
		"${NOMAD_PORT_pgsql}", "25432",
		"${NOMAD_IP_patroni}", "192.0.2.10",
		"${attr.unique.network.ip-address}", "127.0.0.1",
	)
	env := []string{"PATH=/usr/bin:/bin"}
	for _, k := range slices.Sorted(maps.Keys(task.Env)) {
		v := runtime.Replace(task.Env[k])
		if strings.Contains(v, "${") {
			t.Fatalf("env %s = %q: an interpolation this test does not know", k, v)
		}
		env = append(env, k+"="+v)
	}

	// The password template, rendered as consul-template would with the Variable in place.
	tmpl := task.Templates[0]
	if *tmpl.DestPath != "secrets/patroni.env" || !*tmpl.Envvars {
		t.Fatalf("first template is not the password env file: %s", *tmpl.DestPath)
	}
	pwEnv := renderPasswordEnv(t, *tmpl.EmbeddedTmpl, c.VariablePath(),
		map[string]string{superuserPasswordKey: "su-test-only", replicationPasswordKey: "repl-test-only"})
	want := []string{"PATRONI_SUPERUSER_PASSWORD=su-test-only", "PATRONI_REPLICATION_PASSWORD=repl-test-only"}
	if d := cmp.Diff(want, pwEnv); d != "" {
		t.Fatalf("rendered password env file (-want +got):\n%s", d)
	}
	env = append(env, pwEnv...)

	// patroni.yml as the job places it.
	i := slices.IndexFunc(task.Templates, func(tm *api.Template) bool { return *tm.DestPath == "local/patroni.yml" })
	if i < 0 {
		t.Fatal("no patroni.yml template")
	}
	conf := filepath.Join(t.TempDir(), "patroni.yml")
	if err := os.WriteFile(conf, []byte(consulTemplate(t, *task.Templates[i].EmbeddedTmpl)), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, patroni, "--validate-config", conf)
	cmd.Env = env
	out, _ := cmd.CombinedOutput()
	var complaints []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			complaints = append(complaints, l)
		}
	}
	// Patroni 3.0.2's validator wants the legacy bootstrap.pg_hba (pg_hba lives under
	// postgresql) and a rewind user (Patroni rewinds as the superuser when there is none).
	known := []string{
		"bootstrap.pg_hba  is not defined.",
		"postgresql.authentication.rewind  is not defined.",
	}
	if d := cmp.Diff(known, complaints); d != "" {
		t.Errorf("patroni --validate-config (-known quirks +got):\n%s", d)
	}
}

// renderPasswordEnv renders the password template as consul-template would with the Variable
// at path holding items, and returns the env file's lines.
func renderPasswordEnv(t *testing.T, data, path string, items map[string]string) []string {
	t.Helper()
	pw, err := template.New("pw").Funcs(template.FuncMap{
		"nomadVar": func(p string) (map[string]string, error) {
			if p != path {
				t.Errorf("template reads Variable %q, want %q", p, path)
			}
			return items, nil
		},
	}).Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var envFile strings.Builder
	if err := pw.Execute(&envFile, nil); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(envFile.String()))
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestPasswordTemplate: the env file carries both passwords, and Patroni's Consul token only
// when the Variable holds one.
func TestPasswordTemplate(t *testing.T) {
	tp := exampleTopology(t)
	c := tp.Clusters[1]
	data := passwordTemplate(c)
	for name, tc := range map[string]struct {
		items map[string]string
		want  []string
	}{
		"passwords": {
			items: map[string]string{"superuser_password": "a", "replication_password": "b"},
			want:  []string{"PATRONI_SUPERUSER_PASSWORD=a", "PATRONI_REPLICATION_PASSWORD=b"},
		},
		"with consul token": {
			items: map[string]string{"superuser_password": "a", "replication_password": "b", "consul_token": "t"},
			want:  []string{"PATRONI_SUPERUSER_PASSWORD=a", "PATRONI_REPLICATION_PASSWORD=b", "PATRONI_CONSUL_TOKEN=t"},
		},
	} {
		got := renderPasswordEnv(t, data, "nomad/jobs/pgsql-msrvc02", tc.items)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: env file (-want +got):\n%s", name, d)
		}
	}
}
