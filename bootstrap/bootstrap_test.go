package bootstrap

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

const testTopology = `
datacenters = ["dc1"]
corosync {
  cluster_name = "pg-test"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  address = "10.99.0.1"
}
host "h2" {
  address = "10.99.0.2"
}
host "h3" {
  address = "10.99.0.3"
}
host_group "db" {
  hosts = ["h1", "h2", "h3"]
  vip {
    address = "10.99.0.100/24"
    nic     = "eth0"
  }
}
cluster "app" {
  host_group   = "db"
  port         = 5001
  patroni_port = 8008
  image        = "postgres-patroni:test"
}
`

func loadTopology(t *testing.T) *topology.Topology {
	t.Helper()
	topo, err := topology.Parse([]byte(testTopology), "/etc/vipctl/vipctl.hcl")
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// fakeHost stands in for the host's commands: Corosync and Pacemaker start through systemctl,
// crm_mon reports the host online with quorum once both run. It records every command.
type fakeHost struct {
	mu          sync.Mutex
	node        string
	calls       []string
	missing     []string          // tools LookPath does not find
	fail        map[string]error  // command line → error
	corosync    bool              // running
	pacemaker   bool              // running
	clusterName string            // of the running Corosync
	quorate     bool              // crm_mon reports quorum
	confName    func() string     // cluster_name corosync reads at start
	out         map[string][]byte // command line → output override
	cib         *fakeCIB          // once applied, crm_mon shows vip-db
	vipRole     string            // role crm_mon reports for vip-db ("" = Started)
	members     int               // members the running Corosync joined with (0 = 1)
}

func newFakeHost(node string) *fakeHost {
	return &fakeHost{node: node, quorate: true, fail: map[string]error{}, out: map[string][]byte{}}
}

var errExit = errors.New("exit status 1")

func (f *fakeHost) LookPath(name string) (string, error) {
	if slices.Contains(f.missing, name) {
		return "", exec.ErrNotFound
	}
	return "/usr/sbin/" + name, nil
}

func (f *fakeHost) Run(_ context.Context, c pcmk.Cmd) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, args := c.Name, c.Args
	line := c.String()
	f.calls = append(f.calls, line)
	if err, ok := f.fail[line]; ok {
		return nil, &pcmk.ExitError{Command: append([]string{name}, args...), Code: -1, Err: err}
	}
	if out, ok := f.out[line]; ok {
		return out, nil
	}
	// What the tools say when their daemon does not run.
	no := &pcmk.ExitError{Command: append([]string{name}, args...), Code: 1, Err: errExit}
	noCorosync := &pcmk.ExitError{Command: append([]string{name}, args...), Code: 1, Err: errExit,
		Stderr: "Failed to initialize the cmap API. Error CS_ERR_LIBRARY"}
	noPacemaker := &pcmk.ExitError{Command: append([]string{name}, args...), Code: 102, Err: errExit,
		Stderr: "crm_mon: Connection to cluster failed: Connection refused"}
	switch line {
	case "corosync-cfgtool -R":
		if f.corosync {
			return nil, nil
		}
		return nil, no
	case "corosync-cmapctl -g totem.cluster_name":
		if f.corosync {
			return []byte("totem.cluster_name (str) = " + f.clusterName + "\n"), nil
		}
		return nil, noCorosync
	case "corosync-cmapctl -b runtime.members":
		if !f.corosync {
			return nil, no
		}
		var b strings.Builder
		for i := 1; i <= max(f.members, 1); i++ {
			fmt.Fprintf(&b, "runtime.members.%d.ip (str) = r(0) ip(10.99.0.%d) \nruntime.members.%d.status (str) = joined\n", i, i, i)
		}
		return []byte(b.String()), nil
	case "crm_attribute --type crm_config --name cluster-name --query --quiet":
		if f.pacemaker {
			return nil, nil
		}
		return nil, no
	case "crm_mon --output-as=xml --one-shot --inactive":
		if !f.pacemaker {
			return nil, noPacemaker
		}
		resources := ""
		if f.cib != nil && f.cib.applied {
			role := f.vipRole
			if role == "" {
				role = "Started"
			}
			resources = fmt.Sprintf(`<resources><resource id="vip-db" resource_agent="ocf:vipctl:vip" role="%s" failed="false"><node name="%s"/></resource></resources>`, role, f.node)
		}
		return fmt.Appendf(nil, `<pacemaker-result api-version="2.25">
  <summary><current_dc present="true" name="%s" id="1" with_quorum="%v"/></summary>
  <nodes><node name="%s" id="1" online="true"/></nodes>
  %s
</pacemaker-result>`, f.node, f.quorate, f.node, resources), nil
	case "systemctl start corosync", "systemctl restart corosync":
		f.corosync = true
		if f.confName != nil {
			f.clusterName = f.confName()
		}
		return nil, nil
	case "systemctl start pacemaker":
		if !f.corosync {
			return nil, no
		}
		f.pacemaker = true
		return nil, nil
	case "systemctl stop pacemaker":
		f.pacemaker = false
		return nil, nil
	}
	return nil, fmt.Errorf("fakeHost: unexpected command %q", line)
}

func (f *fakeHost) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// changing reports the commands of calls that change the host.
func changing(calls []string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, "systemctl ") || c == "corosync-cfgtool -R" {
			out = append(out, c)
		}
	}
	return out
}

