package cib

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/topology"
)

// ApplyOptions change what Apply does.
type ApplyOptions struct {
	DryRun bool // work out the changes, write nothing (no backup either)
}

// ApplyResult says what Apply did.
type ApplyResult struct {
	Changes  []Change // what was (or, in a dry run, would be) changed; empty when unchanged
	Written  bool     // the CIB was written
	DryRun   bool     // nothing was written because a dry run was asked for
	Backup   string   // path of the copy of the CIB that the write replaced ("" when not written)
	Before   Version  // version of the live CIB the changes were made from
	After    Version  // version after the write (equal to Before when not written)
	Attempts int      // read-merge-write rounds it took (more than 1 after concurrent changes)
}

// Unchanged reports whether the live CIB already was as desired.
func (r *ApplyResult) Unchanged() bool { return len(r.Changes) == 0 }

// Apply brings vipctl's part of the live CIB to the desired document in one atomic change.
//
// It reads the live CIB, refuses it unless it is the topology's cluster (CheckCluster), merges
// desired into it (Merge) and, when anything changes, keeps a copy of the live CIB in the backup
// directory and writes the difference as a patchset that Pacemaker applies only onto the version
// that was read. When someone else changed the CIB in between, Pacemaker refuses the patch and
// Apply starts over from a fresh read, up to the configured number of attempts; after the last
// one it returns an error matching ErrConcurrentChange. Another's change is never overwritten.
// When nothing changes, nothing is written and the CIB's epoch stays as it is.
func (l *Live) Apply(ctx context.Context, t *topology.Topology, desired *etree.Document, opts ApplyOptions) (*ApplyResult, error) {
	for attempt := 1; ; attempt++ {
		plan, err := l.Plan(ctx, t, desired)
		if err != nil {
			return nil, err
		}
		res := &ApplyResult{
			Changes:  plan.Changes,
			DryRun:   opts.DryRun,
			Before:   plan.Version,
			After:    plan.Version,
			Attempts: attempt,
		}
		if plan.Unchanged() || opts.DryRun {
			return res, nil
		}
		err = l.write(ctx, plan, res, attempt)
		switch {
		case err == nil:
			return res, nil
		case !errors.Is(err, errStale):
			return res, err
		case attempt >= l.attempts:
			return res, fmt.Errorf("%w: gave up after %d attempts, the last one made from CIB %s: %w",
				ErrConcurrentChange, attempt, plan.Version, err)
		}
		l.log.Info("the CIB changed while vipctl wrote it; reading it again",
			"attempt", attempt, "version", plan.Version.String())
	}
}

// write backs up the live CIB of the plan and writes the plan's changes onto exactly that
// version. When Pacemaker refuses the write (errStale among others), nothing was replaced and
// the backup is removed again.
func (l *Live) write(ctx context.Context, plan *Plan, res *ApplyResult, attempt int) error {
	// Pacemaker applies a patchset only when its target version is newer than its source:
	// the merged document claims the next epoch (the CIB then bumps it once more itself).
	next := plan.merged.Copy()
	root := next.Root()
	root.CreateAttr("epoch", strconv.Itoa(plan.Version.Epoch+1))
	root.CreateAttr("num_updates", "0")
	patch, err := l.tools.patchset(ctx, plan.live, next)
	if err != nil {
		return err
	}
	backup, err := l.backup(plan)
	if err != nil {
		return err
	}
	if l.beforeWrite != nil {
		if err := l.beforeWrite(ctx, attempt); err != nil {
			return fmt.Errorf("before write: %w", err)
		}
	}
	if err := l.tools.applyPatch(ctx, patch); err != nil {
		// A tool that answered with an exit code refused the whole patch; after a timeout
		// nobody knows, and the backup stays.
		if _, exited := pcmk.ExitCode(err); exited {
			if rmErr := os.Remove(backup); rmErr != nil {
				l.log.Warn("could not remove the backup of a CIB that was not replaced", "path", backup, "err", rmErr)
			}
		} else {
			err = fmt.Errorf("%w (backup of the CIB before: %s)", err, backup)
		}
		return err
	}
	res.Written, res.Backup = true, backup
	_, after, err := l.query(ctx)
	if err != nil {
		return fmt.Errorf("the CIB was written (backup of the old one: %s), but reading it back failed: %w", backup, err)
	}
	if res.After, err = VersionOf(after); err != nil {
		return err
	}
	return nil
}

// backup writes the live CIB of a plan, as cibadmin printed it, to a new file in the backup
// directory and returns its path: cib-<UTC time>-epoch-<admin_epoch>.<epoch>.<num_updates>.xml.
// The file is readable by root only: a CIB can hold fence device passwords.
func (l *Live) backup(plan *Plan) (string, error) {
	if err := os.MkdirAll(l.backupDir, 0o700); err != nil {
		return "", fmt.Errorf("back up the live CIB: %w", err)
	}
	base := fmt.Sprintf("cib-%s-epoch-%s", l.now().UTC().Format("20060102T150405Z"), plan.Version)
	for n := 1; ; n++ {
		name := base + ".xml"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.xml", base, n)
		}
		path := filepath.Join(l.backupDir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up the live CIB: %w", err)
		}
		_, werr := f.Write(plan.liveRaw)
		cerr := f.Close()
		if err := errors.Join(werr, cerr); err != nil {
			return "", fmt.Errorf("back up the live CIB to %s: %w", path, err)
		}
		return path, nil
	}
}
