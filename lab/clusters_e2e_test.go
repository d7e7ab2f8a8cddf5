package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStackTwoClusters runs two PostgreSQL clusters on one host group, as the seed's
// installation does: one VIP, one port each. Every Patroni task has a network namespace of its
// own (as a docker container has), so both clusters' PostgreSQL listen on 5432 on every host.
// VIP:5001 and VIP:5002 reach two different primaries; the VIP holder is powered off and both
// clusters serve again through the VIP with every committed row.
func TestStackTwoClusters(t *testing.T) {
	requireLabTools(t)
	requireStackTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	topoFile := filepath.Join(t.TempDir(), "vipctl.hcl")
	second := `
cluster "demo2" {
  host_group   = "lab"
  port         = 5002
  patroni_port = 8009
  image        = "postgres-patroni:lab"
}
`
	if err := os.WriteFile(topoFile, []byte(DefaultTopology+second), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, _ := upLabWith(t, ctx, Options{Stack: true, TopologyFile: topoFile})
	topo := l.Topology()
	cs := topo.ClustersOf(topo.Groups[0].Name)
	if len(cs) != 2 {
		t.Fatalf("clusters of the group: %+v; want two", cs)
	}
	sql := func(t *testing.T, i int, stmt string) string {
		t.Helper()
		out, err := l.SQL(ctx, cs[i], stmt)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	// Two clusters, not one reached twice: each was initialised on its own.
	ids := [2]string{}
	for i, c := range cs {
		ids[i] = sql(t, i, "SELECT system_identifier FROM pg_control_system()")
		sql(t, i, "CREATE TABLE e2e (cluster text)")
		sql(t, i, "INSERT INTO e2e VALUES ('"+c.Name+"')")
		if err := l.WaitReplicated(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if ids[0] == ids[1] {
		t.Fatalf("VIP:%d and VIP:%d reach the same database system %s", cs[0].Port, cs[1].Port, ids[0])
	}

	holders, err := l.Holders(topo.Groups[0].Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("holders %v (%v)", holders, err)
	}
	failed := time.Now()
	if err := l.Fail(ctx, holders[0], false); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitSQL(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("both clusters answer through the VIP %s after %s was powered off", time.Since(failed).Round(time.Millisecond), holders[0])
	for i, c := range cs {
		sql(t, i, "INSERT INTO e2e VALUES ('after')")
		if got, want := sql(t, i, "SELECT string_agg(cluster, ',' ORDER BY cluster) FROM e2e"), "after,"+c.Name; got != want {
			t.Errorf("cluster %s after the failover: rows %q; want %q", c.Name, got, want)
		}
		if got := sql(t, i, "SELECT system_identifier FROM pg_control_system()"); got != ids[i] {
			t.Errorf("VIP:%d reaches database system %s after the failover; want %s", c.Port, got, ids[i])
		}
	}
}
