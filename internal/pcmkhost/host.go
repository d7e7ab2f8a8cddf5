package pcmkhost

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/procscan"
	"github.com/vipctl/vipctl/internal/wait"
)

//go:embed supervisor.sh
var supervisorScript string

// systemctlScript is a fresh host's service manager (see Config.Fresh).
//
//go:embed systemctl.sh
var systemctlScript string

// ErrNotRunning is returned when a host's processes are gone (or were never there).
var ErrNotRunning = errors.New("pcmkhost: host not running")

// Config describes one host.
type Config struct {
	Name         string // node name, and the hostname of the host's UTS namespace
	NetNS        string // existing named network namespace (ip netns) the host lives in
	StateDir     string // host-private directories are created beneath it
	CorosyncConf []byte // the host's /etc/corosync/corosync.conf (not with Fresh)
	Authkey      []byte // the host's /etc/corosync/authkey (not with Fresh)
	// Fresh makes a host as a new machine with the packages installed: no corosync.conf, no
	// key, no CIB, no daemon running, and its own /etc/corosync, /etc/cron.d, /root, /var/lib
	// and /usr/lib/ocf/resource.d/vipctl (the machine's other OCF agents stay visible). Its
	// systemctl starts, stops and reports the units corosync and pacemaker, as bootstrap
	// calls them on a real host. What the host writes there stays in StateDir across a
	// power-off.
	Fresh bool
	// Share lists absolute directories of the machine that stay visible at the same path
	// inside the host, even under /run (the host has its own /run).
	Share []string
	// Sbin holds programs that the host sees in its /usr/sbin beside the machine's own (an
	// overlay in the host's mount namespace: nothing is written to the machine's /usr/sbin),
	// by name: the lab's fence agent, which Pacemaker looks for there.
	Sbin map[string][]byte
}

// Host is one running host: a supervisor that is pid 1 of the host's own pid namespace,
// in private mount and UTS namespaces, inside Config.NetNS, running corosync and pacemakerd.
// Every process of the host lives in that pid namespace, so killing the supervisor
// powers the whole host off.
type Host struct {
	cfg  Config
	pid  int           // the supervisor (pid 1 of the host's pid namespace), as seen from here
	done chan struct{} // closed when the process we started has been reaped; nil after Attach
}

// Pid returns the supervisor's pid: pass it to Attach from another process.
func (h *Host) Pid() int { return h.pid }

// Name returns the host's name.
func (h *Host) Name() string { return h.cfg.Name }

