package nomad

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/topology"
)

// ErrSubmit is matched (errors.Is) by an error of the Nomad API while registering a job.
var ErrSubmit = errors.New("nomad refused the job")

// registrar registers jobs; *api.Jobs (client.Jobs()) is one, tests may pass another.
type registrar interface {
	Register(job *api.Job, q *api.WriteOptions) (*api.JobRegisterResponse, *api.WriteMeta, error)
}

var _ registrar = (*api.Jobs)(nil)

// Submitted is the outcome of registering one job.
type Submitted struct {
	Job      string // job ID
	EvalID   string // evaluation created by the registration ("" for a periodic job)
	Warnings string // what Nomad warned about, if anything
}

// Submit registers jobs one after the other through the Nomad HTTP API (PUT /v1/jobs), each in
// its canonical form, the same as the bundle's nomad/<job>.json. It stops at the first refusal
// and returns what was registered before it.
func Submit(ctx context.Context, jobs []*api.Job, r registrar) ([]Submitted, error) {
	var done []Submitted
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		c, err := CanonicalJob(j)
		if err != nil {
			return done, err
		}
		resp, _, err := r.Register(c, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return done, fmt.Errorf("%w: register %s: %w", ErrSubmit, *c.ID, err)
		}
		done = append(done, Submitted{Job: *c.ID, EvalID: resp.EvalID, Warnings: resp.Warnings})
	}
	return done, nil
}

// ErrVersion is matched (errors.Is) when the Nomad agent is older than the jobs need.
var ErrVersion = errors.New("nomad version")

// querier reads an endpoint of the Nomad HTTP API; *api.Raw (client.Raw()) is one.
type querier interface {
	Query(endpoint string, out any, q *api.QueryOptions) (*api.QueryMeta, error)
}

var _ querier = (*api.Raw)(nil)

// AgentVersion asks the agent behind q which Nomad it runs (GET /v1/agent/self).
func AgentVersion(ctx context.Context, q querier) (topology.NomadVersion, string, error) {
	var self api.AgentSelf
	if _, err := q.Query("/v1/agent/self", &self, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return topology.NomadVersion{}, "", fmt.Errorf("%w: ask the agent: %w", ErrSubmit, err)
	}
	text := ""
	if v, ok := self.Config["Version"].(map[string]any); ok {
		text, _ = v["Version"].(string)
	}
	if text == "" {
		text = self.Member.Tags["build"]
	}
	v, ok := topology.ParseNomadVersion(text)
	if !ok {
		return topology.NomadVersion{}, text, fmt.Errorf("%w: the agent reports version %q", ErrVersion, text)
	}
	return v, text, nil
}

// CheckVersion tells whether jobs written for want run on an agent of version have: an older
// agent would drop what it does not know (the JSON API ignores unknown fields, so a Nomad before
// 1.8 would register the Patroni job without its disconnect block). The returned note, if any,
// is a warning: a Nomad from 1.10 ignores stop_after_client_disconnect, which jobs for a
// nomad.version before 1.8 carry.
func CheckVersion(want, have topology.NomadVersion, haveText string) (note string, err error) {
	if have.Before(want.Major, want.Minor) {
		return "", fmt.Errorf("%w: the agent runs Nomad %s, older than nomad.version %s of the topology: "+
			"set nomad { version = %q } (the jobs are then written for it), or upgrade Nomad",
			ErrVersion, haveText, want, have.String())
	}
	if !want.HasDisconnectBlock() && !have.Before(1, 10) {
		return fmt.Sprintf("Nomad %s ignores stop_after_client_disconnect, which jobs for nomad.version %s carry: "+
			"set nomad.version to %s for the disconnect block", haveText, want, have), nil
	}
	return "", nil
}

// WriteSubmitted writes one line per registered job for a person: its evaluation, and what
// Nomad warned about.
func WriteSubmitted(w io.Writer, done []Submitted) error {
	for _, s := range done {
		line := "registered " + s.Job
		if s.EvalID != "" {
			line += " (evaluation " + s.EvalID + ")"
		}
		if s.Warnings != "" {
			line += "; nomad warns: " + s.Warnings
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
