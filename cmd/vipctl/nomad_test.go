package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/nomad/api"
)

func TestNomadRenderHCL(t *testing.T) {
	code, out, errOut := vipctl(t, "nomad", "render", "-f", exampleFile)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f, diags := hclparse.NewParser().ParseHCL([]byte(out), "jobs.nomad")
	if diags.HasErrors() {
		t.Fatalf("output is not HCL: %v", diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "job", LabelNames: []string{"id"}}}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var ids []string
	for _, b := range content.Blocks {
		ids = append(ids, b.Labels[0])
	}
	want := []string{"pgsql-msrvc01", "haproxy-msrvc01", "backup-msrvc01", "pgsql-msrvc02", "haproxy-msrvc02", "backup-msrvc02"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}
}

func TestNomadRenderJSON(t *testing.T) {
	code, out, errOut := vipctl(t, "nomad", "render", "-f", exampleFile, "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var reqs []api.JobRegisterRequest
	if err := json.Unmarshal([]byte(out), &reqs); err != nil {
		t.Fatalf("output is not a JSON array of register requests: %v", err)
	}
	// Each is the bundle's nomad/<job>.json.
	dir := filepath.Join(t.TempDir(), "bundle")
	if code, _, errOut := vipctl(t, "render", "-f", exampleFile, "-d", dir); code != exitOK {
		t.Fatalf("render: exit %d: %s", code, errOut)
	}
	var ids []string
	for _, r := range reqs {
		ids = append(ids, *r.Job.ID)
		b, err := os.ReadFile(filepath.Join(dir, "nomad", *r.Job.ID+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var file api.JobRegisterRequest
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(file.Job, r.Job); d != "" {
			t.Errorf("%s differs from the bundle's JSON (-bundle +render):\n%s", *r.Job.ID, d)
		}
	}
	want := []string{"pgsql-msrvc01", "haproxy-msrvc01", "backup-msrvc01", "pgsql-msrvc02", "haproxy-msrvc02", "backup-msrvc02"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}
}

// fakeRegister answers GET /v1/agent/self and PUT /v1/jobs like Nomad, recording the jobs and
// tokens it got.
type fakeRegister struct {
	version string // the agent's; "" is 1.8.4
	mu      sync.Mutex
	ids     []string
	jobs    []*api.Job
	tokens  []string
}

func (f *fakeRegister) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/agent/self" {
		v := f.version
		if v == "" {
			v = "1.8.4"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"config": map[string]any{"Version": map[string]any{"Version": v}}})
		return
	}
	if r.Method != http.MethodPut || r.URL.Path != "/v1/jobs" {
		http.Error(w, "not the register endpoint", http.StatusNotFound)
		return
	}
	var req api.JobRegisterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Job == nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.ids = append(f.ids, *req.Job.ID)
	f.jobs = append(f.jobs, req.Job)
	f.tokens = append(f.tokens, r.Header.Get("X-Nomad-Token"))
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(api.JobRegisterResponse{EvalID: "e-" + *req.Job.ID})
}

func TestNomadSubmit(t *testing.T) {
	f := &fakeRegister{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	const token = "9f1c2b7e-secret-token"
	t.Setenv("NOMAD_ADDR", srv.URL)
	t.Setenv("NOMAD_TOKEN", token)

	code, out, errOut := vipctl(t, "nomad", "submit", "-f", exampleFile)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := []string{"pgsql-msrvc01", "haproxy-msrvc01", "backup-msrvc01", "pgsql-msrvc02", "haproxy-msrvc02", "backup-msrvc02"}
	if d := cmp.Diff(want, f.ids); d != "" {
		t.Errorf("registered (-want +got):\n%s", d)
	}
	for _, tok := range f.tokens {
		if tok != token {
			t.Errorf("request carried token %q, want NOMAD_TOKEN", tok)
		}
	}
	if strings.Contains(out+errOut, token) {
		t.Errorf("the token was printed:\n%s%s", out, errOut)
	}
	if !strings.Contains(out, "registered pgsql-msrvc01 (evaluation e-pgsql-msrvc01)") {
		t.Errorf("stdout: %s", out)
	}
}

func TestNomadSubmitRefused(t *testing.T) {
	agent := &fakeRegister{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/agent/self" {
			agent.ServeHTTP(w, r)
			return
		}
		http.Error(w, "Permission denied", http.StatusForbidden)
	}))
	defer srv.Close()
	t.Setenv("NOMAD_ADDR", srv.URL)
	t.Setenv("NOMAD_TOKEN", "another-secret")
	code, out, errOut := vipctl(t, "nomad", "submit", "-f", exampleFile)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if strings.Contains(out+errOut, "another-secret") {
		t.Errorf("the token was printed")
	}
	if !strings.Contains(errOut, "pgsql-msrvc01") {
		t.Errorf("error does not name the job: %s", errOut)
	}
}

