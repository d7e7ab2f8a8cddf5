package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Writes from many goroutines, read while they run, all land whole.
func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if _, err := b.Write([]byte("line\n")); err != nil {
					t.Error(err)
				}
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("line\n", 800) {
		t.Errorf("got %d bytes, %d lines; want 800 lines", len(got), strings.Count(got, "\n"))
	}
}
