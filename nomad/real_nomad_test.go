package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/nomadagent"
	"github.com/vipctl/vipctl/topology"
)

// writeBundleJobs writes the example topology's nomad/*.nomad and *.json files into a temporary
// directory and returns it with the job IDs in the bundle's order.
func writeBundleJobs(t *testing.T) (string, []string) {
	t.Helper()
	return writeTopologyJobs(t, exampleTopology(t))
}

// writeTopologyJobs is writeBundleJobs for another topology.
func writeTopologyJobs(t *testing.T, topo *topology.Topology) (string, []string) {
	t.Helper()
	jobs, err := Jobs(topo)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var ids []string
	for _, j := range jobs { // as the bundle's nomad/<job>.nomad and .json
		h, err := JobHCL(j)
		if err != nil {
			t.Fatal(err)
		}
		js, err := JobJSON(j)
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{*j.ID + ".nomad": h, *j.ID + ".json": js} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, *j.ID)
	}
	if len(ids) == 0 {
		t.Fatal("the bundle has no Nomad job")
	}
	return dir, ids
}

// TestRealNomadValidateAndPlan runs every job of the example's bundle through a real Nomad v1.6.1
// (`nomad agent -dev` on 127.0.0.1): `nomad job validate` of the .nomad file and of the .json file
// (-json), then a plan of the JSON job through the HTTP API. The dev agent has no Docker and its
// node is none of the topology's hosts, so placement failures are expected and only logged; an
// error of the plan call is a failure. Last, the JSON job is registered and the agent's own parse
// of the .nomad file is planned against it: the plan must find nothing to change.
//
// Nomad 1.6.1 predates the group's disconnect block (Nomad 1.8), which the Patroni job carries:
// it rejects that block in HCL, and ignores the Disconnect field of the JSON. Where the agent
// refuses the .nomad file, the test checks that this block is what it refuses, and validates
// the rest of the file without it.
func TestRealNomadValidateAndPlan(t *testing.T) {
	a := nomadagent.Start(t)
	dir, ids := writeBundleJobs(t)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			hclFile := filepath.Join(dir, id+".nomad")
			jsonFile := filepath.Join(dir, id+".json")
			src, err := os.ReadFile(hclFile)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := nomadRun(a, "job", "validate", hclFile); err != nil {
				// Nomad before 1.8 refuses the disconnect block, and only that is allowed here.
				stripped, ok := withoutDisconnect(t, src)
				if !ok || !strings.Contains(out, `Blocks of type "disconnect" are not expected here`) {
					t.Fatalf("nomad job validate %s: %v\n%s", hclFile, err, out)
				}
				hclFile = filepath.Join(dir, id+".no-disconnect.nomad")
				if err := os.WriteFile(hclFile, stripped, 0o644); err != nil {
					t.Fatal(err)
				}
				src = stripped
				t.Logf("%s: this Nomad refuses the disconnect block (it came with Nomad 1.8); validating the file without it", id)
				if out, err := nomadRun(a, "job", "validate", hclFile); err != nil {
					t.Errorf("nomad job validate %s: %v\n%s", hclFile, err, out)
				}
			}
			if out, err := nomadRun(a, "job", "validate", "-json", jsonFile); err != nil {
				t.Errorf("nomad job validate -json %s: %v\n%s", jsonFile, err, out)
			}

			job := readJobJSON(t, jsonFile)
			if got := *job.ID; got != id {
				t.Fatalf("%s holds job %q", jsonFile, got)
			}
			resp, _, err := a.Client.Jobs().Plan(job, true, nil)
			if err != nil {
				t.Fatalf("plan %s: %v", id, err)
			}
			t.Logf("plan %s: %s", id, describePlan(resp))

			// The agent reads the .nomad file as the same job as the .json file.
			if _, _, err := a.Client.Jobs().Register(job, nil); err != nil {
				t.Fatalf("register %s: %v", id, err)
			}
			parsed, err := a.Client.Jobs().ParseHCLOpts(&api.JobsParseRequest{JobHCL: string(src), Canonicalize: true})
			if err != nil {
				t.Fatalf("the agent cannot parse %s: %v", hclFile, err)
			}
			again, _, err := a.Client.Jobs().Plan(parsed, true, nil)
			if err != nil {
				t.Fatalf("plan the HCL of %s: %v", id, err)
			}
			if again.Diff == nil || again.Diff.Type != "None" {
				b, _ := json.MarshalIndent(again.Diff, "", "  ")
				t.Errorf("%s: the .nomad file differs from the registered .json job:\n%s", id, b)
			}
		})
	}
}

