package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLabUpFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  string
		want labUpOptions
	}{
		{"own topology", []string{"lab", "up"}, "", labUpOptions{}},
		{"bare", []string{"lab", "up", "--bare"}, "", labUpOptions{Bare: true}},
		{"file flag", []string{"-f", "/tmp/t.hcl", "lab", "up"}, "", labUpOptions{TopologyFile: "/tmp/t.hcl"}},
		{"file from env", []string{"lab", "up"}, "/etc/x.hcl", labUpOptions{TopologyFile: "/etc/x.hcl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VIPCTL_FILE", tc.env)
			var got *labUpOptions
			g := &globals{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
			root := newRootCmd(g)
			for _, c := range root.Commands() {
				if c.Name() == "lab" {
					root.RemoveCommand(c)
				}
			}
			lab := newCmdLab(g)
			for _, c := range lab.Commands() {
				if c.Name() == "up" {
					lab.RemoveCommand(c)
				}
			}
			lab.AddCommand(newCmdLabUp(g, func(_ context.Context, o *labUpOptions) error { got = o; return nil }))
			root.AddCommand(lab)
			root.SetArgs(tc.args)
			if err := root.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("lab up did not run")
			}
			if got.Vipctl == "" {
				t.Error("lab up does not know the vipctl binary")
			}
			if d := cmp.Diff(tc.want, *got, cmpopts.IgnoreFields(labUpOptions{}, "g", "Vipctl")); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}

func TestLabExecNeedsDash(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"vipctl", "lab", "exec", "lab-1", "hostname"}, strings.NewReader(""), &out, &errOut)
	if code != exitUsage {
		t.Errorf("lab exec without --: exit %d, want %d (stderr %q)", code, exitUsage, errOut.String())
	}
}

func TestLabFailArgs(t *testing.T) {
	for _, args := range [][]string{
		{"lab", "fail"},
		{"lab", "fail", "lab-1", "--holder", "lab"},
		{"lab", "fail", "lab-1", "lab-2"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"vipctl"}, args...), strings.NewReader(""), &out, &errOut); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, errOut.String())
		}
	}
}

func TestExitStatusPassesThrough(t *testing.T) {
	for _, c := range []int{1, 3, 7, 141} {
		err := error(exitStatus(c))
		if got := exitCode(err); got != c {
			t.Errorf("exitCode(exitStatus(%d)) = %d", c, got)
		}
		wrapped := errors.Join(errors.New("context"), err)
		if got := exitCode(wrapped); got != c {
			t.Errorf("exitCode(wrapped exitStatus(%d)) = %d", c, got)
		}
	}
}
