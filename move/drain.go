package move

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// moveConstraints returns the ids of the constraints crm_resource --move/--ban made for rsc in
// a constraints section (cibadmin --query --scope constraints).
func moveConstraints(constraints, rsc string) []string {
	var doc struct {
		Locations []struct {
			ID  string `xml:"id,attr"`
			Rsc string `xml:"rsc,attr"`
		} `xml:"rsc_location"`
	}
	ids := []string{}
	if err := xml.Unmarshal([]byte(constraints), &doc); err != nil {
		return ids
	}
	for _, l := range doc.Locations {
		if l.Rsc == rsc && (strings.HasPrefix(l.ID, "cli-prefer-") || strings.HasPrefix(l.ID, "cli-ban-")) {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

// Drain puts host in standby and waits until the VIP of its group runs on another host of the
// group and answers there. It refuses (a *RefusedError) when no other host of the group could
// take the VIP, unless force is set; forced, it waits only until the VIP left the host.
func Drain(ctx context.Context, t *topology.Topology, host string, force bool, opts Options) (DrainResult, error) {
	o := newOp(t, opts)
	if _, err := t.LookupHost(host); err != nil {
		return DrainResult{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	res := DrainResult{Host: host, Groups: []Moved{}}
	r, err := o.status(ctx)
	if err != nil {
		return res, err
	}
	if _, ok := node(r, host); !ok {
		return res, fmt.Errorf("cannot drain %s: it is not a member of the cluster as crm_mon sees it", host)
	}
	var groups []topology.HostGroup
	var stranded []string
	for _, g := range t.Groups {
		if !slices.Contains(g.Hosts, host) {
			continue
		}
		groups = append(groups, g)
		if !slices.ContainsFunc(g.Hosts, func(h string) bool { ok, _ := eligible(r, h); return ok && h != host }) {
			stranded = append(stranded, g.Name)
		}
	}
	if len(stranded) > 0 {
		if !force {
			return res, &RefusedError{Action: "draining " + host, Groups: stranded, Why: "every other host of the group is offline or in standby; --force drains anyway"}
		}
		res.Forced = true
	}
	start := time.Now()
	if _, err := o.tool(ctx, "crm_attribute", "--type", "nodes", "--node", host, "--name", "standby", "--update", "on"); err != nil {
		return res, err
	}
	res.Standby = true
	o.opts.Progress(fmt.Sprintf("%s: standby on, waiting for its VIPs to leave", host))
	for _, g := range groups {
		m := Moved{Group: g.Name, VIP: g.VIP.Prefix.Addr(), From: holders(r, g.VIPID())}
		if m.From == nil {
			m.From = []string{}
		}
		if slices.Contains(stranded, g.Name) {
			err = o.waitGone(ctx, g, host, start, &m)
		} else {
			err = o.waitRuns(ctx, g, func(n string) bool { return n != host }, start, &m)
		}
		res.Groups = append(res.Groups, m)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// waitGone waits until the VIP of g no longer runs on host (a forced drain of its last host).
func (o *op) waitGone(ctx context.Context, g topology.HostGroup, host string, start time.Time, m *Moved) error {
	ctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	rsc := g.VIPID()
	var last []string
	err := wait.Until(ctx, o.opts.Poll, func() (bool, error) {
		r, err := o.status(ctx)
		if err != nil {
			return false, nil
		}
		last = holders(r, rsc)
		return !slices.Contains(last, host), nil
	})
	m.Elapsed = Duration(time.Since(start))
	if len(last) == 1 {
		m.To = last[0]
	}
	if err != nil {
		return fmt.Errorf("%s still runs on %s after %v: %w", rsc, host, o.opts.Timeout, err)
	}
	o.opts.Progress(fmt.Sprintf("%s: left %s (%.1f s)", rsc, host, time.Since(start).Seconds()))
	return nil
}

// Undrain takes host out of standby and waits until crm_mon shows it so. Its group's VIP stays
// where it runs (stickiness).
func Undrain(ctx context.Context, t *topology.Topology, host string, opts Options) (DrainResult, error) {
	o := newOp(t, opts)
	if _, err := t.LookupHost(host); err != nil {
		return DrainResult{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	res := DrainResult{Host: host, Standby: true, Groups: []Moved{}}
	start := time.Now()
	if _, err := o.tool(ctx, "crm_attribute", "--type", "nodes", "--node", host, "--name", "standby", "--update", "off"); err != nil {
		return res, err
	}
	wctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	var last *DrainResult
	err := wait.Until(wctx, o.opts.Poll, func() (bool, error) {
		r, err := o.status(wctx)
		if err != nil {
			return false, nil
		}
		n, ok := node(r, host)
		if !ok || n.Standby {
			return false, nil
		}
		done := DrainResult{Host: host, Groups: []Moved{}}
		for _, g := range t.Groups {
			if slices.Contains(g.Hosts, host) {
				on := holders(r, g.VIPID())
				m := Moved{Group: g.Name, VIP: g.VIP.Prefix.Addr(), From: on, Elapsed: Duration(time.Since(start))}
				if m.From == nil {
					m.From = []string{}
				}
				if len(on) == 1 {
					m.To = on[0]
				}
				done.Groups = append(done.Groups, m)
			}
		}
		last = &done
		return true, nil
	})
	if err != nil {
		return res, fmt.Errorf("%s still in standby after %v: %w", host, o.opts.Timeout, err)
	}
	o.opts.Progress(fmt.Sprintf("%s: out of standby (%.1f s)", host, time.Since(start).Seconds()))
	return *last, nil
}
