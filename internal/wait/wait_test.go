package wait

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	t.Run("holds on the third call", func(t *testing.T) {
		calls := 0
		err := Until(context.Background(), time.Millisecond, func() (bool, error) {
			calls++
			return calls == 3, nil
		})
		if err != nil || calls != 3 {
			t.Fatalf("Until = %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("condition fails", func(t *testing.T) {
		boom := errors.New("boom")
		err := Until(context.Background(), time.Millisecond, func() (bool, error) { return false, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Until = %v, want %v", err, boom)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := Until(ctx, time.Millisecond, func() (bool, error) { return false, nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Until = %v, want %v", err, context.DeadlineExceeded)
		}
	})
}
