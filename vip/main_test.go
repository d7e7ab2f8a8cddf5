package vip

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vipctl/vipctl/vip/viptest"
)

// TestMain lets the test binary serve as the announcement helper: the agent re-runs
// /proc/self/exe with argv[0] "vip".
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "vip" {
		a := &Agent{Stdout: os.Stdout, Stderr: os.Stderr} // as cmd/vipctl runs it: no signal handler
		os.Exit(a.Run(context.Background(), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// agentEnv runs the agent in process against namespace A of a Pair.
type agentEnv struct {
	t      *testing.T
	pair   *viptest.Pair
	runDir string
	params map[string]string
}

func newAgentEnv(t *testing.T, pair *viptest.Pair, params map[string]string) *agentEnv {
	p := map[string]string{"network_namespace": pair.A}
	for k, v := range params {
		p[k] = v
	}
	return &agentEnv{t: t, pair: pair, runDir: t.TempDir(), params: p}
}

// run runs action and returns the exit code and stderr.
func (e *agentEnv) run(action string, extra ...string) (int, string) {
	e.t.Helper()
	env := map[string]string{}
	for k, v := range e.params {
		env["OCF_RESKEY_"+k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env["OCF_RESKEY_"+extra[i]] = extra[i+1]
	}
	var stdout, stderr bytes.Buffer
	a := &Agent{Getenv: func(k string) string { return env[k] }, Stdout: &stdout, Stderr: &stderr, RunDir: e.runDir}
	code := a.Run(context.Background(), []string{action})
	return code, stderr.String()
}
