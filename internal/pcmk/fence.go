package pcmk

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// FenceAgentDir is where Pacemaker's fencer looks for fence agents and where Debian's
// fence-agents package installs them.
const FenceAgentDir = "/usr/sbin"

// fenceAgentName is the shape of a fence agent's file name: nothing that leaves Dir.
var fenceAgentName = regexp.MustCompile(`^fence_[A-Za-z0-9_]+$`)

// FenceAgentPath returns where the fence agent named agent is installed, in FenceAgentDir; ok is
// false for a name that is not a fence-agents agent's (fence_NAME), such as cluster-glue's
// stonith plugins (external/ipmi), which Pacemaker finds elsewhere.
func FenceAgentPath(agent string) (path string, ok bool) {
	if !fenceAgentName.MatchString(agent) {
		return "", false
	}
	return filepath.Join(FenceAgentDir, agent), true
}

// FenceAgents reads fence agents' own metadata, the XML `fence_X -o metadata` prints, from the
// agents installed in Dir.
type FenceAgents struct {
	Runner Runner // runs the agent; Local on this host
	Dir    string // "" is FenceAgentDir
}

// Metadata runs `agent -o metadata` and returns what it printed. An agent that is not
// installed in Dir, or a name that is not a fence agent's (fence_NAME), is an error matching
// fs.ErrNotExist; nothing is run for it.
func (a FenceAgents) Metadata(ctx context.Context, agent string) ([]byte, error) {
	dir := a.Dir
	if dir == "" {
		dir = FenceAgentDir
	}
	if !fenceAgentName.MatchString(agent) {
		return nil, fmt.Errorf("fence agent %q: not a name of the form fence_NAME: %w", agent, fs.ErrNotExist)
	}
	path := filepath.Join(dir, agent)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("fence agent %s: %w", agent, err)
	}
	return a.Runner.Run(ctx, Command(path, "-o", "metadata"))
}
