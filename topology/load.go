package topology

import (
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2/hclparse"
)

// ErrInvalid is matched (errors.Is) by every error about the content of a topology file.
// An unreadable file matches it too: naming a file that cannot be read is bad usage.
var ErrInvalid = errors.New("invalid topology")

// Load reads, defaults and validates the topology file at path.
func Load(path string) (*Topology, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return Parse(src, path)
}

// Parse defaults and validates the topology in src; filename names it in diagnostics.
// Every error of the file is reported together in one *Error.
func Parse(src []byte, filename string) (*Topology, error) {
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
