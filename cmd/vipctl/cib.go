package main

import (
	"io"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/topology"
)

func newCmdCib(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cib",
		Short: "Render, verify, simulate, diff and apply the Pacemaker CIB",
	}
	cmd.AddCommand(
		newCmdCibRender(g, nil),
		newCmdCibVerify(g, nil),
		newCmdCibSimulate(g, nil),
		newCmdCibDiff(g, nil),
		newCmdCibApply(g, nil),
	)
	return cmd
}

// cibLiveOptions are the inputs of `vipctl cib diff` and `vipctl cib apply`.
type cibLiveOptions struct {
	Load   func() (*topology.Topology, error)
	Stdout io.Writer
	JSON   bool
	DryRun bool           // apply only
	Live   cib.LiveConfig // how the live CIB is reached, and where backups go
}

// cibLoadLive loads the topology and renders its CIB: a bad topology stops (exit 2) before
// any tool runs.
func cibLoadLive(opts *cibLiveOptions) (*topology.Topology, *etree.Document, *cib.Live, error) {
	t, err := opts.Load()
	if err != nil {
		return nil, nil, nil, err
	}
	desired, err := cib.Render(t)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, desired, cib.NewLive(opts.Live), nil
}

// cibChangeList makes an empty list print as [] in JSON.
func cibChangeList(cs []cib.Change) []cib.Change {
	if cs == nil {
		return []cib.Change{}
	}
	return cs
}