// fakeCIB is a live CIB that lacks vipctl's part until it is applied.
type fakeCIB struct {
	raced   bool // the write finds the CIB applied by someone else
	applied bool
	writes  int
	err     error
	epoch   int
}

func (c *fakeCIB) Apply(_ context.Context, _ *topology.Topology, desired *etree.Document, opts cib.ApplyOptions) (*cib.ApplyResult, error) {
	if c.err != nil {
		return nil, c.err
	}
	if desired.Root() == nil || desired.Root().Tag != "cib" {
		return nil, errors.New("fakeCIB: not a rendered CIB")
	}
	before := cib.Version{Epoch: c.epoch}
	res := &cib.ApplyResult{Before: before, After: before, DryRun: opts.DryRun, Attempts: 1}
	if c.applied {
		return res, nil
	}
	if c.raced && !opts.DryRun { // another host wrote the same between the check and this write
		c.applied = true
		return res, nil
	}
	res.Changes = make([]cib.Change, 3)
	if opts.DryRun {
		return res, nil
	}
	c.applied, c.writes = true, c.writes+1
	c.epoch += 2
	res.Written, res.After, res.Backup = true, cib.Version{Epoch: c.epoch}, "/var/lib/vipctl/cib-backup/x.xml"
	return res, nil
}

// fixture is one host under test: a temp root, a fake host and CIB, a key and an agent binary.
type fixture struct {
	t      *testing.T
	topo   *topology.Topology
	root   string
	host   *fakeHost
	cib    *fakeCIB
	key    string // an authkey file outside the root
	exe    string // the "vipctl" binary installed as agent
	nic    vip.NICCheck
	nicErr error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	// vip.Install wants every directory above the agent searchable by other users.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, topo: loadTopology(t), root: filepath.Join(dir, "root"), host: newFakeHost("h1"), cib: &fakeCIB{epoch: 10}}
	f.host.confName = func() string {
		b, err := os.ReadFile(f.root + CorosyncConfPath)
		if err != nil {
			return ""
		}
		if bytes.Contains(b, []byte("cluster_name: pg-test")) {
			return "pg-test"
		}
		return "other"
	}
	f.host.cib = f.cib
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		t.Fatal(err)
	}
	f.key = filepath.Join(dir, "authkey")
	f.writeKey(f.key)
	f.exe = filepath.Join(dir, "vipctl")
	if err := os.WriteFile(f.exe, []byte("#!/bin/sh\necho vipctl\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) writeKey(path string) {
	f.t.Helper()
	key := make([]byte, 256)
	if _, err := rand.Read(key); err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, key, 0o400); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) options() Options {
	return Options{
		Host:       "h1",
		Authkey:    f.key,
		Executable: f.exe,
		Root:       f.root,
		Wait:       time.Minute,
		CheckNIC: func(_ context.Context, p netip.Prefix, nic string) (vip.NICCheck, error) {
			c := f.nic
			c.VIP, c.NIC = p, nic
			return c, f.nicErr
		},
		run:  f.host,
		cib:  f.cib,
		poll: time.Millisecond,
		now:  func() time.Time { return time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC) },
	}
}

func (f *fixture) run(opts Options) (*Report, error) {
	f.t.Helper()
	p, err := New(f.topo, opts)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return p.Run(context.Background())
}

// statuses maps each step to its status.
func statuses(r *Report) map[string]Status {
	m := map[string]Status{}
	for _, s := range r.Steps {
		m[s.Step] = s.Status
	}
	return m
}

// allStatus maps every step of r to st.
func allStatus(r *Report, st Status) map[string]Status {
	m := map[string]Status{}
	for _, s := range r.Steps {
		m[s.Step] = st
	}
	return m
}

// tree is every file under root: path → mode and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			m[rel+"/"] = info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m[rel] = fmt.Sprintf("%s %x", info.Mode(), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var stepOrder = []string{
	"tools", "nic", "membership", "authkey", "corosync.conf", "agent", "health-agent", "alert", "corosync", "local-cib", "pacemaker", "quorum", "cib",
	"vip", "backup-script:app", "backup-cron:app",
}

func TestPlanOrder(t *testing.T) {
	f := newFixture(t)
	p, err := New(f.topo, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stepOrder, p.Steps()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	opts := f.options()
	opts.Submit = true
	if p, err = New(f.topo, opts); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(slices.Clone(stepOrder), "nomad"), p.Steps()); diff != "" {
		t.Errorf("steps with Submit (-want +got):\n%s", diff)
	}
}