func TestNomadSubmitJSON(t *testing.T) {
	f := &fakeRegister{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("NOMAD_ADDR", srv.URL)
	t.Setenv("NOMAD_TOKEN", "")
	code, out, errOut := vipctl(t, "nomad", "submit", "-f", exampleFile, "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []struct{ Job, EvalID, Warnings string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not a JSON list: %v\n%s", err, out)
	}
	if len(got) != 6 || got[0].Job != "pgsql-msrvc01" || got[0].EvalID != "e-pgsql-msrvc01" {
		t.Errorf("unexpected report: %+v", got)
	}
}

// withNomadVersion writes the example topology with a nomad block setting version.
func withNomadVersion(t *testing.T, version string) string {
	t.Helper()
	src, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "vipctl.hcl")
	src = append(src, fmt.Sprintf("\nnomad {\n  version = %q\n}\n", version)...)
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNomadSubmitVersion: the agent's version is checked before anything is registered, and
// the Patroni job carries what that Nomad knows of disconnected clients.
func TestNomadSubmitVersion(t *testing.T) {
	for _, tc := range []struct {
		name, agent, topology string // topology "" is the example (nomad.version 1.8)
		code                  int
		disconnectBlock       bool   // else stop_after_client_disconnect
		stderr                string // a substring of stderr
	}{
		{name: "1.8 jobs, 1.8 agent", agent: "1.8.4", code: exitOK, disconnectBlock: true},
		{name: "1.8 jobs, 1.6 agent", agent: "1.6.1", code: exitFailure,
			stderr: `the agent runs Nomad 1.6.1, older than nomad.version 1.8 of the topology: set nomad { version = "1.6" }`},
		{name: "1.6 jobs, 1.6 agent", agent: "1.6.1", topology: "1.6", code: exitOK},
		{name: "1.6 jobs, 1.10 agent", agent: "1.10.2", topology: "1.6.1", code: exitOK,
			stderr: "warning: Nomad 1.10.2 ignores stop_after_client_disconnect"},
		{name: "agent without a version", agent: "dev", code: exitFailure, stderr: `the agent reports version "dev"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRegister{version: tc.agent}
			srv := httptest.NewServer(f)
			defer srv.Close()
			t.Setenv("NOMAD_ADDR", srv.URL)
			t.Setenv("NOMAD_TOKEN", "")
			file := exampleFile
			if tc.topology != "" {
				file = withNomadVersion(t, tc.topology)
			}
			code, out, errOut := vipctl(t, "nomad", "submit", "-f", file)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, errOut)
			}
			if code != exitOK {
				if len(f.ids) != 0 {
					t.Errorf("registered %v although the version check failed", f.ids)
				}
				return
			}
			if len(f.jobs) == 0 || *f.jobs[0].ID != "pgsql-msrvc01" {
				t.Fatalf("registered %v", f.ids)
			}
			g := f.jobs[0].TaskGroups[0]
			//lint:ignore SA1019 the field of Nomad before 1.8 is what is checked
			stop := g.StopAfterClientDisconnect
			if tc.disconnectBlock {
				if g.Disconnect == nil || g.Disconnect.StopOnClientAfter == nil || stop != nil {
					t.Errorf("want the disconnect block alone: disconnect %+v, stop_after_client_disconnect %v", g.Disconnect, stop)
				}
			} else if g.Disconnect != nil || stop == nil || *stop != 30*time.Second {
				t.Errorf("want stop_after_client_disconnect 30s alone: disconnect %+v, stop_after_client_disconnect %v", g.Disconnect, stop)
			}
		})
	}
}
