package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/internal/pcmkhost"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/stack"
	"github.com/vipctl/vipctl/topology"
)

// The stack lab: besides Corosync and Pacemaker, every host runs a real Consul server agent,
// and the tasks of the rendered Nomad jobs that Nomad would place on it (a Patroni +
// PostgreSQL member of each cluster, one HAProxy per cluster). Nomad cannot run those docker
// tasks here (no docker engine), so the lab is their launcher: it reads the rendered bundle
// (nomad/<job>.json, the templates and files in it) and runs each task as Nomad's docker
// driver would, in a mount namespace of its own inside the host (alloc.sh).

//go:embed alloc.sh
var allocScript string

const (
	bundleSubdir  = "bundle"         // the rendered bundle the stack runs
	sharedSubdir  = "shared"         // storage every host of a group sees (the posix pgbackrest repository)
	variablesFile = "variables.json" // the lab's Nomad Variables: the clusters' passwords
	// PgpassFile, in the state directory, holds the lab's superuser password for a client.
	PgpassFile = "pgpass"
	// dynamicPortBase is where the lab hands out the jobs' dynamic ports (inside Nomad's 20000–32000).
	dynamicPortBase = 20000
	// pgBinDir is on the PATH of the Patroni image (as in the official postgres image).
	pgBinDir = "/usr/lib/postgresql/15/bin"
)

// ConsulBinary returns the Consul binary the stack lab runs: $VIPCTL_CONSUL, else consul on
// the PATH, else the one scripts/build-consul.sh builds into $VIPCTL_CACHE (default /var/cache/vipctl).
func ConsulBinary() (string, error) {
	if p := os.Getenv("VIPCTL_CONSUL"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("consul"); err == nil {
		return p, nil
	}
	p := filepath.Join(cacheDir(), "bin", "consul")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("lab: the stack needs Consul v1.14.0 (scripts/build-consul.sh builds it into %s): %w", p, err)
	}
	return p, nil
}

// cacheDir is where scripts/build-consul.sh keeps what it builds: $VIPCTL_CACHE, else /var/cache/vipctl.
func cacheDir() string {
	if d := os.Getenv("VIPCTL_CACHE"); d != "" {
		return d
	}
	return "/var/cache/vipctl"
}

// stackTools checks, before anything is made, that the machine has what the stack runs.
func stackTools() error {
	var errs []error
	if _, err := ConsulBinary(); err != nil {
		errs = append(errs, err)
	}
	for _, tool := range []string{"patroni", "haproxy", "psql", "setpriv", "curl", "nft", filepath.Join(pgBinDir, "postgres")} {
		if _, err := exec.LookPath(tool); err != nil {
			errs = append(errs, fmt.Errorf("lab: the stack needs %s (scripts/install-deps.sh installs it): %w", tool, err))
		}
	}
	// Patroni finds its Consul DCS only with the python3-consul package.
	if _, err := os.Stat(patroniConsulModule); err != nil {
		errs = append(errs, fmt.Errorf("lab: Patroni's Consul DCS needs python3-consul (scripts/install-deps.sh installs it): %w", err))
	}
	return errors.Join(errs...)
}

// patroniConsulModule is the Consul client library Patroni's Consul DCS imports (Debian's python3-consul).
const patroniConsulModule = "/usr/lib/python3/dist-packages/consul"

// startStack renders the bundle into the state directory, then starts Consul on every host,
// the Patroni members and the HAProxies, and waits until the stack is whole (WaitStack): every
// member replicating and passing Consul's checks, and a client reaching each cluster's
// primary through VIP:port.
func (l *Lab) startStack(ctx context.Context) error {
	files, err := stack.Files(l.topo)
	if err != nil {
		return fmt.Errorf("lab: rendering the stack's bundle: %w", err)
	}
	if err := bundle.Write(ctx, filepath.Join(l.dir, bundleSubdir), files); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := l.writeVariables(); err != nil {
		return err
	}
	for i := range l.state.Hosts {
		if err := l.startConsul(ctx, &l.state.Hosts[i]); err != nil {
			return err
		}
	}
	l.log.Info("waiting for the Consul cluster to elect a leader")
	if err := l.waitConsul(ctx); err != nil {
		return err
	}
	for i := range l.state.Hosts {
		if err := l.startTasks(ctx, &l.state.Hosts[i]); err != nil {
			return err
		}
	}
	if err := l.WaitSQL(ctx); err != nil {
		return err
	}
	l.log.Info("waiting for every member to replicate and pass Consul's checks")
	return l.WaitStack(ctx, 3*time.Minute)
}

