package cib

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vipctl/vipctl/topology"
)

// FuzzRender feeds topology files to the loader: it must not panic, a refusal must be
// topology.ErrInvalid, and whatever loads must render, twice the same, to a CIB that the real
// crm_verify accepts silently. The seeds are the golden topologies and the committed corpus in
// testdata/fuzz/FuzzRender.
func FuzzRender(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.hcl")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range append(seeds, "../examples/vipctl.hcl") {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	tools := realTools(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		topo, err := topology.Parse(src, "fuzz.hcl")
		if err != nil {
			if !errors.Is(err, topology.ErrInvalid) {
				t.Fatalf("loader refused with an error that is not ErrInvalid: %v", err)
			}
			return
		}
		first, err := RenderXML(topo)
		if err != nil {
			t.Fatalf("loaded but does not render: %v", err)
		}
		again, err := RenderXML(topo)
		if err != nil || !bytes.Equal(first, again) {
			t.Fatalf("second render differs (err %v)", err)
		}
		doc, err := Render(topo)
		if err != nil {
			t.Fatal(err)
		}
		if err := tools.Verify(context.Background(), doc); err != nil {
			t.Fatalf("loaded and rendered, but: %v\n%s", err, first)
		}
	})
}
