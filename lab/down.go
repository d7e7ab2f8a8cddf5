package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/procscan"
	"github.com/vipctl/vipctl/internal/wait"
)

// Down removes everything a lab made in dir ("" means DefaultDir): every process living in
// one of the lab's network namespaces, the namespaces (those recorded and any other carrying
// the lab's prefix) and the state directory. Running it when there is no lab does nothing.
func Down(ctx context.Context, dir string, logger *slog.Logger) error {
	log := orDiscard(logger)
	if dir == "" {
		dir = DefaultDir
	}
	names, err := labNamespaces(NamespacePrefix(dir))
	if err != nil {
		return err
	}
	if s, err := readState(dir); err == nil {
		for _, n := range s.Created {
			if !containsStr(names, n) {
				if _, err := os.Stat("/run/netns/" + n); err == nil {
					names = append(names, n)
				}
			}
		}
	}
	var errs []error
	if s, err := readState(dir); err == nil {
		if err := stopBMC(ctx, dir, s.BMC); err != nil {
			errs = append(errs, err)
		}
	}
	if err := killIn(ctx, names, log); err != nil {
		errs = append(errs, err)
	}
	for _, n := range names {
		log.Info("removing namespace", "netns", n)
		if _, err := netRunner.Run(ctx, pcmk.Command("ip", "netns", "delete", n)); err != nil {
			errs = append(errs, fmt.Errorf("lab: %w", err))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("lab: %w", err))
	}
	return errors.Join(errs...)
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// killIn SIGKILLs every process whose network namespace is one of names, until none is left.
// The pid-1 processes of the hosts' pid namespaces go first, and the rest only once those
// namespaces are empty: a process that entered a host (nsenter) is the child of an nsenter
// outside it, and must be reaped by that nsenter before the host's pid namespace can end.
func killIn(ctx context.Context, names []string, log *slog.Logger) error {
	var nss []os.FileInfo
	for _, n := range names {
		if fi, err := os.Stat("/run/netns/" + n); err == nil {
			nss = append(nss, fi)
		}
	}
	if len(nss) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	inits := func() []int {
		var ps []int
		for _, pid := range pidsInNetNS(nss) {
			if procscan.NSInit(pid) {
				ps = append(ps, pid)
			}
		}
		return ps
	}
	killed := map[int]bool{}
	err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) {
		ps := inits()
		for _, pid := range ps {
			log.Info("powering off", "pid", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed[pid] = true
		}
		// Wait until each host's init is reaped by its unshare (or orphaned), so that
		// killing unshare next cannot leave the init a zombie nobody reaps.
		for pid := range killed {
			if p, ok := procscan.Read(pid); ok && p.PPid != 1 {
				return false, nil
			}
		}
		return len(ps) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("lab: hosts in the lab's namespaces survive: %v: %w", inits(), err)
	}
	err = wait.Until(ctx, 50*time.Millisecond, func() (bool, error) {
		pids := pidsInNetNS(nss)
		for _, pid := range pids {
			log.Info("killing", "pid", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		return len(pids) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("lab: processes in the lab's namespaces survive: %v: %w", pidsInNetNS(nss), err)
	}
	return nil
}

// pidsInNetNS lists live processes whose network namespace is one of nss.
func pidsInNetNS(nss []os.FileInfo) []int { return procscan.Pids(procscan.In("net", nss...)) }

// procAlive reports whether pid is a process that has not exited (zombies have).
func procAlive(pid int) bool { return procscan.Alive(pid) }
