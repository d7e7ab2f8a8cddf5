package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/bootstrap"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/topology"
	"github.com/vipctl/vipctl/vip"
)

// writeAuthkey writes a key of n bytes and returns its path.
func writeAuthkey(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authkey")
	if err := os.WriteFile(p, bytes.Repeat([]byte{0x5a}, n), 0o400); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBootstrapUsageExit2(t *testing.T) {
	key := writeAuthkey(t, 256)
	cases := map[string][]string{
		"unknown host":        {"--host", "pg-99", "--authkey", key},
		"missing authkey":     {"--host", "pg-01", "--authkey", key + ".missing"},
		"short authkey":       {"--host", "pg-01", "--authkey", writeAuthkey(t, 16)},
		"unknown scheduler":   {"--host", "pg-01", "--authkey", key, "--backup", "anacron"},
		"stray argument":      {"--host", "pg-01", "now"},
		"unknown flag":        {"--host", "pg-01", "--force"},
		"missing topology":    {"--host", "pg-01", "-f", filepath.Join(t.TempDir(), "none.hcl")},
		"bad output selector": {"--host", "pg-01", "-o", "yaml"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			full := append([]string{"bootstrap", "-f", exampleFile}, args...)
			code, out, errOut := vipctl(t, full...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			if out != "" {
				t.Errorf("something was reported as done: %s", out)
			}
		})
	}
}

// bootstrapHere runs bootstrapRun for pg-01 of the example topology with files under a temp
// root and the NIC check answering nic.
func bootstrapHere(t *testing.T, nic vip.NICCheck, dryRun, jsonOut bool) (int, string, string) {
	t.Helper()
	for _, tool := range []string{"corosync", "corosync-cfgtool", "corosync-cmapctl", "pacemakerd", "cibadmin", "crm_mon", "crm_attribute", "crm_diff"} {
		testenv.RequireTool(t, tool)
	}
	root := t.TempDir()
	// The example's fence devices name fence_ipmilan: the host has the package's agent.
	agent := filepath.Join(root, "usr/sbin/fence_ipmilan")
	if err := os.MkdirAll(filepath.Dir(agent), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "vipctl")
	if err := os.WriteFile(exe, []byte("agent"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := &bootstrapOptions{
		Host: "pg-01", Authkey: writeAuthkey(t, 256), DryRun: dryRun, Backup: "cron",
		load:   func() (*topology.Topology, error) { return topology.Load(exampleFile) },
		stdout: &out, json: jsonOut,
		tweak: func(o *bootstrap.Options) {
			o.Root, o.Executable = root, exe
			o.CheckNIC = func(_ context.Context, p netip.Prefix, name string) (vip.NICCheck, error) {
				c := nic
				c.VIP, c.NIC = p, name
				return c, nil
			}
		},
	}
	code := exitCode(bootstrapRun(context.Background(), opts))
	var left []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path != agent {
			left = append(left, strings.TrimPrefix(path, root))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("files written under the root: %v", left)
	}
	return code, out.String(), root
}

// A failing preflight: exit 1, the failed step named, nothing after it run or written.
func TestBootstrapFailedStepExit1(t *testing.T) {
	code, out, _ := bootstrapHere(t, vip.NICCheck{Problems: []string{"link is down: eth0"}}, false, false)
	if code != exitFailure {
		t.Errorf("exit %d, want %d\n%s", code, exitFailure, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got []string
	for _, l := range lines[:len(lines)-1] {
		f := strings.Fields(l)
		got = append(got, f[0]+" "+f[1])
	}
	if len(got) < 3 || got[0] != "ok tools" || got[1] != "FAILED nic" {
		t.Fatalf("steps:\n%s", out)
	}
	for _, g := range got[2:] {
		if !strings.HasPrefix(g, "not run") {
			t.Errorf("step after the failure: %q", g)
		}
	}
	if want := "pg-01: failed at step nic; the steps after it were not run"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
}

// A dry run on a machine that is no member: exit 0, a JSON report, nothing written.
func TestBootstrapDryRunJSON(t *testing.T) {
	code, out, _ := bootstrapHere(t, vip.NICCheck{}, true, true)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var r bootstrap.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, out)
	}
	got := map[string]bootstrap.Status{}
	for _, s := range r.Steps {
		got[s.Step] = s.Status
	}
	want := map[string]bootstrap.Status{
		"tools": "ok", "nic": "ok", "membership": "ok", "authkey": "would-change", "corosync.conf": "would-change", "agent": "would-change", "health-agent": "would-change", "alert": "would-change",
		"corosync": "would-change", "local-cib": "ok", "pacemaker": "would-change", "quorum": "would-change", "cib": "would-change", "vip": "would-change",
		"backup-script:msrvc01": "would-change", "backup-cron:msrvc01": "would-change",
		"backup-script:msrvc02": "would-change", "backup-cron:msrvc02": "would-change",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if r.Host != "pg-01" || !r.DryRun || r.Member || r.Failed != "" {
		t.Errorf("report: %+v", r)
	}
}
