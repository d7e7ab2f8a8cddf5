package lab

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"maps"
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

// mapPorts lays the group's port mappings on the host's network namespace, as docker's port
// publishing does: a connection to a host port, from another host or from this one, reaches
// the task's port (nftables redirect, in a table of this allocation's own).
func (a *alloc) mapPorts(ctx context.Context) error {
	ports := a.ports()
	var mapped []port
	for _, label := range slices.Sorted(maps.Keys(ports)) {
		if p := ports[label]; p.host != p.task {
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
		for _, chain := range []string{"prerouting", "output"} {
			// Only connections to this host: the output hook also sees those to other hosts.
			fmt.Fprintf(&rules, "add rule ip %s %s fib daddr type local tcp dport %d redirect to :%d\n", table, chain, p.host, p.task)
		}
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
	if err := a.mapPorts(ctx); err != nil {
		return err
	}
	a.lab.log.Info("starting task", "host", a.host.Name, "job", *a.job.ID, "index", a.index)
	return a.lab.startDetached(h, a.host, *a.job.ID+".log", argv...)
}