// TestRealNomadJobsForNomad16: with nomad.version 1.6 the jobs are written for the Nomad this
// test runs, whole: `nomad job validate` takes every .nomad file as it is, and the Patroni job
// the agent stores stops a disconnected member after 30 s.
func TestRealNomadJobsForNomad16(t *testing.T) {
	a := nomadagent.Start(t)
	topo := exampleTopology(t)
	topo.Nomad.Version = topology.NomadVersion{Major: 1, Minor: 6}
	dir, ids := writeTopologyJobs(t, topo)
	patroniJobs := map[string]bool{}
	for _, c := range topo.Clusters {
		patroniJobs[c.PatroniJobName()] = true
	}
	for _, id := range ids {
		hclFile := filepath.Join(dir, id+".nomad")
		if out, err := nomadRun(a, "job", "validate", hclFile); err != nil {
			t.Errorf("nomad job validate %s: %v\n%s", hclFile, err, out)
		}
		job := readJobJSON(t, filepath.Join(dir, id+".json"))
		if _, _, err := a.Client.Jobs().Register(job, nil); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
		src, err := os.ReadFile(hclFile)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := a.Client.Jobs().ParseHCLOpts(&api.JobsParseRequest{JobHCL: string(src), Canonicalize: true})
		if err != nil {
			t.Fatalf("the agent cannot parse %s: %v", hclFile, err)
		}
		plan, _, err := a.Client.Jobs().Plan(parsed, true, nil)
		if err != nil {
			t.Fatalf("plan the HCL of %s: %v", id, err)
		}
		if plan.Diff == nil || plan.Diff.Type != "None" {
			b, _ := json.MarshalIndent(plan.Diff, "", "  ")
			t.Errorf("%s: the .nomad file differs from the registered .json job:\n%s", id, b)
		}
		if !patroniJobs[id] {
			continue
		}
		stored, _, err := a.Client.Jobs().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		//lint:ignore SA1019 the field of Nomad before 1.8 is what this Nomad keeps
		stop := stored.TaskGroups[0].StopAfterClientDisconnect
		if stop == nil || *stop != patroniStopOnClientAfter {
			t.Errorf("%s: the agent stored stop_after_client_disconnect %v, want %v", id, stop, patroniStopOnClientAfter)
		}
	}
}

// TestRealNomadAgentVersion: AgentVersion reads the real agent's version, and CheckVersion
// refuses to send jobs written for 1.8 to it.
func TestRealNomadAgentVersion(t *testing.T) {
	a := nomadagent.Start(t)
	v, text, err := AgentVersion(context.Background(), a.Client.Raw())
	if err != nil {
		t.Fatal(err)
	}
	if v != (topology.NomadVersion{Major: 1, Minor: 6}) || text != "1.6.1" {
		t.Fatalf("AgentVersion = %v %q, want 1.6 \"1.6.1\"", v, text)
	}
	if _, err := CheckVersion(exampleTopology(t).Nomad.Version, v, text); !errors.Is(err, ErrVersion) {
		t.Errorf("CheckVersion(1.8 jobs, Nomad 1.6.1) = %v, want ErrVersion", err)
	}
	if note, err := CheckVersion(topology.NomadVersion{Major: 1, Minor: 6}, v, text); err != nil || note != "" {
		t.Errorf("CheckVersion(1.6 jobs, Nomad 1.6.1) = %q, %v, want neither", note, err)
	}
}

