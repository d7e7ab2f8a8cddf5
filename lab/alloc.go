package lab

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/internal/procscan"
	"github.com/vipctl/vipctl/topology"
)

// alloc is one allocation of a rendered job on a lab host, launched as Nomad's docker driver
// would launch its one task: templates rendered into the task's local/ and secrets/, the
// job's environment interpolated, its volumes bound, the image's entrypoint run.
type alloc struct {
	lab         *Lab
	host        *HostState
	cluster     topology.Cluster
	job         *api.Job
	index       int
	slot        int // the cluster's place in the topology: one allocation of a cluster per host
	dynamicPort int // the host port the lab hands the group's one dynamic port
}

// image is what the lab runs for a job's docker image: the same programs from Debian's
// packages, with the image's user, environment, directories and entrypoint.
type image struct {
	user       string   // "-" for root
	entrypoint []string // paths inside the task's view
	env        []string
	dirs       []string // directories the image has, created (in the task's view) for user
	binds      []string // bind:SRC:DST of the image's own files (from the bundle)
}

// imageOf returns the image of the job's task: the Patroni job runs the postgres-patroni image
// the compose Dockerfile describes (its entrypoint is the bundle's compose/entrypoint.sh);
// the HAProxy job runs the official haproxy image's command.
func (a *alloc) imageOf() (image, error) {
	switch *a.job.ID {
	case a.cluster.PatroniJobName():
		return image{
			user:       "postgres",
			entrypoint: []string{"/usr/local/bin/entrypoint.sh"},
			env: []string{"PATH=" + pgBinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"HOME=/var/lib/postgresql", "LANG=C.UTF-8", "PGDATA=" + a.cluster.Container().PGData},
			// The Dockerfile's directories (install -d -o postgres), and the socket directory.
			dirs:  []string{"/etc/patroni", "/etc/pgbackrest", a.cluster.Container().PGSocketDir, "/var/log/pgbackrest", "/var/spool/pgbackrest"},
			binds: []string{"bind:" + filepath.Join(a.lab.dir, bundleSubdir, "compose", "entrypoint.sh") + ":/usr/local/bin/entrypoint.sh"},
		}, nil
	case a.cluster.HAProxyJobName():
		return image{
			user:       "-",
			entrypoint: []string{"haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"},
			env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		}, nil
	}
	return image{}, fmt.Errorf("lab: job %s: no lab image for it", *a.job.ID)
}

func (a *alloc) dir() string {
	return filepath.Join(a.lab.hostDir(a.host.Name), "alloc", *a.job.ID+"-"+strconv.Itoa(a.index))
}

// port is one port label of the group: the host's port and the task's (to, when mapped).
type port struct{ host, task int }

// ports returns the group's ports by label: the reserved ones as rendered, the dynamic one
// from the lab; a port with "to" is mapped to that port of the task, as Nomad's docker driver
// maps it.
func (a *alloc) ports() map[string]port {
	ps := map[string]port{}
	for _, n := range a.job.TaskGroups[0].Networks {
		for _, p := range n.ReservedPorts {
			ps[p.Label] = port{p.Value, cmp.Or(p.To, p.Value)}
		}
		for _, p := range n.DynamicPorts {
			ps[p.Label] = port{a.dynamicPort, cmp.Or(p.To, a.dynamicPort)}
		}
	}
	return ps
}

// bridged reports whether the task gets a network namespace of its own, as a docker
// container does unless its network_mode is "host" (docker's default is its bridge network).
func (a *alloc) bridged() bool {
	mode, _ := a.job.TaskGroups[0].Tasks[0].Config["network_mode"].(string)
	return mode != "host"
}

// taskNet is the network of a bridged task: a namespace of its own, joined to the host's by a
// veth pair, as docker's bridge network joins a container (one pair a task instead of a bridge).
type taskNet struct {
	ns       string       // the task's network namespace
	hostLink string       // the host's end of the pair (the task's end is eth0)
	hostAddr netip.Prefix // the task's gateway
	taskAddr netip.Prefix
}

// net returns the task's network: the allocation's slot numbers its namespace, link and
// addresses, which are private to the host (every host has the same ones, as every docker
// host has 172.17.0.0/16).
func (a *alloc) net() taskNet {
	return taskNet{
		ns:       a.host.NetNS + "-task" + strconv.Itoa(a.slot),
		hostLink: "task" + strconv.Itoa(a.slot),
		hostAddr: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 30, byte(a.slot), 1}), 30),
		taskAddr: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 30, byte(a.slot), 2}), 30),
	}
}

