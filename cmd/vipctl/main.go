// Command vipctl renders, applies and checks a Pacemaker-fronted Patroni/HAProxy stack from one topology file.
package main

import "os"

func main() {
	if agent, args, ok := agentArgs(os.Args); ok { // an OCF agent: no command tree, OCF exit codes
		os.Exit(runAgent(agent, args, os.Stdout, os.Stderr))
	}
	if alertArgs(os.Args) { // the Pacemaker alert agent: no command tree
		os.Exit(runAlert(os.Stderr))
	}
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
