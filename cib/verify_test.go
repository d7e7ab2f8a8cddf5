package cib

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// realTools returns Tools running the real crm_verify and crm_simulate (fail in CI, skip
// elsewhere when missing).
func realTools(t testing.TB) Tools {
	t.Helper()
	return Tools{CrmVerify: testenv.RequireTool(t, "crm_verify"), CrmSimulate: testenv.RequireTool(t, "crm_simulate")}
}

func TestVerifyGoldens(t *testing.T) {
	tools := realTools(t)
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromFile(c.golden); err != nil {
				t.Fatal(err)
			}
			if err := tools.Verify(context.Background(), doc); err != nil {
				t.Errorf("%s: %v", c.golden, err)
			}
		})
	}
}

// family is topogen's family (1..20 groups, IPv4 and IPv6, with and without fencing, both
// agents) and a few shapes it leaves out: per-host NICs, one-, two- and five-host groups, no
// cluster, S3 backups.
func family() []topogen.Options {
	fam := topogen.Family()
	for _, agent := range []string{topology.AgentVipctl, topology.AgentIPaddr2} {
		for _, hosts := range []int{1, 2, 5} {
			fam = append(fam,
				topogen.Options{Groups: 3, HostsPerGroup: hosts, Agent: agent, PerHostNIC: true, Fencing: true},
				topogen.Options{Groups: 2, HostsPerGroup: hosts, Agent: agent, IPv6: true, S3Backup: true, ClustersPerGroup: 3},
			)
		}
	}
	return fam
}

// TestVerifyFamily loads every generated topology and checks that the real crm_verify accepts
// its CIB silently.
func TestVerifyFamily(t *testing.T) {
	tools := realTools(t)
	accepted := 0
	fam := family()
	for _, o := range fam {
		topo, err := topology.Parse(topogen.HCL(o), o.String()+".hcl")
		if err != nil {
			t.Errorf("%s: generated topology does not load: %v", o, err)
			continue
		}
		doc, err := Render(topo)
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if got := len(doc.FindElements("/cib/configuration/resources/primitive[@class='ocf']")); got != o.Groups {
			t.Errorf("%s: %d VIP primitives, want %d", o, got, o.Groups)
		}
		if err := tools.Verify(context.Background(), doc); err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		accepted++
	}
	t.Logf("crm_verify accepted %d of %d generated topologies", accepted, len(fam))
}