// Start prepares the host's state directory and starts its supervisor, which mounts the
// host-private /run, /dev/shm, /etc/corosync, /var/lib/corosync, /var/lib/pacemaker,
// /var/lib/vipctl and /var/log/pacemaker, then runs corosync -f and pacemakerd -f. It returns once pacemakerd
// has been started; WaitOnline waits for the cluster. A Fresh host starts nothing: Start
// returns once its directories are mounted. The host keeps running after this
// process exits: Stop or Kill it (from here or through Attach).
func Start(ctx context.Context, cfg Config) (*Host, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := prepare(cfg); err != nil {
		return nil, err
	}
	started := filepath.Join(cfg.StateDir, "started")
	if err := os.Remove(started); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pcmkhost: %s: %w", cfg.Name, err)
	}
	logf, err := os.OpenFile(filepath.Join(cfg.StateDir, "host.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("pcmkhost: %s: %w", cfg.Name, err)
	}
	defer logf.Close()

	// The supervisor outlives this call (and this process), so it is not tied to ctx;
	// Stop and Kill end it. nsenter joins the network namespace and execs unshare, which
	// forks the supervisor as pid 1 of a new pid namespace and kills it if unshare dies.
	script := filepath.Join(cfg.StateDir, "supervisor.sh")
	args := []string{"--net=/run/netns/" + cfg.NetNS, "--",
		"unshare", "--pid", "--kill-child", "--mount-proc", "--uts", "--propagation", "private", "--",
		"sh", script, cfg.mode(), cfg.Name, cfg.StateDir}
	cmd := exec.Command("nsenter", append(args, cfg.Share...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pcmkhost: %s: start supervisor: %w", cfg.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()

	h := &Host{cfg: cfg, done: done}
	fail := func(err error) (*Host, error) {
		_ = cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("pcmkhost: %s: %w%s", cfg.Name, err, logTail(cfg.StateDir))
	}
	err = wait.Until(ctx, 50*time.Millisecond, func() (bool, error) {
		select {
		case <-done:
			return false, errors.New("supervisor exited during start-up")
		default:
		}
		if h.pid == 0 {
			h.pid = procscan.FirstChild(cmd.Process.Pid)
		}
		_, err := os.Stat(started)
		return h.pid != 0 && err == nil, nil
	})
	if err != nil {
		return fail(err)
	}
	return h, nil
}

// Attach returns the running host whose supervisor has pid (from Host.Pid), after checking
// that the process still lives in cfg.NetNS (a recycled pid is refused with ErrNotRunning).
func Attach(cfg Config, pid int) (*Host, error) {
	h := &Host{cfg: cfg, pid: pid}
	if !h.Alive() {
		return nil, fmt.Errorf("%w: %s (pid %d)", ErrNotRunning, cfg.Name, pid)
	}
	want, err := os.Stat("/run/netns/" + cfg.NetNS)
	if err != nil {
		return nil, fmt.Errorf("pcmkhost: %s: %w", cfg.Name, err)
	}
	got, err := procscan.NS(pid, "net")
	if err != nil || !os.SameFile(want, got) {
		return nil, fmt.Errorf("%w: %s: pid %d is not in network namespace %s", ErrNotRunning, cfg.Name, pid, cfg.NetNS)
	}
	return h, nil
}

// Alive reports whether the host's supervisor is running.
func (h *Host) Alive() bool {
	if h.done != nil {
		select {
		case <-h.done:
			return false
		default:
		}
	}
	return procscan.Alive(h.pid)
}

// Command returns a command that runs name inside the host: its mount, network, UTS and
// pid namespaces (so it ends when the host is killed).
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	a := append(append(pcmk.NSEnter{Pid: h.pid}.Args(), name), args...)
	return exec.CommandContext(ctx, "nsenter", a...)
}

// Stop shuts the host down in order (pacemakerd, then corosync) and waits until every
// process of the host is gone. When ctx ends first, the host is killed and ctx's error returned.
func (h *Host) Stop(ctx context.Context) error {
	if !h.Alive() {
		return nil
	}
	if err := syscall.Kill(h.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("pcmkhost: %s: stop: %w", h.cfg.Name, err)
	}
	err := h.waitGone(ctx)
	if err == nil {
		return nil
	}
	kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(fmt.Errorf("pcmkhost: %s: orderly stop: %w", h.cfg.Name, err), h.Kill(kctx))
}

// Kill powers the host off: SIGKILL to its supervisor, which the kernel turns into
// SIGKILL for every process of the host's pid namespace. It waits until they are gone.
func (h *Host) Kill(ctx context.Context) error {
	if !h.Alive() {
		return nil
	}
	if err := syscall.Kill(h.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("pcmkhost: %s: kill: %w", h.cfg.Name, err)
	}
	return h.waitGone(ctx)
}

// waitGone waits until the supervisor and every process of its pid namespace have exited. A
// process that entered the host (nsenter) is the child of an nsenter outside it, which stops
// itself when its child is stopped (SIGSTOP, as the soak's starve does) and, stopped, never
// reaps it: the host's pid namespace then never ends. Such parents are continued.
func (h *Host) waitGone(ctx context.Context) error {
	ns, _ := procscan.NS(h.pid, "pid")
	err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) {
		var left []procscan.Proc
		if ns != nil {
			left = procscan.InAll("pid", ns)
		}
		live := 0
		for _, p := range left {
			if p.Alive() {
				live++
			}
			if pp, ok := procscan.Read(p.PPid); ok && pp.State == 'T' {
				_ = syscall.Kill(pp.Pid, syscall.SIGCONT)
			}
		}
		return !h.Alive() && live == 0, nil
	})
	if err != nil {
		return fmt.Errorf("pcmkhost: %s: waiting for its processes to end: %w", h.cfg.Name, err)
	}
	if h.done != nil {
		select {
		case <-h.done:
		case <-ctx.Done():
			return fmt.Errorf("pcmkhost: %s: %w", h.cfg.Name, ctx.Err())
		}
	}
	return nil
}

// Pids returns the pids (as seen from here) of every running process of the host.
func (h *Host) Pids() []int { return procscan.Pids(h.procs()) }

