package nomad

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"

	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/haproxy"
	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/patroni"
	"github.com/vipctl/vipctl/topology"
)

// jobFiles renders every job of a topology as nomad/<id>.nomad and nomad/<id>.json.
func jobFiles(t *testing.T, tp *topology.Topology) []bundle.File {
	t.Helper()
	jobs, err := Jobs(tp)
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	var files []bundle.File
	for _, j := range jobs {
		h, err := JobHCL(j)
		if err != nil {
			t.Fatalf("JobHCL(%s): %v", *j.ID, err)
		}
		js, err := JobJSON(j)
		if err != nil {
			t.Fatalf("JobJSON(%s): %v", *j.ID, err)
		}
		files = append(files,
			bundle.File{Path: "nomad/" + *j.ID + ".nomad", Mode: 0o644, Data: h},
			bundle.File{Path: "nomad/" + *j.ID + ".json", Mode: 0o644, Data: js})
	}
	return files
}

// checkGolden compares files with those under dir (exactly that set), or rewrites dir with -update.
func checkGolden(t *testing.T, dir string, files []bundle.File) {
	t.Helper()
	bundletest.CheckGolden(t, dir, files, goldenUpdate())
}

func TestJobsGolden(t *testing.T) {
	tp := exampleTopology(t)
	files := jobFiles(t, tp)
	checkGolden(t, filepath.Join("testdata", "golden"), files)

	// Rendering again gives the same bytes.
	again := jobFiles(t, tp)
	if d := cmp.Diff(files, again); d != "" {
		t.Errorf("second render differs:\n%s", d)
	}
}

func TestJobNames(t *testing.T) {
	jobs, err := Jobs(exampleTopology(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, *j.ID+" "+*j.Type)
	}
	want := []string{
		"pgsql-msrvc01 service", "haproxy-msrvc01 service", "backup-msrvc01 sysbatch",
		"pgsql-msrvc02 service", "haproxy-msrvc02 service", "backup-msrvc02 sysbatch",
	}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}
}

func TestJobsSkipBackupWhenDisabled(t *testing.T) {
	tp := exampleTopology(t)
	tp.Clusters[1].Backup.Enabled = false
	jobs, err := Jobs(tp)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if *j.ID == "backup-msrvc02" {
			t.Errorf("backup job rendered for a cluster with backup disabled")
		}
	}
	if _, err := BackupJob(tp, tp.Clusters[1]); !errors.Is(err, ErrRender) {
		t.Errorf("BackupJob of a disabled cluster: err = %v, want ErrRender", err)
	}
}

