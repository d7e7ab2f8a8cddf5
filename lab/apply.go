package lab

import (
	"context"
	"path/filepath"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/topology"
)

// ApplyCIB returns the ApplyFunc that Up uses by default: cib's live apply, run inside a
// lab host, keeping the CIBs it replaces under dir/cib-backups.
func ApplyCIB(dir string) ApplyFunc {
	return func(ctx context.Context, t *topology.Topology, run pcmk.Runner) error {
		desired, err := cib.Render(t)
		if err != nil {
			return err
		}
		live := cib.NewLive(cib.LiveConfig{
			Run:       run,
			BackupDir: filepath.Join(dir, "cib-backups"),
		})
		_, err = live.Apply(ctx, t, desired, cib.ApplyOptions{})
		return err
	}
}
