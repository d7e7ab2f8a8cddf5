package nomad

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/topogen"
	"github.com/vipctl/vipctl/topology"
)

// TestBodyText: every construct the job writer uses, laid out as hclwrite.Format lays it out:
// runs of one-line attributes aligned (a heredoc counts as one line), broken by multi-line
// values, blocks and empty lines; "}, {" between list elements as deep as their keys.
func TestBodyText(t *testing.T) {
	b := &body{}
	setString(b, "name", `say "hi" to ${NOMAD_TASK_NAME}, not ${HOME}`)
	setInt(b, "priority", -5)
	b.appendText("data", "${x} and %{if}\nEOT\n")
	setStrings(b, "short", []string{"a", "b"})
	setStrings(b, "long", []string{"a-rather-long-element-number-one", "a-rather-long-element-number-two", "3"})
	setBool(b, "on", true)
	b.appendAttr("labels", mapListExpr([]map[string]string{{"a.b": "1", "c": "2"}, {}, {"d": "${meta.rack}"}}))
	b.appendAttr("empty", mapExpr(map[string]string{}))
	blk := b.appendBlock("port", `odd "label" ${x}`)
	separate(blk)
	setString(blk, "to", "x")
	separate(b)
	b.appendBlock("task", "t")
	want := `name     = "say \"hi\" to ${NOMAD_TASK_NAME}, not $${HOME}"
priority = -5
data     = <<EOT0
$${x} and %%{if}
EOT
EOT0
short    = ["a", "b"]
long = [
  "a-rather-long-element-number-one",
  "a-rather-long-element-number-two",
  "3",
]
on = true
labels = [{
  "a.b" = "1"
  "c"   = "2"
  }, {
  }, {
  "d" = "${meta.rack}"
}]
empty = {
}
port "odd \"label\" $${x}" {
  to = "x"
}

task "t" {
}
`
	got := b.text(0)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("body text (-want +got):\n%s", d)
	}
	if d := cmp.Diff(string(hclwrite.Format([]byte(got))), got); d != "" {
		t.Errorf("hclwrite.Format changes the text (-formatted +written):\n%s", d)
	}
	if _, diags := hclparse.NewParser().ParseHCL([]byte(got), "t.hcl"); diags.HasErrors() {
		t.Errorf("does not parse: %v", diags)
	}
}

// TestJobHCLIsFormatted: hclwrite.Format (what `nomad fmt` applies) changes nothing in the
// jobs of the example and of generated topologies: the writer lays HCL out as HCL's own
// formatter does.
func TestJobHCLIsFormatted(t *testing.T) {
	tops := []*topology.Topology{exampleTopology(t)}
	for _, o := range []topogen.Options{
		{Groups: 2, HostsPerGroup: 3, ClustersPerGroup: 3, S3Backup: true},
		{Groups: 1, HostsPerGroup: 16, ClustersPerGroup: 2, IPv6: true, Fencing: true},
	} {
		tp, err := topology.Parse(topogen.HCL(o), "gen.hcl")
		if err != nil {
			t.Fatal(err)
		}
		tops = append(tops, tp)
	}
	for _, tp := range tops {
		jobs, err := Jobs(tp)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			h, err := JobHCL(j)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(hclwrite.Format(h)), string(h)); d != "" {
				t.Errorf("%s: hclwrite.Format changes the job (-formatted +written):\n%s", *j.ID, d)
			}
		}
	}
}

// TestJobHCLRefusesConfigKey: a driver config key that is not an identifier cannot be written.
func TestJobHCLRefusesConfigKey(t *testing.T) {
	j := &api.Job{ID: new("j"), TaskGroups: []*api.TaskGroup{{Name: new("g"), Tasks: []*api.Task{{
		Name: "t", Driver: "docker", Config: map[string]any{"not an identifier": "x"},
	}}}}}
	if _, err := JobHCL(j); !errors.Is(err, ErrRender) {
		t.Errorf("err = %v, want ErrRender", err)
	}
}
