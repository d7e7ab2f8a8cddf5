package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/bootstrap"
	"github.com/vipctl/vipctl/cib"
)

// TestBootstrapBareLab brings up a bare lab (Corosync and Pacemaker quorate; no agent, no
// CIB) and runs `vipctl bootstrap` inside the hosts, as an operator would on each machine: a dry
// run changes nothing, another key is refused, then all hosts at once make the VIP run on exactly
// one host; a second round reports every step ok and leaves the CIB's epoch as it was; a changed
// token is reloaded on every member without moving the VIP.
func TestBootstrapBareLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, dir, vipctl := upLab(t, ctx, true)
	g := l.Topology().Groups[0]
	if holders, err := l.Holders(g.Name); err != nil || len(holders) != 0 {
		t.Fatalf("a bare lab already holds the VIP: %v %v", holders, err)
	}

	// The lab keeps its topology and the cluster's key in dir, which every host sees.
	topo, key := filepath.Join(dir, "vipctl.hcl"), filepath.Join(dir, "authkey")
	b := &bootstrapper{l: l, ctx: ctx, vipctl: vipctl,
		// --backup nomad: the hosts of a bare lab share this machine's /root and /etc/cron.d,
		// where the cron files would land; the unit tests cover them under a temp root.
		// The copies of replaced CIBs stay in the lab's directory too.
		extra: []string{"--backup", "nomad", "--cib-backup-dir", filepath.Join(dir, "cib-backups")}}
	bootstrapOn := b.on
	bootstrapAll := func(t *testing.T, topo string, parallel bool) map[string]*bootstrap.Report {
		t.Helper()
		return b.all(t, parallel, "-f", topo, "--authkey", key)
	}

	backupHere := []string{"/root/pgsql_backup-demo.sh", "/etc/cron.d/vipctl-backup-demo"}
	for _, p := range backupHere {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists on this machine before the test", p)
		}
	}
	hosts := l.Topology().Hosts

	// A dry run on a member of the bare cluster: only the CIB and the VIP are missing, and the
	// CIB is left exactly as it was.
	before := cibVersion(ctx, t, l, hosts[0].Name)
	_, dry, err := bootstrapOn(hosts[0].Name, "-f", topo, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range dry.Steps {
		want := []bootstrap.Status{bootstrap.StatusOK}
		switch s.Step {
		case "cib", "vip":
			want = []bootstrap.Status{bootstrap.StatusWouldChange}
		case "agent", "health-agent", "alert": // this machine may hold another build of the agents
			want = append(want, bootstrap.StatusWouldChange)
		}
		if !slices.Contains(want, s.Status) {
			t.Errorf("dry run: step %s is %s (%s), want %v", s.Step, s.Status, s.Detail, want)
		}
	}
	if after := cibVersion(ctx, t, l, hosts[0].Name); after.AdminEpoch != before.AdminEpoch || after.Epoch != before.Epoch {
		t.Errorf("the dry run changed the CIB: %s → %s", before, after)
	}

	// Another key than the cluster's: refused before anything is written; the key stays.
	otherKey := filepath.Join(dir, "other-authkey")
	if err := os.WriteFile(otherKey, bytes.Repeat([]byte{0x42}, 256), 0o400); err != nil {
		t.Fatal(err)
	}
	code, refused, _ := bootstrapOn(hosts[1].Name, "-f", topo, "--authkey", otherKey)
	if code != 1 || refused == nil || refused.Failed != "authkey" {
		t.Errorf("another key: exit %d, report %+v; want exit 1 at authkey", code, refused)
	}
	if code, err := l.Exec(ctx, hosts[1].Name, []string{"cmp", "-s", "/etc/corosync/authkey", key}, nil, os.Stdout, os.Stderr); err != nil || code != 0 {
		t.Errorf("%s's authkey changed (cmp exit %d, %v)", hosts[1].Name, code, err)
	}

	// All hosts at once: one of them writes the CIB, the others find it written (before their
	// check, or when Pacemaker refuses their write onto a CIB that changed meanwhile).
	first := bootstrapAll(t, topo, true)
	var wrote []string
	for name, r := range first {
		switch got := statusOf(r, "cib"); got {
		case bootstrap.StatusChanged:
			wrote = append(wrote, name)
		case bootstrap.StatusOK:
		default:
			t.Errorf("%s: cib step %s", name, got)
		}
	}
	if len(wrote) != 1 {
		t.Errorf("hosts that wrote the CIB: %v, want one", wrote)
	}
	// Each run ended after the vip step: the VIP was started already; netlink agrees.
	for name, r := range first {
		if got := statusOf(r, "vip"); got != bootstrap.StatusOK {
			t.Errorf("%s: vip step %s", name, got)
		}
	}
	for _, p := range backupHere {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written with --backup nomad", p)
		}
	}
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("VIP holders %v (%v), want exactly one", holders, err)
	}
	t.Logf("VIP %s held by %s", g.VIP.Prefix, holders[0])

	before = cibVersion(ctx, t, l, hosts[0].Name)
	second := bootstrapAll(t, topo, false)
	for name, r := range second {
		for _, s := range r.Steps {
			if s.Status != bootstrap.StatusOK {
				t.Errorf("%s: second run: step %s is %s (%s)", name, s.Step, s.Status, s.Detail)
			}
		}
	}
	after := cibVersion(ctx, t, l, hosts[0].Name)
	if after.AdminEpoch != before.AdminEpoch || after.Epoch != before.Epoch {
		t.Errorf("the second run changed the CIB: %s → %s", before, after)
	}
	if now, err := l.Holders(g.Name); err != nil || len(now) != 1 || now[0] != holders[0] {
		t.Errorf("after the second run the VIP is held by %v (%v), want %s alone", now, err, holders[0])
	}

	// A changed corosync.conf on running members of this cluster is reloaded, not restarted:
	// every host runs the new token, and the VIP stays where it is.
	src, err := os.ReadFile(topo)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(src, []byte("token_ms     = 1000"), []byte("token_ms     = 1200"), 1)
	if bytes.Equal(changed, src) {
		t.Fatal("the lab's topology has no token_ms = 1000 line to change")
	}
	topo2 := filepath.Join(dir, "vipctl-token.hcl")
	if err := os.WriteFile(topo2, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	third := bootstrapAll(t, topo2, false)
	for _, h := range hosts {
		r := third[h.Name]
		if got := statusOf(r, "corosync.conf"); got != bootstrap.StatusChanged {
			t.Errorf("%s: corosync.conf step %s, want changed", h.Name, got)
		}
		for _, s := range r.Steps {
			if s.Step == "corosync" && (s.Status != bootstrap.StatusChanged || !strings.Contains(s.Detail, "corosync-cfgtool -R")) {
				t.Errorf("%s: corosync step %s (%s), want a reload", h.Name, s.Status, s.Detail)
			}
		}
		var out bytes.Buffer
		if code, err := l.Exec(ctx, h.Name, []string{"corosync-cmapctl", "-g", "totem.token"}, nil, &out, os.Stderr); err != nil || code != 0 {
			t.Fatalf("corosync-cmapctl in %s: exit %d, %v", h.Name, code, err)
		}
		if got := strings.TrimSpace(out.String()); !strings.HasSuffix(got, "= 1200") {
			t.Errorf("%s runs %q, want totem.token 1200", h.Name, got)
		}
	}
	if now, err := l.Holders(g.Name); err != nil || len(now) != 1 || now[0] != holders[0] {
		t.Errorf("after the reload the VIP is held by %v (%v), want %s alone", now, err, holders[0])
	}
}

