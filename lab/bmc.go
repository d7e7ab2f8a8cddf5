package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/internal/procscan"
	"github.com/vipctl/vipctl/internal/wait"
)

// The lab's BMC stands in for the management controllers of real machines: a process on the
// machine that runs the lab (outside every host's namespaces), answering on a Unix socket in
// the state directory, which every host sees. The lab's fence agent (FenceAgent) runs inside a
// host, started by Pacemaker's fencer there, and asks the BMC to power another host off, on or
// through a reboot, as fence_ipmilan asks a host's IPMI controller. A host cannot do that
// itself: each lives in a pid namespace of its own and sees no other host's processes.
const (
	bmcSocket  = "bmc.sock"
	bmcJournal = "bmc.jsonl" // one FenceAction per line
	bmcLog     = "bmc.log"
)

// bmcTimeout bounds one request: a reboot boots the host again (its Corosync up, pacemakerd
// started), which takes seconds on a loaded machine; Pacemaker's own timeout is 60 s.
const bmcTimeout = 50 * time.Second

// FenceAction is one power action the BMC carried out, as its journal records it.
type FenceAction struct {
	At       time.Time     `json:"at"` // when the request arrived
	Action   string        `json:"action"`
	Host     string        `json:"host"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// ServeBMC runs the lab's BMC for the lab in dir until ctx ends or the lab is gone (its state
// file removed). Requests are one line, "ACTION [HOST]", answered with one line, "ok [WORDS]"
// or "error MESSAGE"; ACTION is ping, list, status, on, off or reboot. Power actions run one at
// a time, each recorded in the BMC's journal (FenceActions).
func ServeBMC(ctx context.Context, dir string, logger *slog.Logger) error {
	log := orDiscard(logger)
	path := filepath.Join(dir, bmcSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab: bmc: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("lab: bmc: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the lab went down without stopping the BMC: end with it
		_ = wait.Until(ctx, time.Second, func() (bool, error) {
			_, err := os.Stat(filepath.Join(dir, stateFile))
			return errors.Is(err, os.ErrNotExist), nil
		})
		cancel()
		ln.Close()
	}()
	b := &bmc{dir: dir, log: log}
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("lab: bmc: %w", err)
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			b.serve(ctx, c)
		}()
	}
}

type bmc struct {
	dir string
	log *slog.Logger
	mu  sync.Mutex // one power action at a time
}

func (b *bmc) serve(ctx context.Context, c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(bmcTimeout + 5*time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 1024)).ReadString('\n')
	if err != nil {
		return
	}
	words, err := b.do(ctx, strings.Fields(line))
	reply := "ok " + words
	if err != nil {
		reply = "error " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	fmt.Fprintln(c, strings.TrimSpace(reply))
}

// do carries out one request.
func (b *bmc) do(ctx context.Context, req []string) (string, error) {
	if len(req) == 0 {
		return "", errors.New("empty request")
	}
	action, args := req[0], req[1:]
	if action == "ping" {
		return "", nil
	}
	l, err := Open(b.dir, b.log)
	if err != nil {
		return "", err
	}
	if action == "list" {
		var names []string
		for _, hs := range l.State().Hosts {
			names = append(names, hs.Name)
		}
		return strings.Join(names, " "), nil
	}
	if len(args) != 1 {
		return "", fmt.Errorf("%s: name one host", action)
	}
	host := args[0]
	if action == "status" {
		on, err := l.Powered(host)
		if err != nil {
			return "", err
		}
		if on {
			return "on", nil
		}
		return "off", nil
	}
	var act func(context.Context) error
	switch action {
	case "on":
		act = func(ctx context.Context) error { return l.PowerOn(ctx, host) }
	case "off":
		act = func(ctx context.Context) error { return l.PowerOff(ctx, host) }
	case "reboot":
		act = func(ctx context.Context) error {
			if err := l.PowerOff(ctx, host); err != nil {
				return err
			}
			return l.PowerOn(ctx, host)
		}
	default:
		return "", fmt.Errorf("unknown action %q", action)
	}
	if _, err := l.Powered(host); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	actx, cancel := context.WithTimeout(ctx, bmcTimeout)
	defer cancel()
	rec := FenceAction{At: time.Now(), Action: action, Host: host}
	b.log.Info("power", "action", action, "host", host)
	err = act(actx)
	rec.Duration = time.Since(rec.At)
	if err != nil {
		rec.Error = err.Error()
		b.log.Error("power", "action", action, "host", host, "err", err)
	}
	if jerr := b.record(rec); jerr != nil {
		b.log.Error("journal", "err", jerr)
	}
	return "", err
}

// record appends one action to the BMC's journal.
func (b *bmc) record(a FenceAction) error {
	line, err := json.Marshal(a)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(b.dir, bmcJournal), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// FenceActions returns the power actions the lab's BMC carried out, oldest first.
func (l *Lab) FenceActions() ([]FenceAction, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, bmcJournal))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var as []FenceAction
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var a FenceAction
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			return nil, fmt.Errorf("lab: %s line %d: %w", bmcJournal, i+1, err)
		}
		as = append(as, a)
	}
	return as, nil
}

// askBMC sends one request to the BMC of the lab in dir and returns the words of its answer.
func askBMC(ctx context.Context, dir string, req ...string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(dir, bmcSocket))
	if err != nil {
		return "", fmt.Errorf("lab: the lab's BMC: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintln(c, strings.Join(req, " ")); err != nil {
		return "", fmt.Errorf("lab: the lab's BMC: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("lab: the lab's BMC: no answer to %q: %w", strings.Join(req, " "), err)
	}
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "error "); ok {
		return "", fmt.Errorf("lab: the lab's BMC: %s: %s", strings.Join(req, " "), rest)
	}
	if line == "ok" {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(line, "ok "); ok {
		return rest, nil
	}
	return "", fmt.Errorf("lab: the lab's BMC: %s: unexpected answer %q", strings.Join(req, " "), line)
}

// startBMC starts `vipctl lab _bmc` for the lab, in a session of its own so that it outlives
// this process, and waits until it answers.
func (l *Lab) startBMC(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(l.dir, bmcLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(l.state.Vipctl, "lab", "_bmc", "--dir", l.dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("lab: start the BMC: %w", err)
	}
	l.state.BMC = cmd.Process.Pid
	go func() { _ = cmd.Wait() }()
	if err := l.save(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err = wait.Until(wctx, 50*time.Millisecond, func() (bool, error) {
		_, err := askBMC(wctx, l.dir, "ping")
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("lab: the BMC does not answer (see %s): %w", filepath.Join(l.dir, bmcLog), err)
	}
	return nil
}

// stopBMC ends the lab's BMC, when the pid recorded for it is still the BMC of this lab.
func stopBMC(ctx context.Context, dir string, pid int) error {
	if pid == 0 || !isBMC(pid, dir) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := wait.Until(wctx, 20*time.Millisecond, func() (bool, error) { return !procscan.Alive(pid), nil }); err != nil {
		return fmt.Errorf("lab: the BMC (pid %d) survives: %w", pid, err)
	}
	return nil
}

// isBMC reports whether pid runs `vipctl lab _bmc --dir dir`.
func isBMC(pid int, dir string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	n := len(args)
	return n >= 5 && args[n-4] == "lab" && args[n-3] == "_bmc" && args[n-2] == "--dir" && args[n-1] == dir
}
