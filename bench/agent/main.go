// Command agentbench measures CPU and wall time per monitor and per start+stop cycle of OCF agents
// for one VIP, in the network namespace it runs in (bench/agent/run.sh sets that up).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vipctl/vipctl/vip"
)

type agent struct {
	name string
	path string
	env  []string // extra OCF_RESKEY_* settings
}

type result struct {
	wall, cpu time.Duration // per operation
}

// agentList collects -agent name=path flags.
type agentList []agent

func (l *agentList) String() string { return fmt.Sprint(len(*l)) }
func (l *agentList) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want name=path, not %q", v)
	}
	*l = append(*l, agent{name: name, path: path})
	return nil
}

func main() {
	n := flag.Int("n", 200, "iterations of each measurement")
	ipaddr2 := flag.String("ipaddr2", "/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "the IPaddr2 agent (the reference)")
	ip := flag.String("ip", "10.98.0.100", "VIP")
	cidr := flag.String("cidr", "24", "cidr_netmask")
	nic := flag.String("nic", "veth0", "interface")
	var agents agentList
	flag.Var(&agents, "agent", "name=path of an agent to compare with IPaddr2 (repeatable); the first also runs with dad_probe=false")
	var health agentList
	flag.Var(&health, "health", "name=path of a health agent whose monitor to measure (repeatable; the first is the reference)")
	clusters := flag.String("clusters", "demo:15001:16001", "the health agents' clusters parameter (NAME:PORT:STATS_PORT)")
	flag.Parse()
	if len(health) > 0 {
		if err := runHealth(*n, *clusters, health); err != nil {
			fmt.Fprintln(os.Stderr, "agentbench:", err)
			os.Exit(1)
		}
		return
	}
	if len(agents) == 0 {
		agents = agentList{{name: "vipctl", path: vip.AgentPath}}
	}
	all := []agent{{"IPaddr2", *ipaddr2, nil}, agents[0],
		{agents[0].name + " dad_probe=false", agents[0].path, []string{"OCF_RESKEY_dad_probe=false"}}}
	all = append(all, agents[1:]...)
	if err := run(*n, *ip, *cidr, *nic, all); err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}

// block is how many runs of one operation of one agent are measured in a row. The agents take
// turns block by block, so that a change of load on this shared machine during the benchmark
// falls on all of them alike and the ratios stay meaningful.
const block = 20

func run(n int, ip, cidr, nic string, agents []agent) error {
	// Detached helpers (vipctl's announcer, IPaddr2's send_arp) are re-parented to this process,
	// so their CPU is counted too.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	base := []string{"OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=bench-vip", "OCF_RESKEY_CRM_meta_timeout=20000",
		"OCF_RESKEY_ip=" + ip, "OCF_RESKEY_cidr_netmask=" + cidr, "OCF_RESKEY_nic=" + nic, "PATH=" + os.Getenv("PATH")}
	fmt.Printf("vip %s/%s on %s, %d iterations each (the agents take turns every %d), CPU = user+sys of the agent and all its descendants\n\n",
		ip, cidr, nic, n, block)
	ops := []string{"monitor", "start+stop"}
	type total struct {
		wall, cpu time.Duration
		runs      int
	}
	tot := map[string]map[string]*total{}
	for _, a := range agents {
		tot[a.name] = map[string]*total{}
		for _, op := range ops {
			tot[a.name][op] = &total{}
		}
	}
	for done := 0; done < n; done += block {
		k := min(block, n-done)
		for _, a := range agents {
			env := append(append([]string{}, base...), a.env...)
			if err := step(a, env, "stop"); err != nil {
				return err
			}
			if err := step(a, env, "start"); err != nil {
				return err
			}
			reap(true) // the announcements of this start are not the monitor's
			mon := append(env, "OCF_RESKEY_CRM_meta_interval=10000")
			r, err := measure(k, func() error { return step(a, mon, "monitor") })
			if err != nil {
				return err
			}
			t := tot[a.name]["monitor"]
			t.wall, t.cpu, t.runs = t.wall+r.wall*time.Duration(k), t.cpu+r.cpu*time.Duration(k), t.runs+k
			if err := step(a, env, "stop"); err != nil {
				return err
			}
			r, err = measure(k, func() error {
				if err := step(a, env, "start"); err != nil {
					return err
				}
				return step(a, env, "stop")
			})
			if err != nil {
				return err
			}
			t = tot[a.name]["start+stop"]
			t.wall, t.cpu, t.runs = t.wall+r.wall*time.Duration(k), t.cpu+r.cpu*time.Duration(k), t.runs+k
		}
	}
	res := map[string]map[string]result{}
	fmt.Printf("%-34s %-10s %12s %12s\n", "agent", "operation", "wall ms/op", "CPU ms/op")
	for _, a := range agents {
		res[a.name] = map[string]result{}
		for _, op := range ops {
			t := tot[a.name][op]
			r := result{wall: t.wall / time.Duration(t.runs), cpu: t.cpu / time.Duration(t.runs)}
			res[a.name][op] = r
			fmt.Printf("%-34s %-10s %12.2f %12.2f\n", a.name, op, ms(r.wall), ms(r.cpu))
		}
	}
	fmt.Println()
	ref := res[agents[0].name]
	for _, a := range agents[1:] {
		for _, op := range ops {
			r := res[a.name][op]
			fmt.Printf("%-34s vs %s, %-10s: %5.1fx less CPU, %5.1fx faster\n", a.name, agents[0].name, op,
				float64(ref[op].cpu)/float64(r.cpu), float64(ref[op].wall)/float64(r.wall))
		}
	}
	return nil
}

