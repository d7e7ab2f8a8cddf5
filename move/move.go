package move

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// Errors of the package edge, matched with errors.Is.
var (
	// ErrUsage: the group or host named is not one of the topology (or not of the group).
	ErrUsage = errors.New("bad group or host")
	// ErrRefused: the cluster could not do what was asked without leaving a group with no host.
	ErrRefused = errors.New("refused")
	// ErrTool: a Pacemaker tool failed.
	ErrTool = errors.New("pacemaker tool failed")
)

// RefusedError names the groups a drain (or move) would leave with no host; it matches ErrRefused.
type RefusedError struct {
	Action string   // what was refused: "draining lab-1", "moving vip-lab away from lab-1"
	Groups []string // the groups it would leave with no host
	Why    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: %s would leave group %s with no host to run on (%s)",
		ErrRefused, e.Action, strings.Join(e.Groups, ", "), e.Why)
}

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Answerer reports how addr answers on host right now: a word naming the check that saw it
// ("netlink", "arp", "ndp"), or "" when it does not answer there.
type Answerer func(ctx context.Context, addr netip.Addr, host topology.Host) (string, error)

// Defaults of Options.
const (
	DefaultTimeout = 2 * time.Minute
	defaultPoll    = 250 * time.Millisecond
	toolTimeout    = 30 * time.Second
)

// Options configure the operations. The zero value runs Pacemaker's tools from PATH and checks
// answers with ARP/neighbour probes (or netlink on the holder itself).
type Options struct {
	Run      pcmk.Runner   // Pacemaker's tools; nil: pcmk.Local with a timeout of 30 s per run
	Answers  Answerer      // nil: NetAnswers
	Timeout  time.Duration // bound of the wait; 0: DefaultTimeout
	Poll     time.Duration // 0: 250 ms
	Progress func(string)  // a line for each change seen while waiting; nil: none
}

func (o *Options) fill() {
	if o.Run == nil {
		o.Run = pcmk.Local{Timeout: toolTimeout}
	}
	if o.Answers == nil {
		o.Answers = NetAnswers
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Poll <= 0 {
		o.Poll = defaultPoll
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// tool runs one of Pacemaker's tools; a failure matches ErrTool and carries the tool's stderr.
func (o *op) tool(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := o.opts.Run.Run(ctx, pcmk.Command(name, args...))
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrTool, err)
	}
	return out, nil
}

// Duration is a time.Duration written in JSON as milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration as a number of milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(time.Duration(d).Milliseconds(), 10)), nil
}

// Moved is where one group's VIP ran before an operation and where it runs after it.
type Moved struct {
	Group string     `json:"group"`
	VIP   netip.Addr `json:"vip"`
	From  []string   `json:"from"` // holders before
	To    string     `json:"to"`   // the one holder after; "" when it runs nowhere
	// Answered says how the address was seen answering on To: "netlink" (this host holds it),
	// "arp"/"ndp" (its MAC answered), or "" when To is "".
	Answered string   `json:"answered,omitempty"`
	Elapsed  Duration `json:"elapsed_ms"`
}

// MoveResult is the outcome of Move.
type MoveResult struct {
	Moved
	Constraint string     `json:"constraint"`        // the constraint Pacemaker created (cli-prefer-… or cli-ban-…)
	Lifetime   Duration   `json:"lifetime_ms"`       // 0: until vip unmove
	Expires    *time.Time `json:"expires,omitempty"` // when Pacemaker drops the constraint
	Already    bool       `json:"already_there"`     // the VIP already ran only on the target: it stays, with the new constraint
}

// UnmoveResult is the outcome of Unmove.
type UnmoveResult struct {
	Group   string   `json:"group"`
	Cleared []string `json:"cleared"` // the move constraints removed
	RunsOn  []string `json:"runs_on"` // where the VIP runs after (stickiness keeps it)
}

// DrainResult is the outcome of Drain and Undrain.
type DrainResult struct {
	Host    string  `json:"host"`
	Standby bool    `json:"standby"`          // the host's standby state after
	Forced  bool    `json:"forced,omitempty"` // --force overrode a refusal
	Groups  []Moved `json:"groups"`           // the VIPs that ran on the host, and where they run now
}

// op is one operation on the live cluster.
type op struct {
	t    *topology.Topology
	opts Options
}

func newOp(t *topology.Topology, opts Options) *op {
	opts.fill()
	return &op{t: t, opts: opts}
}

