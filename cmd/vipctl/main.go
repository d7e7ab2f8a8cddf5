// Command vipctl renders, applies and checks a Pacemaker-fronted Patroni/HAProxy stack from one topology file.
package main

import "os"

func main() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) }
