package lab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vipctl/vipctl/corosync"
	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/internal/pcmkhost"
	"github.com/vipctl/vipctl/internal/wait"
	"github.com/vipctl/vipctl/topology"
)

// ApplyFunc brings the live CIB of the lab's cluster to the topology's desired state,
// running Pacemaker's tools through run (inside a running lab host: pcmk.NSEnter).
type ApplyFunc func(ctx context.Context, t *topology.Topology, run pcmk.Runner) error

// Options configure Up.
type Options struct {
	Dir          string // state directory; "" means DefaultDir
	TopologyFile string // "" means the lab's own DefaultTopology
	Vipctl       string // the vipctl binary: runs the hosts' listeners and `ocf install`
	Bare         bool   // stop once the cluster is quorate: no agent install, no CIB
	// Fresh makes hosts as new machines with the packages installed: nothing running, no
	// corosync.conf, no key (the lab's is in Dir/authkey for bootstrap's --authkey), no CIB.
	// Each host's systemctl starts corosync and pacemaker (pcmkhost.Config.Fresh).
	Fresh  bool
	Stack  bool         // also run the PostgreSQL stack: Consul, Patroni + PostgreSQL, HAProxy
	Apply  ApplyFunc    // applies the CIB unless Bare; nil means ApplyCIB(Dir)
	Logger *slog.Logger // progress; nil discards
}

// Lab is a running lab, as recorded in its state directory.
type Lab struct {
	dir   string
	state *State
	topo  *topology.Topology
	run   pcmk.Runner // the lab network's commands, on this host
	log   *slog.Logger
}

