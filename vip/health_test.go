package vip

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/testenv"
	"github.com/vipctl/vipctl/internal/wait"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseHealthParams(t *testing.T) {
	p, err := ParseHealthParams(env(map[string]string{
		"OCF_RESKEY_attribute": "vipctl-health-db-a", "OCF_RESKEY_clusters": "msrvc01:5001:6001  msrvc02:5002:6002",
		"OCF_RESKEY_CRM_meta_interval": "5000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := HealthParams{Attribute: "vipctl-health-db-a", Checks: []HealthCheck{{"msrvc01", 5001, 6001}, {"msrvc02", 5002, 6002}},
		Address: netip.MustParseAddr("127.0.0.1"), Timeout: time.Second, Interval: 5 * time.Second, Deadline: defaultTimeout}
	if diff := cmp.Diff(want, p, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []map[string]string{
		{"OCF_RESKEY_clusters": "a:1:2"},
		{"OCF_RESKEY_attribute": "x"},
		{"OCF_RESKEY_attribute": "x", "OCF_RESKEY_clusters": "a:1"},
		{"OCF_RESKEY_attribute": "x", "OCF_RESKEY_clusters": "a:1:70000"},
		{"OCF_RESKEY_attribute": "x y", "OCF_RESKEY_clusters": "a:1:2"},
		{"OCF_RESKEY_attribute": "x", "OCF_RESKEY_clusters": "a:1:2", "OCF_RESKEY_address": "localhost"},
		{"OCF_RESKEY_attribute": "x", "OCF_RESKEY_clusters": "a:1:2", "OCF_RESKEY_check_timeout_ms": "0"},
	} {
		if _, err := ParseHealthParams(env(bad)); !errors.Is(err, ErrConfig) {
			t.Errorf("%v: err = %v, want ErrConfig", bad, err)
		}
	}
}

func TestStatsBackendUp(t *testing.T) {
	for file, want := range map[string]bool{"stats-up.csv": true, "stats-down.csv": false} {
		b, err := os.ReadFile(filepath.Join("testdata", "haproxy", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := statsBackendUp(bytes.NewReader(b), "demo")
		if err != nil || got != want {
			t.Errorf("%s: up = %v, %v; want %v", file, got, err, want)
		}
		if _, err := statsBackendUp(bytes.NewReader(b), "other"); err == nil {
			t.Errorf("%s: a proxy the page does not list is not an error", file)
		}
	}
	if _, err := statsBackendUp(strings.NewReader("not,a,stats,page\n"), "demo"); err == nil {
		t.Error("a CSV without pxname/svname/status is not an error")
	}
}

// haproxyStandIn listens on a cluster port (accepting and closing) and serves a captured stats
// CSV as HAProxy's stats listener does, both on 127.0.0.1.
type haproxyStandIn struct {
	port, stats net.Listener
	mu          sync.Mutex
	csv         []byte
}

func newStandIn(t *testing.T, csvFile string) *haproxyStandIn {
	t.Helper()
	h := &haproxyStandIn{}
	var err error
	if h.port, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if h.stats, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	h.serve(t, csvFile)
	t.Cleanup(func() { h.port.Close(); h.stats.Close() })
	go func() {
		for {
			c, err := h.port.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := h.stats.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1024)
				n, _ := c.Read(buf)
				if !strings.HasPrefix(string(buf[:n]), "GET /;csv HTTP/1.0\r\n") {
					fmt.Fprint(c, "HTTP/1.0 404 Not Found\r\n\r\n")
					return
				}
				h.mu.Lock()
				body := h.csv
				h.mu.Unlock()
				// As HAProxy 2.6 answers: chunked, even to HTTP/1.0.
				fmt.Fprint(c, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n")
				for len(body) > 0 {
					n := min(len(body), 700)
					fmt.Fprintf(c, "%X\r\n%s\r\n", n, body[:n])
					body = body[n:]
				}
				fmt.Fprint(c, "0\r\n\r\n")
			}()
		}
	}()
	return h
}

func (h *haproxyStandIn) serve(t *testing.T, csvFile string) {
	b, err := os.ReadFile(filepath.Join("testdata", "haproxy", csvFile))
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.csv = b
	h.mu.Unlock()
}

func (h *haproxyStandIn) check() HealthCheck {
	return HealthCheck{Cluster: "demo", Port: h.port.Addr().(*net.TCPAddr).Port, StatsPort: h.stats.Addr().(*net.TCPAddr).Port}
}

func TestCheckHealth(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	h := newStandIn(t, "stats-up.csv")
	ctx := context.Background()
	if err := CheckHealth(ctx, lo, []HealthCheck{h.check()}, time.Second); err != nil {
		t.Errorf("healthy: %v", err)
	}
	h.serve(t, "stats-down.csv")
	if err := CheckHealth(ctx, lo, []HealthCheck{h.check()}, time.Second); !errors.Is(err, ErrUnhealthy) {
		t.Errorf("backend DOWN: err = %v, want ErrUnhealthy", err)
	}
	h.serve(t, "stats-up.csv")
	closed := h.check()
	closed.Port = freePort(t)
	if err := CheckHealth(ctx, lo, []HealthCheck{h.check(), closed}, time.Second); !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), "port "+strconv.Itoa(closed.Port)) {
		t.Errorf("port closed: err = %v, want ErrUnhealthy naming the port", err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The agent sets the attribute on start, only on a change while monitoring (and always on a
// probe), deletes it on stop, and reports not running before start and after stop.
func TestHealthAgentActions(t *testing.T) {
	h := newStandIn(t, "stats-up.csv")
	c := h.check()
	vars := map[string]string{"OCF_RESKEY_attribute": "vipctl-health-g",
		"OCF_RESKEY_clusters": fmt.Sprintf("demo:%d:%d", c.Port, c.StatsPort), "OCF_RESKEY_CRM_meta_interval": "5000"}
	var sets []string
	var stderr bytes.Buffer
	a := &HealthAgent{Getenv: env(vars), Stderr: &stderr, RunDir: t.TempDir(),
		SetAttribute: func(_ context.Context, name, value string) error {
			sets = append(sets, name+"="+value)
			return nil
		}}
	ctx := context.Background()
	steps := []struct {
		action string
		csv    string
		code   int
	}{
		{"monitor", "stats-up.csv", OCFNotRunning},
		{"start", "stats-up.csv", OCFSuccess},
		{"monitor", "stats-up.csv", OCFSuccess},
		{"monitor", "stats-down.csv", OCFSuccess}, // unhealthy is a value, not a failure
		{"monitor", "stats-down.csv", OCFSuccess},
		{"monitor", "stats-up.csv", OCFSuccess},
		{"stop", "stats-up.csv", OCFSuccess},
		{"monitor", "stats-up.csv", OCFNotRunning},
	}
	for _, s := range steps {
		h.serve(t, s.csv)
		if got := a.Run(ctx, []string{s.action}); got != s.code {
			t.Errorf("%s with %s: exit %d, want %d (stderr %s)", s.action, s.csv, got, s.code, stderr.String())
		}
	}
	want := []string{"vipctl-health-g=1", "vipctl-health-g=0", "vipctl-health-g=1", "vipctl-health-g="}
	if diff := cmp.Diff(want, sets); diff != "" {
		t.Errorf("attribute updates (-want +got):\n%s", diff)
	}
	// A probe sets the value even when it did not change.
	a.Run(ctx, []string{"start"})
	sets = nil
	delete(vars, "OCF_RESKEY_CRM_meta_interval")
	if got := a.Run(ctx, []string{"monitor"}); got != OCFSuccess || len(sets) != 1 {
		t.Errorf("probe: exit %d, updates %q; want 0 and one update", got, sets)
	}
	if got := (&HealthAgent{Getenv: env(map[string]string{})}).Run(ctx, []string{"start"}); got != OCFErrConfigured {
		t.Errorf("start without parameters: exit %d, want %d", got, OCFErrConfigured)
	}
}

func TestChunkReader(t *testing.T) {
	r := &chunkReader{r: bufio.NewReader(strings.NewReader("4\r\nWiki\r\n6;x=y\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n"))}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "Wikipedia in \r\n\r\nchunks." {
		t.Errorf("got %q, %v", b, err)
	}
	for _, bad := range []string{"zz\r\n", "4\r\nWikiXX", "4\r\nWi"} {
		if _, err := io.ReadAll(&chunkReader{r: bufio.NewReader(strings.NewReader(bad))}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestCheckHealthRealHAProxy runs the check against a real HAProxy on 127.0.0.1: a listen
// proxy whose one server is a local listener (UP once its check passed), then with that
// listener closed (DOWN).
func TestCheckHealthRealHAProxy(t *testing.T) {
	haproxy := testenv.RequireTool(t, "haproxy")
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port, stats := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`global
    maxconn 100
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen demo
    bind 127.0.0.1:%d
    server pg1 %s check inter 100ms fall 1 rise 1
listen demo-stats
    bind 127.0.0.1:%d
    mode http
    stats enable
    stats uri /
`, port, srv.Addr(), stats)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "h.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, haproxy, "-db", "-f", filepath.Join(dir, "h.cfg"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lo := netip.MustParseAddr("127.0.0.1")
	checks := []HealthCheck{{Cluster: "demo", Port: port, StatsPort: stats}}
	var last error
	if err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) {
		last = CheckHealth(ctx, lo, checks, time.Second)
		return last == nil, nil
	}); err != nil {
		t.Fatalf("never healthy behind a real HAProxy: %v (last: %v)", err, last)
	}
	srv.Close()
	if err := wait.Until(ctx, 50*time.Millisecond, func() (bool, error) {
		last = CheckHealth(ctx, lo, checks, time.Second)
		return errors.Is(last, ErrUnhealthy) && strings.Contains(last.Error(), "no server UP"), nil
	}); err != nil {
		t.Fatalf("the server gone, the backend never counted as down: %v (last: %v)", err, last)
	}
}

// FuzzChunkReader: whatever the body, chunking it in pieces of any size and reading it back
// through chunkReader gives the body again.
func FuzzChunkReader(f *testing.F) {
	f.Add([]byte("# pxname,svname,status\ndemo,BACKEND,UP\n"), uint8(7))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, size uint8) {
		n := int(size%64) + 1
		var enc bytes.Buffer
		for rest := body; len(rest) > 0; {
			k := min(n, len(rest))
			fmt.Fprintf(&enc, "%x\r\n%s\r\n", k, rest[:k])
			rest = rest[k:]
		}
		enc.WriteString("0\r\n\r\n")
		got, err := io.ReadAll(&chunkReader{r: bufio.NewReader(&enc)})
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read back %q, %v; want %q", got, err, body)
		}
	})
}

// FuzzStatsBackendUp: any page is read without a panic, and a page that says proxy's backend is
// UP is read as UP whatever precedes it.
func FuzzStatsBackendUp(f *testing.F) {
	for _, name := range []string{"stats-up.csv", "stats-down.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", "haproxy", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		_, _ = statsBackendUp(bytes.NewReader(page), "demo")
		good := "# pxname,svname,status\nzz,BACKEND,DOWN\ndemo,BACKEND,UP\n"
		if up, err := statsBackendUp(strings.NewReader(good), "demo"); !up || err != nil {
			t.Fatalf("a page with demo's backend UP: %v, %v", up, err)
		}
	})
}

// SetAttribute's default runs attrd_updater from PATH: --update for a value, --delete for none;
// a failing attrd_updater is its error with its words, a missing one is ErrNoTool (which the
// agent turns into OCF_ERR_INSTALLED).
func TestAttrdUpdater(t *testing.T) {
	testenv.RequireTool(t, "sh")
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >>" + calls + "\n[ \"$3\" != --delete ] || { echo refused >&2; exit 1; }\n"
	if err := os.WriteFile(filepath.Join(dir, "attrd_updater"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	set := attrdUpdater(pcmk.Local{Timeout: 10 * time.Second})
	ctx := context.Background()
	if err := set(ctx, "vipctl-health-db", "1"); err != nil {
		t.Errorf("update: %v", err)
	}
	err := set(ctx, "vipctl-health-db", "")
	if code, ok := pcmk.ExitCode(err); !ok || code != 1 || errors.Is(err, ErrNoTool) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("delete refused: err = %v, want attrd_updater's exit 1 with its words, not ErrNoTool", err)
	}
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	want := "--name vipctl-health-db --update 1\n--name vipctl-health-db --delete\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("attrd_updater's arguments (-want +got):\n%s", diff)
	}
	t.Setenv("PATH", t.TempDir())
	if err := set(ctx, "vipctl-health-db", "0"); !errors.Is(err, ErrNoTool) {
		t.Errorf("no attrd_updater: err = %v, want ErrNoTool", err)
	}
}
