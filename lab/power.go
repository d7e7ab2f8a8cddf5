package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// stateLock is the file whose flock guards state.json: the lab's BMC (a process of its own,
// see ServeBMC) powers hosts off and on while the process that brought the lab up, or
// another vipctl, fails and heals them.
const stateLock = "state.lock"

// begin takes the state lock and reads the state afresh, for a change that saves it: what
// another process recorded is never overwritten with an older copy. Call the returned
// function to release the lock. Methods that begin never call each other.
func (l *Lab) begin() (func(), error) {
	f, err := os.OpenFile(filepath.Join(l.dir, stateLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lab: lock %s: %w", f.Name(), err)
	}
	switch s, err := readState(l.dir); {
	case err == nil:
		l.state = s
	case !errors.Is(err, ErrNotUp): // nothing recorded yet (a lab being built): the copy in memory is all there is
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// changeHost runs f on the named host's state under the state lock (see begin) and saves
// the state when f succeeds.
func (l *Lab) changeHost(name string, f func(*HostState) error) error {
	unlock, err := l.begin()
	if err != nil {
		return err
	}
	defer unlock()
	hs, err := l.state.host(name)
	if err != nil {
		return err
	}
	if err := f(hs); err != nil {
		return err
	}
	return l.save()
}

// reload reads the recorded state afresh for a method that only reads it (state.json is
// replaced by rename, so it is never seen half-written). When it cannot be read, the copy in
// memory stays.
func (l *Lab) reload() {
	if s, err := readState(l.dir); err == nil {
		l.state = s
	}
}

// PowerOff cuts the named host's power as its BMC does: every process of the host killed, its
// addresses flushed and its interfaces down, as after a power cut. Its cable stays in: the
// switch's ports are left as they are. A host that is off already stays off.
func (l *Lab) PowerOff(ctx context.Context, name string) error {
	return l.changeHost(name, func(hs *HostState) error {
		if hs.PowerOff {
			return nil
		}
		return l.powerOff(ctx, hs)
	})
}

// PowerOn boots the named host again when it is off: its interfaces up with their addresses,
// Corosync and Pacemaker started with what the host has on disk (a host made with --fresh
// starts nothing: bootstrap never enables the services at boot), and the stack's processes when
// the lab runs the stack. A host that is on is left alone.
func (l *Lab) PowerOn(ctx context.Context, name string) error {
	return l.changeHost(name, func(hs *HostState) error {
		if !hs.PowerOff {
			return nil
		}
		return l.powerOn(ctx, hs)
	})
}

// Powered reports whether the named host is on, as the lab records it.
func (l *Lab) Powered(name string) (bool, error) {
	l.reload()
	hs, err := l.state.host(name)
	if err != nil {
		return false, err
	}
	return !hs.PowerOff, nil
}

// powerOff kills every process of the host and leaves its interfaces down without addresses.
func (l *Lab) powerOff(ctx context.Context, hs *HostState) error {
	if hs.Link1 != nil {
		if err := l.ip(ctx, hs.NetNS, "addr", "flush", "dev", hs.Link1.NIC); err != nil {
			return err
		}
		if err := l.ip(ctx, hs.NetNS, "link", "set", hs.Link1.NIC, "down"); err != nil {
			return err
		}
	}
	if h, err := l.host(hs); err == nil {
		if err := h.Kill(ctx); err != nil {
			return err
		}
	}
	if err := l.ip(ctx, hs.NetNS, "addr", "flush", "dev", hs.NIC); err != nil {
		return err
	}
	if err := l.ip(ctx, hs.NetNS, "link", "set", hs.NIC, "down"); err != nil {
		return err
	}
	hs.PowerOff, hs.Pid = true, 0
	return nil
}

// powerOn brings the host's interfaces up with their addresses and starts it.
func (l *Lab) powerOn(ctx context.Context, hs *HostState) error {
	if err := l.ip(ctx, hs.NetNS, "link", "set", hs.NIC, "up"); err != nil {
		return err
	}
	if err := l.addAddr(ctx, hs.NetNS, hs.NIC, hs.Address); err != nil {
		return err
	}
	if hs.Link1 != nil {
		if err := l.ip(ctx, hs.NetNS, "link", "set", hs.Link1.NIC, "up"); err != nil {
			return err
		}
		if err := l.addAddr(ctx, hs.NetNS, hs.Link1.NIC, hs.Link1.Address); err != nil {
			return err
		}
	}
	if err := l.startHost(ctx, hs); err != nil {
		return err
	}
	if l.state.Stack {
		return l.startHostStack(ctx, hs)
	}
	return nil
}
