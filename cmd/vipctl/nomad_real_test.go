package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/nomadagent"
)

// TestNomadSubmitRealNomad runs `vipctl nomad submit` against a real Nomad v1.6.1
// (`nomad agent -dev` on 127.0.0.1): the example's jobs, written for Nomad 1.8, are refused
// before anything is sent; with nomad.version 1.6.1 every job registers and reads back by the
// ID it reported.
func TestNomadSubmitRealNomad(t *testing.T) {
	a := nomadagent.Start(t)
	t.Setenv("NOMAD_ADDR", a.Addr)
	t.Setenv("NOMAD_TOKEN", "")

	code, out, errOut := vipctl(t, "nomad", "submit", "-f", exampleFile)
	if code != exitFailure || !strings.Contains(errOut, "the agent runs Nomad 1.6.1, older than nomad.version 1.8") {
		t.Fatalf("jobs for Nomad 1.8: exit %d, want %d naming both versions\nstdout: %s\nstderr: %s", code, exitFailure, out, errOut)
	}
	if jobs, _, err := a.Client.Jobs().List(nil); err != nil || len(jobs) != 0 {
		t.Fatalf("after the refused submit the agent has jobs %v (%v), want none", jobs, err)
	}

	file := withNomadVersion(t, "1.6.1")
	code, out, errOut = vipctl(t, "nomad", "submit", "-f", file)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		rest, ok := strings.CutPrefix(line, "registered ")
		if !ok {
			t.Errorf("unexpected line %q", line)
			continue
		}
		id, _, _ := strings.Cut(rest, " ")
		id = strings.TrimSuffix(id, ";")
		ids = append(ids, id)
	}
	want := []string{"pgsql-msrvc01", "haproxy-msrvc01", "backup-msrvc01", "pgsql-msrvc02", "haproxy-msrvc02", "backup-msrvc02"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Fatalf("registered (-want +got):\n%s\nstdout: %s", d, out)
	}
	for _, id := range ids {
		j, _, err := a.Client.Jobs().Info(id, nil)
		if err != nil {
			t.Errorf("read back %s: %v", id, err)
			continue
		}
		if *j.ID != id {
			t.Errorf("read back %s as %s", id, *j.ID)
		}
	}
	t.Logf("vipctl nomad submit:\n%s", out)

	// A second submit registers the same jobs again, unchanged.
	if code, out, errOut := vipctl(t, "nomad", "submit", "-f", file); code != exitOK {
		t.Fatalf("second submit: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, id := range ids {
		j, _, err := a.Client.Jobs().Info(id, nil)
		if err != nil {
			t.Fatalf("read back %s: %v", id, err)
		}
		if *j.Version != 0 {
			t.Errorf("%s: version %d after submitting the same job twice, want 0 (unchanged)", id, *j.Version)
		}
	}
}