// setUpNet makes the bridged task's network anew (a namespace that a power-off left behind goes
// first): the namespace, the veth pair, the addresses, the task's default route through the
// host, and forwarding on the host.
func (a *alloc) setUpNet(ctx context.Context) error {
	l, n := a.lab, a.net()
	if _, err := os.Stat(filepath.Join("/run/netns", n.ns)); err == nil {
		if err := l.ip(ctx, "", "netns", "delete", n.ns); err != nil {
			return err
		}
	}
	if a.slot > 255 {
		return fmt.Errorf("lab: %s: cluster %s: the lab numbers task networks up to 255", a.host.Name, a.cluster.Name)
	}
	// The kernel frees a deleted namespace (and so the veth pair) later, asynchronously: the
	// host's end of the old pair may outlive it. Deleting that end deletes the pair.
	if err := l.ip(ctx, a.host.NetNS, "link", "del", n.hostLink); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
		return err
	}
	if err := l.addNetNS(ctx, n.ns); err != nil {
		return err
	}
	steps := [][]string{
		{"", "link", "add", n.hostLink, "netns", a.host.NetNS, "type", "veth", "peer", "name", "eth0", "netns", n.ns},
		{a.host.NetNS, "addr", "add", n.hostAddr.String(), "dev", n.hostLink},
		{a.host.NetNS, "link", "set", n.hostLink, "up"},
		{n.ns, "addr", "add", n.taskAddr.String(), "dev", "eth0"},
		{n.ns, "link", "set", "eth0", "up"},
		{n.ns, "route", "add", "default", "via", n.hostAddr.Addr().String()},
	}
	for _, st := range steps {
		if err := l.ip(ctx, st[0], st[1:]...); err != nil {
			return err
		}
	}
	return l.exec(ctx, "ip", "netns", "exec", a.host.NetNS, "sysctl", "-qw", "net.ipv4.ip_forward=1")
}

// mapPorts lays the group's port mappings on the host's network namespace, as docker's port
// publishing does: a connection to a host port, from another host or from this one, reaches
// the task's port (nftables, in a table of this allocation's own). A bridged task gets every
// port of the group forwarded to its address, and its connections out leave with the host's
// address (docker's MASQUERADE), also those to its own published ports (hairpin); a task on
// the host's network gets the mapped ports redirected.
func (a *alloc) mapPorts(ctx context.Context) error {
	ports := a.ports()
	n := a.net()
	var mapped []port
	for _, label := range slices.Sorted(maps.Keys(ports)) {
		if p := ports[label]; a.bridged() || p.host != p.task {
			mapped = append(mapped, p)
		}
	}
	if len(mapped) == 0 {
		return nil
	}
	table := "vipctl_" + strings.NewReplacer("-", "_").Replace(*a.job.ID) + "_" + strconv.Itoa(a.index)
	var rules strings.Builder
	fmt.Fprintf(&rules, "add table ip %[1]s\nflush table ip %[1]s\n", table)
	fmt.Fprintf(&rules, "add chain ip %s prerouting { type nat hook prerouting priority dstnat; }\n", table)
	fmt.Fprintf(&rules, "add chain ip %s output { type nat hook output priority -100; }\n", table)
	for _, p := range mapped {
		to := fmt.Sprintf("redirect to :%d", p.task)
		if a.bridged() {
			to = fmt.Sprintf("dnat to %s:%d", n.taskAddr.Addr(), p.task)
		}
		for _, chain := range []string{"prerouting", "output"} {
			// Only connections to this host: the output hook also sees those to other hosts.
			fmt.Fprintf(&rules, "add rule ip %s %s fib daddr type local tcp dport %d %s\n", table, chain, p.host, to)
		}
	}
	if a.bridged() {
		fmt.Fprintf(&rules, "add chain ip %s postrouting { type nat hook postrouting priority srcnat; }\n", table)
		fmt.Fprintf(&rules, "add rule ip %s postrouting ip saddr %s oifname != %q masquerade\n", table, n.taskAddr.Addr(), n.hostLink)
		fmt.Fprintf(&rules, "add rule ip %s postrouting ip saddr %[2]s ip daddr %[2]s masquerade\n", table, n.taskAddr.Addr())
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", a.host.NetNS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: %s: mapping the ports of %s: %w: %s", a.host.Name, *a.job.ID, err, out)
	}
	return nil
}

