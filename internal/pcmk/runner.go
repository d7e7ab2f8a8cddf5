package pcmk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one command when a runner's Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Cmd is one command to run to its end.
type Cmd struct {
	Name  string   // the tool, found on PATH unless it holds a slash
	Args  []string // its arguments
	Stdin []byte   // its standard input; nil: none
	// Stderr, when set, also receives what the command writes to standard error (crm_verify's
	// warnings come with exit 0); the *ExitError of a failure carries it either way.
	Stderr io.Writer
}

// Command returns the Cmd running name with args and no input.
func Command(name string, args ...string) Cmd { return Cmd{Name: name, Args: args} }

// String returns the command line, words joined by spaces (fakes in tests key on it).
func (c Cmd) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// Runner runs a command to its end and returns what it wrote to standard output. A command
// that cannot be run, exits non-zero or outlives its deadline is an *ExitError, returned with
// the output read so far. Local and NSEnter are the two; tests put fakes in their place.
type Runner interface {
	Run(ctx context.Context, c Cmd) ([]byte, error)
}

// ExitError is a command that failed. It wraps the cause: an *exec.ExitError, exec.ErrNotFound,
// or the context's error (context.DeadlineExceeded when the runner's timeout struck).
type ExitError struct {
	Command []string // the command and its arguments, as asked (without nsenter's)
	Where   string   // where it ran when not on this host, e.g. "in the namespaces of pid 4242"
	Code    int      // its exit code; -1 when it did not exit by itself (not found, killed, timed out)
	Stderr  string   // what it wrote to standard error, trimmed
	Err     error
}

func (e *ExitError) Error() string {
	msg := strings.Join(e.Command, " ")
	if e.Where != "" {
		msg += " (" + e.Where + ")"
	}
	msg += ": " + e.Err.Error()
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the exit code of the command that failed with err, and whether err is such
// a failure with a code (false for a command that could not be run, was killed or timed out).
func ExitCode(err error) (int, bool) {
	var ee *ExitError
	if errors.As(err, &ee) && ee.Code >= 0 {
		return ee.Code, true
	}
	return 0, false
}

// Local runs commands on this host, each under its own timeout.
type Local struct {
	Timeout time.Duration // per command; 0: DefaultTimeout
}

var _ Runner = Local{}

func (r Local) Run(ctx context.Context, c Cmd) ([]byte, error) {
	return run(ctx, r.Timeout, c, c.Name, c.Args, "")
}

// LookPath finds an executable of this host as exec.LookPath does.
func (Local) LookPath(name string) (string, error) { return exec.LookPath(name) }

// NSEnter runs commands inside the mount, network, UTS and pid namespaces of process Pid (a
// lab host's supervisor), through nsenter, each under its own timeout.
type NSEnter struct {
	Pid     int
	Timeout time.Duration // per command; 0: DefaultTimeout
}

var _ Runner = NSEnter{}

func (r NSEnter) Run(ctx context.Context, c Cmd) ([]byte, error) {
	args := append(r.Args(), c.Name)
	return run(ctx, r.Timeout, c, "nsenter", append(args, c.Args...), "in the namespaces of pid "+strconv.Itoa(r.Pid))
}

// Args returns nsenter's arguments up to the command: `nsenter` + Args() + name + its args.
func (r NSEnter) Args() []string {
	return []string{"-t", strconv.Itoa(r.Pid), "-m", "-n", "-u", "-p", "--"}
}

// run runs path with args under timeout; failures name c, the command as asked.
func run(ctx context.Context, timeout time.Duration, c Cmd, path string, args []string, where string) ([]byte, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, c.Stderr)
	}
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	ee := &ExitError{Command: append([]string{c.Name}, c.Args...), Where: where, Code: -1,
		Stderr: strings.TrimSpace(stderr.String()), Err: err}
	var xe *exec.ExitError
	switch {
	case parent.Err() != nil: // the caller's deadline or cancel, not this runner's timeout
		ee.Err = fmt.Errorf("no answer: %w", parent.Err())
	case ctx.Err() != nil:
		ee.Err = fmt.Errorf("no answer within %s: %w", timeout, ctx.Err())
	case errors.As(err, &xe):
		ee.Code = xe.ExitCode() // -1 when a signal ended it
	}
	return stdout.Bytes(), ee
}

// RunFunc is a function that is a Runner (tests' fakes).
type RunFunc func(ctx context.Context, c Cmd) ([]byte, error)

func (f RunFunc) Run(ctx context.Context, c Cmd) ([]byte, error) { return f(ctx, c) }
