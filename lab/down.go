package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
	if err := killIn(ctx, names, log); err != nil {
		errs = append(errs, err)
	}
	r := execRunner{}
	for _, n := range names {
		log.Info("removing namespace", "netns", n)
		if err := r.run(ctx, "ip", "netns", "delete", n); err != nil {
			errs = append(errs, err)
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
			if nsInit(pid) {
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
			if ppid, ok := parentOf(pid); ok && ppid != 1 {
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

// parentOf returns the parent of pid, if pid exists (running or zombie).
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // state, ppid, ...
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// nsInit reports whether pid is pid 1 of a pid namespace below this one.
func nsInit(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "NSpid:" {
			return f[len(f)-1] == "1"
		}
	}
	return false
}

// pidsInNetNS lists live processes whose network namespace is one of nss.
func pidsInNetNS(nss []os.FileInfo) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fi, err := os.Stat(filepath.Join("/proc", e.Name(), "ns/net"))
		if err != nil {
			continue
		}
		for _, ns := range nss {
			if os.SameFile(fi, ns) && procAlive(pid) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// procAlive reports whether pid is a process that has not exited (zombies have).
func procAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
