package lab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vipctl/vipctl/internal/quote"
)

// FenceAgentName is the lab's fence agent: every lab host has it in its /usr/sbin, where
// Pacemaker's fencer looks for agents, so a fence block of a lab topology names it:
//
//	fence "power-lab-1" {
//	  agent = "fence_vipctl_lab"
//	  host  = "lab-1"
//	}
const FenceAgentName = "fence_vipctl_lab"

// fenceAgentScript is the program each host finds at /usr/sbin/fence_vipctl_lab: vipctl's lab
// fence agent (vipctl lab _fence) for this lab. It answers the metadata action itself:
// Pacemaker's controller asks for it as user hacluster, who may not reach the vipctl binary
// (in a directory only root may enter), while the fencer, which runs the other actions, is root.
func (l *Lab) fenceAgentScript() []byte {
	run := quote.Shell(l.state.Vipctl) + " lab _fence --dir " + quote.Shell(l.dir)
	return []byte(`#!/bin/sh
# The lab's fence agent, written by vipctl lab up: it asks the lab's BMC.
set -f
metadata() {
	cat <<'EOF'
` + fenceMetadata + `EOF
}
case "$*" in
"-o metadata" | "--action=metadata") metadata; exit 0 ;;
esac
if [ $# -eq 0 ]; then
	opts=$(cat)
	for o in $opts; do
		if [ "$o" = action=metadata ]; then metadata; exit 0; fi
	done
	printf '%s\n' "$opts" | ` + run + `
	exit
fi
exec ` + run + ` "$@"
`)
}

// fenceTimeout bounds one run of the agent, below Pacemaker's default of 60 s.
const fenceTimeout = bmcTimeout + 5*time.Second

// FenceAgent is the lab's fence agent, in the calling convention of the fence-agents
// package that Pacemaker's fencer uses: the options on stdin, one name=value per line
// (action, plug or port; the others are ignored), or on the command line as -o ACTION and
// -n HOST (--action=, --plug=, --port=). It asks the BMC of the lab in dir and returns the
// agent's exit code: 0 for success (for status: the host is on), 2 for status of a host that
// is off, 1 for a failure.
func FenceAgent(ctx context.Context, dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := fenceOptions(args, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", FenceAgentName, err)
		return 1
	}
	action := opts["action"]
	if action == "" {
		action = "reboot"
	}
	host := opts["plug"]
	if host == "" {
		host = opts["port"]
	}
	ctx, cancel := context.WithTimeout(ctx, fenceTimeout)
	defer cancel()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "%s: %s %s: %v\n", FenceAgentName, action, host, err)
		return 1
	}
	switch action {
	case "metadata":
		io.WriteString(stdout, fenceMetadata)
		return 0
	case "monitor", "validate-all": // the agent has no parameters of its own: the BMC must answer

		if _, err := askBMC(ctx, dir, "ping"); err != nil {
			return fail(err)
		}
		return 0
	case "list", "list-status":
		names, err := askBMC(ctx, dir, "list")
		if err != nil {
			return fail(err)
		}
		for _, n := range strings.Fields(names) {
			fmt.Fprintf(stdout, "%s,\n", n)
		}
		return 0
	}
	if host == "" {
		return fail(fmt.Errorf("no host: give plug=HOST"))
	}
	switch action {
	case "status":
		st, err := askBMC(ctx, dir, "status", host)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "Status: %s\n", strings.ToUpper(st))
		if st == "off" {
			return 2
		}
		return 0
	case "on", "off", "reboot":
		if _, err := askBMC(ctx, dir, action, host); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "Success: "+action)
		return 0
	}
	return fail(fmt.Errorf("unknown action"))
}

// fenceOptions reads the agent's options from its arguments or, when it has none, from stdin.
func fenceOptions(args []string, stdin io.Reader) (map[string]string, error) {
	opts := map[string]string{}
	if len(args) == 0 {
		sc := bufio.NewScanner(io.LimitReader(stdin, 1<<16))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("stdin: %q is not name=value", line)
			}
			opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		return opts, sc.Err()
	}
	short := map[string]string{"-o": "action", "-n": "plug"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if name, ok := short[a]; ok {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a value", a)
			}
			opts[name] = args[i+1]
			i++
			continue
		}
		name, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !ok {
			return nil, fmt.Errorf("unknown argument %q (give -o ACTION -n HOST, or name=value lines on stdin)", a)
		}
		opts[name] = v
	}
	return opts, nil
}

// fenceMetadata describes the agent as fence-agents' agents describe themselves (fence-agents'
// metadata format, which Pacemaker's fencer reads: it passes the target as plug).
const fenceMetadata = `<?xml version="1.0" ?>
<resource-agent name="fence_vipctl_lab" shortdesc="Power switch of a vipctl lab host">
<longdesc>fence_vipctl_lab powers a host of a vipctl lab off, on or through a reboot, through the lab's BMC: a process outside the hosts that every host reaches by a Unix socket in the lab's state directory. It exists only inside the lab's hosts.</longdesc>
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]" />
		<content type="string" default="reboot" />
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="plug" unique="0" required="1" obsoletes="port">
		<getopt mixed="-n, --plug=[host]" />
		<content type="string" />
		<shortdesc lang="en">The lab host to act on</shortdesc>
	</parameter>
	<parameter name="port" unique="0" required="0" deprecated="1">
		<getopt mixed="--port=[host]" />
		<content type="string" />
		<shortdesc lang="en">The lab host to act on (old name of plug)</shortdesc>
	</parameter>
</parameters>
<actions>
	<action name="on" automatic="0"/>
	<action name="off" />
	<action name="reboot" />
	<action name="status" />
	<action name="list" />
	<action name="list-status" />
	<action name="monitor" />
	<action name="metadata" />
	<action name="validate-all" />
</actions>
</resource-agent>
`
