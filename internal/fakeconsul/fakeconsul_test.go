package fakeconsul

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/consul/api"
)

// The fake answers consul/api's client as Consul does: every instance, or those with a tag,
// or only passing ones; and fails like Consul when told to.
func TestHealthService(t *testing.T) {
	s := New(t)
	leader := Member{Scope: "pgsql-a", Name: "pgsql-0", Node: "h1", Address: "10.0.0.1", Port: 5432, Tags: []string{"master", "primary"}, Status: api.HealthPassing}
	replica := Member{Scope: "pgsql-a", Name: "pgsql-1", Node: "h2", Address: "10.0.0.2", Port: 5433, Tags: []string{"replica"}, Status: api.HealthCritical}
	s.SetService("pgsql-a", leader.Entry(), replica.Entry())

	cfg := api.DefaultConfig()
	cfg.Address = s.Addr()
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(tag string, passing bool) []string {
		t.Helper()
		es, meta, err := c.Health().Service("pgsql-a", tag, passing, nil)
		if err != nil {
			t.Fatal(err)
		}
		if meta.LastIndex != 1 || !meta.KnownLeader {
			t.Errorf("query meta %+v; want index 1 and a known leader", meta)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Service.ID)
		}
		return out
	}
	for _, tc := range []struct {
		tag     string
		passing bool
		want    []string
	}{
		{"", false, []string{"pgsql-a/pgsql-0", "pgsql-a/pgsql-1"}},
		{"master", false, []string{"pgsql-a/pgsql-0"}},
		{"replica", false, []string{"pgsql-a/pgsql-1"}},
		{"", true, []string{"pgsql-a/pgsql-0"}},
		{"replica", true, nil},
	} {
		if d := cmp.Diff(tc.want, ids(tc.tag, tc.passing)); d != "" {
			t.Errorf("tag %q passing %v (-want +got):\n%s", tc.tag, tc.passing, d)
		}
	}
	if es, _, err := c.Health().Service("pgsql-other", "", false, nil); err != nil || len(es) != 0 {
		t.Errorf("unknown service: %v, %v; want none", es, err)
	}

	s.Fail(http.StatusInternalServerError, "No cluster leader")
	_, _, err = c.Health().Service("pgsql-a", "", false, nil)
	var se api.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusInternalServerError {
		t.Errorf("err = %v; want a StatusError 500", err)
	}
	if got := s.Requests(); len(got) != 7 {
		t.Errorf("requests %v; want 7", got)
	}
}