// status reads crm_mon (pcmk.ReadCrmMon); a failure matches ErrTool.
func (o *op) status(ctx context.Context) (pcmk.Report, error) {
	r, err := pcmk.ReadCrmMon(ctx, o.opts.Run, "")
	if err != nil {
		return pcmk.Report{}, fmt.Errorf("%w: %w", ErrTool, err)
	}
	return r, nil
}

// holders returns the nodes where rsc is active (and not failed there).
func holders(r pcmk.Report, rsc string) []string {
	var on []string
	for _, res := range r.Resources {
		if res.ID == rsc && res.Active && !res.Failed {
			on = append(on, res.Nodes...)
		}
	}
	slices.Sort(on)
	return slices.Compact(on)
}

func node(r pcmk.Report, name string) (pcmk.Node, bool) {
	i := slices.IndexFunc(r.Nodes, func(n pcmk.Node) bool { return n.Name == name })
	if i < 0 {
		return pcmk.Node{}, false
	}
	return r.Nodes[i], true
}

// eligible reports whether a node can take resources: online, not standby, not in maintenance,
// not unclean, not pending.
func eligible(r pcmk.Report, name string) (bool, string) {
	n, ok := node(r, name)
	switch {
	case !ok:
		return false, "not a member of the cluster"
	case !n.Online:
		return false, "offline"
	case n.Standby:
		return false, "in standby"
	case n.Maintenance:
		return false, "in maintenance"
	case n.Unclean:
		return false, "unclean"
	case n.Pending:
		return false, "pending"
	}
	return true, ""
}

func (o *op) group(name string) (topology.HostGroup, error) {
	g, ok := o.t.Group(name)
	if !ok {
		return topology.HostGroup{}, fmt.Errorf("%w: no host group %q in %s", ErrUsage, name, o.t.File)
	}
	return g, nil
}

// waitRuns waits until the VIP of g runs on exactly one node accepted by ok, and its address
// answers there. It reports each change of holders through Progress.
func (o *op) waitRuns(ctx context.Context, g topology.HostGroup, ok func(string) bool, start time.Time, m *Moved) error {
	ctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	rsc := g.VIPID()
	var last []string
	said := ""
	say := func(s string) {
		if s != said {
			said = s
			o.opts.Progress(fmt.Sprintf("%s: %s (%.1f s)", rsc, s, time.Since(start).Seconds()))
		}
	}
	err := wait.Until(ctx, o.opts.Poll, func() (bool, error) {
		r, err := o.status(ctx)
		if err != nil {
			say("crm_mon: " + err.Error())
			return false, nil
		}
		last = holders(r, rsc)
		switch {
		case len(last) == 0:
			say("stopped, waiting for a start")
			return false, nil
		case len(last) > 1:
			say("active on " + strings.Join(last, ", "))
			return false, nil
		case !ok(last[0]):
			say("still on " + last[0])
			return false, nil
		}
		h, err := o.t.LookupHost(last[0])
		if err != nil {
			return false, fmt.Errorf("%s runs on %s: %w", rsc, last[0], err)
		}
		say("started on " + last[0] + ", waiting for the address to answer")
		how, err := o.opts.Answers(ctx, g.VIP.Prefix.Addr(), h)
		if err != nil {
			say("probe: " + err.Error())
			return false, nil
		}
		if how == "" {
			return false, nil
		}
		m.To, m.Answered = last[0], how
		return true, nil
	})
	m.Elapsed = Duration(time.Since(start))
	if err != nil {
		return fmt.Errorf("%s did not come to answer where asked within %v (runs on %v, last seen: %s): %w",
			rsc, o.opts.Timeout, last, said, err)
	}
	o.opts.Progress(fmt.Sprintf("%s: answers on %s (%.1f s)", rsc, m.To, time.Since(start).Seconds()))
	return nil
}

