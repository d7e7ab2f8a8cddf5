package topology

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2/hclparse"
)

// ErrInvalid is matched (errors.Is) by every error about the content of a topology file.
// An unreadable file matches it too: naming a file that cannot be read is bad usage.
var ErrInvalid = errors.New("invalid topology")

// Load reads, defaults and validates the topology file at path. Fence parameters are judged
// secret by name alone (LoadContext with Options.FenceAgents reads the agents' metadata).
func Load(path string) (*Topology, error) {
	return LoadContext(context.Background(), path, Options{})
}

// LoadContext is Load with opts that gives up when ctx is done: a path that never delivers (a
// FIFO without a writer) ends with ctx's error, which does not match ErrInvalid. The read
// itself then stays blocked in the background until the process ends or a writer comes.
func LoadContext(ctx context.Context, path string, opts Options) (*Topology, error) {
	type result struct {
		src []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		src, err := readLimited(path)
		done <- result{src, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		return ParseContext(ctx, r.src, path, opts)
	case <-ctx.Done():
		return nil, fmt.Errorf("read %s: %w", path, context.Cause(ctx))
	}
}

// readLimited reads at most MaxFileSize+1 bytes of path: enough to tell a file over the limit.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrInvalid, path, err)
	}
	return src, nil
}

// Parse defaults and validates the topology in src; filename names it in diagnostics.
// Every error of the file is reported together in one *Error. A source over MaxFileSize or
// nested deeper than MaxDepth is refused before HCL parses it. Fence parameters are judged
// secret by name alone: Parse runs nothing.
func Parse(src []byte, filename string) (*Topology, error) {
	return ParseContext(context.Background(), src, filename, Options{})
}

// ParseContext is Parse with opts: with Options.FenceAgents it reads the metadata of the fence
// agents the file names (under ctx; its end is the one error that does not match ErrInvalid).
func ParseContext(ctx context.Context, src []byte, filename string, opts Options) (*Topology, error) {
	if diags := checkLimits(src, filename); diags.HasErrors() {
		return nil, newError(diags)
	}
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, newError(diags)
	}
	p, diags := decode(file.Body, filename, src)
	meta, warnings, err := readFenceMeta(ctx, opts.FenceAgents, p)
	if err != nil {
		return nil, err
	}
	p.fenceMeta = meta
	p.t.Warnings = append(p.t.Warnings, warnings...)
	diags = append(diags, validate(p)...)
	if diags.HasErrors() {
		return nil, newError(diags)
	}
	return p.t, nil
}
