package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// TestRenderBundleCheckedByRealTools renders whole bundles with `vipctl render` — the example
// and a generated topology of ten clusters — and hands every file to the program that consumes
// it: crm_verify, corosync -t, haproxy -dW -c, bash -n and shellcheck, docker-compose config;
// the Nomad jobs are decoded into api.Job and canonicalised (JSON) and parsed as HCL.
func TestRenderBundleCheckedByRealTools(t *testing.T) {
	testenv.RequireRoot(t) // corosync -t runs in a namespace of its own
	tools := map[string]string{}
	for _, name := range []string{"crm_verify", "corosync", "haproxy", "bash", "shellcheck", "docker-compose", "unshare", "env"} {
		tools[name] = testenv.RequireTool(t, name)
	}
	ten := topogen.Options{Groups: 2, HostsPerGroup: 3, ClustersPerGroup: 5}
	tenFile := filepath.Join(t.TempDir(), "ten-clusters.hcl")
	if err := os.WriteFile(tenFile, topogen.HCL(ten), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"example": exampleFile, "ten clusters": tenFile} {
		t.Run(name, func(t *testing.T) {
			topo, err := topology.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "bundle")
			if code, _, errOut := vipctl(t, "render", "-f", file, "-d", dir); code != exitOK {
				t.Fatalf("render: exit %d: %s", code, errOut)
			}
			files := bundleTree(t, dir)
			checked := map[string]bool{}
			check := func(rel string, argv ...string) {
				t.Helper()
				checked[rel] = true
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
				cmd.Dir = filepath.Dir(filepath.Join(dir, rel))
				out, err := cmd.CombinedOutput()
				if err != nil || (argv[0] == tools["crm_verify"] && len(out) > 0) {
					t.Errorf("%s: %s: %v\n%s", rel, filepath.Base(argv[0]), err, out)
				}
			}
			for rel := range files {
				p := filepath.Join(dir, rel)
				switch {
				case rel == "cib.xml":
					check(rel, tools["crm_verify"], "--xml-file", p)
				case strings.HasSuffix(rel, ".cfg"):
					check(rel, tools["haproxy"], "-dW", "-c", "-f", p)
				case strings.HasSuffix(rel, ".sh"):
					check(rel, tools["bash"], "-n", p)
					check(rel, tools["shellcheck"], p)
				case rel == "compose/docker-compose.yml":
					// The passwords come from the operator's environment (no default in the file).
					check(rel, tools["env"], "PATRONI_SUPERUSER_PASSWORD=s", "PATRONI_REPLICATION_PASSWORD=r",
						tools["docker-compose"], "-f", p, "config", "-q")
				case strings.HasSuffix(rel, ".json"):
					checked[rel] = true
					checkJobJSON(t, p)
				case strings.HasSuffix(rel, ".nomad"):
					checked[rel] = true
					checkJobHCL(t, p)
				case rel == "corosync/corosync.conf":
					// One ring address must be local: the first host's, on lo of a fresh
					// network namespace (nothing leaves it).
					script := `ip link set lo up; ip addr add "$2" dev lo; mount --bind "$1" /etc/corosync; exec corosync -t -c /etc/corosync/corosync.conf`
					key := filepath.Join(dir, "corosync", "authkey")
					if err := os.WriteFile(key, make([]byte, 256), 0o400); err != nil {
						t.Fatal(err)
					}
					check(rel, tools["unshare"], "--mount", "--net", "--propagation", "private", "sh", "-ec", script,
						"sh", filepath.Dir(p), topo.Hosts[0].Address.String())
					if err := os.Remove(key); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Every file with a consuming tool was checked; the rest have none.
			for rel := range files {
				noChecker := strings.HasSuffix(rel, "pgbackrest.conf") || strings.HasSuffix(rel, "cron_backup") ||
					strings.HasPrefix(rel, "compose/") // Dockerfile, patroni.yml, …: read by docker-compose's build
				if !checked[rel] && !noChecker {
					t.Errorf("%s: no checker ran", rel)
				}
			}
			t.Logf("%d files, %d checked by a real tool or decoder", len(files), len(checked))
		})
	}
}

func checkJobJSON(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var req api.JobRegisterRequest
	if err := json.Unmarshal(b, &req); err != nil || req.Job == nil || req.Job.ID == nil {
		t.Errorf("%s: not a Nomad job register request (err %v)", p, err)
		return
	}
	req.Job.Canonicalize()
	if want := strings.TrimSuffix(filepath.Base(p), ".json"); *req.Job.ID != want {
		t.Errorf("%s: job %q, want %q", p, *req.Job.ID, want)
	}
}

func checkJobHCL(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, diags := hclsyntax.ParseConfig(b, p, hcl.InitialPos); diags.HasErrors() {
		t.Errorf("%s: %s", p, diags.Error())
	}
}
