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
	"syscall"
	"time"
)

// Down removes everything a lab made in dir ("" means DefaultDir): every process living in
// one of the lab's network namespaces, the namespaces (those recorded and any other carrying
// the lab's prefix) and the state directory. Running it when there is no lab does nothing.
func Down(ctx context.Context, dir string, logger *slog.Logger) error {
	log := orDiscard(logger)
	if dir == "" {
		dir = DefaultDir
	}
	names, err := labNamespaces()
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
	err := poll(ctx, 50*time.Millisecond, func() (bool, error) {
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
