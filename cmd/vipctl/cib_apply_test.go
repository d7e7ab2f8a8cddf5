package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/cib"
	"github.com/vipctl/vipctl/internal/testenv"
)

// cibLabHCL is a one-host topology matching the captured CIB cib/testdata/live/hand-edited.xml
// (cluster pg-lab, node pg-01).
const cibLabHCL = `
datacenters = ["dc1"]
consul {}
corosync {
  cluster_name = "%s"
}
pacemaker {
  stonith_enabled = false
}
host "pg-01" {
  address = "127.0.0.1"
}
host_group "db" {
  hosts = ["pg-01"]
  vip {
    address = "192.0.2.100/24"
    nic     = "lo"
    agent   = "IPaddr2"
  }
}
cluster "app" {
  host_group   = "db"
  port         = 5001
  patroni_port = 8008
  image        = "registry.example/sa-pgsql:15"
}
`

// cibFileSetup points cibadmin at a file copy of a captured live CIB (CIB_file: the real tools
// work on a file instead of a running cluster) and writes a topology for the given cluster name.
// It returns the CIB file, the topology file and a backup directory.
func cibFileSetup(t *testing.T, clusterName string) (cibFile, hcl, backupDir string) {
	t.Helper()
	testenv.RequireTool(t, "cibadmin")
	testenv.RequireTool(t, "crm_diff")
	dir := t.TempDir()
	src, err := os.ReadFile("../../cib/testdata/live/hand-edited.xml")
	if err != nil {
		t.Fatal(err)
	}
	cibFile, hcl = filepath.Join(dir, "cib.xml"), filepath.Join(dir, "lab.hcl")
	if err := os.WriteFile(cibFile, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hcl, []byte(strings.Replace(cibLabHCL, "%s", clusterName, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CIB_file", cibFile)
	return cibFile, hcl, filepath.Join(dir, "backup")
}

func cibReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCibDiffAndApply(t *testing.T) {
	cibFile, hcl, backupDir := cibFileSetup(t, "pg-lab")
	original := cibReadFile(t, cibFile)

	// diff: the hand-set no-quorum-policy is shown going back to the topology's value.
	code, stdout, stderr := runVipctl(t, "cib", "diff", "-f", hcl)
	if code != exitOK {
		t.Fatalf("cib diff: exit %d: %s", code, stderr)
	}
	for _, line := range []string{
		"~ crm_config cib-bootstrap-options: no-quorum-policy: ignore → stop\n",
		"+ resources: primitive vip-db\n",
		"+ crm_config cib-bootstrap-options: start-failure-is-fatal: false\n",
		"10 changes (8 added, 2 changed) to the live CIB 0.10.0 of cluster pg-lab\n",
	} {
		if !strings.Contains(stdout, line) {
			t.Errorf("cib diff output lacks %q:\n%s", line, stdout)
		}
	}

	code, stdout, stderr = runVipctl(t, "cib", "diff", "-f", hcl, "-o", "json")
	if code != exitOK {
		t.Fatalf("cib diff -o json: exit %d: %s", code, stderr)
	}
	var report cibDiffReport
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("cib diff -o json: %v\n%s", err, stdout)
	}
	if !report.Changed || report.Cluster != "pg-lab" || report.Version != "0.10.0" || len(report.Changes) != 10 {
		t.Errorf("cib diff -o json: %+v", report)
	}
	want := cib.Change{Op: cib.OpChange, Section: "crm_config", Element: "nvpair", ID: "no-quorum-policy", Set: "cib-bootstrap-options",
		Fields: []cib.Field{{Op: cib.OpChange, Path: "value", Old: "ignore", New: "stop"}}}
	if diff := cmp.Diff(want, report.Changes[0]); diff != "" {
		t.Errorf("first change (-want +got):\n%s", diff)
	}

	// --dry-run writes nothing.
	code, stdout, stderr = runVipctl(t, "cib", "apply", "-f", hcl, "--dry-run", "--backup-dir", backupDir)
	if code != exitOK || !strings.Contains(stdout, "dry run: apply would make 10 changes") {
		t.Fatalf("cib apply --dry-run: exit %d: %s%s", code, stdout, stderr)
	}
	if !bytes.Equal(cibReadFile(t, cibFile), original) {
		t.Error("cib apply --dry-run changed the CIB")
	}
	if _, err := os.Stat(backupDir); !os.IsNotExist(err) {
		t.Errorf("cib apply --dry-run made the backup directory: %v", err)
	}

	// apply writes, and keeps the CIB it replaced.
	code, stdout, stderr = runVipctl(t, "cib", "apply", "-f", hcl, "--backup-dir", backupDir, "-o", "json")
	if code != exitOK {
		t.Fatalf("cib apply: exit %d: %s%s", code, stdout, stderr)
	}
	var applied cibApplyReport
	if err := json.Unmarshal([]byte(stdout), &applied); err != nil {
		t.Fatalf("cib apply -o json: %v\n%s", err, stdout)
	}
	if applied.Result != "applied" || applied.Before != "0.10.0" || applied.After == applied.Before || len(applied.Changes) != 10 {
		t.Errorf("cib apply -o json: %+v", applied)
	}
	if filepath.Dir(applied.Backup) != backupDir || !bytes.Equal(cibReadFile(t, applied.Backup), original) {
		t.Errorf("backup %q does not hold the replaced CIB", applied.Backup)
	}
	written := cibReadFile(t, cibFile)
	if !bytes.Contains(written, []byte(`id="vip-db"`)) || !bytes.Contains(written, []byte(`id="hand-dummy"`)) {
		t.Errorf("applied CIB lacks vip-db or the hand-made hand-dummy:\n%s", written)
	}

	// Second apply: unchanged, nothing written.
	code, stdout, stderr = runVipctl(t, "cib", "apply", "-f", hcl, "--backup-dir", backupDir)
	if code != exitOK || !strings.HasPrefix(stdout, "unchanged: ") {
		t.Errorf("second cib apply: exit %d: %s%s", code, stdout, stderr)
	}
	if !bytes.Equal(cibReadFile(t, cibFile), written) {
		t.Error("second cib apply rewrote the CIB")
	}
	if entries, err := os.ReadDir(backupDir); err != nil || len(entries) != 1 {
		t.Errorf("backups after the second apply: %v %v, want the one of the first", entries, err)
	}
}

func TestCibApplyRefusesOtherCluster(t *testing.T) {
	cibFile, hcl, backupDir := cibFileSetup(t, "pg-prod")
	original := cibReadFile(t, cibFile)
	for _, args := range [][]string{{"cib", "diff"}, {"cib", "apply", "--backup-dir", backupDir}} {
		code, stdout, stderr := runVipctl(t, append(args, "-f", hcl)...)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, `the live cluster is named "pg-lab"`) {
			t.Errorf("%v onto another cluster: exit %d, stdout %q, stderr %q; want exit 1 naming both clusters", args, code, stdout, stderr)
		}
	}
	if !bytes.Equal(cibReadFile(t, cibFile), original) {
		t.Error("refused apply changed the CIB")
	}
	if _, err := os.Stat(backupDir); !os.IsNotExist(err) {
		t.Errorf("refused apply made the backup directory: %v", err)
	}
}

func TestCibApplyBadTopology(t *testing.T) {
	cibFile, hcl, backupDir := cibFileSetup(t, "pg-lab")
	original := cibReadFile(t, cibFile)
	if err := os.WriteFile(hcl, []byte("corosync {\n  cluster_name = 7\n}\nbogus {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"cib", "diff"}, {"cib", "apply", "--backup-dir", backupDir}} {
		code, stdout, stderr := runVipctl(t, append(args, "-f", hcl)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "bogus") {
			t.Errorf("%v on a bad topology: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, the bad block named",
				args, code, stdout, stderr)
		}
	}
	if !bytes.Equal(cibReadFile(t, cibFile), original) {
		t.Error("apply of a bad topology changed the CIB")
	}
}
