package pcmkhost

import (
	"context"
	"fmt"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/wait"
)

// Runner returns the runner of commands inside the host (pcmk.NSEnter on its supervisor).
func (h *Host) Runner(timeout time.Duration) pcmk.Runner {
	return pcmk.NSEnter{Pid: h.pid, Timeout: timeout}
}

// Status runs crm_mon inside the host and returns what it reports.
func (h *Host) Status(ctx context.Context) (pcmk.Status, error) {
	s, err := pcmk.ReadStatus(ctx, h.Runner(10*time.Second))
	if err != nil {
		return pcmk.Status{}, fmt.Errorf("pcmkhost: %s: %w", h.cfg.Name, err)
	}
	return s, nil
}

// Online runs crm_mon in the host once and reports whether at least nodes nodes are online, a
// DC is elected and the partition is quorate, with what crm_mon said.
func (h *Host) Online(ctx context.Context, nodes int) (pcmk.Status, bool, error) {
	st, err := h.Status(ctx)
	if err != nil {
		return st, false, err
	}
	return st, len(st.Online) >= nodes && st.DC != "" && st.Quorate, nil
}

// WaitOnline polls Online until it holds, or ctx ends (the error then says what was last seen).
// A host that is not running, or whose daemons are dead, ends the wait at once.
func (h *Host) WaitOnline(ctx context.Context, nodes int) error {
	var last pcmk.Status
	var lastErr error
	err := wait.Until(ctx, 500*time.Millisecond, func() (bool, error) {
		if err := h.Check(); err != nil {
			return false, err
		}
		var ok bool
		last, ok, lastErr = h.Online(ctx, nodes)
		return ok, nil
	})
	if err != nil {
		if lastErr != nil {
			return fmt.Errorf("pcmkhost: %s: waiting for %d nodes online: %w (last: %w)", h.cfg.Name, nodes, err, lastErr)
		}
		return fmt.Errorf("pcmkhost: %s: waiting for %d nodes online: %w (last: online %v, dc %q, quorate %v)",
			h.cfg.Name, nodes, err, last.Online, last.DC, last.Quorate)
	}
	return nil
}