// withoutDisconnect returns the job file without the groups' disconnect blocks, and whether it
// had any.
func withoutDisconnect(t *testing.T, src []byte) ([]byte, bool) {
	t.Helper()
	f, diags := hclwrite.ParseConfig(src, "job.nomad", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	found := false
	for _, job := range f.Body().Blocks() {
		for _, g := range job.Body().Blocks() {
			if g.Type() != "group" {
				continue
			}
			for _, d := range g.Body().Blocks() {
				if d.Type() == "disconnect" {
					g.Body().RemoveBlock(d)
					found = true
				}
			}
		}
	}
	return f.Bytes(), found
}

// TestRealNomadSubmit registers the example's jobs with a real Nomad through Submit (what
// `vipctl nomad submit` calls) and reads each back by its ID.
func TestRealNomadSubmit(t *testing.T) {
	a := nomadagent.Start(t)
	jobs, err := Jobs(exampleTopology(t))
	if err != nil {
		t.Fatal(err)
	}
	done, err := Submit(context.Background(), jobs, a.Client.Jobs())
	if err != nil {
		t.Fatalf("submit: %v (registered %v)", err, done)
	}
	if len(done) != len(jobs) {
		t.Fatalf("registered %d jobs, want %d", len(done), len(jobs))
	}
	for i, s := range done {
		want := jobs[i]
		if s.Job != *want.ID {
			t.Errorf("registration %d: job %q, want %q", i, s.Job, *want.ID)
		}
		periodic := want.Periodic != nil
		if periodic != (s.EvalID == "") {
			t.Errorf("%s: evaluation %q (periodic %v)", s.Job, s.EvalID, periodic)
		}
		got, _, err := a.Client.Jobs().Info(s.Job, nil)
		if err != nil {
			t.Errorf("read back %s: %v", s.Job, err)
			continue
		}
		if *got.ID != *want.ID || *got.Type != *want.Type || len(got.TaskGroups) != len(want.TaskGroups) {
			t.Errorf("%s read back as ID %q type %q with %d groups, want type %q with %d", s.Job,
				*got.ID, *got.Type, len(got.TaskGroups), *want.Type, len(want.TaskGroups))
		}
		t.Logf("%s: registered (evaluation %q, warnings %q), status %s, version %d", s.Job, s.EvalID, s.Warnings, *got.Status, *got.Version)
	}
	list, _, err := a.Client.Jobs().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, j := range list {
		listed = append(listed, j.ID)
	}
	sort.Strings(listed)
	var want []string
	for _, j := range jobs {
		want = append(want, *j.ID)
	}
	sort.Strings(want)
	if strings.Join(listed, " ") != strings.Join(want, " ") {
		t.Errorf("the agent lists jobs %v, want %v", listed, want)
	}
}

// nomadRun runs the nomad CLI against the agent and returns what it printed.
func nomadRun(a *nomadagent.Agent, args ...string) (string, error) {
	cmd := exec.Command(a.Binary, args...)
	cmd.Env = a.Env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readJobJSON(t *testing.T, path string) *api.Job {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var req api.JobRegisterRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if req.Job == nil || req.Job.ID == nil {
		t.Fatalf("%s: no job", path)
	}
	return req.Job
}

// describePlan says in one line what a plan would do and why allocations could not be placed.
func describePlan(r *api.JobPlanResponse) string {
	var parts []string
	if r.Diff != nil {
		parts = append(parts, "diff "+r.Diff.Type)
	}
	if r.Annotations != nil {
		var groups []string
		for g, u := range r.Annotations.DesiredTGUpdates {
			groups = append(groups, fmt.Sprintf("%s place=%d", g, u.Place))
		}
		sort.Strings(groups)
		parts = append(parts, "desired: "+strings.Join(groups, ", "))
	}
	var failed []string
	for g, m := range r.FailedTGAllocs {
		f := fmt.Sprintf("%s: nodes evaluated %d, filtered %d, available %v", g, m.NodesEvaluated, m.NodesFiltered, m.NodesAvailable)
		if len(m.ConstraintFiltered) > 0 {
			f += fmt.Sprintf(", constraints %v", m.ConstraintFiltered)
		}
		if len(m.ClassFiltered) > 0 {
			f += fmt.Sprintf(", classes %v", m.ClassFiltered)
		}
		if len(m.DimensionExhausted) > 0 {
			f += fmt.Sprintf(", exhausted %v", m.DimensionExhausted)
		}
		if m.NodesInPool > 0 {
			f += fmt.Sprintf(", %d in pool", m.NodesInPool)
		}
		failed = append(failed, f)
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		parts = append(parts, "placement failures: "+strings.Join(failed, "; "))
	}
	if r.NextPeriodicLaunch.IsZero() {
		parts = append(parts, "not periodic")
	} else {
		parts = append(parts, "next periodic launch "+r.NextPeriodicLaunch.UTC().Format("2006-01-02 15:04 MST"))
	}
	if r.Warnings != "" {
		parts = append(parts, "warnings: "+r.Warnings)
	}
	return strings.Join(parts, "; ")
}
