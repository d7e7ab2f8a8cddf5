package topology

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/sys/unix"
)

// nested builds a source whose deepest point is n levels of one kind, inside an attribute.
func nested(kind string, n int) []byte {
	var open, mid, closing string
	switch kind {
	case "brackets":
		open, mid, closing = "[", "1", "]"
	case "parens":
		open, mid, closing = "(", "1", ")"
	case "objects":
		open, mid, closing = "{a=", "1", "}"
	case "templates":
		open, mid, closing = `"${`, "1", `}"`
	case "bang":
		return []byte("x = " + strings.Repeat("!", n) + "true\n")
	case "minus":
		return []byte("x = " + strings.Repeat("-", n) + "1\n")
	case "blocks":
		return []byte(strings.Repeat("a {\n", n) + strings.Repeat("}\n", n))
	}
	return []byte("x = " + strings.Repeat(open, n) + mid + strings.Repeat(closing, n) + "\n")
}

// Every kind of nesting is refused past MaxDepth, at the token that crosses it, before HCL
// parses the file: a million levels of any of them once overflowed the parser's stack.
func TestDepthLimit(t *testing.T) {
	for _, kind := range []string{"brackets", "parens", "objects", "templates", "bang", "minus", "blocks"} {
		levels := 1 // depth levels per repetition
		if kind == "templates" {
			levels = 2 // a quoted string and an interpolation
		}
		for _, n := range []int{MaxDepth/levels + 1, 1 << 12} {
			_, err := Parse(nested(kind, n), "deep.hcl")
			d := firstDiag(t, err)
			if d.Summary != "Nesting deeper than 32 levels" || d.Subject == nil || d.Subject.Start.Line < 1 {
				t.Errorf("%s × %d: first diagnostic %q at %v; want the depth limit with a position", kind, n, d.Summary, d.Subject)
			}
		}
		// Just within the limit the depth check is silent (the file fails later, for its content).
		_, err := Parse(nested(kind, MaxDepth/levels-2), "ok.hcl")
		if d := firstDiag(t, err); strings.HasPrefix(d.Summary, "Nesting") {
			t.Errorf("%s × %d: refused as too deep: %v", kind, MaxDepth/levels-2, err)
		}
	}
	// As deep as the size limit allows: half a million brackets.
	n := (MaxFileSize - 10) / 2
	if d := firstDiag(t, mustFail(Parse(nested("brackets", n), "deepest.hcl"))); !strings.HasPrefix(d.Summary, "Nesting") {
		t.Errorf("%d brackets: first diagnostic %q; want the depth limit", n, d.Summary)
	}
}

func mustFail(_ *Topology, err error) error { return err }

func firstDiag(t *testing.T, err error) *hcl.Diagnostic {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || len(e.Diagnostics) == 0 {
		t.Fatalf("error %v: want an *Error matching ErrInvalid", err)
	}
	return e.Diagnostics[0]
}

// A file over MaxFileSize is refused at the byte where it crosses the limit, naming the
// line and column there; /dev/zero (endless) is one of them.
func TestSizeLimit(t *testing.T) {
	dir := t.TempDir()
	lines := filepath.Join(dir, "lines.hcl")
	line := "#" + strings.Repeat("-", 62) + "\n" // 64 bytes
	big := []byte(strings.Repeat(line, MaxFileSize/64+1))
	if err := os.WriteFile(lines, big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path      string
		line, col int
	}{
		{"/dev/zero", 1, MaxFileSize + 1},
		{lines, MaxFileSize/64 + 1, 1},
	} {
		_, err := Load(c.path)
		d := firstDiag(t, err)
		if d.Summary != "Topology larger than 1048576 bytes" || d.Subject == nil ||
			d.Subject.Filename != c.path || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col {
			t.Errorf("Load(%s): %q at %v; want the size limit at %d,%d", c.path, d.Summary, d.Subject, c.line, c.col)
		}
	}
	// At the limit exactly, the size check is silent.
	_, err := Parse(bytes.Repeat([]byte("\n"), MaxFileSize), "at-limit.hcl")
	if d := firstDiag(t, err); strings.HasPrefix(d.Summary, "Topology larger") {
		t.Errorf("a file of exactly MaxFileSize bytes is refused: %v", err)
	}
}

// A FIFO without a writer: LoadContext returns when its context ends, with the context's
// error (not a topology error: nothing was wrong with a file).
func TestLoadContextFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.hcl")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseFIFO(fifo) })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := LoadContext(ctx, fifo, Options{})
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalid) {
			t.Errorf("LoadContext(fifo) after cancel = %v; want context.Canceled, not ErrInvalid", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadContext(fifo) did not return after its context was cancelled")
	}
}

// releaseFIFO lets a reader blocked in open(2) on fifo go: a writer opens and closes it.
func releaseFIFO(fifo string) {
	if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		unix.Close(fd)
	}
}
