package cib

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/internal/pcmk"
)

// Pacemaker exit code of a CIB update refused because the CIB changed since the update was
// computed (CRM_EX_OLD, "Update was older than existing configuration").
const exitCIBOlder = 103

// tools holds the two ways vipctl runs Pacemaker's tools: cibadmin talks to the running
// cluster (possibly inside a host's namespaces), crm_diff only compares files and runs here.
// A failure of either is a *pcmk.ExitError.
type tools struct {
	cluster pcmk.Runner
	local   pcmk.Runner
}

// query returns the whole live CIB (configuration and status) as cibadmin prints it.
func (p tools) query(ctx context.Context) ([]byte, error) {
	out, err := p.cluster.Run(ctx, pcmk.Command("cibadmin", "--query"))
	if err != nil {
		return nil, fmt.Errorf("read the live CIB: %w", err)
	}
	return out, nil
}

// patchset returns the v2 patchset (crm_diff) that turns original into updated. It carries
// original's version as its source, which is what makes applying it a compare-and-swap.
func (p tools) patchset(ctx context.Context, original, updated *etree.Document) ([]byte, error) {
	dir, err := os.MkdirTemp("", "vipctl-cib-apply-")
	if err != nil {
		return nil, fmt.Errorf("compute CIB patch: %w", err)
	}
	defer os.RemoveAll(dir)
	origPath, newPath := filepath.Join(dir, "live.xml"), filepath.Join(dir, "merged.xml")
	for path, doc := range map[string]*etree.Document{origPath: original, newPath: updated} {
		b, err := doc.WriteToBytes()
		if err != nil {
			return nil, fmt.Errorf("compute CIB patch: %w", err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("compute CIB patch: %w", err)
		}
	}
	out, err := p.local.Run(ctx, pcmk.Command("crm_diff", "--original", origPath, "--new", newPath))
	// crm_diff exits 1 when it found differences (the patch is on stdout) and 0 when none.
	code, exited := pcmk.ExitCode(err)
	switch {
	case err == nil:
		return nil, fmt.Errorf("compute CIB patch: crm_diff found no difference")
	case exited && code == 1 && len(out) > 0:
		return out, nil
	default:
		return nil, fmt.Errorf("compute CIB patch: %w", err)
	}
}

// applyPatch applies a patchset through the cluster. Pacemaker applies it only when the live
// CIB still has the patch's source version; otherwise the result matches errStale.
func (p tools) applyPatch(ctx context.Context, patch []byte) error {
	_, err := p.cluster.Run(ctx, pcmk.Cmd{Name: "cibadmin", Args: []string{"--patch", "--xml-pipe"}, Stdin: patch})
	code, exited := pcmk.ExitCode(err)
	switch {
	case err == nil:
		return nil
	case exited && code == exitCIBOlder:
		return fmt.Errorf("%w: %w", errStale, err)
	default:
		return fmt.Errorf("write the CIB: %w", err)
	}
}

// errStale reports that a write was refused because the CIB changed after it was read.
var errStale = errors.New("the live CIB changed since it was read")
