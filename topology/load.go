package topology

import "errors"

// ErrInvalid is matched (errors.Is) by every error about the content of a topology file.
var ErrInvalid = errors.New("invalid topology")

// Load reads, defaults and validates the topology file at path.
// TODO(topology owner): real implementation.
func Load(path string) (*Topology, error) {
	return nil, errors.New("topology.Load: not built yet")
}