var interpolation = regexp.MustCompile(`\$\{([^}]+)\}`)

// interpolate replaces Nomad's runtime variables in s as Nomad's docker driver sets them:
// NOMAD_ADDR_x and NOMAD_HOST_PORT_x name the host's port, NOMAD_PORT_x the task's.
func (a *alloc) interpolate(s string) (string, error) {
	addr := a.host.Address.Addr().String()
	ports := a.ports()
	var bad []string
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		switch name {
		case "NOMAD_ALLOC_INDEX":
			return strconv.Itoa(a.index)
		case "NOMAD_JOB_NAME":
			return *a.job.Name
		case "NOMAD_TASK_DIR":
			return filepath.Join(a.dir(), "local")
		case "attr.unique.network.ip-address":
			return addr
		case "node.unique.name":
			return a.host.Name
		}
		for _, p := range []string{"NOMAD_ADDR_", "NOMAD_IP_", "NOMAD_PORT_", "NOMAD_HOST_PORT_"} {
			label, ok := strings.CutPrefix(name, p)
			port, known := ports[label]
			if !ok || !known {
				continue
			}
			switch p {
			case "NOMAD_ADDR_":
				return addr + ":" + strconv.Itoa(port.host)
			case "NOMAD_IP_":
				return addr
			case "NOMAD_HOST_PORT_":
				return strconv.Itoa(port.host)
			default:
				return strconv.Itoa(port.task)
			}
		}
		bad = append(bad, m)
		return m
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("lab: job %s: the lab cannot interpolate %s", *a.job.ID, strings.Join(bad, ", "))
	}
	return out, nil
}

// renderTemplates writes the task's templates as Nomad would (consul-template is Go's
// text/template; nomadVar reads the lab's Variables) and returns the variables of those that
// are environment files.
func (a *alloc) renderTemplates(task *api.Task) ([]string, error) {
	vars, err := a.lab.readVariables()
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"nomadVar": func(path string) (map[string]string, error) {
		v, ok := vars[path]
		if !ok {
			return nil, fmt.Errorf("no Nomad Variable %s in the lab", path)
		}
		return v, nil
	}}
	var env []string
	for _, t := range task.Templates {
		if t.EmbeddedTmpl == nil || t.DestPath == nil {
			return nil, fmt.Errorf("lab: job %s: a template without data or destination", *a.job.ID)
		}
		tm, err := template.New(*t.DestPath).Funcs(funcs).Parse(*t.EmbeddedTmpl)
		if err != nil {
			return nil, fmt.Errorf("lab: job %s: template %s: %w", *a.job.ID, *t.DestPath, err)
		}
		var b strings.Builder
		if err := tm.Execute(&b, nil); err != nil {
			return nil, fmt.Errorf("lab: job %s: template %s: %w", *a.job.ID, *t.DestPath, err)
		}
		mode := os.FileMode(0o644)
		if t.Perms != nil {
			m, err := strconv.ParseUint(*t.Perms, 8, 32)
			if err != nil {
				return nil, fmt.Errorf("lab: job %s: template %s: perms %q: %w", *a.job.ID, *t.DestPath, *t.Perms, err)
			}
			mode = os.FileMode(m)
		}
		dst := filepath.Join(a.dir(), filepath.Clean("/"+*t.DestPath))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		if err := os.WriteFile(dst, []byte(b.String()), mode); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		if err := os.Chmod(dst, mode); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		if t.Envvars != nil && *t.Envvars {
			sc := bufio.NewScanner(strings.NewReader(b.String()))
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") && strings.Contains(line, "=") {
					env = append(env, line)
				}
			}
		}
	}
	return env, nil
}

// volume returns the directory of the machine that holds a host volume on this host: the
// posix pgbackrest repository of a cluster is storage shared by the group's hosts, every other
// volume is the host's own.
func (a *alloc) volume(source string) string {
	if source == a.cluster.RepoVolumeName() {
		return filepath.Join(a.lab.dir, sharedSubdir, source)
	}
	return filepath.Join(a.lab.hostDir(a.host.Name), "volumes", source)
}