// startHostStack starts the stack's processes of one host (after a power-on).
func (l *Lab) startHostStack(ctx context.Context, hs *HostState) error {
	if err := l.startConsul(ctx, hs); err != nil {
		return err
	}
	return l.startTasks(ctx, hs)
}

// variables are the lab's Nomad Variables: path → key → value.
type variables map[string]map[string]string

func (l *Lab) writeVariables() error {
	vars := variables{}
	var pgpass strings.Builder
	for _, c := range l.topo.Clusters {
		su, rep := randomSecret(), randomSecret()
		vars[c.VariablePath()] = map[string]string{"superuser_password": su, "replication_password": rep}
		if g, ok := l.topo.Group(c.HostGroup); ok {
			fmt.Fprintf(&pgpass, "%s:%d:*:postgres:%s\n", g.VIP.Prefix.Addr(), c.Port, su)
		}
	}
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, variablesFile), b, 0o600); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.WriteFile(filepath.Join(l.dir, PgpassFile), []byte(pgpass.String()), 0o600); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

func (l *Lab) readVariables() (variables, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, variablesFile))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var v variables
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", variablesFile, err)
	}
	return v, nil
}

func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// hostDir is the state directory of a host on this machine (and, shared, inside it).
func (l *Lab) hostDir(name string) string { return filepath.Join(l.dir, hostsSubdir, name) }

