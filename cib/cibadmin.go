package cib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Pacemaker exit code of a CIB update refused because the CIB changed since the update was
// computed (CRM_EX_OLD, "Update was older than existing configuration").
const exitCIBOlder = 103

// CommandFunc builds the command that runs one Pacemaker tool; exec.CommandContext is one.
// Tests pass a function that runs the tool inside a host's namespaces (nsenter).
type CommandFunc func(ctx context.Context, name string, args ...string) *exec.Cmd

// ToolError is returned when a Pacemaker tool exits non-zero or cannot be run.
type ToolError struct {
	Tool     string   // the tool's name, e.g. "cibadmin"
	Args     []string // its arguments
	ExitCode int      // its exit code; -1 when it did not exit by itself
	Stderr   string   // what it said on standard error
	Err      error    // the underlying error (an *exec.ExitError, or the context's error on timeout)
}

func (e *ToolError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Tool, strings.Join(e.Args, " "), e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *ToolError) Unwrap() error { return e.Err }

// liveRunner runs one Pacemaker tool with the given standard input and returns its standard
// output; a non-zero exit is a *ToolError (with the output read so far).
type liveRunner interface {
	run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// cmdRunner runs tools through a CommandFunc, each run under its own timeout.
type cmdRunner struct {
	command CommandFunc
	dir     string // directory holding the tools; "" searches PATH
	timeout time.Duration
}

var _ liveRunner = cmdRunner{}

func (r cmdRunner) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	path := name
	if r.dir != "" {
		path = filepath.Join(r.dir, name)
	}
	command := r.command
	if command == nil {
		command = exec.CommandContext
	}
	cmd := command(ctx, path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	te := &ToolError{Tool: name, Args: args, ExitCode: -1, Stderr: strings.TrimSpace(stderr.String()), Err: err}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		te.Err = fmt.Errorf("no answer within %s: %w", r.timeout, ctx.Err())
	case errors.As(err, &exitErr):
		te.ExitCode = exitErr.ExitCode()
	}
	return stdout.Bytes(), te
}

// pcmk holds the two ways vipctl runs Pacemaker's tools: cibadmin talks to the running
// cluster (possibly inside a host's namespaces), crm_diff only compares files and runs here.
type pcmk struct {
	cluster liveRunner
	local   liveRunner
}

// query returns the whole live CIB (configuration and status) as cibadmin prints it.
func (p pcmk) query(ctx context.Context) ([]byte, error) {
	out, err := p.cluster.run(ctx, nil, "cibadmin", "--query")
	if err != nil {
		return nil, fmt.Errorf("read the live CIB: %w", err)
	}
	return out, nil
}

// patchset returns the v2 patchset (crm_diff) that turns original into updated. It carries
// original's version as its source, which is what makes applying it a compare-and-swap.
func (p pcmk) patchset(ctx context.Context, original, updated *etree.Document) ([]byte, error) {
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
	out, err := p.local.run(ctx, nil, "crm_diff", "--original", origPath, "--new", newPath)
	// crm_diff exits 1 when it found differences (the patch is on stdout) and 0 when none.
	var te *ToolError
	switch {
	case err == nil:
		return nil, fmt.Errorf("compute CIB patch: crm_diff found no difference")
	case errors.As(err, &te) && te.ExitCode == 1 && len(out) > 0:
		return out, nil
	default:
		return nil, fmt.Errorf("compute CIB patch: %w", err)
	}
}

// applyPatch applies a patchset through the cluster. Pacemaker applies it only when the live
// CIB still has the patch's source version; otherwise the result matches errStale.
func (p pcmk) applyPatch(ctx context.Context, patch []byte) error {
	_, err := p.cluster.run(ctx, patch, "cibadmin", "--patch", "--xml-pipe")
	var te *ToolError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.ExitCode == exitCIBOlder:
		return fmt.Errorf("%w: %w", errStale, err)
	default:
		return fmt.Errorf("write the CIB: %w", err)
	}
}

// errStale reports that a write was refused because the CIB changed after it was read.
var errStale = errors.New("the live CIB changed since it was read")
