package nomad

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/haproxy"
	"github.com/vipctl/vipctl/internal/bundletest"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// FuzzJobs feeds topology files to the loader; whatever loads must render every job and HAProxy
// configuration (or be refused with ErrRender), twice the same; each HCL job parses back to the typed job, each JSON job
// round-trips through api.Job, no host has a static port reserved twice, and the real
// haproxy -dW -c accepts each configuration. Seeds: the example, generated topologies and the
// committed corpus in testdata/fuzz/FuzzJobs.
func FuzzJobs(f *testing.F) {
	src, err := os.ReadFile("../examples/vipctl.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	for _, o := range []topogen.Options{
		{Groups: 2, HostsPerGroup: 3, ClustersPerGroup: 5},
		{Groups: 1, HostsPerGroup: 2, ClustersPerGroup: 1, IPv6: true, S3Backup: true},
		{Groups: 3, HostsPerGroup: 1, ClustersPerGroup: 2, Fencing: true},
	} {
		f.Add(topogen.HCL(o))
	}
	haproxyBin := testenv.RequireTool(f, "haproxy")
	f.Fuzz(func(t *testing.T, src []byte) {
		tp, err := topology.Parse(src, "fuzz.hcl")
		if err != nil {
			if !errors.Is(err, topology.ErrInvalid) {
				t.Fatalf("loader refused with an error that is not ErrInvalid: %v", err)
			}
			return
		}
		jobs, err := Jobs(tp)
		if errors.Is(err, ErrRender) {
			// A value the loader accepts but a job cannot carry (for example a consul.dns host
			// name: HAProxy needs an address): vipctl refuses it as a bad topology.
			return
		}
		if err != nil {
			t.Fatalf("loaded but the jobs do not render: %v", err)
		}
		if _, collisions := staticPorts(tp, jobs); len(collisions) > 0 {
			t.Fatalf("static port collisions:\n%s", strings.Join(collisions, "\n"))
		}
		for _, j := range jobs {
			h, err := JobHCL(j)
			if err != nil {
				t.Fatalf("%s: %v", *j.ID, err)
			}
			if again, _ := JobHCL(j); !bytes.Equal(h, again) {
				t.Fatalf("%s: second HCL render differs", *j.ID)
			}
			f, diags := hclparse.NewParser().ParseHCL(h, *j.ID+".nomad")
			if diags.HasErrors() {
				t.Fatalf("%s: %v\n%s", *j.ID, diags, h)
			}
			jb := only(t, f.Body.(*hclsyntax.Body), "job")
			want := nodeOfStruct(t, reflect.ValueOf(j), *j.ID)
			delete(want.Attrs, "id")
			delete(want.Attrs, "name")
			if d := cmp.Diff(want, nodeOfBody(t, jb.Body, jb.Labels...)); d != "" {
				t.Fatalf("%s: HCL differs from the typed job:\n%s", *j.ID, d)
			}
			js, err := JobJSON(j)
			if err != nil {
				t.Fatal(err)
			}
			var req struct{ Job *api.Job }
			if err := json.Unmarshal(js, &req); err != nil {
				t.Fatalf("%s: %v", *j.ID, err)
			}
			canon, err := CanonicalJob(j)
			if err != nil {
				t.Fatal(err)
			}
			req.Job.Canonicalize()
			if d := cmp.Diff(canon, req.Job); d != "" {
				t.Fatalf("%s: JSON round trip:\n%s", *j.ID, d)
			}
		}
		files, err := haproxy.Files(tp)
		if err != nil {
			t.Fatalf("loaded but HAProxy configs do not render: %v", err)
		}
		for _, hf := range files {
			if out, err := bundletest.HAProxyCheck(t, haproxyBin, hf.Data); err != nil {
				t.Fatalf("haproxy -dW -c refuses %s: %v\n%s\n%s", hf.Path, err, out, hf.Data)
			}
		}
	})
}