// startDetached starts argv inside the host for as long as the host lives (it is in the
// host's pid namespace), logging to logName in the host's directory.
// files become the child's descriptors from 3 on. It returns the pid (as seen here) of the
// process it started, the root of the task's process tree.
func (l *Lab) startDetached(h *pcmkhost.Host, hs *HostState, logName string, files []*os.File, argv ...string) (int, error) {
	logf, err := os.OpenFile(filepath.Join(l.hostDir(hs.Name), logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return 0, fmt.Errorf("lab: %w", err)
	}
	defer logf.Close()
	cmd := h.Command(context.Background(), argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("lab: %s: %s: %w", hs.Name, argv[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}

// consulConfig is the agent configuration of a lab host: a server of a cluster of every lab
// host, HTTP and DNS where the topology says the host's agent answers (and HTTP on the host's
// address, where jobs reach it), and timings for a lab: Raft at its fastest (raft_multiplier 1)
// and sessions as short as Patroni's ttl asks (Patroni's Consul session TTL is ttl/2).
func (l *Lab) consulConfig(hs *HostState) ([]byte, error) {
	httpAP, err := netip.ParseAddrPort(l.topo.Consul.Address)
	if err != nil {
		return nil, fmt.Errorf("lab: consul.address %q: %w", l.topo.Consul.Address, err)
	}
	dnsAP, err := netip.ParseAddrPort(l.topo.Consul.DNS)
	if err != nil {
		return nil, fmt.Errorf("lab: consul.dns %q: %w", l.topo.Consul.DNS, err)
	}
	var join []string
	for _, o := range l.state.Hosts {
		if o.Name != hs.Name {
			join = append(join, o.Address.Addr().String())
		}
	}
	addr := hs.Address.Addr().String()
	clients := []string{addr}
	for _, a := range []netip.Addr{httpAP.Addr(), dnsAP.Addr()} {
		if s := a.String(); !slices.Contains(clients, s) {
			clients = append(clients, s)
		}
	}
	cfg := map[string]any{
		"node_name":            hs.Name,
		"datacenter":           "lab",
		"server":               true,
		"bootstrap_expect":     len(l.state.Hosts),
		"bind_addr":            addr,
		"advertise_addr":       addr,
		"client_addr":          strings.Join(clients, " "),
		"retry_join":           join,
		"retry_interval":       "1s",
		"data_dir":             filepath.Join(l.hostDir(hs.Name), "consul"),
		"ports":                map[string]int{"http": int(httpAP.Port()), "dns": int(dnsAP.Port()), "grpc": -1},
		"performance":          map[string]int{"raft_multiplier": 1},
		"session_ttl_min":      "1s",
		"disable_update_check": true,
		"log_level":            "warn",
		"enable_script_checks": false,
		// A fixed set of servers: autopilot must never drop a powered-off one from Raft (it
		// would, by default, leaving two voters, and the next failure would lose quorum).
		"autopilot": map[string]any{"min_quorum": len(l.state.Hosts)},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

func (l *Lab) startConsul(_ context.Context, hs *HostState) error {
	consul, err := ConsulBinary()
	if err != nil {
		return err
	}
	h, err := l.host(hs)
	if err != nil {
		return err
	}
	cfg, err := l.consulConfig(hs)
	if err != nil {
		return err
	}
	p := filepath.Join(l.hostDir(hs.Name), "consul.json")
	if err := os.WriteFile(p, cfg, 0o644); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	l.log.Info("starting Consul", "host", hs.Name)
	_, err = l.startDetached(h, hs, "consul.log", nil, consul, "agent", "-config-file", p)
	return err
}

// hostGet runs curl inside the host against url and returns the HTTP status and body.
func hostGet(ctx context.Context, h *pcmkhost.Host, url string) (int, []byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := h.Command(cctx, "curl", "-s", "--max-time", "2", "-w", "\n%{http_code}", url).Output()
	if err != nil {
		return 0, nil, fmt.Errorf("lab: %s: GET %s: %w", h.Name(), url, err)
	}
	i := bytes.LastIndexByte(out, '\n')
	code, err := strconv.Atoi(string(bytes.TrimSpace(out[i+1:])))
	if err != nil {
		return 0, nil, fmt.Errorf("lab: %s: GET %s: no status in %q", h.Name(), url, out)
	}
	return code, out[:i], nil
}

// waitConsul waits until every running host's agent knows the Consul leader.
func (l *Lab) waitConsul(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	url := "http://" + l.topo.Consul.Address + "/v1/status/leader"
	return l.eachRunning(func(hs *HostState, h *pcmkhost.Host) error {
		var last string
		err := wait.Until(wctx, 200*time.Millisecond, func() (bool, error) {
			code, body, err := hostGet(wctx, h, url)
			last = fmt.Sprint(code, " ", strings.TrimSpace(string(body)), err)
			// With no leader, Consul answers 200 with the JSON string "" (two bytes).
			return err == nil && code == 200 && len(body) > 2, nil
		})
		if err != nil {
			return fmt.Errorf("lab: %s: Consul has no leader (last answer %q): %w", hs.Name, last, err)
		}
		return nil
	})
}

// placement is where the lab puts allocation index idx of a job's group: the idx-th host of the
// group, as Nomad would with the job's constraints (one per host, on the group's hosts).
func (l *Lab) placement(c topology.Cluster, host string) (int, bool) {
	g, ok := l.topo.Group(c.HostGroup)
	if !ok {
		return 0, false
	}
	i := slices.Index(g.Hosts, host)
	return i, i >= 0
}

// startTasks starts the Patroni member and the HAProxy of every cluster placed on the host.
func (l *Lab) startTasks(ctx context.Context, hs *HostState) error {
	for ci, c := range l.topo.Clusters {
		idx, ok := l.placement(c, hs.Name)
		if !ok {
			continue
		}
		for _, job := range []string{c.PatroniJobName(), c.HAProxyJobName()} {
			j, err := l.readJob(job)
			if err != nil {
				return err
			}
			if idx >= *j.TaskGroups[0].Count {
				continue
			}
			a := &alloc{lab: l, host: hs, cluster: c, job: j, index: idx, slot: ci, dynamicPort: dynamicPortBase + ci}
			if err := a.start(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// readJob reads a job of the rendered bundle (its API JSON).
func (l *Lab) readJob(name string) (*api.Job, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, bundleSubdir, "nomad", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	var wrap struct{ Job *api.Job }
	if err := json.Unmarshal(b, &wrap); err != nil || wrap.Job == nil || len(wrap.Job.TaskGroups) != 1 ||
		len(wrap.Job.TaskGroups[0].Tasks) != 1 || wrap.Job.TaskGroups[0].Count == nil {
		return nil, fmt.Errorf("lab: nomad/%s.json: not a job of one group with one task the lab can launch (%v)", name, err)
	}
	return wrap.Job, nil
}

// WaitSQL waits until a PostgreSQL client in the lab's client namespace runs a query on the
// primary of every cluster through VIP:port.
func (l *Lab) WaitSQL(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for _, c := range l.topo.Clusters {
		l.log.Info("waiting for SQL through the VIP", "cluster", c.Name)
		var last string
		err := wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
			out, err := l.SQL(wctx, c, "select pg_is_in_recovery()")
			last = strings.TrimSpace(out)
			return err == nil && last == "f", nil
		})
		if err != nil {
			return fmt.Errorf("lab: cluster %s: no primary answers through its VIP (last answer %q): %w%s", c.Name, last, err, l.taskLogs(c))
		}
	}
	return nil
}

// SQL runs one statement with psql in the lab's client namespace against VIP:port of the
// cluster, as the superuser, and returns its unaligned output.
func (l *Lab) SQL(ctx context.Context, c topology.Cluster, stmt string) (string, error) {
	g, ok := l.topo.Group(c.HostGroup)
	if !ok {
		return "", fmt.Errorf("lab: cluster %s: unknown group %s", c.Name, c.HostGroup)
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dsn := fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres connect_timeout=2", g.VIP.Prefix.Addr(), c.Port)
	cmd := exec.CommandContext(qctx, "ip", "netns", "exec", l.state.Client.NetNS, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", dsn, "-c", stmt)
	cmd.Env = append(os.Environ(), "PGPASSFILE="+filepath.Join(l.dir, PgpassFile))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("lab: psql %s: %w: %s", c.Name, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// taskLogs returns the end of every task log of the cluster's jobs, for an error message.
func (l *Lab) taskLogs(c topology.Cluster) string {
	var b strings.Builder
	for _, hs := range l.state.Hosts {
		for _, job := range []string{c.PatroniJobName(), c.HAProxyJobName()} {
			data, err := os.ReadFile(filepath.Join(l.hostDir(hs.Name), job+".log"))
			if err != nil || len(data) == 0 {
				continue
			}
			if len(data) > 1500 {
				data = data[len(data)-1500:]
			}
			fmt.Fprintf(&b, "\n--- %s %s.log:\n%s", hs.Name, job, data)
		}
	}
	return b.String()
}

// Member is one Patroni member as Patroni's REST API (/cluster) reports it.
type Member struct {
	Name     string `json:"name"`
	Role     string `json:"role"`  // leader, replica, sync_standby
	State    string `json:"state"` // running, streaming, starting, stopped…
	Host     string `json:"host"`
	Timeline int    `json:"timeline"`
	Lag      any    `json:"lag"` // bytes behind the leader, or "unknown"
	LabHost  string `json:"-"`   // the lab host it runs on
}

// Members asks the Patroni of any running host of the cluster's group for the cluster's members.
func (l *Lab) Members(ctx context.Context, c topology.Cluster) ([]Member, error) {
	g, ok := l.topo.Group(c.HostGroup)
	if !ok {
		return nil, fmt.Errorf("lab: cluster %s: unknown group %s", c.Name, c.HostGroup)
	}
	var errs []error
	for _, name := range g.Hosts {
		hs, err := l.state.host(name)
		if err != nil || hs.PowerOff || hs.LinkDown {
			continue
		}
		h, err := l.host(hs)
		if err != nil {
			return nil, err
		}
		code, body, err := hostGet(ctx, h, fmt.Sprintf("http://%s:%d/cluster", hs.Address.Addr(), c.PatroniPort))
		if err != nil || code != 200 {
			errs = append(errs, fmt.Errorf("%s: %d %w", name, code, err))
			continue
		}
		var out struct{ Members []Member }
		if err := json.Unmarshal(body, &out); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for i := range out.Members {
			if idx, err := strconv.Atoi(strings.TrimPrefix(out.Members[i].Name, "pgsql-")); err == nil && idx < len(g.Hosts) {
				out.Members[i].LabHost = g.Hosts[idx]
			}
		}
		return out.Members, nil
	}
	return nil, fmt.Errorf("lab: cluster %s: no Patroni answered: %w", c.Name, errors.Join(errs...))
}

// Primary returns the lab host whose member leads the cluster.
func (l *Lab) Primary(ctx context.Context, c topology.Cluster) (string, error) {
	ms, err := l.Members(ctx, c)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.Role == "leader" && m.State == "running" {
			return m.LabHost, nil
		}
	}
	return "", fmt.Errorf("lab: cluster %s has no running leader", c.Name)
}

// maxFailoverLag is the rendered maximum_lag_on_failover: a replica further behind is not promoted.
const maxFailoverLag = 1 << 20

// WaitStack waits until Consul's autopilot says every server is healthy (a voter, in contact
// with the leader), every cluster has a running leader and all its members replicate within
// maxFailoverLag (Patroni's view), in synchronous mode one of them the synchronous standby, a
// client reaches the primary through VIP:port, and every replica streams and has replayed what
// the primary had written (WaitReplicated).
func (l *Lab) WaitStack(ctx context.Context, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h, err := l.anyHost()
	if err != nil {
		return err
	}
	var last string
	if err := wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
		code, body, err := hostGet(wctx, h, "http://"+l.topo.Consul.Address+"/v1/operator/autopilot/health")
		if err != nil || code != 200 {
			last = fmt.Sprint(code, err)
			return false, nil
		}
		var health struct {
			Healthy bool
			Servers []struct{ Name string }
		}
		if err := json.Unmarshal(body, &health); err != nil {
			return false, fmt.Errorf("lab: Consul autopilot health: %w", err)
		}
		last = strings.TrimSpace(string(body))
		return health.Healthy && len(health.Servers) == len(l.state.Hosts), nil
	}); err != nil {
		return fmt.Errorf("lab: Consul's servers are not all healthy voters (last answer %s): %w", last, err)
	}
	for _, c := range l.topo.Clusters {
		var last []Member
		err := wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
			ms, err := l.Members(wctx, c)
			if err != nil {
				return false, nil
			}
			last = ms
			leaders, healthy, syncs := 0, 0, 0
			for _, m := range ms {
				if m.Role == "sync_standby" {
					syncs++
				}
				switch {
				case m.Role == "leader" && m.State == "running":
					leaders++
					healthy++
				case m.State == "running" || m.State == "streaming":
					// Under a write load a replica is always a little behind: close enough is
					// what Patroni would promote (maximum_lag_on_failover).
					if lag, ok := m.Lag.(float64); ok && lag <= maxFailoverLag {
						healthy++
					}
				}
			}
			// In synchronous mode Patroni fails over only to the synchronous standby: until the
			// leader has named one (a loop after a replica streams), losing the primary stops
			// the cluster until the primary returns.
			return leaders == 1 && healthy == c.Replicas && (!c.Patroni.SynchronousMode || c.Replicas < 2 || syncs == 1), nil
		})
		if err != nil {
			return fmt.Errorf("lab: cluster %s is not whole (members %+v): %w", c.Name, last, err)
		}
		// Consul's view too (what vipctl status reads): every member's check passes.
		url := "http://" + l.topo.Consul.Address + "/v1/health/service/" + c.PatroniJobName() + "?passing=1"
		var passing int
		err = wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
			code, body, err := hostGet(wctx, h, url)
			if err != nil || code != 200 {
				return false, nil
			}
			var entries []json.RawMessage
			if err := json.Unmarshal(body, &entries); err != nil {
				return false, fmt.Errorf("lab: Consul health of %s: %w", c.Name, err)
			}
			passing = len(entries)
			return passing == c.Replicas, nil
		})
		if err != nil {
			return fmt.Errorf("lab: cluster %s: %d of %d members pass Consul's checks: %w", c.Name, passing, c.Replicas, err)
		}
	}
	if err := l.WaitSQL(wctx); err != nil {
		return err
	}
	for _, c := range l.topo.Clusters {
		if err := l.WaitReplicated(wctx, c); err != nil {
			return err
		}
	}
	return nil
}

// WaitReplicated waits until every replica of the cluster streams from the primary and has
// replayed all the primary had written when it was called: from then on, a commit made before
// the call survives the loss of the primary, even under asynchronous replication.
//
// Patroni's view is not enough for that: it measures a replica's lag against the leader's
// position in the DCS, written once a loop (10 s), so a replica that has not yet reconnected
// after a switchover or a restart counts as close enough while it receives nothing. Patroni
// would promote it on a failover, and the commits since are lost. pg_stat_replication on the
// primary tells who really streams and how far each one has replayed.
func (l *Lab) WaitReplicated(ctx context.Context, c topology.Cluster) error {
	lsn, err := l.SQL(ctx, c, "SELECT pg_current_wal_lsn()")
	if err != nil {
		return err
	}
	lsn = strings.TrimSpace(lsn)
	hi, lo, ok := strings.Cut(lsn, "/")
	if _, err := strconv.ParseUint(hi, 16, 32); !ok || err != nil {
		return fmt.Errorf("lab: cluster %s: the primary's WAL position is %q", c.Name, lsn)
	}
	if _, err := strconv.ParseUint(lo, 16, 32); err != nil {
		return fmt.Errorf("lab: cluster %s: the primary's WAL position is %q", c.Name, lsn)
	}
	// lsn is X/Y of hexadecimal digits, checked above: quoting it is enough.
	stmt := "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn >= '" + lsn + "'::pg_lsn"
	want := strconv.Itoa(c.Replicas - 1)
	var last string
	err = wait.Until(ctx, 250*time.Millisecond, func() (bool, error) {
		out, err := l.SQL(ctx, c, stmt)
		last = strings.TrimSpace(out)
		if err != nil {
			last = err.Error()
		}
		return err == nil && last == want, nil
	})
	if err != nil {
		return fmt.Errorf("lab: cluster %s: %s of %s replicas stream and have replayed %s: %w", c.Name, last, want, lsn, err)
	}
	return nil
}

// Switchover makes the cluster's member on host the primary (Patroni's REST API, POST
// /switchover, asked of the current leader) and waits until the cluster is whole again.
func (l *Lab) Switchover(ctx context.Context, c topology.Cluster, host string) error {
	g, _ := l.topo.Group(c.HostGroup)
	to := slices.Index(g.Hosts, host)
	if to < 0 {
		return fmt.Errorf("lab: %s is not a host of cluster %s", host, c.Name)
	}
	from, err := l.Primary(ctx, c)
	if err != nil {
		return err
	}
	if from == host {
		return nil
	}
	hs, err := l.state.host(from)
	if err != nil {
		return err
	}
	h, err := l.host(hs)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`{"leader":"pgsql-%d","candidate":"pgsql-%d"}`, slices.Index(g.Hosts, from), to)
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := h.Command(cctx, "curl", "-s", "--max-time", "50", "-XPOST", "-d", body,
		fmt.Sprintf("http://%s:%d/switchover", hs.Address.Addr(), c.PatroniPort)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: switchover of %s to %s: %w: %s", c.Name, host, err, out)
	}
	// Patroni refuses some switchovers at once (in synchronous mode, to any member but the
	// synchronous standby): its answer says so.
	if !strings.Contains(string(out), "Successfully switched over") {
		return fmt.Errorf("lab: switchover of %s to %s: Patroni said %q", c.Name, host, out)
	}
	if err := wait.Until(cctx, 250*time.Millisecond, func() (bool, error) {
		p, err := l.Primary(cctx, c)
		return err == nil && p == host, nil
	}); err != nil {
		return fmt.Errorf("lab: switchover of %s to %s (Patroni said %q): %w", c.Name, host, out, err)
	}
	return l.WaitStack(ctx, 2*time.Minute)
}

// postmaster returns the pid of the cluster member's postmaster on host, as the host's pid
// namespace numbers it: the first line of postmaster.pid in the member's data directory.
func (l *Lab) postmaster(c topology.Cluster, host string) (string, error) {
	rel, err := filepath.Rel(c.Container().PGDataMount, c.Container().PGData)
	if err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(l.hostDir(host), "volumes", c.VolumeName(), rel, "postmaster.pid"))
	if err != nil {
		return "", fmt.Errorf("lab: %s: no running PostgreSQL of %s: %w", host, c.Name, err)
	}
	pid, _, _ := strings.Cut(string(data), "\n")
	if _, err := strconv.Atoi(pid); err != nil {
		return "", fmt.Errorf("lab: %s: postmaster.pid of %s starts with %q", host, c.Name, pid)
	}
	return pid, nil
}

// KillPostgres kills the postmaster of the cluster's member on host with SIGKILL, as a crash
// would (Patroni stays up).
func (l *Lab) KillPostgres(ctx context.Context, c topology.Cluster, host string) error {
	pid, err := l.postmaster(c, host)
	if err != nil {
		return err
	}
	h, err := l.Host(host)
	if err != nil {
		return err
	}
	if out, err := h.Command(ctx, "kill", "-KILL", pid).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: %s: kill %s: %w: %s", host, pid, err, out)
	}
	return nil
}

// TaskExec runs argv inside the cluster member's task on host, as the image's user with the
// image's environment, like `docker exec` into the Patroni container: it sees the task's files
// (patroni.yml, pgbackrest.conf, the rendered scripts) and the task's network. It returns the
// combined output and the exit code.
func (l *Lab) TaskExec(ctx context.Context, c topology.Cluster, host string, argv ...string) (string, int, error) {
	pid, err := l.postmaster(c, host)
	if err != nil {
		return "", 0, err
	}
	h, err := l.Host(host)
	if err != nil {
		return "", 0, err
	}
	args := []string{"-t", pid, "-m", "-n", "--", "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
		"env", "-i", "PATH=" + pgBinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/var/lib/postgresql", "LANG=C.UTF-8"}
	out, err := h.Command(ctx, "nsenter", append(args, argv...)...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode(), nil
	}
	if err != nil {
		return string(out), 0, fmt.Errorf("lab: %s: %s: %w", host, strings.Join(argv, " "), err)
	}
	return string(out), 0, nil
}

// MoveVIP moves the group's VIP to host (a location constraint through crm_resource --move,
// cleared again once the VIP runs there: stickiness keeps it) and waits until only host holds it.
func (l *Lab) MoveVIP(ctx context.Context, group, host string) error {
	h, err := l.anyHost()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g, ok := l.topo.Group(group)
	if !ok {
		return fmt.Errorf("lab: no host group %q in the topology", group)
	}
	rsc := g.VIPID()
	if out, err := h.Command(cctx, "crm_resource", "--resource", rsc, "--move", "--node", host).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: moving %s to %s: %w: %s", rsc, host, err, out)
	}
	var last []string
	werr := wait.Until(cctx, 100*time.Millisecond, func() (bool, error) {
		var err error
		last, err = l.Holders(group)
		return len(last) == 1 && last[0] == host, err
	})
	if out, err := h.Command(cctx, "crm_resource", "--resource", rsc, "--clear").CombinedOutput(); err != nil {
		return fmt.Errorf("lab: clearing the move of %s: %w: %s", rsc, err, out)
	}
	if werr != nil {
		return fmt.Errorf("lab: %s did not move to %s (held by %v): %w", rsc, host, last, werr)
	}
	return l.Settle(ctx)
}