// TestVerifyRefusals runs the real crm_verify on documents it must not accept silently.
func TestVerifyRefusals(t *testing.T) {
	tools := realTools(t)
	ctx := context.Background()

	// Stonith enabled with no fence device: crm_verify warns (exit 78).
	topo := load(t, "testdata/no-fencing.hcl")
	topo.Pacemaker.StonithEnabled = true
	doc, err := Render(topo)
	if err != nil {
		t.Fatal(err)
	}
	var ve *VerifyError
	if err := tools.Verify(ctx, doc); !errors.As(err, &ve) {
		t.Fatalf("stonith without fence devices: err = %v, want *VerifyError", err)
	}
	if ve.ExitCode == 0 || ve.Output == "" {
		t.Errorf("VerifyError = %+v, want a non-zero exit and crm_verify's words", ve)
	}

	// A constraint naming a resource that does not exist breaks the schema's id references.
	doc, err = Render(load(t, "testdata/no-fencing.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	doc.FindElement("//rsc_location").CreateAttr("rsc", "vip-nowhere")
	if err := tools.Verify(ctx, doc); !errors.As(err, &ve) {
		t.Errorf("dangling rsc reference: err = %v, want *VerifyError", err)
	}
}

// TestVerifyNeedsSchema checks that Verify refuses a document not declaring a pacemaker-3.x
// schema: crm_verify accepts one without validate-with (or with "none") even when its content
// breaks the schema.
func TestVerifyNeedsSchema(t *testing.T) {
	tools := realTools(t)
	for _, schema := range []string{"", "none", "pacemaker-2.10", "pacemaker-3.", "pacemaker-3.x"} {
		doc, err := Render(load(t, "testdata/no-fencing.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		doc.Root().SelectElement("configuration").CreateElement("not-in-any-schema")
		if schema == "" {
			doc.Root().RemoveAttr("validate-with")
		} else {
			doc.Root().CreateAttr("validate-with", schema)
		}
		if err := tools.Verify(context.Background(), doc); !errors.Is(err, ErrNoSchema) {
			t.Errorf("validate-with=%q: err = %v, want ErrNoSchema", schema, err)
		}
	}
}

// fakeRunner answers every run with one result, as pcmk.Local would (standard error to
// Cmd.Stderr, a non-zero exit as a *pcmk.ExitError), and records the command lines.
type fakeRunner struct {
	res  toolResult
	err  error
	runs [][]string
}

func (f *fakeRunner) Run(_ context.Context, c pcmk.Cmd) ([]byte, error) {
	f.runs = append(f.runs, append([]string{c.Name}, c.Args...))
	if f.err != nil {
		return nil, f.err
	}
	if c.Stderr != nil {
		_, _ = c.Stderr.Write(f.res.stderr)
	}
	if f.res.exitCode != 0 {
		return f.res.stdout, &pcmk.ExitError{Command: f.runs[len(f.runs)-1], Code: f.res.exitCode,
			Stderr: strings.TrimSpace(string(f.res.stderr)), Err: errors.New("exit status")}
	}
	return f.res.stdout, nil
}

func TestVerifyResultHandling(t *testing.T) {
	doc, err := Render(exampleTopology())
	if err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		res  toolResult
		err  error
		want *VerifyError // nil: accepted, unless wantErr
		fail error        // errors.Is target when the run itself failed
	}{
		{name: "silent exit 0"},
		{name: "exit 0 with words", res: toolResult{stderr: []byte("warning: something\n")},
			want: &VerifyError{ExitCode: 0, Output: "warning: something\n"}},
		{name: "exit 78", res: toolResult{exitCode: 78, stderr: []byte("crm_verify: Warnings found\n")},
			want: &VerifyError{ExitCode: 78, Output: "crm_verify: Warnings found\n"}},
		{name: "exit 1 silent", res: toolResult{exitCode: 1}, want: &VerifyError{ExitCode: 1}},
		{name: "cannot run", err: errBoom, fail: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRunner{res: tt.res, err: tt.err}
			err := Tools{CrmVerify: "/opt/pcmk/crm_verify", runner: f}.Verify(context.Background(), doc)
			var ve *VerifyError
			switch {
			case tt.fail != nil:
				if !errors.Is(err, tt.fail) || errors.As(err, &ve) {
					t.Errorf("err = %v, want it to wrap %v and not be a VerifyError", err, tt.fail)
				}
			case tt.want == nil:
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
			default:
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want *VerifyError", err)
				}
				if diff := cmp.Diff(tt.want, ve); diff != "" {
					t.Errorf("VerifyError (-want +got):\n%s", diff)
				}
			}
			if len(f.runs) != 1 || f.runs[0][0] != "/opt/pcmk/crm_verify" || f.runs[0][1] != "--xml-file" {
				t.Errorf("runs = %q, want one run of /opt/pcmk/crm_verify --xml-file F", f.runs)
			}
		})
	}
}

// TestToolTimeout checks that a hanging tool is stopped by the timeout.
func TestToolTimeout(t *testing.T) {
	sleep := testenv.RequireTool(t, "sleep")
	tools := Tools{Timeout: 50 * time.Millisecond}
	_, err := tools.run(context.Background(), sleep, "10")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestCheckSchemaAccepts(t *testing.T) {
	for _, schema := range []string{"pacemaker-3.0", "pacemaker-3.9", "pacemaker-3.10"} {
		doc := etree.NewDocument()
		doc.CreateElement("cib").CreateAttr("validate-with", schema)
		if err := checkSchema(doc); err != nil {
			t.Errorf("validate-with=%q: %v", schema, err)
		}
	}
}
