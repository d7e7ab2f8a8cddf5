// Command agentonly is a diagnostic build of the vip agent without the rest of vipctl linked in:
// the benchmark runs it beside the real binary to show what the other packages' start-up costs.
// It is not installed anywhere; Pacemaker runs vipctl itself.
package main

import (
	"context"
	"os"

	"github.com/vipctl/vipctl/vip"
)

func main() {
	a := &vip.Agent{Stdout: os.Stdout, Stderr: os.Stderr} // as cmd/vipctl runs it: no signal handler
	os.Exit(a.Run(context.Background(), os.Args[1:]))
}
