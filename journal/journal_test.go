package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestAppendRead: lines come back as written, a torn last line is skipped and counted, and
// --since cuts by time.
func TestAppendRead(t *testing.T) {
	j := Journal{Path: filepath.Join(t.TempDir(), "events.jsonl")}
	want := []Event{
		{Time: at("2026-12-07T03:34:38.807154Z"), Kind: KindNode, Node: "lab-1", Desc: "lost", NodeID: "1", RecordedBy: "lab-2", Sequence: 1},
		{Time: at("2026-12-07T03:34:39.275154Z"), Kind: KindResource, Node: "lab-2", Resource: "vip-lab", Task: "start", Desc: "ok", ExecMS: 132, RecordedBy: "lab-2", Sequence: 2},
	}
	for _, e := range want {
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(j.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-12-07T03:35:00Z","kind":"res`) // a crash in mid-write
	f.Close()
	got, skipped, err := j.Read(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if skipped != 1 {
		t.Errorf("skipped %d lines, want the torn one", skipped)
	}
	got, _, _ = j.Read(at("2026-12-07T03:34:39Z"))
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("read since (-want +got):\n%s", diff)
	}
}

// TestAppendAfterTornLine: an event appended after a crash in mid-write is read back; the torn
// line alone is lost.
func TestAppendAfterTornLine(t *testing.T) {
	j := Journal{Path: filepath.Join(t.TempDir(), "events.jsonl")}
	if err := os.WriteFile(j.Path, []byte(`{"time":"2026-12-07T03:35:00Z","kind":"res`), 0o640); err != nil {
		t.Fatal(err)
	}
	e := Event{Time: at("2026-12-07T03:36:00Z"), Kind: KindNode, Node: "lab-1", Desc: "member", RecordedBy: "lab-2", Sequence: 3}
	if err := j.Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got, skipped, err := j.Read(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Event{e}, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if skipped != 1 {
		t.Errorf("skipped %d lines, want the torn one", skipped)
	}
}

// TestMissingJournal: a host whose alert never ran has no events, and no error.
func TestMissingJournal(t *testing.T) {
	got, skipped, err := Journal{Path: filepath.Join(t.TempDir(), "none.jsonl")}.Read(time.Time{})
	if err != nil || len(got) != 0 || skipped != 0 {
		t.Errorf("Read of a missing journal = %v, %d, %v; want nothing", got, skipped, err)
	}
}

// TestRotation: the files stay bounded (current below MaxSize, one older generation), and the
// newest events survive.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	j := Journal{Path: filepath.Join(dir, "events.jsonl"), MaxSize: 1000}
	const n = 100
	for i := range n {
		e := Event{Time: time.Unix(1796614478+int64(i), 0).UTC(), Kind: KindNode, Node: "lab-1", Desc: "member", Sequence: int64(i)}
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{j.Path, j.Path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > j.MaxSize {
			t.Errorf("%s is %d bytes, over MaxSize %d", p, st.Size(), j.MaxSize)
		}
	}
	got, _, err := j.Read(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) >= n || got[len(got)-1].Sequence != n-1 {
		t.Fatalf("after rotation read %d events ending in %v; want the newest ones, fewer than %d", len(got), got[len(got)-1], n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Sequence != got[i-1].Sequence+1 {
			t.Fatalf("events out of order or missing after rotation: %d then %d", got[i-1].Sequence, got[i].Sequence)
		}
	}
}

// TestConcurrentAppend: Pacemaker runs one agent per event, in parallel: no line is lost or torn.
func TestConcurrentAppend(t *testing.T) {
	j := Journal{Path: filepath.Join(t.TempDir(), "events.jsonl"), MaxSize: 1 << 30}
	var wg sync.WaitGroup
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- j.Append(context.Background(), Event{Time: time.Now(), Kind: KindNode, Node: strings.Repeat("x", 500), Sequence: int64(i)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, skipped, err := j.Read(time.Time{})
	if err != nil || skipped != 0 || len(got) != n {
		t.Fatalf("read %d events, %d skipped, %v; want %d whole ones", len(got), skipped, err, n)
	}
}

// TestAppendGivesUpInTime: a writer that holds the lock does not keep the agent past its deadline.
func TestAppendGivesUpInTime(t *testing.T) {
	j := Journal{Path: filepath.Join(t.TempDir(), "events.jsonl")}
	lock, err := os.OpenFile(j.Path+".lock", os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = j.Append(ctx, Event{Kind: KindNode})
	if !errors.Is(err, ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append with the lock held = %v, want ErrLocked and the deadline", err)
	}
}
