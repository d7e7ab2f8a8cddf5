// Package wait polls a condition until it holds, fails, or its context ends.
package wait

import (
	"context"
	"time"
)

// Until calls cond at once and then every interval until it reports true (nil), returns an
// error (that error), or ctx ends (ctx's error). A test or command that waits for a cluster to
// settle uses it with a deadline in ctx, never a fixed sleep.
func Until(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
