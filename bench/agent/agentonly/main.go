// Command agentonly is a diagnostic build of the vip agent without the rest of vipctl linked in:
// the benchmark runs it beside the real binary to show what the other packages' start-up costs.
// It is not installed anywhere; Pacemaker runs vipctl itself.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vipctl/vipctl/vip"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM) // as cmd/vipctl does
	a := &vip.Agent{Stdout: os.Stdout, Stderr: os.Stderr}
	code := a.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
