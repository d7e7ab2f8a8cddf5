package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Files no loader should choke on: each is refused with exit 2, the position named, nothing
// on stdout and nothing written, in every command that loads a topology.
func TestHostileTopologyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	esc := write("esc\x1b[31m.hcl", []byte("host \"h\x1b[2J\" {\n  address = \"192.0.2.1\"\n}\n"))
	for _, tc := range []struct {
		name, file string
		want       string // on stderr, after the file name
		absent     string // must not be on stderr
	}{
		{"dev-zero", "/dev/zero", ":1,1048577-1048578: Topology larger than 1048576 bytes", ""},
		{"brackets", write("brackets.hcl", []byte("x = "+strings.Repeat("[", 500000)+strings.Repeat("]", 500000))), ":1,37-38: Nesting deeper than 32 levels", ""},
		{"parens", write("parens.hcl", []byte("x = "+strings.Repeat("(", 100000)+"1"+strings.Repeat(")", 100000))), ":1,37-38: Nesting deeper", ""},
		{"blocks", write("blocks.hcl", []byte(strings.Repeat("a {\n", 100000))), ":33,3-4: Nesting deeper", ""},
		{"templates", write("templates.hcl", []byte("x = "+strings.Repeat(`"${`, 100000))), ":1,53-54: Nesting deeper", ""},
		{"bang", write("bang.hcl", []byte("x = "+strings.Repeat("!", 1000000)+"true")), ":1,37-38: Nesting deeper", ""},
		{"ansi-in-label", esc, `:1,6-13: Invalid name "h\x1b[2J"`, "\x1b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cmd := range [][]string{
				{"cib", "render"}, {"cib", "verify"}, {"render", "-d", filepath.Join(dir, "bundle-"+tc.name)},
				{"nomad", "render"}, {"status"}, {"check", "nic"}, {"bootstrap", "--dry-run"},
			} {
				var stdout, stderr bytes.Buffer
				code := run(append(append([]string{"vipctl"}, cmd...), "-f", tc.file), strings.NewReader(""), &stdout, &stderr)
				wantFile := strings.ReplaceAll(tc.file, "\x1b", `\x1b`)
				if code != exitUsage || stdout.Len() != 0 || !strings.Contains(stderr.String(), wantFile+tc.want) ||
					tc.absent != "" && strings.Contains(stderr.String(), tc.absent) {
					t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, %q on stderr",
						cmd, code, stdout.String(), stderr.String(), wantFile+tc.want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "bundle-"+tc.name)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("render wrote a bundle (stat: %v)", err)
			}
		})
	}
}

// A FIFO without a writer as -f: the command ends on SIGTERM and on SIGINT instead of hanging
// in the read, with exit 1 (nothing was wrong with a file; the run was interrupted).
func TestTopologyFIFOEndsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo.hcl")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { // let the abandoned open(2) go
				if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
					unix.Close(fd)
				}
			})
			// The test's own handler keeps the signal from ending the test binary in the moment
			// before run installs its handler; run's handler gets each signal as well.
			own := make(chan os.Signal, 16)
			signal.Notify(own, sig)
			defer signal.Stop(own)
			var stderr bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- run([]string{"vipctl", "cib", "render", "-f", fifo}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
			}()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			giveUp := time.After(20 * time.Second)
			for {
				select {
				case code := <-done:
					if code != exitFailure || !strings.Contains(stderr.String(), fifo) {
						t.Errorf("exit %d, stderr %q; want exit 1 naming %s", code, stderr.String(), fifo)
					}
					return
				case <-tick.C:
					if err := syscall.Kill(os.Getpid(), sig); err != nil {
						t.Fatal(err)
					}
				case <-giveUp:
					t.Fatalf("vipctl cib render -f FIFO did not end on %v", sig)
				}
			}
		})
	}
}

// Time limits of 0 or below are usage errors (exit 2), not "no limit".
func TestNonPositiveDurationsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"cib", "verify", "--timeout", "-5s"},
		{"cib", "verify", "--timeout", "0s"},
		{"cib", "simulate", "--timeout", "0"},
		{"cib", "diff", "--timeout", "-1ns"},
		{"cib", "apply", "--timeout", "0s"},
		{"status", "--timeout", "-5s"},
		{"bootstrap", "--wait", "0s"},
		{"lab", "_probe", "--interval", "0s", "127.0.0.1:1"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"vipctl", "-f", "/nonexistent.hcl"}, args...), strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "must be positive") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and \"must be positive\"", args, code, stderr.String())
		}
	}
}
