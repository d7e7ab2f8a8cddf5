package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"
)

// fakeNomad is an in-process stand-in for the one endpoint Submit uses: PUT /v1/jobs.
type fakeNomad struct {
	mu     sync.Mutex
	jobs   []*api.Job
	tokens []string
	refuse string // job ID to answer 400 for
}

func (f *fakeNomad) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/jobs" || r.Method != http.MethodPut {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var req api.JobRegisterRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Job == nil || req.Job.ID == nil {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if *req.Job.ID == f.refuse {
		http.Error(w, "1 error occurred: group \"x\": invalid", http.StatusBadRequest)
		return
	}
	f.jobs = append(f.jobs, req.Job)
	f.tokens = append(f.tokens, r.Header.Get("X-Nomad-Token"))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.JobRegisterResponse{EvalID: "eval-" + *req.Job.ID})
}

func newFakeClient(t *testing.T, f *fakeNomad, token string) *api.Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cfg.SecretID = token
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubmit(t *testing.T) {
	tp := exampleTopology(t)
	jobs, err := Jobs(tp)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNomad{}
	got, err := Submit(context.Background(), jobs, newFakeClient(t, f, "s3cr3t-token").Jobs())
	if err != nil {
		t.Fatal(err)
	}
	var want []Submitted
	var wantJobs []*api.Job
	for _, j := range jobs {
		want = append(want, Submitted{Job: *j.ID, EvalID: "eval-" + *j.ID})
		// What reaches Nomad is the bundle's JSON job.
		b, err := JobJSON(j)
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Job *api.Job }
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatal(err)
		}
		wantJobs = append(wantJobs, file.Job)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Submit result (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantJobs, f.jobs); d != "" {
		t.Errorf("registered jobs differ from the bundle's JSON (-want +got):\n%s", d)
	}
	for i, tok := range f.tokens {
		if tok != "s3cr3t-token" {
			t.Errorf("request %d carried token %q", i, tok)
		}
	}
}

func TestSubmitStopsAtRefusal(t *testing.T) {
	tp := exampleTopology(t)
	jobs, err := Jobs(tp)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNomad{refuse: "haproxy-msrvc01"}
	got, err := Submit(context.Background(), jobs, newFakeClient(t, f, "").Jobs())
	if !errors.Is(err, ErrSubmit) {
		t.Fatalf("err = %v, want ErrSubmit", err)
	}
	if d := cmp.Diff([]Submitted{{Job: "pgsql-msrvc01", EvalID: "eval-pgsql-msrvc01"}}, got); d != "" {
		t.Errorf("registered before the refusal (-want +got):\n%s", d)
	}
	if len(f.jobs) != 1 {
		t.Errorf("%d jobs registered, want 1", len(f.jobs))
	}
}

func TestSubmitHonoursContext(t *testing.T) {
	tp := exampleTopology(t)
	jobs, err := Jobs(tp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeNomad{}
	if _, err := Submit(ctx, jobs, newFakeClient(t, f, "").Jobs()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if len(f.jobs) != 0 {
		t.Errorf("%d jobs registered after cancel", len(f.jobs))
	}
}
