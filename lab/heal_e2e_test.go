package lab

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/wait"
)

// TestHealRevivesDaemons SIGKILLs pacemakerd on one host and corosync on another that do not
// hold the VIP: lab status names each dead daemon on its host's line, lab heal starts them again,
// after which no host reports a dead daemon, every host sees the whole cluster, and the VIP is
// where it was.
func TestHealRevivesDaemons(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, _, _ := upLab(t, ctx, false)
	if err := l.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	g := l.Topology().Groups[0]
	holders, err := l.Holders(g.Name)
	if err != nil || len(holders) != 1 {
		t.Fatalf("holders %v (%v); want one", holders, err)
	}
	var others []string
	for _, h := range g.Hosts {
		if h != holders[0] {
			others = append(others, h)
		}
	}
	if len(others) < 2 {
		t.Fatalf("group %s has hosts %v: want two besides the holder", g.Name, g.Hosts)
	}
	killed := map[string]string{others[0]: "pacemakerd", others[1]: "corosync"}
	for host, daemon := range killed {
		h, err := l.Host(host)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := h.Command(ctx, "pkill", "-KILL", "-x", daemon).CombinedOutput(); err != nil {
			t.Fatalf("%s: kill %s: %v: %s", host, daemon, err, out)
		}
	}
	var r Report
	err = wait.Until(ctx, 200*time.Millisecond, func() (bool, error) {
		var err error
		r, err = l.Status(ctx)
		if err != nil {
			return false, err
		}
		for _, hr := range r.Hosts {
			if d, ok := killed[hr.Name]; ok && !slices.Contains(hr.Dead, d) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("status never named the killed daemons %v: %v (last: %+v)", killed, err, r.Hosts)
	}
	if hr := r.Hosts[slices.IndexFunc(r.Hosts, func(hr HostReport) bool { return hr.Name == holders[0] })]; len(hr.Dead) != 0 {
		t.Errorf("the holder %s reports dead %v; nothing was killed there", hr.Name, hr.Dead)
	}
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for host, daemon := range killed {
		i := slices.IndexFunc(strings.Split(text.String(), "\n"), func(line string) bool {
			return strings.HasPrefix(line, host+" ") && strings.Contains(line, daemon+" dead")
		})
		if i < 0 {
			t.Errorf("lab status text does not say %s's %s is dead:\n%s", host, daemon, text.String())
		}
	}

	if err := l.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	r, err = l.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, hr := range r.Hosts {
		if len(hr.Dead) != 0 {
			t.Errorf("after heal %s reports dead %v", hr.Name, hr.Dead)
		}
		if hr.Cluster == nil || !hr.Cluster.Quorate || len(hr.Cluster.Online) != len(r.Hosts) {
			t.Errorf("after heal %s sees %+v (%s); want all %d online and quorate", hr.Name, hr.Cluster, hr.Error, len(r.Hosts))
		}
	}
	if got, err := l.Holders(g.Name); err != nil || !slices.Equal(got, holders) {
		t.Errorf("after heal the VIP is held by %v (%v); want %v", got, err, holders)
	}
}
