package cib

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/pcmkhost"
	"github.com/vipctl/vipctl/internal/testenv"
)

// liveCluster is the one-node Corosync + Pacemaker cluster the apply tests write to.
type liveCluster struct {
	t        *testing.T
	host     *pcmkhost.Host
	baseline []byte // the configuration section right after start-up
}

// startLiveCluster starts the one-node cluster "pg-lab" of liveTopology (host pg-01 on
// 127.0.0.1) in a network namespace of its own and waits until the DC has written the
// cluster's properties. Everything is removed when the test ends.
func startLiveCluster(t *testing.T) *liveCluster {
	t.Helper()
	testenv.RequireRoot(t)
	for _, tool := range []string{"corosync", "pacemakerd", "cibadmin", "crm_diff", "crm_attribute", "crm_resource", "nsenter", "unshare", "ip"} {
		testenv.RequireTool(t, tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	ns := "vipctl-cibtest-" + hex.EncodeToString(suffix)
	for _, args := range [][]string{{"netns", "add", ns}, {"-n", ns, "link", "set", "lo", "up"}} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		if args[0] == "netns" {
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if out, err := exec.CommandContext(ctx, "ip", "netns", "delete", ns).CombinedOutput(); err != nil {
					t.Errorf("ip netns delete %s: %v: %s", ns, err, out)
				}
			})
		}
	}

	topo := liveTopology()
	conf, err := corosync.Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 256)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	h, err := pcmkhost.Start(ctx, pcmkhost.Config{
		Name:         topo.Hosts[0].Name,
		NetNS:        ns,
		StateDir:     filepath.Join(t.TempDir(), "pg-01"),
		CorosyncConf: conf,
		Authkey:      key,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.Stop(ctx); err != nil {
			t.Errorf("stop the cluster: %v", err)
		}
	})
	if err := h.WaitOnline(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c := &liveCluster{t: t, host: h}
	// The DC writes cluster-name (among others) into the CIB shortly after its election.
	for {
		if c.query().FindElement("//cluster_property_set/nvpair[@name='cluster-name']") != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the cluster did not write its cluster-name property")
		case <-time.After(200 * time.Millisecond):
		}
	}
	started := c.query().Root().SelectElement("configuration")
	doc := etree.NewDocument()
	doc.SetRoot(started.Copy())
	if c.baseline, err = doc.WriteToBytes(); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs a Pacemaker tool inside the cluster's host and returns its standard output.
