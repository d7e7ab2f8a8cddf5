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

// Load reads, defaults and validates the topology file at path.
func Load(path string) (*Topology, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load that gives up when ctx is done: a path that never delivers (a FIFO
// without a writer) ends with ctx's error, which does not match ErrInvalid. The read itself
// then stays blocked in the background until the process ends or a writer comes.
func LoadContext(ctx context.Context, path string) (*Topology, error) {
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
		return Parse(r.src, path)
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
// nested deeper than MaxDepth is refused before HCL parses it.
func Parse(src []byte, filename string) (*Topology, error) {
	if diags := checkLimits(src, filename); diags.HasErrors() {
		return nil, newError(diags)
	}
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, newError(diags)
	}
	p, diags := decode(file.Body, filename, src)
	diags = append(diags, validate(p)...)
	if diags.HasErrors() {
		return nil, newError(diags)
	}
	return p.t, nil
}