// Open returns the lab that is up in dir ("" means DefaultDir), or ErrNotUp.
func Open(dir string, logger *slog.Logger) (*Lab, error) {
	if dir == "" {
		dir = DefaultDir
	}
	s, err := readState(dir)
	if err != nil {
		return nil, err
	}
	t, err := topology.Load(s.Topology)
	if err != nil {
		return nil, fmt.Errorf("lab: the lab's topology: %w", err)
	}
	return &Lab{dir: dir, state: s, topo: t, run: netRunner, log: orDiscard(logger)}, nil
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Topology returns the topology the lab runs.
func (l *Lab) Topology() *topology.Topology { return l.topo }

// State returns a copy of the lab's recorded state.
func (l *Lab) State() State {
	l.reload()
	s := *l.state
	s.Hosts = slices.Clone(s.Hosts)
	return s
}

func (l *Lab) save() error { return writeState(l.dir, l.state) }

// Up builds the lab: the switch, the client and one namespace set per topology host, runs
// Corosync and Pacemaker on every host and returns once the cluster is quorate with every
// host online, a listener on each cluster port of every host, and (unless Bare) the vipctl
// agent installed, the CIB applied and every VIP held by one host. A failed Up removes
// everything it made.
func Up(ctx context.Context, opts Options) (l *Lab, err error) {
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir
	}
	if _, err := readState(dir); err == nil {
		return nil, fmt.Errorf("%w in %s (vipctl lab down first)", ErrUp, dir)
	}
	prefix := NamespacePrefix(dir)
	if left, _ := labNamespaces(prefix); len(left) > 0 {
		return nil, fmt.Errorf("%w: namespaces %s are left over (vipctl lab down removes them)", ErrUp, strings.Join(left, ", "))
	}
	if opts.Apply == nil {
		opts.Apply = ApplyCIB(dir)
	}
	if opts.Vipctl == "" {
		return nil, errors.New("lab: Options.Vipctl (the vipctl binary) is needed")
	}
	// The topology is read and checked before anything is made: a bad one changes nothing.
	src := []byte(DefaultTopology)
	name := filepath.Join(dir, topoFile)
	if opts.TopologyFile != "" {
		if src, err = os.ReadFile(opts.TopologyFile); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		name = opts.TopologyFile
	}
	t, err := topology.Parse(src, name)
	if err != nil {
		return nil, err
	}
	st, err := plan(t, prefix)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: lab up needs root (network namespaces, mounts)")
	}
	if opts.Fresh && (opts.Bare || opts.Stack) {
		return nil, errors.New("lab: --fresh excludes --bare and --stack")
	}
	st.Fresh = opts.Fresh
	if opts.Stack {
		if opts.Bare {
			return nil, errors.New("lab: --stack and --bare exclude each other")
		}
		if err := stackTools(); err != nil {
			return nil, err
		}
		st.Stack = true
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if opts.Stack { // the tasks' users (postgres) reach their files below it
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	log := orDiscard(opts.Logger)
	l = &Lab{dir: dir, run: netRunner, log: log, state: st}
	defer func() {
		if err != nil { // l is nil here: the failing return set it
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			err = errors.Join(err, Down(cctx, dir, log))
		}
	}()
	// The hosts see dir (their /run is their own), so the topology they may use lives there.
	topoPath := filepath.Join(dir, topoFile)
	if err := os.WriteFile(topoPath, src, 0o644); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	t.File = topoPath
	l.topo = t
	l.state.Topology = topoPath
	l.state.Vipctl = opts.Vipctl
	if err := l.save(); err != nil {
		return nil, err
	}

	l.log.Info("building the network", "hosts", len(t.Hosts))
	if err := l.buildNetwork(ctx); err != nil {
		return nil, err
	}
	l.log.Info("starting the BMC")
	if err := l.startBMC(ctx); err != nil {
		return nil, err
	}
	key := make([]byte, 256)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("lab: authkey: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authkey"), key, 0o400); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	for i := range l.state.Hosts {
		if err := l.startHost(ctx, &l.state.Hosts[i]); err != nil {
			return nil, err
		}
	}
	if opts.Fresh {
		return l, nil
	}
	l.log.Info("waiting for the cluster to be quorate")
	if err := l.waitWhole(ctx); err != nil {
		return nil, err
	}
	if opts.Bare {
		return l, nil
	}
	if usesAgent(t, topology.AgentVipctl) || len(t.Clusters) > 0 { // ocf:vipctl:vip, ocf:vipctl:health
		l.log.Info("installing the vipctl agents")
		if err := l.exec(ctx, opts.Vipctl, "ocf", "install"); err != nil {
			return nil, err
		}
	}
	// The CIB's alert runs it on every host; each host's journal lives in its own /var/lib/vipctl.
	l.log.Info("installing the alert agent")
	if err := l.exec(ctx, opts.Vipctl, "alert", "install"); err != nil {
		return nil, err
	}
	h, err := l.anyHost()
	if err != nil {
		return nil, err
	}
	// The DC writes cluster-name into the CIB shortly after its election; apply checks it.
	if err := waitClusterName(ctx, h); err != nil {
		return nil, err
	}
	l.log.Info("applying the CIB")
	if err := opts.Apply(ctx, t, h.Runner(pcmk.DefaultTimeout)); err != nil {
		return nil, fmt.Errorf("lab: applying the CIB: %w", err)
	}
	if err := l.WaitHeld(ctx); err != nil {
		return nil, err
	}
	if opts.Stack {
		if err := l.startStack(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func usesAgent(t *topology.Topology, agent string) bool {
	return slices.ContainsFunc(t.Groups, func(g topology.HostGroup) bool { return g.VIP.Agent == agent })
}

// plan names every namespace, link and address of the lab.
func plan(t *topology.Topology, prefix string) (*State, error) {
	s := &State{Prefix: prefix, Client: ClientState{NetNS: prefix + clientName}}
	used := map[netip.Addr]bool{}
	for _, h := range t.Hosts {
		used[h.Address.Unmap()] = true
	}
	for _, g := range t.Groups {
		used[g.VIP.Prefix.Addr().Unmap()] = true
	}
	for i, h := range t.Hosts {
		hs, err := planHost(t, prefix, h, "h"+strconv.Itoa(i+1))
		if err != nil {
			return nil, err
		}
		s.Hosts = append(s.Hosts, hs)
	}
	seen := map[netip.Prefix]bool{}
	for _, g := range t.Groups {
		p := g.VIP.Prefix.Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		if a, ok := freeAddr(p, used); ok {
			used[a] = true
			s.Client.Addresses = append(s.Client.Addresses, netip.PrefixFrom(a, p.Bits()))
		}
	}
	return s, nil
}

// planHost names the namespace, links and addresses of one host; port names its end of the
// main bridge (its second link's end is port+"l1").
func planHost(t *topology.Topology, prefix string, h topology.Host, port string) (HostState, error) {
	nic := t.NICFor(h.Name)
	if nic == "" {
		nic = "eth0"
	}
	if len(nic) > 15 || strings.ContainsAny(nic, "/ ") {
		return HostState{}, fmt.Errorf("%w: lab: host %s: interface name %q is not usable for a lab link", topology.ErrInvalid, h.Name, nic)
	}
	if strings.ContainsAny(h.Name, "/ ") || len(prefix+h.Name) > 200 {
		return HostState{}, fmt.Errorf("%w: lab: host name %q cannot name a namespace", topology.ErrInvalid, h.Name)
	}
	hs := HostState{
		Name:    h.Name,
		NetNS:   prefix + h.Name,
		NIC:     nic,
		Port:    port,
		Address: hostPrefix(t, h.Address.Unmap()),
	}
	if len(h.Links) > 1 {
		nic1 := "eth1"
		if nic == nic1 {
			nic1 = "eth2"
		}
		hs.Link1 = &LinkState{NIC: nic1, Port: port + "l1", Address: hostPrefix(t, h.Links[1].Unmap())}
	}
	return hs, nil
}

// hostPrefix gives a host's address the prefix length of the VIP subnet it lies in
// (else /24 or /64), so the host reaches its group's VIP subnet directly.
func hostPrefix(t *topology.Topology, a netip.Addr) netip.Prefix {
	for _, g := range t.Groups {
		if g.VIP.Prefix.Masked().Contains(a) {
			return netip.PrefixFrom(a, g.VIP.Prefix.Bits())
		}
	}
	if a.Is4() {
		return netip.PrefixFrom(a, 24)
	}
	return netip.PrefixFrom(a, 64)
}

// freeAddr finds an address for the client in p, from the top down (skipping IPv4's
// broadcast address), that no host or VIP uses.
func freeAddr(p netip.Prefix, used map[netip.Addr]bool) (netip.Addr, bool) {
	if p.Bits() >= p.Addr().BitLen()-1 {
		return netip.Addr{}, false
	}
	a := last(p)
	if a.Is4() {
		a = a.Prev()
	}
	for ; p.Contains(a) && a != p.Masked().Addr(); a = a.Prev() {
		if !used[a] {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// last returns the highest address of p.
func last(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (l *Lab) buildNetwork(ctx context.Context) error {
	if err := l.addNetNS(ctx, l.state.switchNS()); err != nil {
		return err
	}
	if err := l.ip(ctx, l.state.switchNS(), "link", "add", mainBridge, "type", "bridge"); err != nil {
		return err
	}
	if err := l.ip(ctx, l.state.switchNS(), "link", "set", mainBridge, "up"); err != nil {
		return err
	}
	if err := l.addNetNS(ctx, l.state.Client.NetNS); err != nil {
		return err
	}
	if err := l.wire(ctx, l.state.Client.NetNS, clientNIC, clientPort, l.state.Client.Addresses); err != nil {
		return err
	}
	for _, h := range l.state.Hosts {
		if err := l.buildHostNetwork(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// buildHostNetwork makes the host's network namespace and wires it to the switch.
func (l *Lab) buildHostNetwork(ctx context.Context, h HostState) error {
	if err := l.addNetNS(ctx, h.NetNS); err != nil {
		return err
	}
	if err := l.wire(ctx, h.NetNS, h.NIC, h.Port, []netip.Prefix{h.Address}); err != nil {
		return err
	}
	if h.Link1 == nil {
		return nil
	}
	if err := l.secondBridge(ctx); err != nil {
		return err
	}
	return l.wireTo(ctx, link1Bridge, h.NetNS, h.Link1.NIC, h.Link1.Port, []netip.Prefix{h.Link1.Address})
}

// link1Bridge is the switch of the hosts' second Corosync links.
const link1Bridge = "brl1"

// secondBridge creates the bridge of the second links once.
func (l *Lab) secondBridge(ctx context.Context) error {
	if err := l.ip(ctx, l.state.switchNS(), "link", "show", link1Bridge); err == nil {
		return nil
	}
	if err := l.ip(ctx, l.state.switchNS(), "link", "add", link1Bridge, "type", "bridge"); err != nil {
		return err
	}
	return l.ip(ctx, l.state.switchNS(), "link", "set", link1Bridge, "up")
}

// FailLink sets one Corosync link of the named host down at the switch (link 0: its main link,
// which also carries the VIP; 1: its second link). The host keeps running.
func (l *Lab) FailLink(ctx context.Context, name string, link int) error {
	return l.changeHost(name, func(hs *HostState) error {
		switch {
		case link == 0:
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Port, "down"); err != nil {
				return err
			}
			hs.LinkDown = true
		case link == 1 && hs.Link1 != nil:
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Link1.Port, "down"); err != nil {
				return err
			}
			hs.Link1.Down = true
		default:
			return fmt.Errorf("lab: host %s has no link %d", name, link)
		}
		return nil
	})
}

func (l *Lab) hostConfig(h *HostState) (pcmkhost.Config, error) {
	cfg := pcmkhost.Config{
		Name:     h.Name,
		NetNS:    h.NetNS,
		StateDir: filepath.Join(l.dir, hostsSubdir, h.Name),
		Share:    []string{l.dir},
		Fresh:    l.state.Fresh,
		Sbin:     map[string][]byte{FenceAgentName: l.fenceAgentScript()},
	}
	if cfg.Fresh {
		return cfg, nil
	}
	conf, err := corosync.Render(l.topo)
	if err != nil {
		return pcmkhost.Config{}, err
	}
	key, err := os.ReadFile(filepath.Join(l.dir, "authkey"))
	if err != nil {
		return pcmkhost.Config{}, fmt.Errorf("lab: %w", err)
	}
	cfg.CorosyncConf, cfg.Authkey = conf, key
	return cfg, nil
}

// startHost starts the host's Corosync and Pacemaker and its listeners.
func (l *Lab) startHost(ctx context.Context, hs *HostState) error {
	cfg, err := l.hostConfig(hs)
	if err != nil {
		return err
	}
	l.log.Info("starting host", "host", hs.Name)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h, err := pcmkhost.Start(sctx, cfg)
	if err != nil {
		return err
	}
	hs.Pid = h.Pid()
	hs.PowerOff = false
	if err := l.save(); err != nil {
		return err
	}
	if l.state.Stack { // HAProxy serves the cluster ports; startStack starts it
		return nil
	}
	return l.startListener(h, hs)
}

// startListener runs `vipctl lab _listen` inside the host on every port of its group's
// clusters: it stands in for HAProxy and answers with the host's name.
func (l *Lab) startListener(h *pcmkhost.Host, hs *HostState) error {
	g, ok := l.topo.GroupOf(hs.Name)
	if !ok {
		return nil
	}
	var ports []string
	for _, c := range l.topo.ClustersOf(g.Name) {
		ports = append(ports, strconv.Itoa(c.Port))
	}
	if len(ports) == 0 {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(l.dir, hostsSubdir, hs.Name, "listener.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	defer logf.Close()
	// The listener lives as long as the host (it is in the host's pid namespace), not as
	// long as this call: no context ends it.
	cmd := h.Command(context.Background(), l.state.Vipctl, append([]string{"lab", "_listen", "--name", hs.Name}, ports...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("lab: %s: listener: %w", hs.Name, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// host attaches to a running lab host.
func (l *Lab) host(hs *HostState) (*pcmkhost.Host, error) {
	if hs.Pid == 0 {
		return nil, fmt.Errorf("%w: %s is powered off", pcmkhost.ErrNotRunning, hs.Name)
	}
	cfg, err := l.hostConfig(hs)
	if err != nil {
		return nil, err
	}
	return pcmkhost.Attach(cfg, hs.Pid)
}

// Host returns the named running host.
func (l *Lab) Host(name string) (*pcmkhost.Host, error) {
	l.reload()
	hs, err := l.state.host(name)
	if err != nil {
		return nil, err
	}
	return l.host(hs)
}

// anyHost returns the first running, connected host.
func (l *Lab) anyHost() (*pcmkhost.Host, error) {
	for i := range l.state.Hosts {
		hs := &l.state.Hosts[i]
		if hs.PowerOff || hs.LinkDown {
			continue
		}
		if h, err := l.host(hs); err == nil {
			return h, nil
		}
	}
	return nil, fmt.Errorf("%w: no lab host is running and connected", pcmkhost.ErrNotRunning)
}

// waitClusterName polls until the live CIB carries the cluster-name property.
func waitClusterName(ctx context.Context, h *pcmkhost.Host) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := wait.Until(ctx, 200*time.Millisecond, func() (bool, error) {
		qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
		defer qcancel()
		err := h.Command(qctx, "crm_attribute", "--type", "crm_config", "--name", "cluster-name", "--query", "--quiet").Run()
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("lab: waiting for the cluster to record its cluster-name: %w", err)
	}
	return nil
}

// waitWhole waits until every running host sees every running host online, with quorum. With
// fencing on, the lab's BMC may power a host off and on meanwhile: the state is read afresh
// each round, and a host that is not running (yet) is waited for. Without fencing, a host
// whose supervisor or daemons are gone fails the wait at once.
func (l *Lab) waitWhole(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	fencing := l.topo.Pacemaker.StonithEnabled && len(l.topo.Fences) > 0
	var last error
	err := wait.Until(wctx, 500*time.Millisecond, func() (bool, error) {
		l.reload()
		n := 0
		for _, hs := range l.state.Hosts {
			if !hs.PowerOff {
				n++
			}
		}
		for i := range l.state.Hosts {
			hs := &l.state.Hosts[i]
			if hs.PowerOff {
				continue
			}
			h, err := l.host(hs)
			if err == nil {
				err = h.Check()
			}
			if err != nil {
				if fencing {
					last = err
					return false, nil
				}
				return false, err
			}
			st, ok, err := h.Online(wctx, n)
			if err != nil {
				last = err
				return false, nil
			}
			if !ok {
				last = fmt.Errorf("%s sees online %v of %d, DC %q, quorate %v", hs.Name, st.Online, n, st.DC, st.Quorate)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		if last != nil {
			return fmt.Errorf("lab: waiting for every host to see the whole cluster: %w (last: %w)", err, last)
		}
		return fmt.Errorf("lab: waiting for every host to see the whole cluster: %w", err)
	}
	return nil
}

// eachRunning calls f, in order, for every host that is powered on, and stops at its first error.
func (l *Lab) eachRunning(f func(*HostState, *pcmkhost.Host) error) error {
	for i := range l.state.Hosts {
		hs := &l.state.Hosts[i]
		if hs.PowerOff {
			continue
		}
		h, err := l.host(hs)
		if err != nil {
			return err
		}
		if err := f(hs, h); err != nil {
			return err
		}
	}
	return nil
}

// Exec runs argv inside the named host with the given streams and returns its exit code.
func (l *Lab) Exec(ctx context.Context, name string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("lab: exec: no command")
	}
	h, err := l.Host(name)
	if err != nil {
		return 0, err
	}
	cmd := h.Command(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil // as a shell reports it
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("lab: exec in %s: %w", name, err)
	}
	return 0, nil
}

// Fail breaks the named host: with linkOnly its link to the switch goes down and the host
// keeps running, isolated; otherwise it is powered off: every process killed, its addresses
// flushed as after a reboot, its link down.
func (l *Lab) Fail(ctx context.Context, name string, linkOnly bool) error {
	return l.changeHost(name, func(hs *HostState) error {
		if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Port, "down"); err != nil {
			return err
		}
		hs.LinkDown = true
		if hs.Link1 != nil { // isolated: every link goes
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Link1.Port, "down"); err != nil {
				return err
			}
			hs.Link1.Down = true
		}
		if !linkOnly && !hs.PowerOff {
			return l.powerOff(ctx, hs)
		}
		return nil
	})
}

// Partition cuts the switch between the sets of hosts: each set after the first gets a
// bridge of its own; hosts named in no set and the client stay with the first set.
func (l *Lab) Partition(ctx context.Context, sets [][]string) error {
	unlock, err := l.begin()
	if err != nil {
		return err
	}
	defer unlock()
	seen := map[string]bool{}
	for _, set := range sets {
		for _, n := range set {
			if _, err := l.state.host(n); err != nil {
				return err
			}
			if seen[n] {
				return fmt.Errorf("lab: partition: host %s named twice", n)
			}
			seen[n] = true
		}
	}
	if len(sets) < 2 {
		return errors.New("lab: partition: name at least two sets of hosts")
	}
	if err := l.join(ctx); err != nil {
		return err
	}
	for k, set := range sets[1:] {
		br := "br" + strconv.Itoa(k+1)
		if err := l.ip(ctx, l.state.switchNS(), "link", "add", br, "type", "bridge"); err != nil {
			return err
		}
		if err := l.ip(ctx, l.state.switchNS(), "link", "set", br, "up"); err != nil {
			return err
		}
		for _, n := range set {
			hs, _ := l.state.host(n)
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Port, "master", br); err != nil {
				return err
			}
		}
	}
	l.state.Partition = sets
	return l.save()
}

// join puts every port back on the main bridge and removes the partition's bridges.
func (l *Lab) join(ctx context.Context) error {
	for k := range len(l.state.Partition) - 1 {
		br := "br" + strconv.Itoa(k+1)
		if err := l.ip(ctx, l.state.switchNS(), "link", "del", br); err != nil {
			return err
		}
	}
	if len(l.state.Partition) > 0 {
		for _, hs := range l.state.Hosts {
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Port, "master", mainBridge); err != nil {
				return err
			}
		}
	}
	l.state.Partition = nil
	return l.save()
}

// Heal undoes every failure: the switch whole again, links up, powered-off hosts started
// again (with the CIB they had on disk), a dead corosync or pacemakerd started again (see
// pcmkhost.Host.Revive). It returns once every host sees the whole cluster.
func (l *Lab) Heal(ctx context.Context) error {
	if err := l.heal(ctx); err != nil {
		return err
	}
	return l.waitWhole(ctx)
}

// heal is Heal's change of the lab, under the state lock (waiting for the cluster is not: the
// BMC may have to fence a host meanwhile).
func (l *Lab) heal(ctx context.Context) error {
	unlock, err := l.begin()
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.join(ctx); err != nil {
		return err
	}
	for i := range l.state.Hosts {
		hs := &l.state.Hosts[i]
		if hs.PowerOff {
			if err := l.powerOn(ctx, hs); err != nil {
				return err
			}
		} else if h, err := l.host(hs); err == nil {
			if err := h.Revive(ctx); err != nil {
				return fmt.Errorf("lab: heal: %w", err)
			}
		}
		if hs.LinkDown {
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Port, "up"); err != nil {
				return err
			}
			hs.LinkDown = false
		}
		if hs.Link1 != nil && hs.Link1.Down {
			if err := l.ip(ctx, l.state.switchNS(), "link", "set", hs.Link1.Port, "up"); err != nil {
				return err
			}
			hs.Link1.Down = false
		}
		if err := l.save(); err != nil {
			return err
		}
	}
	return nil
}

// Holders returns the hosts whose network namespace has the group's VIP, checked through
// netlink on every host (Pacemaker's opinion is not asked).
func (l *Lab) Holders(group string) ([]string, error) {
	g, ok := l.topo.Group(group)
	if !ok {
		return nil, fmt.Errorf("lab: unknown host group %q", group)
	}
	l.reload()
	holders := []string{}
	for _, hs := range l.state.Hosts {
		if !slices.Contains(g.Hosts, hs.Name) {
			continue
		}
		ok, err := holds(hs.NetNS, g.VIP.Prefix.Addr())
		if err != nil {
			return nil, err
		}
		if ok {
			holders = append(holders, hs.Name)
		}
	}
	return holders, nil
}

// WaitHeld waits until every group's VIP is held by exactly one host.
func (l *Lab) WaitHeld(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, g := range l.topo.Groups {
		var last []string
		err := wait.Until(wctx, 100*time.Millisecond, func() (bool, error) {
			var err error
			last, err = l.Holders(g.Name)
			return len(last) == 1, err
		})
		if err != nil {
			return fmt.Errorf("lab: waiting for VIP %v of %s to be held by one host (held by %v): %w", g.VIP.Prefix, g.Name, last, err)
		}
	}
	return nil
}

// Settle waits until Pacemaker has nothing left to do (crm_resource --wait, asked inside
// a running, connected host) and every VIP is held by exactly one host.
func (l *Lab) Settle(ctx context.Context) error {
	l.reload()
	h, err := l.anyHost()
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := h.Command(wctx, "crm_resource", "--wait", "--timeout=100s").CombinedOutput(); err != nil {
		return fmt.Errorf("lab: crm_resource --wait: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return l.WaitHeld(ctx)
}

// PacemakerLog returns the path, on this machine, of the named host's Pacemaker log.
func (l *Lab) PacemakerLog(host string) string {
	return filepath.Join(l.dir, hostsSubdir, host, "var/log/pacemaker/pacemaker.log")
}

// Journal returns the path, on this machine, of the named host's failover journal (its
// /var/lib/vipctl/events.jsonl, written by the alert agent).
func (l *Lab) Journal(host string) string {
	return filepath.Join(l.dir, hostsSubdir, host, "var/lib/vipctl/events.jsonl")
}