func TestPatroniJob(t *testing.T) {
	tp := exampleTopology(t)
	c := tp.Clusters[0]
	j, err := PatroniJob(tp, c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"dc1"}, j.Datacenters); d != "" {
		t.Errorf("datacenters: %s", d)
	}
	g := j.TaskGroups[0]
	if *g.Count != c.Replicas {
		t.Errorf("count = %d, want %d", *g.Count, c.Replicas)
	}
	wantNet := []*api.NetworkResource{{
		ReservedPorts: []api.Port{{Label: "patroni", Value: 8008}},
		DynamicPorts:  []api.Port{{Label: "pgsql", To: 5432}},
	}}
	if d := cmp.Diff(wantNet, g.Networks); d != "" {
		t.Errorf("network (-want +got):\n%s", d)
	}
	wantConstraints := []*api.Constraint{
		{LTarget: "${node.unique.name}", Operand: "regexp", RTarget: "^(pg-01|pg-02|pg-03)$"},
		{Operand: "distinct_hosts", RTarget: "true"},
	}
	if d := cmp.Diff(wantConstraints, g.Constraints); d != "" {
		t.Errorf("constraints (-want +got):\n%s", d)
	}
	wantVolumes := map[string]*api.VolumeRequest{
		"pgdata-msrvc01":     {Name: "pgdata-msrvc01", Type: "host", Source: "pgdata-msrvc01"},
		"pgbackrest-msrvc01": {Name: "pgbackrest-msrvc01", Type: "host", Source: "pgbackrest-msrvc01"},
	}
	if d := cmp.Diff(wantVolumes, g.Volumes); d != "" {
		t.Errorf("volumes (-want +got):\n%s", d)
	}
	if *g.Update.MaxParallel != 1 || *g.Update.HealthCheck != "checks" {
		t.Errorf("update = %+v, want max_parallel 1 on checks", g.Update)
	}
	if *g.RestartPolicy.Mode != api.RestartPolicyModeDelay {
		t.Errorf("restart mode %q, want delay", *g.RestartPolicy.Mode)
	}
	if g.Disconnect == nil || g.Disconnect.StopOnClientAfter == nil || *g.Disconnect.Replace {
		t.Errorf("disconnect = %+v, want stop_on_client_after and replace = false", g.Disconnect)
	}
	//lint:ignore SA1019 jobs for Nomad 1.8 must not carry the old field
	if g.StopAfterClientDisconnect != nil {
		t.Errorf("stop_after_client_disconnect set beside the disconnect block")
	}
	task := g.Tasks[0]
	if task.Driver != "docker" || task.Config["image"] != c.Image {
		t.Errorf("task driver %q image %v", task.Driver, task.Config["image"])
	}
	if *task.KillTimeout < 30*time.Second {
		t.Errorf("kill_timeout %v < 30s", *task.KillTimeout)
	}
	wantEnv := map[string]string{
		"PATRONI_NAME":                       "pgsql-${NOMAD_ALLOC_INDEX}",
		"PATRONI_SCOPE":                      "${NOMAD_JOB_NAME}",
		"PATRONI_POSTGRESQL_CONNECT_ADDRESS": "${NOMAD_ADDR_pgsql}",
		"PATRONI_RESTAPI_CONNECT_ADDRESS":    "${NOMAD_IP_patroni}:8008",
		"PATRONI_CONSUL_HOST":                "${attr.unique.network.ip-address}:8500",
		"PATRONI_CONSUL_REGISTER_SERVICE":    "true",
	}
	for k, v := range wantEnv {
		if task.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, task.Env[k], v)
		}
	}
	for k := range task.Env {
		if strings.Contains(k, "PASSWORD") {
			t.Errorf("env %s: passwords come from the Variables template only", k)
		}
	}
	wantMounts := []*api.VolumeMount{
		{Volume: new("pgdata-msrvc01"), Destination: new("/var/lib/postgresql/data"), ReadOnly: new(false)},
		{Volume: new("pgbackrest-msrvc01"), Destination: new("/var/lib/pgbackrest"), ReadOnly: new(false)},
	}
	if d := cmp.Diff(wantMounts, task.VolumeMounts); d != "" {
		t.Errorf("volume_mount (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(task.Env["PATRONI_POSTGRESQL_DATA_DIR"], *task.VolumeMounts[0].Destination+"/") {
		t.Errorf("data dir %q is not on the host volume", task.Env["PATRONI_POSTGRESQL_DATA_DIR"])
	}
	secrets := task.Templates[0]
	if !*secrets.Envvars || !strings.HasPrefix(*secrets.DestPath, "secrets/") ||
		!strings.Contains(*secrets.EmbeddedTmpl, `{{ with nomadVar "nomad/jobs/pgsql-msrvc01" -}}`) {
		t.Errorf("password template = %s -> %s env=%v", *secrets.EmbeddedTmpl, *secrets.DestPath, *secrets.Envvars)
	}
	if *task.Resources.CPU != 4400 || *task.Resources.MemoryMB != 512 || *g.EphemeralDisk.SizeMB != 1024 {
		t.Errorf("resources %+v disk %d", task.Resources, *g.EphemeralDisk.SizeMB)
	}
}

