// Command vipctl-metrics exports a topology's VIP layer to Prometheus: over HTTP (--listen) or as a textfile for node_exporter (--textfile).
//
// It is a program of its own, run by `vipctl metrics`, so that Prometheus's client library and
// its package init never run in vipctl, which is also the OCF agent Pacemaker runs every few
// seconds.
package main

import "os"

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }
