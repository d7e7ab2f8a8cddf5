package pcmk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipctl/vipctl/internal/testenv"
)

// A command that does not answer in time is stopped, and the error says so.
func TestLocalTimeout(t *testing.T) {
	sleep := testenv.RequireTool(t, "sleep")
	start := time.Now()
	_, err := Local{Timeout: 50 * time.Millisecond}.Run(context.Background(), Command(sleep, "10"))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want an *ExitError with code -1 matching context.DeadlineExceeded", err)
	}
	if _, ok := ExitCode(err); ok {
		t.Errorf("ExitCode of a timeout: ok, want no code")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the run took %s, the timeout was 50ms", d)
	}
}

// The exit code and standard error come back in the *ExitError, with the output so far; stdin
// reaches the command, and Stderr gets standard error on success too.
func TestLocalExit(t *testing.T) {
	sh := testenv.RequireTool(t, "sh")
	c := Command(sh, "-c", "cat; echo oops >&2; exit 103")
	c.Stdin = []byte("in")
	out, err := Local{}.Run(context.Background(), c)
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	var xe *exec.ExitError
	if !errors.As(err, &xe) {
		t.Errorf("err = %v, want it to wrap the *exec.ExitError", err)
	}
	code, ok := ExitCode(err)
	if diff := cmp.Diff([]any{103, true, "oops", "in", []string{sh, "-c", "cat; echo oops >&2; exit 103"}},
		[]any{code, ok, ee.Stderr, string(out), ee.Command}); diff != "" {
		t.Errorf("exit, stderr, stdout, command (-want +got):\n%s", diff)
	}

	var stderr strings.Builder
	c = Command(sh, "-c", "echo words >&2; echo out")
	c.Stderr = &stderr
	out, err = Local{}.Run(context.Background(), c)
	if err != nil || string(out) != "out\n" || stderr.String() != "words\n" {
		t.Errorf("exit 0: out %q, stderr %q, err %v; want out, words, nil", out, stderr.String(), err)
	}
}

// A tool that is not installed is an *ExitError wrapping exec.ErrNotFound, with no exit code.
func TestLocalNotFound(t *testing.T) {
	_, err := Local{}.Run(context.Background(), Command("vipctl-no-such-tool"))
	var ee *ExitError
	if !errors.As(err, &ee) || !errors.Is(err, exec.ErrNotFound) || ee.Code != -1 {
		t.Errorf("err = %v, want an *ExitError wrapping exec.ErrNotFound with code -1", err)
	}
}

// NSEnter runs the command inside the namespaces of a process: here this test's own, so what
// runs sees this process's hostname. Failures name the command asked for, and where it ran.
func TestNSEnter(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "nsenter")
	r := NSEnter{Pid: os.Getpid(), Timeout: 10 * time.Second}
	out, err := r.Run(context.Background(), Command("hostname"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.Hostname()
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("hostname inside = %q, want %q", got, want)
	}
	_, err = r.Run(context.Background(), Command("sh", "-c", "exit 7"))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 || ee.Command[0] != "sh" || !strings.Contains(ee.Where, "pid") {
		t.Errorf("err = %v (%+v), want exit 7 of sh, where naming the pid", err, ee)
	}
}

// fakeRunner returns canned output and error, or blocks until the context ends.
type fakeRunner struct {
	out   []byte
	err   error
	block bool
	cmds  []string
}

func (f *fakeRunner) Run(ctx context.Context, c Cmd) ([]byte, error) {
	f.cmds = append(f.cmds, c.String())
	if f.block {
		<-ctx.Done()
		return nil, &ExitError{Command: []string{c.Name}, Code: -1, Err: ctx.Err()}
	}
	return f.out, f.err
}

