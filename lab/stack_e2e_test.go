package lab

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/status"
	"github.com/vipctl/vipctl/topology"
)

// requireStackTools fails (in CI) or skips when the machine lacks what the stack runs.
func requireStackTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"patroni", "haproxy", "psql", "setpriv", "curl", "nft", filepath.Join(pgBinDir, "postgres")} {
		testenv.RequireTool(t, tool)
	}
	testenv.RequireFile(t, patroniConsulModule)
	if p, err := ConsulBinary(); err != nil {
		testenv.RequireFile(t, filepath.Join(cacheDir(), "bin", "consul"))
	} else {
		testenv.RequireFile(t, p)
	}
}

// TestStackInLab runs the whole stack in a lab: three real Consul servers, one real Patroni +
// PostgreSQL 15 member and one real HAProxy per host, started from the rendered bundle, and the
// VIP. A client reaches the primary through VIP:port; `vipctl status` on every host reports the
// leader and HAProxy's view (exit 0). The host holding both the VIP and the primary is powered
// off: the committed row survives, writes resume on a new primary, and status names the lost
// member (exit 3). After the heal the old primary rejoins as a replica and status is healthy
// again. With the host's Consul agent stopped, status still shows Pacemaker's part and exits 1.
func TestStackInLab(t *testing.T) {
	requireLabTools(t)
	requireStackTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	l, _, vipctl := upLabWith(t, ctx, Options{Stack: true})
	topo := l.Topology()
	g := topo.Groups[0]
	c := topo.ClustersOf(g.Name)[0]
	if err := l.WaitStack(ctx, 3*time.Minute); err != nil {
		t.Fatal(err)
	}

	statusIn := func(t *testing.T, host string) (int, status.Report) {
		t.Helper()
		return labStatus(t, ctx, l, vipctl, host)
	}
	// statusUntil polls status in host until ok says yes (Consul and HAProxy take a moment to
	// see a change), and fails with the last report otherwise.
	statusUntil := func(t *testing.T, host string, ok func(int, status.Report) bool) status.Report {
		t.Helper()
		var code int
		var r status.Report
		wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := wait.Until(wctx, time.Second, func() (bool, error) {
			code, r = statusIn(t, host)
			return ok(code, r), nil
		}); err != nil {
			t.Fatalf("status in %s: exit %d, problems %+v: %v", host, code, r.Problems, err)
		}
		return r
	}
	has := func(r status.Report, want string) bool {
		return slices.ContainsFunc(r.Problems, func(p status.Problem) bool { return p.Component+"/"+p.Subject+"/"+p.Code == want })
	}
	leaderNode := func(r status.Report) string {
		for _, m := range r.Groups[0].Clusters[0].Consul.Members {
			if m.Role == status.RoleLeader && m.Health == "passing" { // a dead host's entry stays, failing
				return m.Node
			}
		}
		return ""
	}
	sql := func(t *testing.T, stmt string) string {
		t.Helper()
		out, err := l.SQL(ctx, c, stmt)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}

	primary, err := l.Primary(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// The server behind VIP:port is the primary (not in recovery); a replica would say t.
	if got := sql(t, "SELECT pg_is_in_recovery()"); got != "f" {
		t.Errorf("VIP:%d reached a server in recovery (%q); want the primary on %s", c.Port, got, primary)
	}

	for _, h := range topo.Hosts {
		r := statusUntil(t, h.Name, func(code int, _ status.Report) bool { return code == 0 })
		cs := r.Groups[0].Clusters[0]
		if len(cs.Consul.Leaders) != 1 || leaderNode(r) != primary || cs.Consul.Healthy != c.Replicas {
			t.Errorf("status in %s: Consul %+v; want one leader on %s and %d healthy members", h.Name, cs.Consul, primary, c.Replicas)
		}
		if cs.HAProxy.Up != 1 {
			t.Errorf("status in %s: HAProxy %+v; want one server up", h.Name, cs.HAProxy)
		}
		for _, m := range cs.Consul.Members {
			if m.Role == status.RoleReplica && m.LagBytes == nil {
				t.Errorf("status in %s: no replication lag for replica %s (lag error %q)", h.Name, m.ID, cs.Consul.LagError)
			}
		}
	}

	// Backups: stanza_init.sh (started by the image's entrypoint in every member) creates the
	// stanza once, on the leader; backup_if_primary.sh, run in every member's task as the
	// backup job runs it, backs up on the primary only.
	waitArchiving(t, ctx, l, c, primary)
	if n := stanzaCreates(t, l); n != 1 {
		t.Errorf("stanza_init.sh ran stanza-create %d times; want once, on the leader", n)
	}
	backupEverywhere(t, ctx, l, c, primary, "")

	// Drill (a): the VIP and the primary on one host, which is powered off.
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("holders %v (%v)", holders, err)
	}
	holder := holders[0]
	if err := l.Switchover(ctx, c, holder); err != nil {
		t.Fatal(err)
	}
	sql(t, "CREATE TABLE e2e (n int PRIMARY KEY)")
	sql(t, "INSERT INTO e2e VALUES (1)")
	// Replication is asynchronous: a commit is on a replica once the replica has replayed it.
	// Wait for that, so the row's survival below is a fact of the failover, not of a race.
	if err := l.WaitReplicated(ctx, c); err != nil {
		t.Fatal(err)
	}
	failed := time.Now()
	if err := l.Fail(ctx, holder, false); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitSQL(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("SQL through the VIP again %s after %s was powered off", time.Since(failed).Round(time.Millisecond), holder)
	sql(t, "INSERT INTO e2e VALUES (2)")
	if got := sql(t, "SELECT string_agg(n::text, ',' ORDER BY n) FROM e2e"); got != "1,2" {
		t.Errorf("rows after the failover: %q; want 1,2 (the row committed before it survives)", got)
	}
	newPrimary, err := l.Primary(ctx, c)
	if err != nil || newPrimary == holder {
		t.Fatalf("primary after the failover: %q (%v); want a survivor", newPrimary, err)
	}
	survivor := topo.Hosts[slices.IndexFunc(topo.Hosts, func(h topology.Host) bool { return h.Name != holder })].Name
	r := statusUntil(t, survivor, func(code int, r status.Report) bool {
		// The new leader's Consul check passes within its interval (5 s) of the promotion.
		return code == 3 && has(r, "consul/"+c.Name+"/"+status.CodeMembersMissing) && leaderNode(r) != ""
	})
	if !has(r, "pacemaker/"+holder+"/"+status.CodeNodeNotOnline) {
		t.Errorf("status in %s does not name %s as offline: %+v", survivor, holder, r.Problems)
	}
	if leaderNode(r) != newPrimary {
		t.Errorf("status in %s: leader on %q; want %s", survivor, leaderNode(r), newPrimary)
	}
	// The new primary archives WAL into the same repository and backs up there.
	waitArchiving(t, ctx, l, c, newPrimary)
	backupEverywhere(t, ctx, l, c, newPrimary, holder)
	if n := backups(t, ctx, l, c, newPrimary); n < 2 {
		t.Errorf("the repository holds %d backups after the failover; want the old primary's and the new one's", n)
	}

	// The heal: the old primary rejoins as a replica, and status is healthy everywhere.
	if err := l.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitStack(ctx, 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	ms, err := l.Members(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.LabHost == holder && m.Role == "leader" {
			t.Errorf("the old primary %s leads again after the heal: %+v", holder, ms)
		}
	}
	statusUntil(t, holder, func(code int, _ status.Report) bool { return code == 0 })

	// Consul stopped on one host: status there still shows Pacemaker's part, and exits 1.
	hs, err := l.state.host(holder)
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.host(hs)
	if err != nil {
		t.Fatal(err)
	}
	consul, err := ConsulBinary()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.Command(ctx, consul, "leave", "-http-addr", "http://"+topo.Consul.Address).CombinedOutput(); err != nil {
		t.Fatalf("consul leave in %s: %v: %s", holder, err, out)
	}
	code, r := statusIn(t, holder)
	if code != 1 || !has(r, "consul/"+c.Name+"/"+status.CodeConsulUnreachable) {
		t.Errorf("status without Consul: exit %d, problems %+v; want 1 and %s", code, r.Problems, status.CodeConsulUnreachable)
	}
	if !r.Pacemaker.Quorate || len(r.Pacemaker.Nodes) != len(topo.Hosts) {
		t.Errorf("status without Consul: Pacemaker %+v; want it shown, quorate with %d nodes", r.Pacemaker, len(topo.Hosts))
	}
}

// waitArchiving waits until `pgbackrest check` passes in the primary's task: the stanza
// exists and a WAL segment the primary switches reaches the repository.
func waitArchiving(t *testing.T, ctx context.Context, l *Lab, c topology.Cluster, primary string) {
	t.Helper()
	var out string
	var code int
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := wait.Until(wctx, 2*time.Second, func() (bool, error) {
		var err error
		out, code, err = l.TaskExec(wctx, c, primary, "pgbackrest", "--stanza="+c.Name, "check")
		return err == nil && code == 0, nil
	})
	if err != nil {
		t.Fatalf("pgbackrest check on the primary %s: exit %d: %v\n%s", primary, code, err, out)
	}
}

// backupEverywhere runs the rendered backup_if_primary.sh in the member of every running host
// (skip is a powered-off host): the primary backs up, every replica skips and exits 0.
func backupEverywhere(t *testing.T, ctx context.Context, l *Lab, c topology.Cluster, primary, skip string) {
	t.Helper()
	for _, h := range l.Topology().Hosts {
		if h.Name == skip {
			continue
		}
		out, code, err := l.TaskExec(ctx, c, h.Name, c.Container().BackupIfPrimary)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case code != 0:
			t.Errorf("backup_if_primary.sh on %s: exit %d\n%s", h.Name, code, out)
		case h.Name == primary && !strings.Contains(out, "primary: pgbackrest"):
			t.Errorf("backup_if_primary.sh on the primary %s did not back up:\n%s", h.Name, out)
		case h.Name != primary && strings.TrimSpace(out) != "skipped: replica":
			t.Errorf("backup_if_primary.sh on the replica %s: %q; want \"skipped: replica\"", h.Name, out)
		}
	}
}

// backups counts the backups of the cluster's stanza in the repository (pgbackrest info).
func backups(t *testing.T, ctx context.Context, l *Lab, c topology.Cluster, host string) int {
	t.Helper()
	out, code, err := l.TaskExec(ctx, c, host, "pgbackrest", "--stanza="+c.Name, "--output=json", "info")
	if err != nil || code != 0 {
		t.Fatalf("pgbackrest info: exit %d: %v\n%s", code, err, out)
	}
	var info []struct {
		Backup []json.RawMessage `json:"backup"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info) != 1 {
		t.Fatalf("pgbackrest info: %v\n%s", err, out)
	}
	return len(info[0].Backup)
}

// stanzaCreates counts the stanza-create runs of stanza_init.sh in the members' logs.
func stanzaCreates(t *testing.T, l *Lab) int {
	t.Helper()
	n := 0
	for _, h := range l.Topology().Hosts {
		data, err := os.ReadFile(filepath.Join(l.hostDir(h.Name), l.Topology().Clusters[0].PatroniJobName()+".log"))
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(data), "this member is the Patroni leader: stanza-create")
	}
	return n
}
