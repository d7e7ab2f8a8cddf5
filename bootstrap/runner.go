package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DefaultCommandTimeout bounds each external command bootstrap runs.
const DefaultCommandTimeout = 30 * time.Second

// runner runs the external commands of the plan; tests replace it with a recording one.
type runner interface {
	// Run runs name with args and returns its standard output; a non-zero exit is a *CommandError.
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
	// LookPath finds an executable as exec.LookPath does.
	LookPath(name string) (string, error)
}

// CommandError is returned when an external command fails or cannot be run.
type CommandError struct {
	Command []string // the command and its arguments
	Stderr  string   // what it said on standard error, trimmed
	Code    int      // its exit code; -1 when it did not exit on its own (not found, killed, timed out)
	Err     error    // *exec.ExitError, exec.ErrNotFound, or the context's error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Command, " "), e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// execRunner runs commands on this host, each under its own timeout.
type execRunner struct {
	timeout time.Duration
}

var _ runner = execRunner{}

func (r execRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode() // -1 when a signal ended it
		}
		if ctx.Err() != nil {
			code, err = -1, fmt.Errorf("%w (after %s)", ctx.Err(), r.timeout)
		}
		return stdout.Bytes(), &CommandError{
			Command: append([]string{name}, args...),
			Stderr:  strings.TrimSpace(stderr.String()),
			Code:    code,
			Err:     err,
		}
	}
	return stdout.Bytes(), nil
}

func (execRunner) LookPath(name string) (string, error) { return exec.LookPath(name) }