func TestReadCrmMonErrors(t *testing.T) {
	notConnected := read(t, "not-connected.xml")
	exit := func(code int) error {
		return &ExitError{Command: []string{"crm_mon"}, Code: code, Err: errors.New("exit status")}
	}
	for _, tc := range []struct {
		name       string
		r          *fakeRunner
		match      error
		notRunning bool
	}{
		{"crm_mon says not connected", &fakeRunner{out: notConnected, err: exit(102)}, ErrNoCluster, true},
		{"no output, exit 102", &fakeRunner{err: exit(102)}, nil, true},
		{"no output, exit 1", &fakeRunner{err: exit(1)}, nil, false},
		{"garbage output", &fakeRunner{out: []byte("Segmentation fault"), err: exit(139)}, nil, false},
		{"garbage with exit 0", &fakeRunner{out: []byte("<html>")}, ErrNotXML, false},
		{"hangs", &fakeRunner{block: true}, context.DeadlineExceeded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := ReadCrmMon(ctx, tc.r, "")
			if err == nil {
				t.Fatal("no error")
			}
			if tc.match != nil && !errors.Is(err, tc.match) {
				t.Errorf("err = %v; want it to match %v", err, tc.match)
			}
			if tc.match == nil && !errors.Is(err, tc.r.err) {
				t.Errorf("err = %v; want the run's error %v", err, tc.r.err)
			}
			if got := NotRunning(err); got != tc.notRunning {
				t.Errorf("NotRunning = %v, want %v", got, tc.notRunning)
			}
			if d := cmp.Diff([]string{"crm_mon --output-as=xml --one-shot --inactive"}, tc.r.cmds); d != "" {
				t.Errorf("commands (-want +got):\n%s", d)
			}
		})
	}
	// The reason crm_mon gives is the message, not just its exit status.
	_, err := ReadCrmMon(context.Background(), &fakeRunner{out: notConnected, err: exit(102)}, "/opt/crm_mon")
	const want = "Not connected (code 102): error: Could not connect to launcher: Connection refused; crm_mon: Connection to cluster failed: Connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// The real crm_mon, where no cluster runs, says it is not connected: Pacemaker does not run.
func TestReadCrmMonRealNoCluster(t *testing.T) {
	testenv.RequireTool(t, "crm_mon")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := ReadCrmMon(ctx, Local{}, "")
	if err == nil {
		t.Skip("a cluster runs on this machine")
	}
	if !errors.Is(err, ErrNoCluster) || !NotRunning(err) {
		t.Errorf("err = %v; want crm_mon's own reason and NotRunning", err)
	}
}

func TestCorosyncCmap(t *testing.T) {
	noDaemon := &ExitError{Command: []string{"corosync-cmapctl"}, Code: 1, Err: errors.New("exit status 1"),
		Stderr: "Failed to initialize the cmap API. Error CS_ERR_LIBRARY"}
	other := &ExitError{Command: []string{"corosync-cmapctl"}, Code: 1, Err: errors.New("exit status 1"), Stderr: "Permission denied"}
	for _, tc := range []struct {
		name    string
		r       *fakeRunner
		running bool
		cluster string
		err     error
	}{
		{"runs", &fakeRunner{out: []byte("totem.cluster_name (str) = pg-test\n")}, true, "pg-test", nil},
		{"no daemon", &fakeRunner{err: noDaemon}, false, "", nil},
		{"other failure", &fakeRunner{err: other}, false, "", other},
		{"unreadable", &fakeRunner{out: []byte("what\n")}, true, "", errors.New("any")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			running, name, err := ClusterName(context.Background(), tc.r)
			if running != tc.running || name != tc.cluster || (err == nil) != (tc.err == nil) {
				t.Errorf("ClusterName = %v, %q, %v; want %v, %q, err %v", running, name, err, tc.running, tc.cluster, tc.err)
			}
			if tc.err == other && !errors.Is(err, other) {
				t.Errorf("err = %v, want the run's", err)
			}
		})
	}
	members := "runtime.members.1.ip (str) = r(0) ip(10.0.0.1) \nruntime.members.1.status (str) = joined\n" +
		"runtime.members.2.ip (str) = r(0) ip(10.0.0.2) \nruntime.members.2.status (str) = left\n" +
		"runtime.members.3.ip (str) = r(0) ip(10.0.0.3) \nruntime.members.3.status (str) = joined\n"
	r := &fakeRunner{out: []byte(members)}
	if n, err := Members(context.Background(), r); n != 2 || err != nil {
		t.Errorf("Members = %d, %v; want 2 joined", n, err)
	}
	if d := cmp.Diff([]string{"corosync-cmapctl -b runtime.members"}, r.cmds); d != "" {
		t.Errorf("commands (-want +got):\n%s", d)
	}
}
