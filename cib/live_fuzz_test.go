package cib

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLivePlan merges the rendered CIB into arbitrary "live" documents. Whatever is accepted
// must come out settled: planning again against the merged document finds nothing to change
// (a second apply is a no-op), and nothing ever panics.
func FuzzLivePlan(f *testing.F) {
	for _, name := range []string{"fresh.xml", "hand-edited.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "live", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	topo := liveTopology()
	desired, err := Render(topo)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, live []byte) {
		p, err := PlanFor(live, topo, desired)
		if err != nil {
			return
		}
		b, err := p.merged.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		again, err := PlanFor(b, topo, desired)
		if err != nil {
			t.Fatalf("the merged CIB is refused: %v\n%s", err, b)
		}
		if !again.Unchanged() {
			t.Fatalf("a second merge still changes %+v\nmerged:\n%s", again.Changes, b)
		}
	})
}
