package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Listen accepts TCP connections on every port and answers each with name and a newline:
// the lab's stand-in for HAProxy. It returns when ctx ends.
func Listen(ctx context.Context, name string, ports []string) error {
	var lc net.ListenConfig
	var wg sync.WaitGroup
	var lns []net.Listener
	for _, p := range ports {
		ln, err := lc.Listen(ctx, "tcp", ":"+p)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("lab: listen on port %s: %w", p, err)
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = io.WriteString(c, name+"\n")
				c.Close()
			}
		}()
	}
	<-ctx.Done()
	for _, ln := range lns {
		ln.Close()
	}
	wg.Wait()
	return nil
}

// ProbeOptions configure Probe.
type ProbeOptions struct {
	Address  string        // host:port to connect to
	Interval time.Duration // a new attempt starts every Interval, whatever the others do
	Timeout  time.Duration // one attempt's deadline (connect and read)
	For      time.Duration // stop after this long; 0 runs until ctx ends
	UntilOK  bool          // stop after the first successful attempt
}

// Probe connects to opts.Address every opts.Interval (attempts overlap, so a hanging
// connect does not hide the moment service returns) and writes one line per change of
// outcome: "<unix nanoseconds> ok <answering host>" or "<unix nanoseconds> fail <reason>",
// stamped with the time the attempt completed. Results of attempts that began before an
// already reported one are dropped.
func Probe(ctx context.Context, opts ProbeOptions, w io.Writer) error {
	if opts.Interval <= 0 || opts.Timeout <= 0 {
		return errors.New("lab: probe: interval and timeout must be positive")
	}
	if opts.For > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.For)
		defer cancel()
	}
	type result struct {
		start   time.Time // when the attempt began
		at      time.Time // when it completed
		outcome string
	}
	results := make(chan result, 256)
	var wg sync.WaitGroup
	attempt := func() {
		defer wg.Done()
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(actx, "tcp", opts.Address)
		if err != nil {
			if ctx.Err() == nil { // an attempt cut short by the end of probing says nothing
				results <- result{start, time.Now(), "fail " + reason(err)}
			}
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(opts.Timeout))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			if ctx.Err() == nil {
				results <- result{start, time.Now(), "fail read: " + reason(err)}
			}
			return
		}
		results <- result{start, time.Now(), "ok " + strings.TrimSpace(line)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := ""
		var newest time.Time
		for r := range results {
			// An attempt that began before the newest one reported is stale: a timeout
			// arriving after a later attempt succeeded says nothing about now.
			if r.start.Before(newest) {
				continue
			}
			newest = r.start
			if r.outcome != last {
				fmt.Fprintf(w, "%d %s\n", r.at.UnixNano(), r.outcome)
				last = r.outcome
			}
			if opts.UntilOK && strings.HasPrefix(r.outcome, "ok ") {
				cancel()
			}
		}
	}()
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		wg.Add(1)
		go attempt()
		select {
		case <-ctx.Done():
			wg.Wait()
			close(results)
			<-done
			return nil
		case <-t.C:
		}
	}
}

// reason shortens a dial error to its cause (for example "connection refused", "i/o timeout").
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return err.Error()
}