func (h *Host) procs() []procscan.Proc {
	if !h.Alive() {
		return nil
	}
	ns, err := procscan.NS(h.pid, "pid")
	if err != nil {
		return nil
	}
	return procscan.In("pid", ns)
}

// ErrDaemonDead is returned by Check when the host runs but one of its daemons does not.
var ErrDaemonDead = errors.New("pcmkhost: a cluster daemon of the host is dead")

// Daemons are the processes a running host's cluster is made of.
var Daemons = []string{"corosync", "pacemakerd"}

// unitOf names the systemd unit of each of Daemons.
var unitOf = []string{"corosync", "pacemaker"}

// started reports whether a Fresh host's systemctl started unit and has not stopped it: its
// pid file is in the host's own /run (seen through the supervisor's root).
func (h *Host) started(unit string) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d/root/run/lab-services/%s.pid", h.pid, unit))
	return err == nil
}

// Running returns which of Daemons run in the host (a zombie does not).
func (h *Host) Running() map[string]bool {
	m := map[string]bool{}
	for _, p := range h.procs() {
		if slices.Contains(Daemons, p.Comm) {
			m[p.Comm] = true
		}
	}
	return m
}

// Dead returns those of Daemons that should run in the host and do not: on a Fresh host,
// those its systemctl started and did not stop.
func (h *Host) Dead() []string {
	running := h.Running()
	var dead []string
	for i, d := range Daemons {
		if h.cfg.Fresh && !h.started(unitOf[i]) {
			continue
		}
		if !running[d] {
			dead = append(dead, d)
		}
	}
	return dead
}

// Check reports whether the host is up as it should be: its supervisor alive and none of
// Daemons dead (see Dead). A dead daemon matches ErrDaemonDead and is named.
func (h *Host) Check() error {
	if !h.Alive() {
		return fmt.Errorf("%w: %s", ErrNotRunning, h.cfg.Name)
	}
	if dead := h.Dead(); len(dead) > 0 {
		return fmt.Errorf("%w: %s: %s not running", ErrDaemonDead, h.cfg.Name, strings.Join(dead, " and "))
	}
	return nil
}

// Revive starts again the dead daemons of a running host (see Dead), corosync before
// pacemakerd, and waits until they run or ctx ends. A Fresh host's are started by its
// systemctl, as an operator would; otherwise the supervisor restarts its own (on SIGUSR1).
func (h *Host) Revive(ctx context.Context) error {
	if !h.Alive() {
		return fmt.Errorf("%w: %s", ErrNotRunning, h.cfg.Name)
	}
	dead := h.Dead()
	if len(dead) == 0 {
		return nil
	}
	if h.cfg.Fresh {
		units := make([]string, 0, len(dead))
		for _, d := range dead {
			units = append(units, unitOf[slices.Index(Daemons, d)])
		}
		if out, err := h.Command(ctx, "systemctl", append([]string{"start"}, units...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("pcmkhost: %s: systemctl start %s: %w: %s", h.cfg.Name, strings.Join(units, " "), err, strings.TrimSpace(string(out)))
		}
	} else if err := syscall.Kill(h.pid, syscall.SIGUSR1); err != nil {
		return fmt.Errorf("pcmkhost: %s: signal the supervisor: %w", h.cfg.Name, err)
	}
	err := wait.Until(ctx, 100*time.Millisecond, func() (bool, error) { return len(h.Dead()) == 0, nil })
	if err != nil {
		return fmt.Errorf("pcmkhost: %s: starting %s again: %w%s", h.cfg.Name, strings.Join(dead, " and "), err, logTail(h.cfg.StateDir))
	}
	return nil
}

func (c Config) check() error {
	switch {
	case c.Name == "" || strings.ContainsAny(c.Name, "/ \t\n"):
		return fmt.Errorf("pcmkhost: host name %q: not a hostname", c.Name)
	case c.NetNS == "" || strings.Contains(c.NetNS, "/"):
		return fmt.Errorf("pcmkhost: %s: network namespace %q: not a name", c.Name, c.NetNS)
	case !filepath.IsAbs(c.StateDir):
		return fmt.Errorf("pcmkhost: %s: state directory %q: must be absolute", c.Name, c.StateDir)
	case !c.Fresh && (len(c.CorosyncConf) == 0 || len(c.Authkey) == 0):
		return fmt.Errorf("pcmkhost: %s: corosync.conf and authkey are both needed", c.Name)
	case c.Fresh && (len(c.CorosyncConf) > 0 || len(c.Authkey) > 0):
		return fmt.Errorf("pcmkhost: %s: a fresh host has no corosync.conf and no authkey", c.Name)
	}
	for _, d := range c.Share {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("pcmkhost: %s: shared directory %q: must be absolute", c.Name, d)
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return fmt.Errorf("pcmkhost: %s: shared directory %q: not a directory", c.Name, d)
		}
	}
	if _, err := os.Stat("/run/netns/" + c.NetNS); err != nil {
		return fmt.Errorf("pcmkhost: %s: network namespace %s: %w", c.Name, c.NetNS, err)
	}
	return nil
}

