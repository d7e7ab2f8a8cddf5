package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The flags given reach vipctl-metrics as given, with -f; defaults are vipctl-metrics' own.
func TestMetricsFlags(t *testing.T) {
	var got *metricsOptions
	g := &globals{File: "/etc/x.hcl"}
	cmd := newCmdMetrics(g, func(_ context.Context, o *metricsOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--listen", ":9475", "--journal", "/j.jsonl", "--timeout", "3s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := []string{"--file", "/etc/x.hcl", "--journal=/j.jsonl", "--listen=:9475", "--timeout=3s"}
	if d := cmp.Diff(want, got.Args); d != "" {
		t.Errorf("vipctl-metrics' arguments (-want +got):\n%s", d)
	}
}

// Neither or both of --listen and --textfile, a bad --timeout or an argument: exit 2, before
// vipctl-metrics is even looked for.
func TestMetricsUsageExit2(t *testing.T) {
	for _, args := range [][]string{
		{"metrics"},
		{"metrics", "--listen", ":9475", "--textfile", "/tmp/x.prom"},
		{"metrics", "--listen", ":9475", "--timeout", "0s"},
		{"metrics", "--listen", ":9475", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"vipctl", "-f", "../../examples/vipctl.hcl"}, args...), strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want %d and nothing\nstderr: %s", code, stdout.String(), exitUsage, stderr.String())
			}
		})
	}
}

// writeProgram writes an executable shell script at path.
func writeProgram(t *testing.T, path, script string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// vipctl-metrics is run from beside vipctl first, else from PATH; its output and exit code are
// vipctl's. Found nowhere: exit 1, naming where it was looked for.
func TestMetricsFindsProgram(t *testing.T) {
	beside, onPath := t.TempDir(), t.TempDir()
	self := func() (string, error) { return filepath.Join(beside, "vipctl"), nil }
	lookPath := func(name string) (string, error) {
		p := filepath.Join(onPath, name)
		if _, err := os.Stat(p); err != nil {
			return "", exec.ErrNotFound
		}
		return p, nil
	}
	runIt := func(t *testing.T) (string, error) {
		t.Helper()
		var stdout bytes.Buffer
		opts := &metricsOptions{Args: []string{"--file", "t.hcl", "--listen=:1"}, stdin: strings.NewReader(""),
			stdout: &stdout, stderr: &stdout, executable: self, lookPath: lookPath}
		err := metricsRun(context.Background(), opts)
		return stdout.String(), err
	}

	_, err := runIt(t)
	if !errors.Is(err, ErrNoMetricsProgram) || !strings.Contains(err.Error(), filepath.Join(beside, metricsProgram)) || exitCode(err) != exitFailure {
		t.Errorf("found nowhere: %v (exit %d); want ErrNoMetricsProgram naming %s, exit 1", err, exitCode(err), beside)
	}

	writeProgram(t, filepath.Join(onPath, metricsProgram), `echo "path $*"; exit 0`)
	if out, err := runIt(t); err != nil || out != "path --file t.hcl --listen=:1\n" {
		t.Errorf("on PATH: %v, %q", err, out)
	}

	writeProgram(t, filepath.Join(beside, metricsProgram), `echo "beside $*"; exit 2`)
	out, err := runIt(t)
	if out != "beside --file t.hcl --listen=:1\n" || exitCode(err) != 2 {
		t.Errorf("beside: exit %d (%v), %q; want the program beside vipctl, its exit code 2", exitCode(err), err, out)
	}
}
