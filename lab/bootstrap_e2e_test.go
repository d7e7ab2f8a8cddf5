package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/bootstrap"
	"github.com/vipctl/vipctl/cib"
)

// TestBootstrapBareLab brings up a bare lab (Corosync and Pacemaker quorate; no agent, no
// CIB) and runs `vipctl bootstrap` inside each host, as an operator would on each machine.
// After it the VIP is held by exactly one host; a second round reports every step ok and
// leaves the CIB's epoch as it was.
func TestBootstrapBareLab(t *testing.T) {
	requireLabTools(t)
	vipctl := buildVipctl(t)
	dir := filepath.Join(t.TempDir(), "lab")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := Up(ctx, Options{Dir: dir, Vipctl: vipctl, Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := Down(ctx, dir, nil); err != nil {
			t.Errorf("Down: %v", err)
		}
	})
	g := l.Topology().Groups[0]
	if holders, err := l.Holders(g.Name); err != nil || len(holders) != 0 {
		t.Fatalf("a bare lab already holds the VIP: %v %v", holders, err)
	}

	// The lab keeps its topology and the cluster's key in dir, which every host sees.
	topo, key := filepath.Join(dir, "vipctl.hcl"), filepath.Join(dir, "authkey")
	// bootstrapAll runs bootstrap with topology file topo in every host, all at once when
	// parallel (as an operator's fan-out tool would), and returns each host's report.
	bootstrapAll := func(t *testing.T, topo string, parallel bool) map[string]*bootstrap.Report {
		t.Helper()
		hosts := l.Topology().Hosts
		reports := make([]*bootstrap.Report, len(hosts))
		errs := make([]error, len(hosts))
		var wg sync.WaitGroup
		for i, h := range hosts {
			one := func() {
				// --backup nomad: the lab's hosts share this machine's /root and /etc/cron.d,
				// where the cron files would land; the unit tests cover them under a temp root.
				// The copies of replaced CIBs stay in the lab's directory too.
				argv := []string{vipctl, "bootstrap", "-f", topo, "--host", h.Name, "--authkey", key, "--backup", "nomad",
					"--cib-backup-dir", filepath.Join(dir, "cib-backups"), "-o", "json"}
				var out, errOut bytes.Buffer
				code, err := l.Exec(ctx, h.Name, argv, nil, &out, &errOut)
				if err != nil {
					errs[i] = err
					return
				}
				var r bootstrap.Report
				if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
					errs[i] = fmt.Errorf("%s: exit %d, output is no report: %w\n%s\n%s", h.Name, code, jerr, out.String(), errOut.String())
					return
				}
				if code != 0 || !r.Member {
					errs[i] = fmt.Errorf("%s: exit %d, member %v, failed %q\n%s\n%s", h.Name, code, r.Member, r.Failed, out.String(), errOut.String())
					return
				}
				reports[i] = &r
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
	statusOf := func(r *bootstrap.Report, step string) bootstrap.Status {
		for _, s := range r.Steps {
			if s.Step == step {
				return s.Status
			}
		}
		return ""
	}

	backupHere := []string{"/root/pgsql_backup-demo.sh", "/etc/cron.d/vipctl-backup-demo"}
	for _, p := range backupHere {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists on this machine before the test", p)
		}
	}
	// All hosts at once: one of them writes the CIB, the others find it written (before their
	// check, or when Pacemaker refuses their write onto a CIB that changed meanwhile).
	first := bootstrapAll(t, topo, true)
	hosts := l.Topology().Hosts
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

	before := cibVersion(ctx, t, l, hosts[0].Name)
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
