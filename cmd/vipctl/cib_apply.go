package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(cib apply owner): replace with the real commands.
func newCmdCibDiff(g *globals) *cobra.Command {
	return &cobra.Command{Use: "diff", RunE: func(*cobra.Command, []string) error { return errors.New("not built yet") }}
}

func newCmdCibApply(g *globals) *cobra.Command {
	return &cobra.Command{Use: "apply", RunE: func(*cobra.Command, []string) error { return errors.New("not built yet") }}
}
