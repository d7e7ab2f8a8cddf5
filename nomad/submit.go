package nomad

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/nomad/api"
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
