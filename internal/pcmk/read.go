package pcmk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Exit codes of the tools when their daemon does not run on the host.
const (
	// ExitNotConnected is crm_mon's (and other Pacemaker tools') CRM_EX_NOT_CONNECTED.
	ExitNotConnected = 102
	// exitCmapNoDaemon is corosync-cmapctl's, with "CS_ERR_LIBRARY" on standard error.
	exitCmapNoDaemon = 1
)

// CrmMonArgs are the arguments of the one crm_mon call every reader makes: the XML report,
// once, inactive resources included (a stopped VIP is listed, with no node).
var CrmMonArgs = []string{"--output-as=xml", "--one-shot", "--inactive"}

// clusterError is crm_mon's own reason, from its XML, for a run that failed: it matches
// ErrNoCluster and unwraps to the run's *ExitError.
type clusterError struct {
	reason error
	run    error
}

func (e *clusterError) Error() string   { return e.reason.Error() }
func (e *clusterError) Unwrap() []error { return []error{e.reason, e.run} }

// ReadCrmMon runs crm_mon (tool; "" is crm_mon on PATH) through r and reads its report.
// crm_mon exits non-zero when it cannot reach the cluster but still writes XML saying why:
// the error then carries that reason (it matches ErrNoCluster, and ExitCode gives crm_mon's
// exit code, ExitNotConnected while Pacemaker does not run). Any other failure is the run's.
func ReadCrmMon(ctx context.Context, r Runner, tool string) (Report, error) {
	if tool == "" {
		tool = "crm_mon"
	}
	out, err := r.Run(ctx, Command(tool, CrmMonArgs...))
	if err == nil {
		return Parse(out)
	}
	if ctx.Err() == nil && len(out) > 0 {
		if _, perr := Parse(out); errors.Is(perr, ErrNoCluster) {
			return Report{}, &clusterError{reason: perr, run: err}
		}
	}
	return Report{}, err
}

// NotRunning reports whether err, from ReadCrmMon, says Pacemaker does not run on the host
// (crm_mon cannot connect): any other error means the tool could not tell.
func NotRunning(err error) bool {
	code, ok := ExitCode(err)
	return ok && code == ExitNotConnected
}

// Status is a summary of crm_mon's report: what the lab prints and bootstrap waits for.
type Status struct {
	DC        string     `json:"dc"`                  // the designated controller's node name; "" when none is elected
	Quorate   bool       `json:"quorate"`             // the partition has quorum
	Online    []string   `json:"online"`              // node names online, sorted
	Offline   []string   `json:"offline,omitempty"`   // configured node names not online, sorted
	Resources []Resource `json:"resources,omitempty"` // primitives, in crm_mon's order
}

// Summary returns the report's Status.
func (r Report) Summary() Status {
	s := Status{DC: r.DC, Quorate: r.Quorate}
	for _, n := range r.Nodes {
		if n.Online {
			s.Online = append(s.Online, n.Name)
		} else {
			s.Offline = append(s.Offline, n.Name)
		}
	}
	slices.Sort(s.Online)
	slices.Sort(s.Offline)
	s.Resources = r.Resources
	return s
}

// ReadStatus is ReadCrmMon's report, summed up.
func ReadStatus(ctx context.Context, r Runner) (Status, error) {
	rep, err := ReadCrmMon(ctx, r, "")
	if err != nil {
		return Status{}, err
	}
	return rep.Summary(), nil
}

// ClusterName asks the running Corosync's configuration map for the cluster_name it was
// started with. running is false only when corosync-cmapctl says it cannot connect to Corosync;
// any other failure is an error, never "not running", and the name is never guessed.
func ClusterName(ctx context.Context, r Runner) (running bool, name string, err error) {
	out, err := r.Run(ctx, Command("corosync-cmapctl", "-g", "totem.cluster_name"))
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code == exitCmapNoDaemon && strings.Contains(ee.Stderr, "CS_ERR_LIBRARY") {
			return false, "", nil
		}
		return false, "", fmt.Errorf("cannot tell whether Corosync runs, or which cluster: %w", err)
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(out)), " = ")
	if !ok || strings.TrimSpace(v) == "" {
		return true, "", fmt.Errorf("which cluster the running Corosync is in: corosync-cmapctl said %q", out)
	}
	return true, strings.TrimSpace(v), nil
}

// Members counts the members the running Corosync has joined with (the host itself included).
func Members(ctx context.Context, r Runner) (int, error) {
	out, err := r.Run(ctx, Command("corosync-cmapctl", "-b", "runtime.members"))
	if err != nil {
		return 0, fmt.Errorf("the running Corosync's members: %w", err)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if ok && strings.HasSuffix(key, ".status (str)") && value == "joined" {
			n++
		}
	}
	return n, nil
}