// A host in no group (a quorum member only) has no NIC, VIP or backup steps.
func TestPlanOfQuorumOnlyHost(t *testing.T) {
	f := newFixture(t)
	src := strings.Replace(testTopology, `hosts = ["h1", "h2", "h3"]`, `hosts = ["h1", "h2"]`, 1)
	topo, err := topology.Parse([]byte(src), "q.hcl")
	if err != nil {
		t.Fatal(err)
	}
	opts := f.options()
	opts.Host = "h3"
	p, err := New(topo, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tools", "membership", "authkey", "corosync.conf", "agent", "alert", "corosync", "local-cib", "pacemaker", "quorum", "cib"}
	if diff := cmp.Diff(want, p.Steps()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if p.Group != nil {
		t.Errorf("group %v, want none", p.Group)
	}
}

// A fresh host: everything is done once, in order; the second run finds everything done.
func TestFreshHostThenIdempotent(t *testing.T) {
	f := newFixture(t)
	r, err := f.run(f.options())
	if err != nil {
		t.Fatalf("first run: %v\n%+v", err, r)
	}
	want := map[string]Status{
		"tools": StatusOK, "nic": StatusOK, "membership": StatusOK, "authkey": StatusChanged, "corosync.conf": StatusChanged,
		"agent": StatusChanged, "health-agent": StatusChanged, "alert": StatusChanged, "corosync": StatusChanged, "local-cib": StatusOK, "pacemaker": StatusChanged, "quorum": StatusOK,
		"cib": StatusChanged, "vip": StatusOK,
		"backup-script:app": StatusChanged, "backup-cron:app": StatusChanged,
	}
	if diff := cmp.Diff(want, statuses(r)); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	if !r.Member || r.Failed != "" {
		t.Errorf("first run: member %v, failed %q", r.Member, r.Failed)
	}
	if diff := cmp.Diff([]string{"systemctl start corosync", "systemctl start pacemaker"}, changing(f.host.takeCalls())); diff != "" {
		t.Errorf("commands changing the host (-want +got):\n%s", diff)
	}

	conf, err := corosync.Render(f.topo)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(f.key)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(f.exe)
	if err != nil {
		t.Fatal(err)
	}
	set, err := backup.Render(f.topo, f.topo.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string]struct {
		mode fs.FileMode
		data []byte
	}{
		CorosyncConfPath:             {0o644, conf},
		AuthkeyPath:                  {0o400, key},
		vip.AgentPath:                {0o755, exe},
		vip.HealthAgentPath:          {0o755, exe},
		backup.HostScriptPath("app"): {0o755, set.HostScript.Data},
		backup.HostCronPath("app"):   {0o644, set.Cron.Data},
	}
	for p, w := range wantFiles {
		st, err := os.Stat(f.root + p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		got, _ := os.ReadFile(f.root + p)
		if st.Mode().Perm() != w.mode || !bytes.Equal(got, w.data) {
			t.Errorf("%s: mode %v, %d bytes; want %v, %d bytes", p, st.Mode().Perm(), len(got), w.mode, len(w.data))
		}
	}
	if !strings.Contains(string(set.Cron.Data), backup.HostScriptPath("app")) {
		t.Errorf("the cron entry does not call %s", backup.HostScriptPath("app"))
	}

	before := tree(t, f.root)
	r, err = f.run(f.options())
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if diff := cmp.Diff(allStatus(r, StatusOK), statuses(r)); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	if got := changing(f.host.takeCalls()); len(got) > 0 {
		t.Errorf("second run changed the host: %v", got)
	}
	if f.cib.writes != 1 {
		t.Errorf("the CIB was written %d times, want once", f.cib.writes)
	}
	if diff := cmp.Diff(before, tree(t, f.root)); diff != "" {
		t.Errorf("second run changed files (-before +after):\n%s", diff)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	// An old corosync.conf of another cluster, as the Debian package leaves it.
	if err := os.MkdirAll(f.root+"/etc/corosync", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.root+CorosyncConfPath, []byte("totem {\n\tcluster_name: debian\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := tree(t, f.root)
	opts := f.options()
	opts.DryRun = true
	opts.Submit = true
	reg := &fakeRegistrar{}
	opts.jobs = reg
	r, err := f.run(opts)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	want := allStatus(r, StatusWouldChange)
	want["tools"], want["nic"], want["membership"], want["local-cib"] = StatusOK, StatusOK, StatusOK, StatusOK
	if diff := cmp.Diff(want, statuses(r)); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if r.Member || !r.DryRun {
		t.Errorf("dry run: member %v, dry_run %v", r.Member, r.DryRun)
	}
	if diff := cmp.Diff(before, tree(t, f.root)); diff != "" {
		t.Errorf("dry run changed files (-before +after):\n%s", diff)
	}
	if got := changing(f.host.takeCalls()); len(got) > 0 {
		t.Errorf("dry run ran %v", got)
	}
	if f.cib.writes != 0 || len(reg.jobs) != 0 {
		t.Errorf("dry run wrote the CIB %d times, registered %v", f.cib.writes, reg.jobs)
	}

	// On a member, the dry run reads the live CIB and finds everything done.
	if _, err := f.run(f.options()); err != nil {
		t.Fatal(err)
	}
	before = tree(t, f.root)
	opts.Submit = false
	r, err = f.run(opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allStatus(r, StatusOK), statuses(r)); diff != "" {
		t.Errorf("dry run on a member (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, tree(t, f.root)); diff != "" {
		t.Errorf("dry run changed files (-before +after):\n%s", diff)
	}
}

func TestFailingStepStopsTheRest(t *testing.T) {
	f := newFixture(t)
	f.host.fail["systemctl start corosync"] = errExit
	r, err := f.run(f.options())
	var se *StepError
	if !errors.As(err, &se) || se.Step != "corosync" || !errors.Is(err, ErrStepFailed) {
		t.Fatalf("err = %v, want the corosync step's", err)
	}
	var ce *pcmk.ExitError
	if !errors.As(err, &ce) || !errors.Is(err, errExit) {
		t.Errorf("err = %v, want the failed command's", err)
	}
	want := map[string]Status{
		"tools": StatusOK, "nic": StatusOK, "membership": StatusOK, "authkey": StatusChanged, "corosync.conf": StatusChanged,
		"agent": StatusChanged, "health-agent": StatusChanged, "alert": StatusChanged, "corosync": StatusFailed, "local-cib": StatusNotRun, "pacemaker": StatusNotRun, "quorum": StatusNotRun,
		"cib": StatusNotRun, "vip": StatusNotRun,
		"backup-script:app": StatusNotRun, "backup-cron:app": StatusNotRun,
	}
	if diff := cmp.Diff(want, statuses(r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r.Failed != "corosync" || r.Member {
		t.Errorf("report: failed %q, member %v", r.Failed, r.Member)
	}
	calls := f.host.takeCalls()
	if slices.Contains(calls, "systemctl start pacemaker") || f.cib.writes != 0 {
		t.Errorf("steps after the failure ran: %v, CIB writes %d", calls, f.cib.writes)
	}
	if _, err := os.Stat(f.root + backup.HostCronPath("app")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cron file written after the failure: %v", err)
	}
}

func TestNICNotReadyStopsBeforeAnyWrite(t *testing.T) {
	f := newFixture(t)
	f.nic.Problems = []string{"link is down: eth0"}
	r, err := f.run(f.options())
	if !errors.Is(err, ErrNICNotReady) || r.Failed != "nic" {
		t.Fatalf("err = %v, failed %q; want ErrNICNotReady at nic", err, r.Failed)
	}
	if got := tree(t, f.root); len(got) != 1 {
		t.Errorf("files written: %v", got)
	}
}

func TestMissingTools(t *testing.T) {
	f := newFixture(t)
	f.host.missing = []string{"crm_mon", "corosync"}
	r, err := f.run(f.options())
	if !errors.Is(err, ErrMissingTool) || r.Failed != "tools" {
		t.Fatalf("err = %v, failed %q; want ErrMissingTool at tools", err, r.Failed)
	}
	if !strings.Contains(r.Steps[0].Detail, "corosync, crm_mon") {
		t.Errorf("detail %q does not name the missing tools", r.Steps[0].Detail)
	}
}

// A group with agent = "IPaddr2" needs resource-agents' IPaddr2, and no vipctl agent.
func TestIPaddr2Topology(t *testing.T) {
	f := newFixture(t)
	src := strings.Replace(testTopology, `nic     = "eth0"`, "nic     = \"eth0\"\n    agent   = \"IPaddr2\"", 1)
	topo, err := topology.Parse([]byte(src), "ipaddr2.hcl")
	if err != nil {
		t.Fatal(err)
	}
	f.topo = topo
	r, err := f.run(f.options())
	if !errors.Is(err, ErrMissingTool) || r.Failed != "tools" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, failed %q; want the missing IPaddr2 at tools", err, r.Failed)
	}
	if err := os.MkdirAll(filepath.Dir(f.root+IPaddr2Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.root+IPaddr2Path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err = f.run(f.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := statuses(r)["agent"]; ok {
		t.Error("an agent step for a topology without the vipctl agent")
	}
	if _, err := os.Stat(f.root + vip.AgentPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the vipctl agent was installed: %v", err)
	}
}

func TestAuthkeyRules(t *testing.T) {
	t.Run("none given and none installed: refused, nothing written", func(t *testing.T) {
		f := newFixture(t)
		opts := f.options()
		opts.Authkey = ""
		r, err := f.run(opts)
		if !errors.Is(err, ErrNoAuthkey) || r.Failed != "authkey" {
			t.Fatalf("err = %v, failed %q; want ErrNoAuthkey", err, r.Failed)
		}
		if got := tree(t, f.root); len(got) != 1 {
			t.Errorf("files written: %v", got)
		}
	})
	t.Run("installed one differs from --authkey: refused, kept", func(t *testing.T) {
		f := newFixture(t)
		f.writeKey(f.root + AuthkeyPath)
		before := tree(t, f.root)
		r, err := f.run(f.options())
		if !errors.Is(err, ErrAuthkeyMismatch) || r.Failed != "authkey" {
			t.Fatalf("err = %v, failed %q; want ErrAuthkeyMismatch", err, r.Failed)
		}
		if diff := cmp.Diff(before, tree(t, f.root)); diff != "" {
			t.Errorf("files changed (-before +after):\n%s", diff)
		}
	})
	t.Run("installed one without --authkey: used, mode fixed", func(t *testing.T) {
		f := newFixture(t)
		f.writeKey(f.root + AuthkeyPath)
		if err := os.Chmod(f.root+AuthkeyPath, 0o644); err != nil {
			t.Fatal(err)
		}
		key, _ := os.ReadFile(f.root + AuthkeyPath)
		opts := f.options()
		opts.Authkey = ""
		r, err := f.run(opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(r)["authkey"]; got != StatusChanged {
			t.Errorf("authkey step %s, want changed (mode)", got)
		}
		st, _ := os.Stat(f.root + AuthkeyPath)
		after, _ := os.ReadFile(f.root + AuthkeyPath)
		if st.Mode().Perm() != 0o400 || !bytes.Equal(after, key) {
			t.Errorf("key mode %v, same key %v", st.Mode().Perm(), bytes.Equal(after, key))
		}
	})
	t.Run("the same key given again: ok", func(t *testing.T) {
		f := newFixture(t)
		key, _ := os.ReadFile(f.key)
		if err := os.MkdirAll(f.root+"/etc/corosync", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.root+AuthkeyPath, key, 0o400); err != nil {
			t.Fatal(err)
		}
		r, err := f.run(f.options())
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(r)["authkey"]; got != StatusOK {
			t.Errorf("authkey step %s, want ok", got)
		}
	})
	for name, size := range map[string]int{"too short": 16, "too long": 8192} {
		t.Run("--authkey "+name+": usage error", func(t *testing.T) {
			f := newFixture(t)
			if err := os.WriteFile(f.key+"2", make([]byte, size), 0o400); err != nil {
				t.Fatal(err)
			}
			opts := f.options()
			opts.Authkey = f.key + "2"
			if _, err := New(f.topo, opts); !errors.Is(err, ErrUsage) {
				t.Errorf("New: %v, want ErrUsage", err)
			}
		})
	}
	t.Run("--authkey missing: usage error", func(t *testing.T) {
		f := newFixture(t)
		opts := f.options()
		opts.Authkey = f.key + ".nope"
		if _, err := New(f.topo, opts); !errors.Is(err, ErrUsage) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("New: %v, want ErrUsage and ErrNotExist", err)
		}
	})
}

func TestUnknownHost(t *testing.T) {
	f := newFixture(t)
	opts := f.options()
	opts.Host = "h9"
	_, err := New(f.topo, opts)
	if !errors.Is(err, ErrUsage) || !errors.Is(err, topology.ErrUnknownHost) {
		t.Fatalf("New: %v, want ErrUsage and topology.ErrUnknownHost", err)
	}
}

// Corosync already running: another cluster (the package's default) is restarted with
// Pacemaker; this cluster only reloads a changed configuration; an unchanged one is left alone.
func TestRunningCorosync(t *testing.T) {
	cases := []struct {
		name, running string
		want          []string
	}{
		{"another cluster", "debian", []string{"systemctl stop pacemaker", "systemctl restart corosync", "systemctl start pacemaker"}},
		{"this cluster", "pg-test", []string{"corosync-cfgtool -R"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.host.corosync, f.host.pacemaker, f.host.clusterName = true, true, c.running
			r, err := f.run(f.options())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, changing(f.host.takeCalls())); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if got := statuses(r)["corosync"]; got != StatusChanged {
				t.Errorf("corosync step %s", got)
			}
			// Again: the configuration is unchanged, nothing is restarted or reloaded.
			if _, err := f.run(f.options()); err != nil {
				t.Fatal(err)
			}
			if got := changing(f.host.takeCalls()); len(got) > 0 {
				t.Errorf("second run: %v", got)
			}
		})
	}
}

// localCIB writes a CIB naming cluster into the root's /var/lib/pacemaker/cib.
func (f *fixture) localCIB(cluster string) []byte {
	f.t.Helper()
	doc := fmt.Appendf(nil, `<cib epoch="5" num_updates="0" admin_epoch="0"><configuration><crm_config>
<cluster_property_set id="cib-bootstrap-options"><nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="%s"/></cluster_property_set>
</crm_config><nodes><node id="1" uname="node1"/></nodes><resources/><constraints/></configuration><status/></cib>`, cluster)
	dir := f.root + LocalCIBDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/cib.xml", doc, 0o600); err != nil {
		f.t.Fatal(err)
	}
	return doc
}

// The CIB the Debian package's one-node cluster left on disk is moved aside before Pacemaker
// starts in this cluster; this cluster's own CIB, or the CIB of a running member, never is.
func TestForeignLocalCIB(t *testing.T) {
	t.Run("another cluster's, Pacemaker restarted: moved aside", func(t *testing.T) {
		f := newFixture(t)
		f.host.corosync, f.host.pacemaker, f.host.clusterName = true, true, "debian"
		doc := f.localCIB("debian")
		r, err := f.run(f.options())
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(r)["local-cib"]; got != StatusChanged {
			t.Errorf("local-cib step %s, want changed", got)
		}
		moved, err := os.ReadFile(f.root + LocalCIBDir + ".vipctl-20261126T020000Z/cib.xml")
		if err != nil || !bytes.Equal(moved, doc) {
			t.Errorf("moved CIB: %v", err)
		}
		left, err := os.ReadDir(f.root + LocalCIBDir)
		if err != nil || len(left) != 0 {
			t.Errorf("%s after: %v %v, want an empty directory", LocalCIBDir, left, err)
		}
		if st, err := os.Stat(f.root + LocalCIBDir); err != nil || st.Mode().Perm() != 0o750 {
			t.Errorf("%s mode: %v %v", LocalCIBDir, st, err)
		}
	})
	t.Run("this cluster's: kept", func(t *testing.T) {
		f := newFixture(t)
		doc := f.localCIB("pg-test")
		r, err := f.run(f.options())
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(r)["local-cib"]; got != StatusOK {
			t.Errorf("local-cib step %s, want ok", got)
		}
		if kept, err := os.ReadFile(f.root + LocalCIBDir + "/cib.xml"); err != nil || !bytes.Equal(kept, doc) {
			t.Errorf("local CIB changed: %v", err)
		}
	})
	t.Run("another cluster's under a running Pacemaker of this cluster: kept", func(t *testing.T) {
		f := newFixture(t)
		f.host.corosync, f.host.pacemaker, f.host.clusterName = true, true, "pg-test"
		doc := f.localCIB("other")
		if _, err := f.run(f.options()); err != nil {
			t.Fatal(err)
		}
		if kept, err := os.ReadFile(f.root + LocalCIBDir + "/cib.xml"); err != nil || !bytes.Equal(kept, doc) {
			t.Errorf("local CIB changed: %v", err)
		}
	})
}

// A member of another cluster with other members is not restarted: the step fails.
func TestMemberOfAnotherCluster(t *testing.T) {
	f := newFixture(t)
	f.host.corosync, f.host.pacemaker, f.host.clusterName, f.host.members = true, true, "pg-old", 3
	f.localCIB("pg-old")
	before := tree(t, f.root)
	opts := f.options()
	opts.DryRun = true
	if r, err := f.run(opts); !errors.Is(err, ErrOtherCluster) || r.Failed != "membership" {
		t.Fatalf("dry run: err = %v, failed %q; want ErrOtherCluster at membership", err, r.Failed)
	}
	if diff := cmp.Diff(before, tree(t, f.root)); diff != "" {
		t.Errorf("dry run changed files (-before +after):\n%s", diff)
	}
	r, err := f.run(f.options())
	if !errors.Is(err, ErrOtherCluster) || r.Failed != "membership" {
		t.Fatalf("err = %v, failed %q; want ErrOtherCluster at membership", err, r.Failed)
	}
	if got := changing(f.host.takeCalls()); len(got) > 0 {
		t.Errorf("ran %v", got)
	}
	if diff := cmp.Diff(before, tree(t, f.root)); diff != "" {
		t.Errorf("files changed (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(f.root + LocalCIBDir + "/cib.xml"); err != nil {
		t.Errorf("the other cluster's CIB was moved: %v", err)
	}
}

// When the running Corosync's cluster cannot be read, bootstrap fails instead of guessing
// (a guess of "another cluster" would restart a member).
func TestRunningCorosyncUnknownCluster(t *testing.T) {
	f := newFixture(t)
	f.host.corosync, f.host.pacemaker, f.host.clusterName = true, true, "pg-test"
	f.host.fail["corosync-cmapctl -g totem.cluster_name"] = errExit
	r, err := f.run(f.options())
	if !errors.Is(err, errExit) || r.Failed != "membership" {
		t.Fatalf("err = %v, failed %q; want the cmapctl error at membership", err, r.Failed)
	}
	if got := changing(f.host.takeCalls()); len(got) > 0 {
		t.Errorf("ran %v", got)
	}
}

func TestOldCorosyncConfKept(t *testing.T) {
	f := newFixture(t)
	old := []byte("totem {\n\tcluster_name: debian\n}\n")
	if err := os.MkdirAll(f.root+"/etc/corosync", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.root+CorosyncConfPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.run(f.options()); err != nil {
		t.Fatal(err)
	}
	kept := f.root + CorosyncConfPath + ".vipctl-20261126T020000Z.bak"
	got, err := os.ReadFile(kept)
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("old corosync.conf at %s: %q, %v", kept, got, err)
	}
	// Replaced again within the same second: the first copy stays, the second gets its own name.
	// (Without vipctl's record of the files it wrote, the host is one vipctl meets first.)
	old2 := []byte("totem {\n\tcluster_name: other\n}\n")
	if err := os.WriteFile(f.root+CorosyncConfPath, old2, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.root + confRecordPath); err != nil {
		t.Fatal(err)
	}
	if _, err := f.run(f.options()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{kept: old, f.root + CorosyncConfPath + ".vipctl-20261126T020000Z-2.bak": old2} {
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
}

// A corosync.conf edited by hand after vipctl wrote one is refused, and left as it is; one
// vipctl wrote for an older topology is replaced.
func TestHandEditedCorosyncConf(t *testing.T) {
	f := newFixture(t)
	if _, err := f.run(f.options()); err != nil {
		t.Fatal(err)
	}
	conf := f.root + CorosyncConfPath
	edited := append(must(os.ReadFile(conf)), "# tuned by hand\n"...)
	if err := os.WriteFile(conf, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	before := tree(t, f.root)
	f.host.takeCalls()
	r, err := f.run(f.options())
	if !errors.Is(err, ErrConfEdited) || r.Failed != "corosync.conf" {
		t.Fatalf("hand-edited corosync.conf: failed %q, %v; want corosync.conf, ErrConfEdited", r.Failed, err)
	}
	if d := cmp.Diff(before, tree(t, f.root)); d != "" {
		t.Errorf("the refused run changed the host (-before +after):\n%s", d)
	}
	if c := changing(f.host.takeCalls()); len(c) > 0 {
		t.Errorf("the refused run ran %v", c)
	}

	// The topology changes: the file vipctl wrote before is replaced (and reloaded).
	if err := os.WriteFile(conf, must(corosync.Render(f.topo)), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(testTopology, `cluster_name = "pg-test"`, "cluster_name = \"pg-test\"\n  token_ms = 1500", 1)
	topo2, err := topology.Parse([]byte(src), "/etc/vipctl/vipctl.hcl")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(topo2, f.options())
	if err != nil {
		t.Fatal(err)
	}
	r, err = p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(r); got["corosync.conf"] != StatusChanged || got["corosync"] != StatusChanged {
		t.Errorf("topology change: %v; want corosync.conf and corosync changed", got)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestQuorumTimeout(t *testing.T) {
	f := newFixture(t)
	f.host.quorate = false
	opts := f.options()
	opts.Wait = 20 * time.Millisecond
	r, err := f.run(opts)
	if !errors.Is(err, ErrNotMember) || r.Failed != "quorum" {
		t.Fatalf("err = %v, failed %q; want ErrNotMember at quorum", err, r.Failed)
	}
	if f.cib.writes != 0 {
		t.Error("the CIB was written without quorum")
	}
}

func TestVIPNotStarted(t *testing.T) {
	f := newFixture(t)
	f.host.vipRole = "Stopped"
	opts := f.options()
	opts.Wait = 20 * time.Millisecond
	r, err := f.run(opts)
	if !errors.Is(err, ErrVIPNotStarted) || r.Failed != "vip" {
		t.Fatalf("err = %v, failed %q; want ErrVIPNotStarted at vip", err, r.Failed)
	}
}

// Hosts bootstrapped at the same time: the CIB applied by another host between this host's
// check and its write is reported ok, not changed.
func TestCIBAppliedMeanwhile(t *testing.T) {
	f := newFixture(t)
	f.cib.raced = true
	r, err := f.run(f.options())
	if err != nil {
		t.Fatal(err)
	}
	var got Result
	for _, s := range r.Steps {
		if s.Step == "cib" {
			got = s
		}
	}
	want := Result{Step: "cib", What: got.What, Status: StatusOK, Detail: "another host applied it meanwhile (CIB 0.10.0)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cib step (-want +got):\n%s", diff)
	}
}

func TestCIBRefusalFails(t *testing.T) {
	f := newFixture(t)
	f.cib.err = fmt.Errorf("%w: the live cluster is named \"x\"", cib.ErrWrongCluster)
	r, err := f.run(f.options())
	if !errors.Is(err, cib.ErrWrongCluster) || r.Failed != "cib" {
		t.Fatalf("err = %v, failed %q", err, r.Failed)
	}
}

// TestCIBUnknownNodeSaysHowToRemove: a live CIB naming a host the topology lacks is refused at
// the cib step, and the error says how a removed host leaves Pacemaker.
func TestCIBUnknownNodeSaysHowToRemove(t *testing.T) {
	f := newFixture(t)
	f.cib.err = fmt.Errorf("%w: \"h9\" (id 9)", cib.ErrUnknownNode)
	r, err := f.run(f.options())
	if !errors.Is(err, cib.ErrUnknownNode) || r.Failed != "cib" || !strings.Contains(err.Error(), "crm_node --force --remove NAME") {
		t.Fatalf("err = %v, failed %q", err, r.Failed)
	}
}

// fakeRegistrar is a Nomad that plans a job as unchanged once the same job was registered.
type fakeRegistrar struct {
	jobs       []string          // registered, in order
	registered map[string][]byte // job ID → its JSON
}

func (r *fakeRegistrar) Plan(job *api.Job, _ bool, _ *api.WriteOptions) (*api.JobPlanResponse, *api.WriteMeta, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return nil, nil, err
	}
	diff := "Added"
	if old, ok := r.registered[*job.ID]; ok {
		diff = "Edited"
		if bytes.Equal(old, b) {
			diff = "None"
		}
	}
	return &api.JobPlanResponse{Diff: &api.JobDiff{Type: diff}}, nil, nil
}

func (r *fakeRegistrar) Register(job *api.Job, _ *api.WriteOptions) (*api.JobRegisterResponse, *api.WriteMeta, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return nil, nil, err
	}
	if r.registered == nil {
		r.registered = map[string][]byte{}
	}
	r.registered[*job.ID] = b
	r.jobs = append(r.jobs, *job.ID)
	return &api.JobRegisterResponse{EvalID: "e"}, nil, nil
}

func TestBackupScheduler(t *testing.T) {
	t.Run("cron: backup job not submitted", func(t *testing.T) {
		f := newFixture(t)
		opts := f.options()
		opts.Submit = true
		reg := &fakeRegistrar{}
		opts.jobs = reg
		if _, err := f.run(opts); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"pgsql-app", "haproxy-app"}, reg.jobs); diff != "" {
			t.Errorf("registered (-want +got):\n%s", diff)
		}
		// Again: Nomad plans every job as unchanged, nothing is registered.
		r, err := f.run(opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(allStatus(r, StatusOK), statuses(r)); diff != "" {
			t.Errorf("second run (-want +got):\n%s", diff)
		}
		if len(reg.jobs) != 2 {
			t.Errorf("registered again: %v", reg.jobs)
		}
	})
	t.Run("nomad: backup job submitted, host files removed", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.run(f.options()); err != nil {
			t.Fatal(err)
		}
		opts := f.options()
		opts.Submit, opts.Backup = true, BackupNomad
		reg := &fakeRegistrar{}
		opts.jobs = reg
		r, err := f.run(opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"pgsql-app", "haproxy-app", "backup-app"}, reg.jobs); diff != "" {
			t.Errorf("registered (-want +got):\n%s", diff)
		}
		for _, st := range []string{"backup-script:app", "backup-cron:app"} {
			if got := statuses(r)[st]; got != StatusChanged {
				t.Errorf("%s step %s, want changed (removed)", st, got)
			}
		}
		for _, p := range []string{backup.HostCronPath("app"), backup.HostScriptPath("app")} {
			if _, err := os.Stat(f.root + p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s still there: %v", p, err)
			}
		}
		r, err = f.run(opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(r)["backup-cron:app"]; got != StatusOK {
			t.Errorf("second run: cron step %s, want ok", got)
		}
	})
}

// --submit through the real Nomad API client (Options.Nomad), against an HTTP stand-in for
// Nomad's plan (PUT /v1/job/ID/plan) and register (PUT /v1/jobs) endpoints: jobs Nomad already
// runs unchanged are not registered again; a refusal fails the step naming what was
// registered before it.
func TestSubmitThroughNomadAPI(t *testing.T) {
	var mu sync.Mutex
	var got []string
	registered := map[string][]byte{}
	refuse := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var req struct{ Job *api.Job }
		if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&req) != nil || req.Job == nil || req.Job.ID == nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		id := *req.Job.ID
		b, _ := json.Marshal(req.Job)
		switch r.URL.Path {
		case "/v1/job/" + id + "/plan":
			diff := "Added"
			if old, ok := registered[id]; ok {
				diff = "Edited"
				if bytes.Equal(old, b) {
					diff = "None"
				}
			}
			fmt.Fprintf(w, `{"Diff":{"Type":%q}}`, diff)
		case "/v1/jobs":
			if id == refuse {
				http.Error(w, "job refused", http.StatusBadRequest)
				return
			}
			registered[id] = b
			got = append(got, id)
			fmt.Fprint(w, `{"EvalID":"eval-1"}`)
		default:
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
		}
	}))
	defer srv.Close()

	f := newFixture(t)
	opts := f.options()
	opts.Submit = true
	opts.Nomad = func() (*api.Client, error) { return api.NewClient(&api.Config{Address: srv.URL}) }
	r, err := f.run(opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pgsql-app", "haproxy-app"}, got); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	if st := statuses(r)["nomad"]; st != StatusChanged {
		t.Errorf("nomad step %s", st)
	}

	r, err = f.run(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := statuses(r)["nomad"]; st != StatusOK || len(got) != 2 {
		t.Errorf("second run: nomad step %s, registered %v", st, got)
	}

	mu.Lock()
	got, refuse, registered = nil, "haproxy-app", map[string][]byte{}
	mu.Unlock()
	r, err = f.run(opts)
	if !errors.Is(err, nomad.ErrSubmit) || r.Failed != "nomad" {
		t.Fatalf("err = %v, failed %q; want nomad.ErrSubmit at nomad", err, r.Failed)
	}
	if !strings.Contains(r.Steps[len(r.Steps)-1].Detail, "registered before it: pgsql-app") {
		t.Errorf("detail %q does not say what was registered", r.Steps[len(r.Steps)-1].Detail)
	}
}

// A fence device's agent must be installed on every host but the one it fences: Pacemaker's
// fencer runs it there. The tools step names each device whose agent is missing or not
// executable, and nothing later runs.
func TestMissingFenceAgent(t *testing.T) {
	f := newFixture(t)
	src := strings.Replace(testTopology, `host "h1" {`, `fence "h1-dev" {
  agent  = "fence_self"
  host   = "h1"
  params = { ip = "10.99.1.1" }
}
fence "h2-dev" {
  agent  = "fence_foo"
  host   = "h2"
  params = { ip = "10.99.1.2" }
}
fence "h2-lha" {
  agent  = "external/ipmi"
  host   = "h2"
  params = { ipaddr = "10.99.1.2" }
}
fence "h3-dev" {
  agent  = "fence_bar"
  host   = "h3"
  params = { ip = "10.99.1.3" }
}
host "h1" {`, 1)
	topo, err := topology.Parse([]byte(src), "fence.hcl")
	if err != nil {
		t.Fatal(err)
	}
	f.topo = topo
	dir := filepath.Join(f.root, pcmk.FenceAgentDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fence_bar"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := tree(t, f.root)
	refused := func(want string) {
		t.Helper()
		r, err := f.run(f.options())
		if !errors.Is(err, ErrMissingTool) || r.Failed != "tools" {
			t.Fatalf("err = %v, failed %q; want ErrMissingTool at tools", err, r.Failed)
		}
		d := r.Steps[0].Detail
		for _, s := range []string{want, `fence agent fence_foo of fence "h2-dev" in fence.hcl`, "to fence h2", "apt-get install fence-agents"} {
			if !strings.Contains(d, s) {
				t.Errorf("detail %q does not say %q", d, s)
			}
		}
		for _, s := range []string{"fence_self", "fence_bar", "external/ipmi", "\n"} {
			if strings.Contains(d, s) {
				t.Errorf("detail %q names %q: h1 never runs the device that fences it, fence_bar is installed, external/ipmi is not looked for; one line", d, s)
			}
		}
		if got := tree(t, f.root); !maps.Equal(got, before) {
			t.Errorf("files changed: %v, were %v", got, before)
		}
	}
	refused("no such file or directory")
	r, err := f.run(f.options())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v (%+v), want it to match fs.ErrNotExist", err, r.Steps[0])
	}
	foo := filepath.Join(dir, "fence_foo")
	if err := os.WriteFile(foo, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before = tree(t, f.root)
	refused("is no executable file")
	if err := os.Chmod(foo, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err = f.run(f.options())
	if err != nil {
		t.Fatalf("every fence agent installed: %v", err)
	}
	if r.Steps[0].Status != StatusOK || !strings.Contains(r.Steps[0].What, "fence agent fence_foo, fence_bar") {
		t.Errorf("tools step %+v, want ok, saying it checked fence_foo and fence_bar", r.Steps[0])
	}
}