// mode is the supervisor's first argument.
func (c Config) mode() string {
	if c.Fresh {
		return "fresh"
	}
	return "running"
}

// prepare creates the host's private directories with the owners Pacemaker expects and
// writes its Corosync configuration and key.
func prepare(c Config) error {
	uid, gid, err := hacluster()
	if err != nil {
		return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
	}
	dirs := []struct {
		path     string
		mode     os.FileMode
		hacluser bool
	}{
		{"etc/corosync", 0o755, false},
		{"var/lib/corosync", 0o700, false},
		{"var/lib/pacemaker", 0o755, false},
		{"var/lib/pacemaker/cib", 0o750, true},
		{"var/lib/pacemaker/pengine", 0o750, true},
		{"var/lib/pacemaker/blackbox", 0o750, true},
		{"var/lib/pacemaker/cores", 0o750, true},
		{"var/log/pacemaker", 0o2775, true},
		{"var/lib/vipctl", 0o750, true}, // the failover journal, written by the alert agent as hacluster
	}
	if c.Fresh {
		dirs = append(dirs, []struct {
			path     string
			mode     os.FileMode
			hacluser bool
		}{{"etc/cron.d", 0o755, false}, {"root", 0o700, false}, {"ocf", 0o755, false}}...)
	}
	for _, d := range dirs {
		p := filepath.Join(c.StateDir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
		}
		if d.hacluser {
			if err := os.Chown(p, uid, gid); err != nil {
				return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(c.StateDir, "supervisor.sh"), []byte(supervisorScript), 0o644); err != nil {
		return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
	}
	if err := writeSbin(c); err != nil {
		return err
	}
	if c.Fresh {
		if err := os.WriteFile(filepath.Join(c.StateDir, "systemctl"), []byte(systemctlScript), 0o755); err != nil {
			return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
		}
		return nil
	}
	etc := filepath.Join(c.StateDir, "etc/corosync")
	if err := os.WriteFile(filepath.Join(etc, "corosync.conf"), c.CorosyncConf, 0o644); err != nil {
		return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
	}
	key := filepath.Join(etc, "authkey")
	_ = os.Remove(key) // WriteFile keeps an existing file's 0400 mode and would fail to open it
	if err := os.WriteFile(key, c.Authkey, 0o400); err != nil {
		return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
	}
	return nil
}

// writeSbin replaces the host's sbin directory (see Config.Sbin) with the configured programs.
func writeSbin(c Config) error {
	dir := filepath.Join(c.StateDir, "sbin")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
	}
	if len(c.Sbin) == 0 {
		return nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
	}
	for name, b := range c.Sbin {
		if name == "" || strings.ContainsAny(name, "/ \t\n") || name[0] == '.' {
			return fmt.Errorf("pcmkhost: %s: program name %q for /usr/sbin: not a file name", c.Name, name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			return fmt.Errorf("pcmkhost: %s: %w", c.Name, err)
		}
	}
	return nil
}

func hacluster() (uid, gid int, err error) {
	u, err := user.Lookup("hacluster")
	if err != nil {
		return 0, 0, fmt.Errorf("user hacluster (installed with pacemaker): %w", err)
	}
	g, err := user.LookupGroup("haclient")
	if err != nil {
		return 0, 0, fmt.Errorf("group haclient (installed with pacemaker): %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(g.Gid)
	return uid, gid, nil
}

// logTail returns the end of the host's log, for an error message.
func logTail(stateDir string) string {
	b, err := os.ReadFile(filepath.Join(stateDir, "host.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nhost log:\n" + string(b)
}
