package nomad

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// CanonicalJob returns a canonicalized copy of a job: every default Nomad fills in is explicit,
// and the job given is left as it was.
func CanonicalJob(job *api.Job) (*api.Job, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("copy job: %w", err)
	}
	var c api.Job
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("copy job: %w", err)
	}
	c.Canonicalize()
	return &c, nil
}

// JobJSON writes a job in the form POST /v1/jobs takes ({"Job": …}), canonicalized, indented.
func JobJSON(job *api.Job) ([]byte, error) {
	c, err := CanonicalJob(job)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct{ Job *api.Job }{c}); err != nil {
		return nil, fmt.Errorf("job %q as JSON: %w", *c.ID, err)
	}
	return b.Bytes(), nil
}
