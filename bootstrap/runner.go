package bootstrap

import (
	"context"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// runner runs the external commands of the plan (a failure is a *pcmk.ExitError) and finds the
// tools it needs; pcmk.Local is the host's, tests put a recording one in its place.
type runner interface {
	pcmk.Runner
	LookPath(name string) (string, error)
}

var _ runner = pcmk.Local{}

// run runs name with args through the plan's runner and returns its standard output.
func (p *Plan) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return p.opts.run.Run(ctx, pcmk.Command(name, args...))
}
