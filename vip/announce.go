package vip

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// announcerAction is the hidden agent action run by the background announcement helper.
const announcerAction = "_announce"

// DefaultRunDir holds the pidfiles of running announcement helpers.
const DefaultRunDir = "/run/vipctl"

// pidfile is where the helper announcing addr in namespace ns records its pid.
func pidfile(runDir, ns string, addr netip.Addr) string {
	name := "announce-" + addr.String() + ".pid"
	if ns != "" {
		name = "announce-" + ns + "-" + addr.String() + ".pid"
	}
	return filepath.Join(runDir, name)
}

// announce sends the first round of announcements for addr on link now and, when rounds > 1,
// starts a detached helper (the same executable, action _announce) that sends the rest through
// the same socket. A helper still running for addr is ended first. sock is the packet socket to
// send on (the caller closes it), or nil to open a send-only one here.
func (a *Agent) announce(ctx context.Context, h *Host, link Link, addr netip.Addr, rounds int, interval time.Duration, sock *os.File) error {
	pf := pidfile(a.RunDir, h.Netns, addr)
	if err := endAnnouncer(pf, addr); err != nil {
		return err
	}
	if rounds <= 0 {
		return nil
	}
	frames, err := announceFrames(link.MAC, addr)
	if err != nil {
		return fmt.Errorf("build announcement for %s: %w", addr, err)
	}
	if sock == nil {
		if sock, err = h.packetSocket(link, 0); err != nil {
			return err
		}
		defer sock.Close()
	}
	// Announcements are best effort: a link that refuses a frame now (a full queue, an egress
	// filter) must not fail the action; the helper tries again on the next rounds.
	if err := sendFrames(int(sock.Fd()), link.Index, frames); err != nil {
		fmt.Fprintf(a.Stderr, "warning: announce %s on %s: %v\n", addr, link.Name, err)
	}
	if rounds == 1 {
		return nil
	}
	// The helper only sends: what the socket was bound to receive would queue up unread (up to
	// the socket's buffer, so a failure here costs memory, not correctness).
	if err := dropAll(sock); err != nil {
		fmt.Fprintf(a.Stderr, "warning: announcement socket filter: %v\n", err)
	}
	if err := os.MkdirAll(a.RunDir, 0o755); err != nil {
		return fmt.Errorf("announcement helper: %w", err)
	}
	args := []string{"vip", announcerAction, addr.String(), pf, strconv.Itoa(link.Index),
		strconv.Itoa(rounds - 1), strconv.FormatInt(interval.Milliseconds(), 10)}
	for _, f := range frames {
		args = append(args, hex.EncodeToString(f))
	}
	// The helper waits for EOF on fd 4 before sending, so that its pidfile exists before it can
	// finish and remove it, and before start returns (stop must find any running helper).
	goR, goW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start announcement helper: %w", err)
	}
	defer goW.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		goR.Close()
		return fmt.Errorf("start announcement helper: %w", err)
	}
	// syscall.StartProcess, not os/exec: the helper is never waited for, and os/exec's first
	// start in a process forks a throw-away child to check pidfd support.
	pid, _, err := syscall.StartProcess(a.Exe, args, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), sock.Fd(), goR.Fd()}, // socket is fd 3, go pipe fd 4
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	null.Close()
	goR.Close()
	if err != nil {
		return fmt.Errorf("start announcement helper: %w", err)
	}
	if err := writeFileAtomic(pf, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Errorf("announcement helper pidfile: %w", err)
	}
	return nil
}

// runAnnouncer is the helper: args are addr, pidfile, ifindex, rounds, interval_ms and the frames
// in hex; the packet socket is fd 3, and fd 4 reaches EOF when its pidfile is in place. It ends
// when its rounds are sent (removing its pidfile) or when stop kills it.
func runAnnouncer(ctx context.Context, args []string) error {
	if len(args) < 6 {
		return errors.New("announcer: missing arguments")
	}
	pf := args[1]
	ifindex, err1 := strconv.Atoi(args[2])
	rounds, err2 := strconv.Atoi(args[3])
	ms, err3 := strconv.Atoi(args[4])
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("announcer: %w", err)
	}
	var frames [][]byte
	for _, s := range args[5:] {
		f, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("announcer: %w", err)
		}
		frames = append(frames, f)
	}
	goR := os.NewFile(4, "go")
	_, _ = io.Copy(io.Discard, goR) // EOF: the parent has written the pidfile (or died)
	goR.Close()
	defer removePidfileOf(pf, os.Getpid())
	t := time.NewTicker(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	for range rounds {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if ctx.Err() != nil {
			return nil
		}
		_ = sendFrames(3, ifindex, frames) // best effort, as in the agent: the next round tries again
	}
	return nil
}

// sendFrames sends Ethernet frames through a raw packet socket on the interface ifindex.
func sendFrames(fd, ifindex int, frames [][]byte) error {
	for _, f := range frames {
		if len(f) < 14 {
			return errors.New("short frame")
		}
		to := &unix.SockaddrLinklayer{Ifindex: ifindex, Protocol: htons(binary.BigEndian.Uint16(f[12:14]))}
		if err := unix.Sendto(fd, f, 0, to); err != nil {
			return err
		}
	}
	return nil
}

// endAnnouncer ends the helper recorded in pf if it is really the helper for addr. SIGKILL stops
// it at once: once the signal is queued none of its threads returns to user space, so it starts
// no further send (at most a frame being handed to the driver at that instant still leaves, long
// before the caller has removed or re-announced the address). It does not wait for the process
// to be reaped: the helper's exit waits for an RCU grace period when its packet socket closes.
func endAnnouncer(pf string, addr netip.Addr) error {
	b, err := os.ReadFile(pf)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("announcement helper pidfile: %w", err)
	}
	defer os.Remove(pf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil // garbage: nothing to end
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil // gone
	}
	defer unix.Close(pidfd)
	// The pidfd pins the process: the check and the signal are about the same one.
	if !isAnnouncerFor(pid, addr) {
		return nil
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("end announcement helper %d: %w", pid, err)
	}
	return nil
}

// dropAll makes a packet socket discard every frame it would receive (a BPF filter returning 0).
func dropAll(sock *os.File) error {
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	return unix.SetsockoptSockFprog(int(sock.Fd()), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
}

// pidfileHolds reports whether pf still names pid.
func pidfileHolds(pf string, pid int) bool {
	b, err := os.ReadFile(pf)
	return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid)
}

// isAnnouncerFor reports whether pid runs the announcement helper for addr.
func isAnnouncerFor(pid int, addr netip.Addr) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(string(b), "\x00")
	if len(args) < 3 || args[1] != announcerAction {
		return false
	}
	a, err := netip.ParseAddr(args[2])
	return err == nil && a == addr
}

func removePidfileOf(pf string, pid int) {
	if pidfileHolds(pf, pid) {
		os.Remove(pf)
	}
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
