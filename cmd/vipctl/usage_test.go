package main

import (
	"bytes"
	"strings"
	"testing"
)

// A wrong positional argument anywhere is a usage error (exit 2) with nothing on stdout; a group
// command alone prints its help (exit 0).
func TestPositionalArgumentErrorsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a substring that must be on stdout ("" means stdout must be empty)
		stderr string // a substring that must be on stderr
	}{
		{args: []string{"bogus"}, code: exitUsage, stderr: `unknown command "bogus" for "vipctl"`},
		{args: []string{"cib", "aply"}, code: exitUsage, stderr: `unknown command "aply" for "vipctl cib"; did you mean apply?`},
		{args: []string{"lab", "nothing-like-it"}, code: exitUsage, stderr: `unknown command "nothing-like-it" for "vipctl lab"`},
		{args: []string{"check", "nick"}, code: exitUsage, stderr: "did you mean nic?"},
		{args: []string{"cib", "render", "extra"}, code: exitUsage, stderr: `unknown command "extra" for "vipctl cib render"`},
		{args: []string{"nomad", "render", "x"}, code: exitUsage, stderr: `"x"`},
		{args: []string{"version", "extra"}, code: exitUsage, stderr: `"extra"`},
		{args: []string{"completion"}, code: exitUsage, stderr: "accepts 1 arg(s), received 0"},
		{args: []string{"completion", "tcsh"}, code: exitUsage, stderr: `unknown shell "tcsh"`},
		{args: []string{"lab", "partition", "lab-1"}, code: exitUsage, stderr: "requires at least 2 arg(s)"},
		{args: []string{}, code: exitOK, stdout: "Available Commands:"},
		{args: []string{"cib"}, code: exitOK, stdout: "vipctl cib [command]"},
		{args: []string{"version"}, code: exitOK, stdout: "vipctl "},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"vipctl"}, tc.args...), strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			if tc.stdout == "" && stdout.Len() > 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}