// TestPatroniJobRepoVolume: a posix repository is a host volume (shared storage) mounted at the
// repository path; an s3 repository and a cluster without backup need none.
func TestPatroniJobRepoVolume(t *testing.T) {
	tp := exampleTopology(t)
	for name, edit := range map[string]func(*topology.Cluster){
		"s3": func(c *topology.Cluster) {
			c.Backup.Repo = topology.Repo{Type: topology.RepoS3, Path: "/pg", Bucket: "b", Endpoint: "s3.example", Region: "r"}
		},
		"no backup": func(c *topology.Cluster) { c.Backup.Enabled = false },
	} {
		c := tp.Clusters[0]
		edit(&c)
		j, err := PatroniJob(tp, c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g := j.TaskGroups[0]
		if _, ok := g.Volumes["pgbackrest-msrvc01"]; ok || len(g.Volumes) != 1 || len(g.Tasks[0].VolumeMounts) != 1 {
			t.Errorf("%s: volumes %v, mounts %d: want the data volume only", name, slices.Collect(maps.Keys(g.Volumes)), len(g.Tasks[0].VolumeMounts))
		}
	}
}

func TestHAProxyJob(t *testing.T) {
	tp := exampleTopology(t)
	c := tp.Clusters[1]
	j, err := HAProxyJob(tp, c)
	if err != nil {
		t.Fatal(err)
	}
	g := j.TaskGroups[0]
	if *g.Count != 3 {
		t.Errorf("count = %d, want the 3 hosts of the group", *g.Count)
	}
	wantNet := []*api.NetworkResource{{Mode: "host", ReservedPorts: []api.Port{{Label: "db", Value: 5002}, {Label: "stats", Value: 7002}}}}
	if d := cmp.Diff(wantNet, g.Networks); d != "" {
		t.Errorf("network (-want +got):\n%s", d)
	}
	if !slices.ContainsFunc(g.Constraints, func(c *api.Constraint) bool { return c.Operand == api.ConstraintDistinctHosts }) {
		t.Errorf("no distinct_hosts constraint")
	}
	task := g.Tasks[0]
	if task.Config["network_mode"] != "host" {
		t.Errorf("docker network_mode = %v, want host", task.Config["network_mode"])
	}
	cfg, err := haproxy.Config(tp, c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(cfg), consulTemplate(t, *task.Templates[0].EmbeddedTmpl)); d != "" {
		t.Errorf("template data differs from haproxy/%s.cfg:\n%s", c.Name, d)
	}
}

func TestBackupJob(t *testing.T) {
	tp := exampleTopology(t)
	j, err := BackupJob(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	want := &api.PeriodicConfig{Spec: new("0 3 * * *"), ProhibitOverlap: new(true)}
	if d := cmp.Diff(want, j.Periodic); d != "" {
		t.Errorf("periodic (-want +got):\n%s", d)
	}
	if *j.Type != api.JobTypeSysbatch {
		t.Errorf("type %q", *j.Type)
	}
	task := j.TaskGroups[0].Tasks[0]
	if len(task.Templates) != 1 || !strings.Contains(*task.Templates[0].EmbeddedTmpl, "docker exec") {
		t.Fatalf("backup task does not carry pgsql_backup.sh: %+v", task.Templates)
	}
	files, err := backup.Files(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(files, func(f bundle.File) bool { return f.Path == "backup/msrvc01/pgsql_backup.sh" })
	if i < 0 || string(files[i].Data) != consulTemplate(t, *task.Templates[0].EmbeddedTmpl) {
		t.Errorf("the job's script is not backup/msrvc01/pgsql_backup.sh of the bundle")
	}
}

// consulTemplate renders template data as Nomad's consul-template would, for data that calls
// no function (Go's text/template is consul-template's engine).
func consulTemplate(t *testing.T, data string) string {
	t.Helper()
	tm, err := template.New("t").Parse(data)
	if err != nil {
		t.Fatalf("template data does not parse: %v", err)
	}
	var b strings.Builder
	if err := tm.Execute(&b, nil); err != nil {
		t.Fatalf("template data does not render: %v", err)
	}
	return b.String()
}

func TestLiteralTemplate(t *testing.T) {
	for _, s := range []string{"", "plain\n", "docker ps --format '{{.ID}}'", "{{{{ }} }}} {{", "a {{- b -}} c", "{{/* x */}}"} {
		if got := consulTemplate(t, literalTemplate(s)); got != s {
			t.Errorf("%q renders as %q", s, got)
		}
	}
}

// TestTemplatesRenderToTheBundleFiles: every file shipped into a task through a template block
// comes out of consul-template exactly as the bundle's copy.
func TestTemplatesRenderToTheBundleFiles(t *testing.T) {
	tp := exampleTopology(t)
	files, err := backup.Files(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	conf, err := patroni.Config(tp.Clusters[0]) // compose/patroni.yml of the bundle
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{"compose/patroni.yml": string(conf)}
	for _, f := range files {
		byName[f.Path] = string(f.Data)
	}
	j, err := PatroniJob(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tm := range j.TaskGroups[0].Tasks[0].Templates[1:] {
		got[strings.TrimPrefix(*tm.DestPath, "local/")] = consulTemplate(t, *tm.EmbeddedTmpl)
	}
	want := map[string]string{"patroni.yml": byName["compose/patroni.yml"]}
	for _, name := range []string{"pgbackrest.conf", "stanza_init.sh", "backup_if_primary.sh"} {
		want[name] = byName["backup/msrvc01/"+name]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("templates differ from the bundle's files (-bundle +job):\n%s", d)
	}
}

// TestJobJSONRoundTrip decodes each rendered JSON job back into api.Job: canonicalizing it
// again changes nothing, and it equals the canonical form of the typed job.
func TestJobJSONRoundTrip(t *testing.T) {
	for _, tp := range []*topology.Topology{exampleTopology(t), manyClusters(t, 10, 2)} {
		jobs, err := Jobs(tp)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			b, err := JobJSON(j)
			if err != nil {
				t.Fatal(err)
			}
			var req struct{ Job *api.Job }
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				t.Fatalf("%s: decode: %v", *j.ID, err)
			}
			want, err := CanonicalJob(j)
			if err != nil {
				t.Fatal(err)
			}
			req.Job.Canonicalize()
			if d := cmp.Diff(want, req.Job); d != "" {
				t.Errorf("%s: JSON round trip (-want +got):\n%s", *j.ID, d)
			}
			if *req.Job.Region != "global" || *req.Job.Namespace != "default" {
				t.Errorf("%s: not canonical: region %q namespace %q", *j.ID, *req.Job.Region, *req.Job.Namespace)
			}
		}
	}
}

// TestJobHCLParses parses each HCL job back with hclparse and checks the values it carries
// against the typed job.
func TestJobHCLParses(t *testing.T) {
	jobs, err := Jobs(manyClusters(t, 10, 2))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Jobs(exampleTopology(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range append(ex, jobs...) {
		src, err := JobHCL(j)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclparse.NewParser().ParseHCL(src, *j.ID+".nomad")
		if diags.HasErrors() {
			t.Fatalf("%s: %v\n%s", *j.ID, diags, src)
		}
		body := f.Body.(*hclsyntax.Body)
		jb := only(t, body, "job")
		if d := cmp.Diff([]string{*j.ID}, jb.Labels); d != "" {
			t.Errorf("job labels: %s", d)
		}
		if got := attrString(t, jb.Body, "type"); got != *j.Type {
			t.Errorf("%s: type %q, want %q", *j.ID, got, *j.Type)
		}
		g := j.TaskGroups[0]
		gb := only(t, jb.Body, "group")
		if g.Count != nil {
			if got := attrInt(t, gb.Body, "count"); got != *g.Count {
				t.Errorf("%s: count %d, want %d", *j.ID, got, *g.Count)
			}
		}
		// Constraints keep Nomad's runtime interpolation.
		var attrs []string
		for _, cb := range blocks(gb.Body, "constraint") {
			if _, ok := cb.Body.Attributes["attribute"]; ok {
				attrs = append(attrs, attrString(t, cb.Body, "attribute"))
			}
		}
		if d := cmp.Diff([]string{"${node.unique.name}"}, attrs); d != "" {
			t.Errorf("%s: constraint attributes: %s", *j.ID, d)
		}
		// Static ports are written as port blocks with static.
		for _, n := range g.Networks {
			nb := only(t, gb.Body, "network")
			for _, p := range n.ReservedPorts {
				pb := labelled(t, nb.Body, "port", p.Label)
				if got := attrInt(t, pb.Body, "static"); got != p.Value {
					t.Errorf("%s: port %s static %d, want %d", *j.ID, p.Label, got, p.Value)
				}
			}
		}
		task := g.Tasks[0]
		tb := labelled(t, gb.Body, "task", task.Name)
		if got := attrString(t, tb.Body, "driver"); got != task.Driver {
			t.Errorf("%s: driver %q", *j.ID, got)
		}
		if len(task.Env) > 0 {
			eb := only(t, tb.Body, "env")
			got := map[string]string{}
			for name := range eb.Body.Attributes {
				got[name] = attrString(t, eb.Body, name)
			}
			if d := cmp.Diff(task.Env, got); d != "" {
				t.Errorf("%s: env (-typed +hcl):\n%s", *j.ID, d)
			}
		}
		// Template data comes back byte for byte (escaping of ${ and %{ in heredocs).
		tmpls := blocks(tb.Body, "template")
		if len(tmpls) != len(task.Templates) {
			t.Fatalf("%s: %d templates, want %d", *j.ID, len(tmpls), len(task.Templates))
		}
		for i, tp := range task.Templates {
			if d := cmp.Diff(*tp.EmbeddedTmpl, attrString(t, tmpls[i].Body, "data")); d != "" {
				t.Errorf("%s: template %d data (-typed +hcl):\n%s", *j.ID, i, d)
			}
			if got := attrString(t, tmpls[i].Body, "destination"); got != *tp.DestPath {
				t.Errorf("%s: template %d destination %q", *j.ID, i, got)
			}
		}
		if task.KillTimeout != nil {
			got, err := time.ParseDuration(attrString(t, tb.Body, "kill_timeout"))
			if err != nil || got != *task.KillTimeout {
				t.Errorf("%s: kill_timeout %v (%v), want %v", *j.ID, got, err, *task.KillTimeout)
			}
		}
	}
}

func TestJobHCLRefusesWhatItCannotWrite(t *testing.T) {
	tp := exampleTopology(t)
	j, err := PatroniJob(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	j.TaskGroups[0].Affinities = []*api.Affinity{api.NewAffinity("${node.class}", "=", "db", 50)}
	if _, err := JobHCL(j); !errors.Is(err, ErrRender) {
		t.Errorf("JobHCL with an affinity: err = %v, want ErrRender", err)
	}
}

// TestStringEscaping: a string with runtime interpolations, literal ${…} and %{…} reads back
// as itself, except that runtime interpolations remain interpolations.
func TestStringEscaping(t *testing.T) {
	for _, s := range []string{
		"plain", `quote " and \ backslash`, "${NOMAD_ALLOC_INDEX}", "pgsql-${NOMAD_ALLOC_INDEX}",
		"shell ${HOME} and %{if} stays", "${attr.unique.network.ip-address}:8500", "$${x}", "tab\tnewline\n",
		"${NOMAD_ADDR_pgsql}${HOME}",
	} {
		b := &body{}
		setString(b, "v", s)
		src := []byte(b.text(0))
		parsed, diags := hclparse.NewParser().ParseHCL(src, "t.hcl")
		if diags.HasErrors() {
			t.Fatalf("%q: %v", s, diags)
		}
		if got := attrString(t, parsed.Body.(*hclsyntax.Body), "v"); got != s {
			t.Errorf("%q reads back as %q (written %s)", s, got, src)
		}
	}
}

func only(t *testing.T, b *hclsyntax.Body, typ string) *hclsyntax.Block {
	t.Helper()
	bs := blocks(b, typ)
	if len(bs) != 1 {
		t.Fatalf("%d %s blocks, want 1", len(bs), typ)
	}
	return bs[0]
}

func labelled(t *testing.T, b *hclsyntax.Body, typ, label string) *hclsyntax.Block {
	t.Helper()
	for _, blk := range blocks(b, typ) {
		if len(blk.Labels) == 1 && blk.Labels[0] == label {
			return blk
		}
	}
	t.Fatalf("no %s %q block", typ, label)
	return nil
}

func blocks(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

// evalContext makes every variable an expression refers to evaluate to its own interpolation
// text, as Nomad leaves runtime interpolations for the client to fill in.
func evalContext(expr hcl.Expression) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	var nest func(v cty.Value, path []string, text string) cty.Value
	nest = func(v cty.Value, path []string, text string) cty.Value {
		if len(path) == 0 {
			return cty.StringVal(text)
		}
		m := map[string]cty.Value{}
		if !v.IsNull() && v.Type().IsObjectType() {
			m = v.AsValueMap()
		}
		child := cty.NullVal(cty.DynamicPseudoType)
		if c, ok := m[path[0]]; ok {
			child = c
		}
		m[path[0]] = nest(child, path[1:], text)
		return cty.ObjectVal(m)
	}
	for _, tr := range expr.Variables() {
		var names []string
		for _, step := range tr {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				names = append(names, s.Name)
			case hcl.TraverseAttr:
				names = append(names, s.Name)
			}
		}
		root := names[0]
		v, ok := vars[root]
		if !ok {
			v = cty.NullVal(cty.DynamicPseudoType)
		}
		vars[root] = nest(v, names[1:], "${"+strings.Join(names, ".")+"}")
		if len(names) == 1 {
			vars[root] = cty.StringVal("${" + root + "}")
		}
	}
	return &hcl.EvalContext{Variables: vars}
}

func attrValue(t *testing.T, b *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		t.Fatalf("no attribute %q", name)
	}
	v, diags := a.Expr.Value(evalContext(a.Expr))
	if diags.HasErrors() {
		t.Fatalf("attribute %q: %v", name, diags)
	}
	return v
}

func attrString(t *testing.T, b *hclsyntax.Body, name string) string {
	t.Helper()
	v := attrValue(t, b, name)
	if v.Type() != cty.String {
		t.Fatalf("attribute %q is %s, want string", name, v.Type().FriendlyName())
	}
	return v.AsString()
}

func attrInt(t *testing.T, b *hclsyntax.Body, name string) int {
	t.Helper()
	v := attrValue(t, b, name)
	if v.Type() != cty.Number {
		t.Fatalf("attribute %q is %s, want number", name, v.Type().FriendlyName())
	}
	i, _ := v.AsBigFloat().Int64()
	return int(i)
}

// staticPorts returns, per host, the static ports the jobs reserve there (and which job does),
// and every collision: one port reserved twice on one host.
func staticPorts(tp *topology.Topology, jobs []*api.Job) (map[string]map[int]string, []string) {
	out := map[string]map[int]string{}
	var collisions []string
	for _, j := range jobs {
		for _, g := range j.TaskGroups {
			re := regexp.MustCompile("^$")
			for _, c := range g.Constraints {
				if c.LTarget == "${node.unique.name}" && c.Operand == api.ConstraintRegex {
					re = regexp.MustCompile(c.RTarget)
				}
			}
			for _, h := range tp.Hosts {
				if !re.MatchString(h.Name) {
					continue
				}
				for _, n := range g.Networks {
					for _, p := range n.ReservedPorts {
						if out[h.Name] == nil {
							out[h.Name] = map[int]string{}
						}
						who := fmt.Sprintf("%s/%s", *j.ID, p.Label)
						if other, dup := out[h.Name][p.Value]; dup {
							collisions = append(collisions, fmt.Sprintf("host %s: port %d reserved by %s and %s", h.Name, p.Value, other, who))
						}
						out[h.Name][p.Value] = who
					}
				}
			}
		}
	}
	return out, collisions
}

func TestManyClustersNoPortCollision(t *testing.T) {
	for name, tp := range map[string]*topology.Topology{
		"example":     exampleTopology(t),
		"10 clusters": manyClusters(t, 10, 2),
	} {
		t.Run(name, func(t *testing.T) {
			jobs, err := Jobs(tp)
			if err != nil {
				t.Fatal(err)
			}
			ports, collisions := staticPorts(tp, jobs)
			if len(collisions) > 0 {
				t.Errorf("collisions:\n%s", strings.Join(collisions, "\n"))
			}
			// Every cluster's three static ports are reserved on every host of its group.
			for _, c := range tp.Clusters {
				for _, h := range tp.GroupHosts(c.HostGroup) {
					for _, p := range []int{c.Port, c.PatroniPort, c.StatsPort} {
						if _, ok := ports[h.Name][p]; !ok {
							t.Errorf("cluster %s: port %d not reserved on %s", c.Name, p, h.Name)
						}
					}
				}
			}
		})
	}
}

// TestStaticPortsCollisionDetected makes sure the collision check above can fail.
func TestStaticPortsCollisionDetected(t *testing.T) {
	tp := exampleTopology(t)
	tp.Clusters[1].PatroniPort = tp.Clusters[0].PatroniPort
	jobs, err := Jobs(tp)
	if err != nil {
		t.Fatal(err)
	}
	_, collisions := staticPorts(tp, jobs)
	want := []string{
		"host pg-01: port 8008 reserved by pgsql-msrvc01/patroni and pgsql-msrvc02/patroni",
		"host pg-02: port 8008 reserved by pgsql-msrvc01/patroni and pgsql-msrvc02/patroni",
		"host pg-03: port 8008 reserved by pgsql-msrvc01/patroni and pgsql-msrvc02/patroni",
	}
	if d := cmp.Diff(want, collisions); d != "" {
		t.Errorf("collisions (-want +got):\n%s", d)
	}
}
