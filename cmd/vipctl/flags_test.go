package main

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A duration flag out of its range fails at parse, naming the flag and the value: the run
// function is never called.
func TestDurationFlagsRefusedAtParse(t *testing.T) {
	ran := false
	g := &globals{}
	cmds := map[string]func() *cobra.Command{
		"vip move": func() *cobra.Command {
			return newCmdVipMove(g, func(context.Context, *vipMoveOptions) error { ran = true; return nil })
		},
		"host drain": func() *cobra.Command {
			return newCmdHostDrain(g, func(context.Context, *hostDrainOptions) error { ran = true; return nil })
		},
		"host undrain": func() *cobra.Command {
			return newCmdHostUndrain(g, func(context.Context, *hostUndrainOptions) error { ran = true; return nil })
		},
		"status": func() *cobra.Command {
			return newCmdStatus(g, func(context.Context, *statusOptions) error { ran = true; return nil })
		},
		"lab _probe": func() *cobra.Command {
			return newCmdLabProbe(g, func(context.Context, *labProbeOptions) error { ran = true; return nil })
		},
	}
	for _, c := range []struct {
		cmd   string
		args  []string
		flag  string
		value string
		want  error
	}{
		{"vip move", []string{"g"}, "timeout", "0s", errNotPositive},
		{"vip move", []string{"g"}, "timeout", "-5s", errNotPositive},
		{"vip move", []string{"g"}, "lifetime", "0s", errNotPositive},
		{"vip move", []string{"g"}, "lifetime", "-5s", errNotPositive},
		{"host drain", []string{"h"}, "timeout", "0s", errNotPositive},
		{"host drain", []string{"h"}, "timeout", "-5s", errNotPositive},
		{"host undrain", []string{"h"}, "timeout", "0s", errNotPositive},
		{"host undrain", []string{"h"}, "timeout", "-5s", errNotPositive},
		{"status", nil, "timeout", "0s", errNotPositive},
		{"lab _probe", []string{"127.0.0.1:1"}, "timeout", "-5s", errNotPositive},
		{"lab _probe", []string{"127.0.0.1:1"}, "for", "-5s", errNegative},
	} {
		t.Run(c.cmd+" --"+c.flag+" "+c.value, func(t *testing.T) {
			ran = false
			cmd := cmds[c.cmd]()
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SetArgs(append(c.args, "--"+c.flag, c.value))
			err := cmd.Execute()
			var iv *pflag.InvalidValueError
			if !errors.As(err, &iv) || iv.GetFlag().Name != c.flag || iv.GetValue() != c.value || !errors.Is(err, c.want) {
				t.Errorf("err = %v; want a flag error of --%s naming %q, matching %v", err, c.flag, c.value, c.want)
			}
			if ran {
				t.Error("the run function was called")
			}
		})
	}
}

// 0 stays what the flags that document it say it is (events --since 0: all, lab _probe --for
// 0: until interrupted); the parse accepts it.
func TestNonNegativeDurationTakesZero(t *testing.T) {
	var got *labProbeOptions
	cmd := newCmdLabProbe(&globals{}, func(_ context.Context, o *labProbeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"127.0.0.1:1", "--for", "0s"})
	if err := cmd.Execute(); err != nil || got == nil || got.Probe.For != 0 {
		t.Fatalf("err %v, options %+v", err, got)
	}
}