// runHealth measures the monitor of health agents in its steady state: every check passing
// and the attribute already set, so that the monitor forks nothing (the agent calls
// attrd_updater only when the value changes). The agents take turns block by block.
func runHealth(n int, clusters string, agents []agent) error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	env := []string{"OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=bench-health", "OCF_RESKEY_CRM_meta_timeout=20000",
		"OCF_RESKEY_attribute=bench-health", "OCF_RESKEY_clusters=" + clusters, "PATH=" + os.Getenv("PATH")}
	fmt.Printf("health monitor, clusters %q, %d iterations each (the agents take turns every %d), CPU = user+sys of the agent and all its descendants\n\n",
		clusters, n, block)
	tot := map[string]*result{}
	for _, a := range agents {
		if err := step(a, env, "start"); err != nil {
			return err
		}
		tot[a.name] = &result{}
	}
	mon := append(append([]string{}, env...), "OCF_RESKEY_CRM_meta_interval=5000")
	for done := 0; done < n; done += block {
		k := min(block, n-done)
		for _, a := range agents {
			r, err := measure(k, func() error { return step(a, mon, "monitor") })
			if err != nil {
				return err
			}
			t := tot[a.name]
			t.wall, t.cpu = t.wall+r.wall*time.Duration(k), t.cpu+r.cpu*time.Duration(k)
		}
	}
	fmt.Printf("%-34s %-10s %12s %12s\n", "agent", "operation", "wall ms/op", "CPU ms/op")
	for _, a := range agents {
		t := tot[a.name]
		t.wall, t.cpu = t.wall/time.Duration(n), t.cpu/time.Duration(n)
		fmt.Printf("%-34s %-10s %12.2f %12.2f\n", a.name, "monitor", ms(t.wall), ms(t.cpu))
		if err := step(a, env, "stop"); err != nil {
			return err
		}
	}
	fmt.Println()
	ref := tot[agents[0].name]
	for _, a := range agents[1:] {
		r := tot[a.name]
		fmt.Printf("%-34s vs %s, monitor: %5.1fx less CPU, %5.1fx faster\n", a.name, agents[0].name,
			float64(ref.cpu)/float64(r.cpu), float64(ref.wall)/float64(r.wall))
	}
	return nil
}

// measure runs f n times and returns wall time per run (f itself) and CPU per run (every
// descendant, reaped after the last run).
func measure(n int, f func() error) (result, error) {
	before := childrenCPU()
	var wall time.Duration
	for range n {
		t := time.Now()
		if err := f(); err != nil {
			return result{}, err
		}
		wall += time.Since(t)
		reap(false)
	}
	reap(true)
	return result{wall: wall / time.Duration(n), cpu: (childrenCPU() - before) / time.Duration(n)}, nil
}

func step(a agent, env []string, action string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// stderr is a file, not a pipe: a background child that inherits it (IPaddr2's send_arp)
	// must not make the agent look slower than its own exit, as Pacemaker sees it.
	stderr, err := os.CreateTemp("", "agentbench-*")
	if err != nil {
		return err
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	cmd := exec.CommandContext(ctx, a.path, action)
	cmd.Env = env
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(stderr.Name())
		return fmt.Errorf("%s %s: %w: %s", a.name, action, err, bytes.TrimSpace(msg))
	}
	return nil
}

// reap collects re-parented descendants: those already gone, or (wait) all of them.
func reap(wait bool) {
	flags := unix.WNOHANG
	if wait {
		flags = 0
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, flags, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}

func childrenCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