// Move moves the VIP of group to host to (or, with to == "", away from where it runs) with a
// Pacemaker constraint that lasts lifetime (0: until Unmove) and waits until the address answers
// on the new holder. A move replaces the group's earlier move constraints, also when the VIP
// already runs on to: the result is always the VIP on to with exactly the new constraint.
func Move(ctx context.Context, t *topology.Topology, group, to string, lifetime time.Duration, opts Options) (MoveResult, error) {
	o := newOp(t, opts)
	g, err := o.group(group)
	if err != nil {
		return MoveResult{}, err
	}
	if to != "" && !slices.Contains(g.Hosts, to) {
		return MoveResult{}, fmt.Errorf("%w: %q is not a host of group %s (%s)", ErrUsage, to, g.Name, strings.Join(g.Hosts, ", "))
	}
	if lifetime < 0 {
		return MoveResult{}, fmt.Errorf("%w: lifetime %v is negative", ErrUsage, lifetime)
	}
	rsc := g.VIPID()
	r, err := o.status(ctx)
	if err != nil {
		return MoveResult{}, err
	}
	res := MoveResult{Moved: Moved{Group: g.Name, VIP: g.VIP.Prefix.Addr(), From: holders(r, rsc)}, Lifetime: Duration(lifetime)}
	if res.From == nil {
		res.From = []string{}
	}
	start := time.Now()

	args := []string{"--resource", rsc}
	var accept func(string) bool
	if to != "" {
		if ok, why := eligible(r, to); !ok {
			return res, fmt.Errorf("cannot move %s to %s: %s is %s", rsc, to, to, why)
		}
		args = append(args, "--move", "--node", to)
		if len(res.From) == 1 && res.From[0] == to {
			// Without --force crm_resource refuses a move to where the resource already runs
			// (Pacemaker 2.1.5: exit 108, "Requested item already exists"), and the clear
			// before would leave no constraint at all. --force makes it set the preference
			// anyway; it bans the old location only when that differs from the new one, so
			// here it adds nothing else.
			res.Already = true
			args = append(args, "--force")
		}
		res.Constraint = "cli-prefer-" + rsc
		accept = func(n string) bool { return n == to }
	} else {
		if len(res.From) != 1 {
			return res, fmt.Errorf("cannot move %s away: it runs on %d hosts (%v); name one with --to", rsc, len(res.From), res.From)
		}
		from := res.From[0]
		var others []string
		for _, h := range g.Hosts {
			if ok, _ := eligible(r, h); ok && h != from {
				others = append(others, h)
			}
		}
		if len(others) == 0 {
			return res, &RefusedError{Action: "moving " + rsc + " away from " + from, Groups: []string{g.Name},
				Why: "no other host of the group is online and out of standby"}
		}
		args = append(args, "--ban", "--node", from)
		res.Constraint = "cli-ban-" + rsc + "-on-" + from
		accept = func(n string) bool { return n != from }
	}
	if lifetime > 0 {
		args = append(args, "--lifetime", ISODuration(lifetime))
		exp := time.Now().Add(lifetime).UTC().Truncate(time.Second)
		res.Expires = &exp
	}
	// An earlier move of the group is replaced, not stacked on.
	if _, err := o.tool(ctx, "crm_resource", "--resource", rsc, "--clear"); err != nil {
		return res, err
	}
	if _, err := o.tool(ctx, "crm_resource", args...); err != nil {
		return res, err
	}
	o.opts.Progress(fmt.Sprintf("%s: constraint %s set, waiting for the move", rsc, res.Constraint))
	err = o.waitRuns(ctx, g, accept, start, &res.Moved)
	return res, err
}

// ISODuration writes d as the ISO 8601 duration crm_resource --lifetime takes, in whole seconds
// (rounded up): PT90S.
func ISODuration(d time.Duration) string {
	s := (d + time.Second - 1) / time.Second
	return "PT" + strconv.FormatInt(int64(s), 10) + "S"
}

// Unmove removes the move constraints of a group (crm_resource --clear). The VIP stays where it
// runs: stickiness keeps it.
func Unmove(ctx context.Context, t *topology.Topology, group string, opts Options) (UnmoveResult, error) {
	o := newOp(t, opts)
	g, err := o.group(group)
	if err != nil {
		return UnmoveResult{}, err
	}
	rsc := g.VIPID()
	res := UnmoveResult{Group: g.Name, Cleared: []string{}}
	out, err := o.tool(ctx, "cibadmin", "--query", "--scope", "constraints")
	if err != nil {
		return res, err
	}
	res.Cleared = moveConstraints(string(out), rsc)
	if _, err := o.tool(ctx, "crm_resource", "--resource", rsc, "--clear"); err != nil {
		return res, err
	}
	r, err := o.status(ctx)
	if err != nil {
		return res, err
	}
	res.RunsOn = holders(r, rsc)
	if res.RunsOn == nil {
		res.RunsOn = []string{}
	}
	return res, nil
}
