package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/vipctl/vipctl/topology"
)

// ErrNotFresh is returned by the membership changes of a lab whose hosts the lab configures
// itself (not made with --fresh): there, vipctl bootstrap does not manage the members.
var ErrNotFresh = errors.New("lab: membership changes need a lab made with --fresh (vipctl bootstrap manages its members)")

// hostChange is what a membership change does to the lab's machines.
type hostChange int

const (
	addMachine    hostChange = iota // a new machine
	removeMachine                   // a machine gone for good
)

// AddHost gives the lab a new machine for the named host of topologyFile, as `lab up --fresh`
// makes one: its namespaces on the switch, the packages' files, nothing running, nothing
// configured. The lab then runs topologyFile (copied to the file every host sees,
// State().Topology), which must name the lab's hosts with their addresses and this one more.
// The cluster is not touched: vipctl bootstrap, inside the members and the new host, adds it.
func (l *Lab) AddHost(ctx context.Context, topologyFile, name string) error {
	return l.changeHosts(ctx, topologyFile, name, addMachine)
}

// RemoveHost takes the named machine out of the lab for good: every process of it killed, its
// namespaces and its disk removed. The lab then runs topologyFile, which must name the lab's
// other hosts with their addresses and not this one. Pacemaker and Corosync on the others are
// not touched: the runbook (docs/bootstrap.md) does that before.
func (l *Lab) RemoveHost(ctx context.Context, topologyFile, name string) error {
	return l.changeHosts(ctx, topologyFile, name, removeMachine)
}

func (l *Lab) changeHosts(ctx context.Context, file, name string, change hostChange) error {
	unlock, err := l.begin()
	if err != nil {
		return err
	}
	defer unlock()
	if !l.state.Fresh {
		return ErrNotFresh
	}
	if len(l.state.Partition) > 0 {
		return errors.New("lab: the lab is partitioned: heal it before changing its hosts")
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	t, err := topology.Parse(src, file)
	if err != nil {
		return err
	}
	if err := checkChange(l.state.Hosts, l.topo, t, name, change); err != nil {
		return err
	}
	if change == removeMachine {
		if err := l.decommission(ctx, name); err != nil {
			return err
		}
	}
	// The lab runs the new topology from now on, in the file every host sees.
	path := filepath.Join(l.dir, topoFile)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	t.File = path
	l.topo, l.state.Topology = t, path
	if change == removeMachine {
		return l.save()
	}
	h, _ := t.Host(name)
	hs, err := planHost(t, l.state.Prefix, h, l.freePort())
	if err != nil {
		return err
	}
	l.state.Hosts = append(l.state.Hosts, hs)
	if err := l.save(); err != nil {
		return err
	}
	l.log.Info("adding a machine", "host", name, "address", hs.Address)
	if err := l.buildHostNetwork(ctx, hs); err != nil {
		return err
	}
	return l.startHost(ctx, &l.state.Hosts[len(l.state.Hosts)-1])
}

// checkChange accepts a new topology for the lab that changes only the named host: the lab's
// network keeps every other host as it is.
func checkChange(hosts []HostState, old, t *topology.Topology, name string, change hostChange) error {
	inLab := slices.ContainsFunc(hosts, func(hs HostState) bool { return hs.Name == name })
	_, inNew := t.Host(name)
	switch {
	case change == addMachine && inLab:
		return fmt.Errorf("lab: host %s is in the lab already", name)
	case change == removeMachine && !inLab:
		return fmt.Errorf("lab: %w %q", topology.ErrUnknownHost, name)
	case change == removeMachine && inNew:
		return fmt.Errorf("lab: %s still names host %s: remove it from the topology first", t.File, name)
	case change == addMachine && !inNew:
		return fmt.Errorf("lab: %s has no host %s", t.File, name)
	}
	for _, hs := range hosts {
		if hs.Name == name {
			continue
		}
		was, _ := old.Host(hs.Name)
		now, ok := t.Host(hs.Name)
		if !ok {
			return fmt.Errorf("lab: %s lacks host %s of the lab (change one host at a time)", t.File, hs.Name)
		}
		if !slices.Equal(was.Links, now.Links) || was.Address != now.Address {
			return fmt.Errorf("lab: %s gives host %s other addresses than the lab's (%v)", t.File, hs.Name, hs.Address.Addr())
		}
	}
	for _, h := range t.Hosts {
		if h.Name != name && !slices.ContainsFunc(hosts, func(hs HostState) bool { return hs.Name == h.Name }) {
			return fmt.Errorf("lab: %s names host %s, which is not in the lab (change one host at a time)", t.File, h.Name)
		}
	}
	return nil
}

// decommission powers the named machine off for good and removes its namespaces and its disk
// (its state directory) from the lab.
func (l *Lab) decommission(ctx context.Context, name string) error {
	if _, err := l.state.host(name); err != nil {
		return err
	}
	i := slices.IndexFunc(l.state.Hosts, func(hs HostState) bool { return hs.Name == name })
	hs := l.state.Hosts[i]
	l.log.Info("removing a machine", "host", name)
	if err := killIn(ctx, []string{hs.NetNS}, l.log); err != nil {
		return err
	}
	if _, err := os.Stat("/run/netns/" + hs.NetNS); err == nil {
		if err := l.ip(ctx, "", "netns", "delete", hs.NetNS); err != nil {
			return err
		}
	}
	l.state.Created = slices.DeleteFunc(l.state.Created, func(n string) bool { return n == hs.NetNS })
	l.state.Hosts = slices.Delete(l.state.Hosts, i, i+1)
	if err := l.save(); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(l.dir, hostsSubdir, name)); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// freePort is the first switch port name hN that no host of the lab uses.
func (l *Lab) freePort() string {
	for n := 1; ; n++ {
		p := "h" + strconv.Itoa(n)
		if !slices.ContainsFunc(l.state.Hosts, func(hs HostState) bool { return hs.Port == p }) {
			return p
		}
	}
}
