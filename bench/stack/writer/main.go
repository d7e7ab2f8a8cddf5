// Command writer is the stack benchmark's client: it commits one numbered row every interval
// through a PostgreSQL address (VIP:port) and prints a line for every acknowledged commit, so
// that the benchmark can tell how long writes stopped and whether an acknowledged row was lost.
// Run it in the lab's client namespace (ip netns exec); the password comes from PGPASSFILE.
//
// Output, one line per event, times in Unix nanoseconds:
//
//	ack SEQ TIME        the commit of row SEQ was acknowledged at TIME
//	fail SEQ TIME WHY   the commit of row SEQ failed (the row may or may not exist)
//
// It stops on SIGTERM or SIGINT, after the commit in flight.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Table is where the writer puts its rows.
const Table = "vipctl_writes"

func main() {
	var (
		addr     = flag.String("addr", "", "HOST:PORT of the cluster (required)")
		user     = flag.String("user", "postgres", "user")
		db       = flag.String("db", "postgres", "database")
		interval = flag.Duration("interval", 20*time.Millisecond, "one commit every interval")
		timeout  = flag.Duration("timeout", time.Second, "a connect or commit taking longer fails")
		progress = flag.Bool("progress", false, "print a progress line on stderr every second")
	)
	flag.Parse()
	if *addr == "" || *interval <= 0 || *timeout <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	dsn := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable&connect_timeout=%d&application_name=vipctl-writer",
		*user, *addr, *db, max(1, int(timeout.Seconds())))
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(2)
	}
	var p *progressLine
	if *progress {
		p = &progressLine{w: os.Stderr, last: time.Now()}
	}
	if err := run(ctx, cfg, *interval, *timeout, w, p); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *pgx.ConnConfig, interval, timeout time.Duration, w *bufio.Writer, p *progressLine) error {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	created := false
	for seq := int64(1); ; seq++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		err := func() error {
			actx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if conn == nil {
				c, err := pgx.ConnectConfig(actx, cfg)
				if err != nil {
					return err
				}
				conn = c
			}
			if !created {
				if _, err := conn.Exec(actx, "CREATE TABLE IF NOT EXISTS "+Table+
					" (seq bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
					return err
				}
				created = true
			}
			// One statement outside a transaction block: its acknowledgement is the commit's.
			_, err := conn.Exec(actx, "INSERT INTO "+Table+" (seq) VALUES ($1)", seq)
			return err
		}()
		now := time.Now().UnixNano()
		if err != nil {
			if conn != nil {
				_ = conn.Close(context.Background())
				conn = nil
			}
			fmt.Fprintf(w, "fail %d %d %s\n", seq, now, reason(err))
		} else {
			fmt.Fprintf(w, "ack %d %d\n", seq, now)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		p.record(seq, err)
		// A hanging commit may have eaten ticks: do not fire them all at once afterwards.
		select {
		case <-tick.C:
		default:
		}
	}
}

// progressLine tells a person watching what the writer sees, once a second.
type progressLine struct {
	w        io.Writer
	last     time.Time // of the last line
	acked    int64     // acknowledged commits
	lastSeq  int64     // the last acknowledged row
	lastAck  time.Time
	lastFail string
}

func (p *progressLine) record(seq int64, err error) {
	if p == nil {
		return
	}
	now := time.Now()
	if err == nil {
		if !p.lastAck.IsZero() && now.Sub(p.lastAck) > time.Second {
			fmt.Fprintf(p.w, "writer: commits acknowledged again after %.1f s without (row %d)\n", now.Sub(p.lastAck).Seconds(), seq)
		}
		p.acked++
		p.lastSeq, p.lastAck, p.lastFail = seq, now, ""
	} else {
		p.lastFail = reason(err)
	}
	if now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	if p.lastFail != "" && !p.lastAck.IsZero() {
		fmt.Fprintf(p.w, "writer: no commit acknowledged for %.1f s (last row %d; now: %s)\n", now.Sub(p.lastAck).Seconds(), p.lastSeq, p.lastFail)
		return
	}
	fmt.Fprintf(p.w, "writer: %d commits acknowledged, last row %d at %s\n", p.acked, p.lastSeq, p.lastAck.Format("15:04:05.000"))
}

// reason is the error on one line, without spaces at its ends.
func reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