func (c *liveCluster) run(stdin string, name string, args ...string) []byte {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.host.Command(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// query returns the live CIB.
func (c *liveCluster) query() *etree.Document {
	c.t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(c.run("", "cibadmin", "--query")); err != nil {
		c.t.Fatal(err)
	}
	return doc
}

// epoch returns the live CIB's admin_epoch and epoch (num_updates counts status updates too).
func (c *liveCluster) epoch() [2]int {
	c.t.Helper()
	v, err := VersionOf(c.query())
	if err != nil {
		c.t.Fatal(err)
	}
	return [2]int{v.AdminEpoch, v.Epoch}
}

// reset puts back the configuration the cluster started with and waits until the cluster has
// acted on it, so that no status update from an earlier case lands in the next one.
func (c *liveCluster) reset() {
	c.t.Helper()
	c.run(string(c.baseline), "cibadmin", "--replace", "--scope", "configuration", "--xml-pipe")
	c.run("", "crm_resource", "--wait", "--timeout", "60s")
}

// live returns a Live reaching the cluster, keeping backups in a fresh directory.
func (c *liveCluster) live(t *testing.T) (*Live, string) {
	dir := filepath.Join(t.TempDir(), "cib-backup")
	return NewLive(LiveConfig{Run: c.host.Runner(30 * time.Second), BackupDir: dir}), dir
}

// backups lists the files in a backup directory (none when it does not exist).
func backups(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names
}

// element returns the element at path (etree path syntax) in the live configuration, or nil.
func element(doc *etree.Document, path string) *etree.Element {
	return doc.Root().SelectElement("configuration").FindElement(path)
}

// TestApplyLive applies rendered CIBs to a real one-node Corosync + Pacemaker cluster. The
// cluster takes about half a minute to come up, so every case runs against the same one,
// each starting from the configuration the cluster came up with.
func TestApplyLive(t *testing.T) {
	c := startLiveCluster(t)
	topo := liveTopology()
	desired := desiredDoc(t, topo)
	ctx := context.Background()

	t.Run("fresh then unchanged", func(t *testing.T) {
		c.reset()
		l, dir := c.live(t)
		before := c.query()
		res, err := l.Apply(ctx, topo, desired, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Written || res.Unchanged() {
			t.Errorf("first apply: written %v, %d changes; want written changes", res.Written, len(res.Changes))
		}
		after := c.query()
		for _, path := range []string{
			"resources/primitive[@id='vip-db']/meta_attributes/nvpair[@name='vipctl-managed'][@value='true']",
			"constraints/rsc_location[@id='vipctl-location-vip-db']",
			"crm_config/cluster_property_set[@id='cib-bootstrap-options']/nvpair[@name='no-quorum-policy'][@value='stop']",
			"rsc_defaults/meta_attributes/nvpair[@name='resource-stickiness'][@value='100']",
		} {
			if element(after, path) == nil {
				t.Errorf("live CIB lacks %s after apply", path)
			}
		}
		// The backup is the CIB the write replaced, as cibadmin printed it.
		if got := backups(t, dir); len(got) != 1 || got[0] != res.Backup {
			t.Fatalf("backups %v, want exactly %s", got, res.Backup)
		}
		b, err := os.ReadFile(res.Backup)
		if err != nil {
			t.Fatal(err)
		}
		bdoc := etree.NewDocument()
		if err := bdoc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		if v, err := VersionOf(bdoc); err != nil || v != res.Before {
			t.Errorf("backup holds version %v (%v), want %v", v, err, res.Before)
		}
		if !sameElement(bdoc.Root().SelectElement("configuration"), before.Root().SelectElement("configuration")) {
			t.Error("backup's configuration is not the one apply replaced")
		}
		if fi, err := os.Stat(res.Backup); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("backup mode: %v %v, want 0600", fi.Mode(), err)
		}
		if v, err := VersionOf(after); err != nil || v.Epoch <= res.Before.Epoch || res.After.Epoch != v.Epoch {
			t.Errorf("epoch after apply %v (result says %v), before %v", v, res.After, res.Before)
		}

		// Second apply: nothing to do, nothing written, epoch as it was, no new backup.
		epoch := c.epoch()
		res2, err := l.Apply(ctx, topo, desired, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Written || !res2.Unchanged() || res2.Backup != "" {
			t.Errorf("second apply: written %v, changes %+v, backup %q; want unchanged", res2.Written, res2.Changes, res2.Backup)
		}
		if got := c.epoch(); got != epoch {
			t.Errorf("second apply moved the epoch from %v to %v", epoch, got)
		}
		if got := backups(t, dir); len(got) != 1 {
			t.Errorf("second apply left backups %v", got)
		}
	})

	t.Run("hand edits survive and a hand-set owned property is restored", func(t *testing.T) {
		c.reset()
		l, _ := c.live(t)
		if _, err := l.Apply(ctx, topo, desired, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		c.run("", "cibadmin", "--create", "--scope", "resources", "--xml-text",
			`<primitive id="hand-dummy" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="hand-dummy-meta"><nvpair id="hand-dummy-meta-target-role" name="target-role" value="Stopped"/></meta_attributes></primitive>`)
		c.run("", "cibadmin", "--create", "--scope", "constraints", "--xml-text",
			`<rsc_location id="hand-dummy-prefers-pg-01" rsc="hand-dummy" node="pg-01" score="50"/>`)
		c.run("", "crm_attribute", "--name", "cluster-recheck-interval", "--update", "5min")
		c.run("", "crm_attribute", "--name", "no-quorum-policy", "--update", "ignore")
		handMade := c.query()

		p, err := l.Plan(ctx, topo, desired)
		if err != nil {
			t.Fatal(err)
		}
		want := []Change{{Op: OpChange, Section: "crm_config", Element: "nvpair", ID: "no-quorum-policy", Set: BootstrapOptions,
			Fields: []Field{{Op: OpChange, Path: "value", Old: "ignore", New: "stop"}}}}
		if diff := cmp.Diff(want, p.Changes); diff != "" {
			t.Errorf("diff against the hand-edited CIB (-want +got):\n%s", diff)
		}

		res, err := l.Apply(ctx, topo, desired, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, res.Changes); diff != "" || !res.Written {
			t.Errorf("apply wrote %v, changes (-want +got):\n%s", res.Written, diff)
		}
		after := c.query()
		for _, path := range []string{
			"resources/primitive[@id='hand-dummy']",
			"constraints/rsc_location[@id='hand-dummy-prefers-pg-01']",
			"crm_config/cluster_property_set/nvpair[@name='cluster-recheck-interval']",
			"crm_config/cluster_property_set/nvpair[@name='dc-version']",
			"resources/primitive[@id='vip-db']",
		} {
			a, b := element(handMade, path), element(after, path)
			if a == nil || b == nil || !sameElement(a, b) {
				t.Errorf("%s did not survive apply unchanged", path)
			}
		}
		if element(after, "crm_config/cluster_property_set/nvpair[@name='no-quorum-policy'][@value='stop']") == nil {
			t.Error("no-quorum-policy was not restored to stop")
		}
	})

	t.Run("concurrent change is detected and apply retries", func(t *testing.T) {
		c.reset()
		l, dir := c.live(t)
		l.beforeWrite = func(ctx context.Context, attempt int) error {
			if attempt == 1 {
				c.run("", "crm_attribute", "--name", "cluster-recheck-interval", "--update", "7min")
			}
			return nil
		}
		res, err := l.Apply(ctx, topo, desired, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// At least 2: the cluster recording a status update in between would add one more.
		if res.Attempts < 2 || !res.Written {
			t.Errorf("attempts %d written %v, want 2 or more attempts and a write", res.Attempts, res.Written)
		}
		after := c.query()
		if element(after, "crm_config/cluster_property_set/nvpair[@name='cluster-recheck-interval'][@value='7min']") == nil {
			t.Error("the concurrent change was lost")
		}
		if element(after, "resources/primitive[@id='vip-db']") == nil {
			t.Error("the retried apply did not write vip-db")
		}
		if got := backups(t, dir); len(got) != 1 || got[0] != res.Backup {
			t.Errorf("backups %v, want only %s (the refused attempt's copy removed)", got, res.Backup)
		}
	})

	t.Run("changes that never stop are refused, never overwritten", func(t *testing.T) {
		c.reset()
		l, dir := c.live(t)
		l.attempts = 2
		l.beforeWrite = func(ctx context.Context, attempt int) error {
			c.run("", "crm_attribute", "--name", "cluster-recheck-interval", "--update", fmt.Sprintf("%dmin", 10+attempt))
			return nil
		}
		res, err := l.Apply(ctx, topo, desired, ApplyOptions{})
		if !errors.Is(err, ErrConcurrentChange) {
			t.Fatalf("err = %v, want ErrConcurrentChange", err)
		}
		if res == nil || res.Written || res.Attempts != 2 {
			t.Errorf("result %+v, want 2 attempts and nothing written", res)
		}
		after := c.query()
		if element(after, "crm_config/cluster_property_set/nvpair[@name='cluster-recheck-interval'][@value='12min']") == nil {
			t.Error("the last concurrent change was overwritten")
		}
		if element(after, "resources/primitive[@id='vip-db']") != nil {
			t.Error("vip-db was written although every attempt was refused")
		}
		if got := backups(t, dir); len(got) != 0 {
			t.Errorf("backups %v left although nothing was replaced", got)
		}
	})

	t.Run("refusals change nothing", func(t *testing.T) {
		c.reset()
		other := liveTopology()
		other.Corosync.ClusterName = "pg-prod"
		c.run("", "cibadmin", "--create", "--scope", "nodes", "--xml-text", `<node id="99" uname="ghost"/>`)
		for _, tc := range []struct {
			name string
			opts ApplyOptions
		}{{"apply", ApplyOptions{}}, {"dry run", ApplyOptions{DryRun: true}}} {
			l, dir := c.live(t)
			epoch := c.epoch()
			if _, err := l.Apply(ctx, other, desired, tc.opts); !errors.Is(err, ErrWrongCluster) {
				t.Errorf("%s onto cluster pg-lab with cluster_name pg-prod: err = %v, want ErrWrongCluster", tc.name, err)
			}
			if _, err := l.Apply(ctx, topo, desired, tc.opts); !errors.Is(err, ErrUnknownNode) {
				t.Errorf("%s with node ghost in the CIB: err = %v, want ErrUnknownNode", tc.name, err)
			}
			if got := c.epoch(); got != epoch {
				t.Errorf("%s: refused apply moved the epoch from %v to %v", tc.name, epoch, got)
			}
			if got := backups(t, dir); len(got) != 0 {
				t.Errorf("%s: refused apply left backups %v", tc.name, got)
			}
		}
	})

	t.Run("a patch Pacemaker rejects changes nothing", func(t *testing.T) {
		c.reset()
		l, dir := c.live(t)
		bad := desired.Copy()
		bad.FindElement("//primitive[@id='vip-db']").RemoveAttr("class") // the schema requires it
		epoch := c.epoch()
		res, err := l.Apply(ctx, topo, bad, ApplyOptions{})
		var ee *pcmk.ExitError
		if !errors.As(err, &ee) || ee.Command[0] != "cibadmin" || errors.Is(err, ErrConcurrentChange) {
			t.Fatalf("err = %v, want cibadmin's refusal", err)
		}
		if res.Written || res.Attempts != 1 {
			t.Errorf("result %+v, want one attempt and nothing written", res)
		}
		if got := c.epoch(); got != epoch {
			t.Errorf("rejected patch moved the epoch from %v to %v", epoch, got)
		}
		if element(c.query(), "resources/primitive[@id='vip-db']") != nil || len(backups(t, dir)) != 0 {
			t.Error("rejected patch left vip-db or a backup")
		}
	})

	t.Run("dry run writes nothing", func(t *testing.T) {
		c.reset()
		l, dir := c.live(t)
		epoch := c.epoch()
		res, err := l.Apply(ctx, topo, desired, ApplyOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Written || res.Unchanged() || !res.DryRun {
			t.Errorf("dry run: written %v, %d changes", res.Written, len(res.Changes))
		}
		if got := c.epoch(); got != epoch {
			t.Errorf("dry run moved the epoch from %v to %v", epoch, got)
		}
		if element(c.query(), "resources/primitive[@id='vip-db']") != nil || len(backups(t, dir)) != 0 {
			t.Error("dry run wrote vip-db or a backup")
		}
	})

	t.Run("rollback from the backup", func(t *testing.T) {
		c.reset()
		l, _ := c.live(t)
		res, err := l.Apply(ctx, topo, desired, ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// What docs/cib-apply.md tells operators: put the backup's configuration section back.
		b, err := os.ReadFile(res.Backup)
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		conf := etree.NewDocument()
		conf.SetRoot(doc.Root().SelectElement("configuration").Copy())
		s, err := conf.WriteToString()
		if err != nil {
			t.Fatal(err)
		}
		c.run(s, "cibadmin", "--replace", "--scope", "configuration", "--xml-pipe")
		after := c.query()
		if element(after, "resources/primitive[@id='vip-db']") != nil {
			t.Error("vip-db still there after the rollback")
		}
		if !sameElement(after.Root().SelectElement("configuration"), doc.Root().SelectElement("configuration")) {
			t.Error("configuration after the rollback differs from the backup's")
		}
	})
}
