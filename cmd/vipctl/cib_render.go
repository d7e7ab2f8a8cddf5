package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(cib render owner): replace with the real commands.
func newCmdCibRender(g *globals) *cobra.Command {
	return &cobra.Command{Use: "render", RunE: func(*cobra.Command, []string) error { return errors.New("not built yet") }}
}

func newCmdCibVerify(g *globals) *cobra.Command {
	return &cobra.Command{Use: "verify", RunE: func(*cobra.Command, []string) error { return errors.New("not built yet") }}
}

func newCmdCibSimulate(g *globals) *cobra.Command {
	return &cobra.Command{Use: "simulate", RunE: func(*cobra.Command, []string) error { return errors.New("not built yet") }}
}
