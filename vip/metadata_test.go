package vip

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/testenv"
)

// TestMetadataValid checks meta-data with xmllint against ra-api-1.dtd (as ocf-tester does) and
// against resource-agents' metadata.rng, and that every parameter has a default.
func TestMetadataValid(t *testing.T) {
	xmllint := testenv.RequireTool(t, "xmllint")
	const dtd = "/usr/share/resource-agents/ra-api-1.dtd"
	const rng = "/usr/share/resource-agents/metadata.rng"
	testenv.RequireFile(t, dtd)
	testenv.RequireFile(t, rng)

	for _, agent := range []struct {
		name   string
		write  func(io.Writer) error
		params int
	}{{"vip", WriteMetadata, 13}, {"health", WriteHealthMetadata, 4}} {
		t.Run(agent.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := agent.write(&buf); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			f := filepath.Join(dir, agent.name+".xml")
			if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			// The DOCTYPE names ra-api-1.dtd relative to the document, as ocf-tester resolves it.
			if err := os.Symlink(dtd, filepath.Join(dir, "ra-api-1.dtd")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, args := range [][]string{{"--noout", "--valid", f}, {"--noout", "--relaxng", rng, f}} {
				if out, err := exec.CommandContext(ctx, xmllint, args...).CombinedOutput(); err != nil {
					t.Errorf("xmllint %v: %v\n%s", args, err, out)
				}
			}
			params := regexp.MustCompile(`<parameter name="([^"]+)"`).FindAllSubmatch(buf.Bytes(), -1)
			defaults := regexp.MustCompile(`<content type="[a-z]+" default="[^"]*"/>`).FindAll(buf.Bytes(), -1)
			if len(params) != agent.params || len(defaults) != len(params) {
				t.Errorf("%d parameters, %d with a default; want %d each", len(params), len(defaults), agent.params)
			}
		})
	}
}
