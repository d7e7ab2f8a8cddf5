package pcmk

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/vipctl/vipctl/internal/testenv"
)

// A name that is not fence_NAME, or an agent missing from Dir, matches fs.ErrNotExist and
// runs nothing.
func TestFenceAgentsNotInstalled(t *testing.T) {
	refuse := RunFunc(func(_ context.Context, c Cmd) ([]byte, error) {
		t.Errorf("ran %s", c)
		return nil, nil
	})
	agents := FenceAgents{Runner: refuse, Dir: t.TempDir()}
	for _, name := range []string{"fence_missing", "../../bin/sh", "fence_../../bin/sh", "sh", "", "fence_"} {
		if _, err := agents.Metadata(context.Background(), name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Metadata(%q) = %v; want an error matching fs.ErrNotExist", name, err)
		}
	}
}

// The installed fence_ipmilan prints its metadata, the resource-agent document naming it.
func TestFenceAgentsMetadataInstalled(t *testing.T) {
	testenv.RequireFile(t, filepath.Join(FenceAgentDir, "fence_ipmilan"))
	out, err := FenceAgents{Runner: Local{}}.Metadata(context.Background(), "fence_ipmilan")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`<resource-agent name="fence_ipmilan"`)) {
		t.Errorf("fence_ipmilan -o metadata printed no resource-agent element:\n%s", out)
	}
}
