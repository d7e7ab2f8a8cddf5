package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// strictArgs makes every wrong positional argument in the tree under c a usage error (exit 2).
// Cobra's own argument checks return plain errors (exit 1), and a group command such as
// `vipctl cib` given a mistyped subcommand would print its help and exit 0, so a script running
// `vipctl cib aply` would see success.
func strictArgs(c *cobra.Command) {
	switch {
	case c.Args != nil:
		c.Args = usageArgs(c.Args)
	case c.HasSubCommands() && !c.Runnable():
		c.Args = subcommandOnly
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range c.Commands() {
		strictArgs(sub)
	}
}

// usageArgs makes a wrong number of arguments a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// subcommandOnly refuses any argument of a group command that is not one of its subcommands
// (cobra has already taken those), suggesting the nearest names.
func subcommandOnly(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, applied only on its own path
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		return usageErrorf("unknown command %q for %q; did you mean %s?", args[0], cmd.CommandPath(), strings.Join(s, " or "))
	}
	return usageErrorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
}