// cibVersion reads the live CIB's version inside a host.
func cibVersion(ctx context.Context, t *testing.T, l *Lab, host string) cib.Version {
	t.Helper()
	var out bytes.Buffer
	code, err := l.Exec(ctx, host, []string{"cibadmin", "--query"}, nil, &out, os.Stderr)
	if err != nil || code != 0 {
		t.Fatalf("cibadmin --query in %s: exit %d, %v", host, code, err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	v, err := cib.VersionOf(doc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bootstrapper runs vipctl bootstrap inside the hosts of a lab, as an operator would on each
// machine, with extra arguments before every run's own.
type bootstrapper struct {
	l      *Lab
	ctx    context.Context
	vipctl string
	extra  []string
}

// on runs bootstrap inside one host and returns its exit code and report; a non-zero exit is
// an error carrying the output.
func (b *bootstrapper) on(host string, args ...string) (int, *bootstrap.Report, error) {
	argv := append(append([]string{b.vipctl, "bootstrap", "--host", host, "-o", "json"}, b.extra...), args...)
	var out, errOut bytes.Buffer
	code, err := b.l.Exec(b.ctx, host, argv, nil, &out, &errOut)
	if err != nil {
		return 0, nil, err
	}
	var r bootstrap.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return code, nil, fmt.Errorf("%s: exit %d, output is no report: %w\n%s\n%s", host, code, err, out.String(), errOut.String())
	}
	if code != 0 {
		return code, &r, fmt.Errorf("%s: exit %d, failed %q\n%s\n%s", host, code, r.Failed, out.String(), errOut.String())
	}
	return code, &r, nil
}

// all runs bootstrap with args in every host of the lab's topology, all at once when parallel
// (as an operator's fan-out tool would), and returns each host's report; every host must end
// a member.
func (b *bootstrapper) all(t *testing.T, parallel bool, args ...string) map[string]*bootstrap.Report {
	t.Helper()
	hosts := b.l.Topology().Hosts
	reports := make([]*bootstrap.Report, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		one := func() {
			var r *bootstrap.Report
			_, r, errs[i] = b.on(h.Name, args...)
			if errs[i] == nil && !r.Member {
				errs[i] = fmt.Errorf("%s: exit 0 but not a member: %+v", h.Name, r)
			}
			reports[i] = r
		}
		if !parallel {
			one()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); one() }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	m := map[string]*bootstrap.Report{}
	for i, h := range hosts {
		m[h.Name] = reports[i]
	}
	return m
}

// statusOf is the status of the named step in r ("" when r has no such step).
func statusOf(r *bootstrap.Report, step string) bootstrap.Status {
	for _, s := range r.Steps {
		if s.Step == step {
			return s.Status
		}
	}
	return ""
}
