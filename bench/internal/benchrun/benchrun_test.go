package benchrun

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// With -log the result lines also land in the file, which Close closes.
func TestOutGoesToTheLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.log")
	r, err := Start(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(r.Out, "drill 1: ok")
	r.Close()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "drill 1: ok\n" {
		t.Errorf("log file %q, %v; want the line", b, err)
	}
	if r.Ctx.Err() == nil {
		t.Error("the context still runs after Close")
	}
	if _, err := Start(filepath.Join(t.TempDir(), "no", "dir", "run.log")); err == nil {
		t.Error("no error for a log file that cannot be created")
	}
}