// start prepares the allocation's directory and runs its task inside the host.
func (a *alloc) start(ctx context.Context) error {
	task := a.job.TaskGroups[0].Tasks[0]
	img, err := a.imageOf()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(a.dir()); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	for _, d := range []string{"local", "secrets"} {
		if err := os.MkdirAll(filepath.Join(a.dir(), d), 0o755); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	tmplEnv, err := a.renderTemplates(task)
	if err != nil {
		return err
	}
	uid, gid := 0, 0
	if img.user != "-" {
		u, err := user.Lookup(img.user)
		if err != nil {
			return fmt.Errorf("lab: the image's user: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	args := append([]string{}, img.binds...)
	for _, d := range img.dirs {
		args = append(args, "dir:"+d+":"+img.user)
	}
	if vs, ok := task.Config["volumes"].([]any); ok {
		for _, v := range vs {
			s, _ := v.(string)
			src, dst, ok := strings.Cut(s, ":")
			if !ok || !filepath.IsAbs(dst) {
				return fmt.Errorf("lab: job %s: docker volume %q: not SRC:/DST", *a.job.ID, s)
			}
			if !filepath.IsAbs(src) {
				src = filepath.Join(a.dir(), src)
			}
			args = append(args, "bind:"+src+":"+dst)
		}
	}
	for _, vm := range task.VolumeMounts {
		req, ok := a.job.TaskGroups[0].Volumes[*vm.Volume]
		if !ok || req.Type != "host" {
			return fmt.Errorf("lab: job %s: volume %s is not a host volume of the group", *a.job.ID, *vm.Volume)
		}
		src := a.volume(req.Source)
		if err := os.MkdirAll(src, 0o700); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		if err := os.Chown(src, uid, gid); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		args = append(args, "bind:"+src+":"+*vm.Destination)
	}
	env := append([]string{}, img.env...)
	for k, v := range task.Env {
		v, err := a.interpolate(v)
		if err != nil {
			return err
		}
		env = append(env, k+"="+v)
	}
	env = append(env, tmplEnv...)
	script := filepath.Join(a.dir(), "alloc.sh")
	if err := os.WriteFile(script, []byte(allocScript), 0o644); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	argv := append([]string{"unshare", "-m", "--propagation", "private", "--", "sh", script, a.dir()}, args...)
	argv = append(argv, "--", img.user, "env", "-i")
	argv = append(argv, env...)
	argv = append(argv, img.entrypoint...)
	h, err := a.lab.host(a.host)
	if err != nil {
		return err
	}
	var files []*os.File
	if a.bridged() {
		if err := a.setUpNet(ctx); err != nil {
			return err
		}
		// The task enters its namespace from inside the host, through a descriptor of it
		// (fd 3 of the child): the host's mount namespace need not see /run/netns.
		f, err := os.Open(filepath.Join("/run/netns", a.net().ns))
		if err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		defer f.Close()
		files = []*os.File{f}
		argv = append([]string{"nsenter", "--net=/proc/self/fd/3", "--"}, argv...)
	}
	if err := a.mapPorts(ctx); err != nil {
		return err
	}
	a.lab.log.Info("starting task", "host", a.host.Name, "job", *a.job.ID, "index", a.index, "own_network", a.bridged())
	pid, err := a.lab.startDetached(h, a.host, *a.job.ID+".log", files, argv...)
	if err != nil {
		return err
	}
	// The root of the task's processes, so that the lab can tell them from every other process
	// of the same name (another cluster's task on this host, another lab's, the machine's own).
	if err := os.WriteFile(a.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// pidFile holds the pid (as seen from the lab) of the process that runs the task, written
// when it starts.
func (a *alloc) pidFile() string { return filepath.Join(a.dir(), "task.pid") }

// procs returns the pids of the allocation's task named comm ("" for all): the descendants of
// the pid in its pid file among procs (the processes of its host).
func (a *alloc) procs(procs []procscan.Proc, comm string) ([]int, error) {
	b, err := os.ReadFile(a.pidFile())
	if err != nil {
		return nil, fmt.Errorf("lab: %s: the task of job %s: %w", a.host.Name, *a.job.ID, err)
	}
	root, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("lab: %s: bad pid file: %w", a.pidFile(), err)
	}
	var pids []int
	for _, p := range procscan.Descendants(root, procs) {
		if comm == "" || p.Comm == comm {
			pids = append(pids, p.Pid)
		}
	}
	return pids, nil
}
