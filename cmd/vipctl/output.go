package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/vipctl/vipctl/topology"
)

// writeJSON is how every command prints -o json: one indented document, HTML characters
// as they are (an XML fragment in a CIB change stays readable).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// hostDefault says what resolveHost does when --host is not given.
type hostDefault int

const (
	// hostRequired: this machine's hostname, which must be a host of the topology.
	hostRequired hostDefault = iota
	// hostIfMember: this machine's hostname when it is a host of the topology, else none ("").
	hostIfMember
)

// resolveHost is the one reading of --host: the named host must be a host of t (else a usage
// error, exit 2); without it, this machine's hostname as def says.
func resolveHost(t *topology.Topology, flag string, def hostDefault) (string, error) {
	host := flag
	if host == "" {
		name, err := os.Hostname()
		if err != nil {
			if def == hostIfMember {
				return "", nil
			}
			return "", fmt.Errorf("hostname: %w", err)
		}
		if _, ok := t.Host(name); !ok && def == hostIfMember {
			return "", nil
		}
		host = name
	}
	if _, err := t.LookupHost(host); err != nil {
		return "", usageErrorf("%w (use --host)", err)
	}
	return host, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
