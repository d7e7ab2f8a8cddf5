package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// DefaultPath is where the alert agent writes, and events, status and metrics read, unless the
// CIB's alert recipient or a flag names another file.
const DefaultPath = "/var/lib/vipctl/events.jsonl"

// DefaultMaxSize bounds the journal file: an append that would take it past this size first
// renames it to Path+".1" (replacing the older generation), so the history on disk stays below
// twice this size.
const DefaultMaxSize = 1 << 20

// Kinds of events Pacemaker reports.
const (
	KindResource = "resource"
	KindNode     = "node"
	KindFencing  = "fencing"
)

// Event is one line of the journal: one alert of Pacemaker as this host received it.
type Event struct {
	Time       time.Time `json:"time"`               // when Pacemaker says it happened
	Kind       string    `json:"kind"`               // resource, node or fencing
	Node       string    `json:"node"`               // the node the event is about (where the operation ran)
	RecordedBy string    `json:"recorded_by"`        // the host whose alert agent wrote the line
	Resource   string    `json:"resource,omitempty"` // resource events: the resource id
	Task       string    `json:"task,omitempty"`     // resource: start, stop, monitor…; fencing: the action
	IntervalMS int64     `json:"interval_ms,omitempty"`
	RC         int       `json:"rc"`                 // resource: the agent's exit code; fencing: the result
	TargetRC   int       `json:"target_rc"`          // resource: the exit code Pacemaker expected
	Status     int       `json:"status"`             // resource: the execution status (0 done, 2 timed out…)
	ExecMS     int64     `json:"exec_ms,omitempty"`  // resource: how long the agent ran
	Desc       string    `json:"desc,omitempty"`     // Pacemaker's description: "ok", "not running", "member", "lost"…
	NodeID     string    `json:"nodeid,omitempty"`   // node events: the Corosync node id
	Sequence   int64     `json:"sequence,omitempty"` // Pacemaker's per-node alert sequence number
}

// Succeeded reports whether a resource operation ended as Pacemaker expected.
func (e Event) Succeeded() bool { return e.Kind == KindResource && e.Status == 0 && e.RC == e.TargetRC }

// Journal is one journal file on this host.
type Journal struct {
	Path    string // "" means DefaultPath
	MaxSize int64  // 0 means DefaultMaxSize
}

func (j Journal) path() string {
	if j.Path == "" {
		return DefaultPath
	}
	return j.Path
}

func (j Journal) maxSize() int64 {
	if j.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return j.MaxSize
}

// lockPoll is how often Append retries a lock another writer holds.
const lockPoll = 5 * time.Millisecond

// ErrLocked is matched when Append gave up waiting for another writer before ctx ended.
var ErrLocked = errors.New("journal: locked by another writer")

// Append writes e as one line at the end of the journal and syncs it to disk. Writers serialise
// on an advisory lock (Path+".lock"); Append waits for it no longer than ctx allows, so the alert
// agent ends within Pacemaker's timeout. When the line would take the file past MaxSize, the file
// is first renamed to Path+".1".
func (j Journal) Append(ctx context.Context, e Event) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	path := j.path()
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer lock.Close() // closing releases the lock
	if err := flock(ctx, lock); err != nil {
		return fmt.Errorf("journal: %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Size() > 0 && st.Size()+int64(len(line)) > j.maxSize() {
		if err := os.Rename(path, path+".1"); err != nil {
			return fmt.Errorf("journal: rotate: %w", err)
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	werr := appendLine(f, line)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("journal: %s: %w", path, werr)
	}
	return nil
}

// appendLine writes line at the end of f, on a line of its own: a line torn by an earlier crash
// gets its newline first, so it cannot swallow this one. A write or sync that fails is cut
// off again, so it leaves no torn line either.
func appendLine(f *os.File, line []byte) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	_, err = f.Write(line)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(size); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	return err
}

// flock takes an exclusive lock on f, retrying until ctx ends.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
		case <-t.C:
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", dir, err)
	}
	return nil
}

// Read returns the events of the journal (the rotated generation first) at or after since
// (zero: all), in the order they were written. A line that does not parse — the torn end of a
// write cut short by a crash — is skipped and counted in skipped. A journal that does not exist
// yet has no events.
func (j Journal) Read(since time.Time) (events []Event, skipped int, err error) {
	path := j.path()
	for _, p := range []string{path + ".1", path} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("journal: %w", err)
		}
		ev, n, err := decode(f, since)
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("journal: %s: %w", p, err)
		}
		events = append(events, ev...)
		skipped += n
	}
	return events, skipped, nil
}

// decode reads JSON lines from r.
func decode(r io.Reader, since time.Time) ([]Event, int, error) {
	var events []Event
	skipped := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil || e.Kind == "" {
			skipped++
			continue
		}
		if !since.IsZero() && e.Time.Before(since) {
			continue
		}
		events = append(events, e)
	}
	return events, skipped, sc.Err()
}

// Sorted returns the events ordered by time (stable: equal times keep their journal order).
func Sorted(events []Event) []Event {
	s := slices.Clone(events)
	slices.SortStableFunc(s, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return s
}

// AlertPath is where the alert agent is installed (`vipctl alert install`, bootstrap) and
// where the CIB's alert points: a copy of the vipctl binary, which runs as the alert agent
// when called by that name.
const AlertPath = "/usr/lib/vipctl/alert"
