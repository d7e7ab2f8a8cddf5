package procscan

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc is one process as /proc/PID/stat shows it.
type Proc struct {
	Pid   int
	PPid  int
	State byte   // R, S, D, Z, X, ...
	Comm  string // the command name (at most 15 bytes, as the kernel keeps it)
}

// Alive reports whether the process has not exited (a zombie has).
func (p Proc) Alive() bool { return p.State != 'Z' && p.State != 'X' }

// Read returns the process pid; false when there is none (it never existed, or was reaped).
func Read(pid int) (Proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses, so the last ')' ends it.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Proc{}, false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return Proc{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Proc{}, false
	}
	return Proc{Pid: pid, PPid: ppid, State: f[0][0], Comm: string(b[open+1 : end])}, true
}

// Alive reports whether pid is a process that has not exited.
func Alive(pid int) bool {
	p, ok := Read(pid)
	return ok && p.Alive()
}

// NS returns the namespace of kind ("net", "pid", "mnt", ...) of pid, to compare with
// os.SameFile.
func NS(pid int, kind string) (os.FileInfo, error) {
	return os.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
}

// In lists the live processes whose namespace of kind is one of nss, this process excluded.
func In(kind string, nss ...os.FileInfo) []Proc { return in(kind, true, nss) }

// InAll is In with the processes that have exited and wait for their parent (zombies) too.
func InAll(kind string, nss ...os.FileInfo) []Proc { return in(kind, false, nss) }

func in(kind string, live bool, nss []os.FileInfo) []Proc {
	if len(nss) == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		fi, err := NS(pid, kind)
		if err != nil {
			continue
		}
		for _, ns := range nss {
			if os.SameFile(fi, ns) {
				if p, ok := Read(pid); ok && (p.Alive() || !live) {
					out = append(out, p)
				}
				break
			}
		}
	}
	return out
}

// Pids returns the pids of procs.
func Pids(procs []Proc) []int {
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.Pid
	}
	return pids
}

// NSInit reports whether pid is pid 1 of a pid namespace below this one.
func NSInit(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "NSpid:" {
			return f[len(f)-1] == "1"
		}
	}
	return false
}

// FirstChild returns the first child of pid (the lowest pid among its children), or 0.
// Each thread of a process lists only the children it forked itself in its own
// task/TID/children file, so every thread's file is read: a Go program forks from any thread.
func FirstChild(pid int) int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	first := 0
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil && (first == 0 || c < first) {
				first = c
			}
		}
	}
	return first
}

// Descendants returns the processes of procs below root (its children, theirs, ...), in the
// order of procs. root itself need not be among procs.
func Descendants(root int, procs []Proc) []Proc {
	parent := make(map[int]int, len(procs))
	for _, p := range procs {
		parent[p.Pid] = p.PPid
	}
	var out []Proc
	for _, p := range procs {
		// Walk up at most len(procs) steps: a pid reused while we read cannot make a loop.
		for pp, n := p.PPid, 0; pp > 0 && n <= len(procs); pp, n = parent[pp], n+1 {
			if pp == root {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
