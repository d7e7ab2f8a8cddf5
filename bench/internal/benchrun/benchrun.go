// Package benchrun is how every bench/ program starts: a context that ends on SIGINT or
// SIGTERM, a text logger on standard error, and the writer of its result lines.
package benchrun

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Run is what a bench program runs with. Close it when done.
type Run struct {
	Ctx context.Context // ends on SIGINT or SIGTERM
	Log *slog.Logger    // text, on standard error, level info
	Out io.Writer       // standard output, and the -log file when one is named

	stop func()
	file *os.File
}

// Start starts a run; logFile, when not "", is created anew and gets every result line too.
func Start(logFile string) (*Run, error) {
	r := &Run{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})), Out: os.Stdout}
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			return nil, err
		}
		r.file, r.Out = f, io.MultiWriter(os.Stdout, f)
	}
	r.Ctx, r.stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return r, nil
}

// Close stops the signal handling and closes the log file.
func (r *Run) Close() {
	r.stop()
	if r.file != nil {
		_ = r.file.Close()
	}
}
