package lab

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/bootstrap"
)

// TestBootstrapFreshLab makes a cluster from nothing: `lab up --fresh` gives three hosts with
// the packages installed and nothing else, and `vipctl bootstrap --authkey K` with its defaults,
// run inside all three at the same moment, starts Corosync and Pacemaker through the hosts'
// systemctl, reaches quorum and starts the VIP on exactly one host; `vipctl status -o json`
// names it. A second run changes nothing and leaves the CIB's epoch as it was. Bad input is
// refused with the step named and nothing written.
func TestBootstrapFreshLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, dir, vipctl := upLabWith(t, ctx, Options{Fresh: true})
	topo, key := l.State().Topology, filepath.Join(dir, "authkey")
	g := l.Topology().Groups[0]
	hosts := l.Topology().Hosts
	in := func(host string, argv ...string) (string, int) {
		t.Helper()
		var out bytes.Buffer
		code, err := l.Exec(ctx, host, argv, nil, &out, &out)
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), code
	}

	// Nothing runs, nothing is configured.
	for _, h := range hosts {
		if out, code := in(h.Name, "systemctl", "is-active", "corosync", "pacemaker"); code != 3 || out != "inactive\ninactive\n" {
			t.Errorf("%s: systemctl is-active corosync pacemaker: %q exit %d", h.Name, out, code)
		}
		if out, _ := in(h.Name, "ls", "-A", "/etc/corosync", "/var/lib/pacemaker/cib"); strings.Contains(out, "corosync.conf") || strings.Contains(out, "authkey") || strings.Contains(out, "cib.xml") {
			t.Errorf("%s is not fresh:\n%s", h.Name, out)
		}
	}
	if holders, err := l.Holders(g.Name); err != nil || len(holders) != 0 {
		t.Fatalf("a fresh lab holds the VIP: %v %v", holders, err)
	}
	// What bootstrap writes with its defaults lands in each host's own directories.
	machine := []string{"/root/pgsql_backup-demo.sh", "/etc/cron.d/vipctl-backup-demo", "/etc/corosync/corosync.conf.vipctl-sha256"}
	for _, p := range machine {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists on this machine before the test", p)
		}
	}
	backupsHere := func() []string { // the CIB copies of this machine's own cib apply
		ents, _ := os.ReadDir("/var/lib/vipctl/cib-backup")
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	machineBackups := backupsHere()

	b := &bootstrapper{l: l, ctx: ctx, vipctl: vipctl}

	t.Run("bad input before the cluster exists", func(t *testing.T) {
		short := filepath.Join(dir, "short-authkey")
		if err := os.WriteFile(short, bytes.Repeat([]byte{1}, 64), 0o400); err != nil {
			t.Fatal(err)
		}
		for name, args := range map[string][]string{
			"host not in the topology": {"-f", topo, "--authkey", key, "--host", "lab-9"},
			"key of 64 bytes":          {"-f", topo, "--authkey", short},
		} {
			code, _, _ := b.on(hosts[0].Name, args...)
			if code != 2 {
				t.Errorf("%s: exit %d, want 2", name, code)
			}
		}
		if out, _ := in(hosts[0].Name, "ls", "-A", "/etc/corosync"); strings.TrimSpace(out) != "" {
			t.Errorf("a refused bootstrap wrote into /etc/corosync: %q", out)
		}
	})

	// From nothing: all three at once.
	first := b.all(t, true, "-f", topo, "--authkey", key)
	var wrote []string
	for name, r := range first {
		for _, step := range []string{"authkey", "corosync.conf", "corosync", "pacemaker"} {
			if got := statusOf(r, step); got != bootstrap.StatusChanged {
				t.Errorf("%s: step %s is %s, want changed (a fresh host)", name, step, got)
			}
		}
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
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("VIP holders %v (%v), want exactly one", holders, err)
	}
	holder := holders[0]
	t.Logf("VIP %s held by %s", g.VIP.Prefix, holder)
	for _, h := range hosts {
		code, r := labStatus(t, ctx, l, vipctl, h.Name)
		if code != 1 { // no Consul in this lab: status cannot call it healthy
			t.Errorf("status in %s: exit %d, want 1 (Consul unknown)", h.Name, code)
		}
		if len(r.Groups) != 1 || !cmp.Equal(r.Groups[0].RunningOn, []string{holder}) {
			t.Errorf("status in %s: groups %+v, want %s running on %s", h.Name, r.Groups, g.Name, holder)
		}
	}
	// The cron backup files are in each host's /root and /etc/cron.d, not on this machine.
	for _, h := range hosts {
		if out, code := in(h.Name, "test", "-x", "/root/pgsql_backup-demo.sh", "-a", "-f", "/etc/cron.d/vipctl-backup-demo"); code != 0 {
			t.Errorf("%s: backup files missing inside the host: %s", h.Name, out)
		}
	}
	for _, p := range machine {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s appeared on this machine", p)
		}
	}
	if d := cmp.Diff(machineBackups, backupsHere()); d != "" {
		t.Errorf("CIB copies written onto this machine (-before +after):\n%s", d)
	}
	for _, h := range wrote { // the CIB it replaced, in its own /var/lib/vipctl/cib-backup
		if out, code := in(h, "sh", "-c", "ls /var/lib/vipctl/cib-backup | grep -c ."); code != 0 || strings.TrimSpace(out) != "1" {
			t.Errorf("%s keeps %q CIB copies in its own /var/lib/vipctl/cib-backup, want 1", h, out)
		}
	}

	// Again: nothing to do, the CIB's epoch stays.
	before := cibVersion(ctx, t, l, hosts[0].Name)
	second := b.all(t, false, "-f", topo, "--authkey", key)
	for name, r := range second {
		for _, s := range r.Steps {
			if s.Status != bootstrap.StatusOK {
				t.Errorf("%s: second run: step %s is %s (%s)", name, s.Step, s.Status, s.Detail)
			}
		}
	}
	if after := cibVersion(ctx, t, l, hosts[0].Name); after.AdminEpoch != before.AdminEpoch || after.Epoch != before.Epoch {
		t.Errorf("the second run changed the CIB: %s → %s", before, after)
	}
	if now, err := l.Holders(g.Name); err != nil || len(now) != 1 || now[0] != holder {
		t.Errorf("after the second run the VIP is held by %v (%v), want %s alone", now, err, holder)
	}

	t.Run("bad input on a member", func(t *testing.T) {
		h := hosts[1].Name
		conf, _ := in(h, "cat", "/etc/corosync/corosync.conf")
		// A topology naming another cluster than the one this host runs.
		src, err := os.ReadFile(topo)
		if err != nil {
			t.Fatal(err)
		}
		other := bytes.Replace(src, []byte(`cluster_name = "vipctl-lab"`), []byte(`cluster_name = "other"`), 1)
		if bytes.Equal(other, src) {
			t.Fatal("the lab's topology has no cluster_name line to change")
		}
		otherTopo := filepath.Join(dir, "vipctl-other.hcl")
		if err := os.WriteFile(otherTopo, other, 0o644); err != nil {
			t.Fatal(err)
		}
		code, r, _ := b.on(h, "-f", otherTopo)
		if code != 1 || r == nil || r.Failed != "membership" {
			t.Errorf("another cluster's topology: exit %d, report %+v; want exit 1 at membership", code, r)
		}
		if now, _ := in(h, "cat", "/etc/corosync/corosync.conf"); now != conf {
			t.Error("the refused run changed corosync.conf")
		}

		// corosync.conf edited by hand since bootstrap wrote it: refused, the edit kept.
		if _, code := in(h, "sh", "-c", "echo '# tuned by hand' >>/etc/corosync/corosync.conf"); code != 0 {
			t.Fatal("edit corosync.conf")
		}
		edited, _ := in(h, "cat", "/etc/corosync/corosync.conf")
		code, r, _ = b.on(h, "-f", topo)
		if code != 1 || r == nil || r.Failed != "corosync.conf" {
			t.Errorf("hand-edited corosync.conf: exit %d, report %+v; want exit 1 at corosync.conf", code, r)
		}
		if now, _ := in(h, "cat", "/etc/corosync/corosync.conf"); now != edited {
			t.Error("the refused run changed the hand-edited corosync.conf")
		}
		// Moved aside by the operator, as the error says: bootstrap writes it again, and the
		// reload leaves the cluster as it was.
		if _, code := in(h, "mv", "/etc/corosync/corosync.conf", "/root/corosync.conf.mine"); code != 0 {
			t.Fatal("move corosync.conf aside")
		}
		if _, r, err := b.on(h, "-f", topo); err != nil || statusOf(r, "corosync.conf") != bootstrap.StatusChanged {
			t.Errorf("after moving the edit aside: %v; want corosync.conf written", err)
		}
		if now, _ := in(h, "cat", "/etc/corosync/corosync.conf"); now != conf {
			t.Error("corosync.conf is not the topology's again")
		}
	})
}
