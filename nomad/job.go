package nomad

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/haproxy"
	"github.com/vipctl/vipctl/patroni"
	"github.com/vipctl/vipctl/topology"
)

// ErrRender is matched (errors.Is) by every error about a topology that cannot be rendered into jobs.
var ErrRender = errors.New("cannot render")

// Names in the jobs. The paths inside the Patroni container are the topology's (Cluster.Container).
const (
	// patroniVarKeys are the keys of the Nomad Variable nomad/jobs/pgsql-<cluster>.
	superuserPasswordKey   = "superuser_password"
	replicationPasswordKey = "replication_password"
	consulTokenKey         = "consul_token" // optional: Patroni's Consul ACL token
	// haproxyImage is the HAProxy image of the HAProxy jobs (2.6, as Debian's haproxy that checks the config).
	haproxyImage = "haproxy:2.6"
	// haproxyConfigDir is where the official haproxy image reads haproxy.cfg. The job binds a
	// directory, not the file: Nomad replaces a re-rendered template by rename, which a file
	// bind mount would not see.
	haproxyConfigDir = "/usr/local/etc/haproxy"
	// healthChecks gates updates and migrations on the group's service checks.
	healthChecks = "checks"
)

// Timing of the Patroni job, chosen so PostgreSQL stops cleanly and members go down one at a time.
const (
	patroniKillTimeout       = 60 * time.Second // PostgreSQL's fast shutdown plus Patroni's leader hand-off
	patroniStopOnClientAfter = 30 * time.Second // an isolated member stops itself (Patroni's ttl is 30 s)
	patroniMinHealthy        = 30 * time.Second
	patroniHealthyDeadline   = 10 * time.Minute // a new replica may need a long base backup
	patroniProgressDeadline  = 15 * time.Minute
)

// Jobs returns every Nomad job of the topology: per cluster, in file order, the Patroni job,
// the HAProxy job and (when backup is enabled) the backup job.
func Jobs(t *topology.Topology) ([]*api.Job, error) {
	var jobs []*api.Job
	for _, c := range t.Clusters {
		p, err := PatroniJob(t, c)
		if err != nil {
			return nil, err
		}
		h, err := HAProxyJob(t, c)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, p, h)
		if !c.Backup.Enabled {
			continue
		}
		b, err := BackupJob(t, c)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, b)
	}
	return jobs, nil
}

// groupHosts returns the host names of a cluster's group, or an error when the group is unknown or empty.
func groupHosts(t *topology.Topology, c topology.Cluster) ([]string, error) {
	g, ok := t.Group(c.HostGroup)
	if !ok {
		return nil, fmt.Errorf("%w: cluster %q: unknown host_group %q", ErrRender, c.Name, c.HostGroup)
	}
	if len(g.Hosts) == 0 {
		return nil, fmt.Errorf("%w: cluster %q: host_group %q has no hosts", ErrRender, c.Name, c.HostGroup)
	}
	return g.Hosts, nil
}

// hostConstraints keeps a group's allocations on the named hosts (Nomad node name = host name),
// at most one per host.
func hostConstraints(hosts []string) []*api.Constraint {
	quoted := make([]string, len(hosts))
	for i, h := range hosts {
		quoted[i] = regexp.QuoteMeta(h)
	}
	return []*api.Constraint{
		api.NewConstraint("${node.unique.name}", api.ConstraintRegex, "^("+strings.Join(quoted, "|")+")$"),
		{Operand: api.ConstraintDistinctHosts, RTarget: "true"},
	}
}

// patroniExtras carries what the backup renderer contributes to the Patroni job.
type patroniExtras struct {
	repoVolume string          // host volume of a posix pgbackrest repository; "" for none
	repoPath   string          // where the repository is mounted in the container
	templates  []*api.Template // backup files shipped into the container
	mounts     []string        // docker volumes binding those files over the image's paths
}

func patroniJob(t *topology.Topology, c topology.Cluster, x patroniExtras) (*api.Job, error) {
	hosts, err := groupHosts(t, c)
	if err != nil {
		return nil, err
	}
	if c.Replicas < 1 || c.Replicas > len(hosts) {
		return nil, fmt.Errorf("%w: cluster %q: replicas %d not in 1..%d (hosts of %q)", ErrRender, c.Name, c.Replicas, len(hosts), c.HostGroup)
	}
	if c.Image == "" {
		return nil, fmt.Errorf("%w: cluster %q: no image", ErrRender, c.Name)
	}
	patroniConf, err := patroni.Config(c)
	if err != nil {
		return nil, err
	}
	name := c.PatroniJobName()
	vol := c.VolumeName()
	patroni := strconv.Itoa(c.PatroniPort)

	env := map[string]string{
		"PATRONI_NAME":                       "pgsql-${NOMAD_ALLOC_INDEX}",
		"PATRONI_SCOPE":                      "${NOMAD_JOB_NAME}",
		"PATRONI_POSTGRESQL_CONNECT_ADDRESS": "${NOMAD_ADDR_pgsql}",
		// NOMAD_PORT_pgsql is the container's side of the mapping (Container().PGPort) under docker,
		// and the host port where nothing is mapped (the lab's launcher).
		"PATRONI_POSTGRESQL_LISTEN":       "0.0.0.0:${NOMAD_PORT_pgsql}",
		"PATRONI_POSTGRESQL_DATA_DIR":     c.Container().PGData,
		"PATRONI_RESTAPI_CONNECT_ADDRESS": "${NOMAD_IP_patroni}:" + patroni,
		"PATRONI_RESTAPI_LISTEN":          "0.0.0.0:" + patroni,
		"PATRONI_CONSUL_HOST":             t.Consul.JobAddress,
		"PATRONI_CONSUL_REGISTER_SERVICE": "true",
		"PATRONI_SUPERUSER_USERNAME":      "postgres",
		"PATRONI_REPLICATION_USERNAME":    "replicator",
	}

	// The image's entrypoint starts stanza_init.sh (when pgbackrest.conf is there) and then
	// Patroni with Container().PatroniConf; the job binds the cluster's own files over the image's.
	config := map[string]any{
		"image": c.Image,
		"ports": []string{"patroni", "pgsql"},
		// pgsql_backup.sh finds the cluster's container on a host by this label. The docker
		// driver takes labels as a list of maps (its schema: list(map(string))).
		"labels":  []map[string]string{{c.Container().Label: c.Name}},
		"volumes": append([]string{"local/patroni.yml:" + c.Container().PatroniConf}, x.mounts...),
	}

	task := &api.Task{
		Name:        "patroni",
		Driver:      "docker",
		Config:      config,
		Env:         env,
		KillTimeout: new(patroniKillTimeout),
		KillSignal:  "SIGTERM",
		Templates: append([]*api.Template{{
			// The passwords never appear in the job: Nomad renders them from its Variables
			// into the task's secrets directory and exports them as environment variables.
			EmbeddedTmpl: new(passwordTemplate(c)),
			DestPath:     new("secrets/patroni.env"),
			Envvars:      new(true),
			ChangeMode:   new("noop"),
		}, {
			EmbeddedTmpl: new(literalTemplate(string(patroniConf))),
			DestPath:     new("local/patroni.yml"),
			Perms:        new("0644"),
			ChangeMode:   new("noop"),
		}}, x.templates...),
		VolumeMounts: []*api.VolumeMount{{
			Volume:      new(vol),
			Destination: new(c.Container().PGDataMount),
			ReadOnly:    new(false),
		}},
		Resources: &api.Resources{
			CPU:      new(c.Resources.CPU),
			MemoryMB: new(c.Resources.MemoryMB),
		},
	}

	if x.repoVolume != "" {
		task.VolumeMounts = append(task.VolumeMounts, &api.VolumeMount{
			Volume:      new(x.repoVolume),
			Destination: new(x.repoPath),
			ReadOnly:    new(false),
		})
	}
	volumes := map[string]*api.VolumeRequest{vol: {Name: vol, Type: "host", Source: vol}}
	if x.repoVolume != "" {
		volumes[x.repoVolume] = &api.VolumeRequest{Name: x.repoVolume, Type: "host", Source: x.repoVolume}
	}

	group := &api.TaskGroup{
		Name:        new("pgsql"),
		Count:       new(c.Replicas),
		Constraints: hostConstraints(hosts),
		Networks: []*api.NetworkResource{{
			ReservedPorts: []api.Port{{Label: "patroni", Value: c.PatroniPort}},
			DynamicPorts:  []api.Port{{Label: "pgsql", To: c.Container().PGPort}},
		}},
		Volumes:       volumes,
		EphemeralDisk: &api.EphemeralDisk{SizeMB: new(c.Resources.DiskMB)},
		// A failing member is restarted in place, after a pause, forever: it never counts as
		// failed, so Nomad never reschedules it onto another host while it is half alive.
		RestartPolicy: &api.RestartPolicy{
			Attempts: new(3),
			Interval: new(5 * time.Minute),
			Delay:    new(25 * time.Second),
			Mode:     new(api.RestartPolicyModeDelay),
		},
		ReschedulePolicy: &api.ReschedulePolicy{
			Delay:         new(1 * time.Minute),
			DelayFunction: new("exponential"),
			MaxDelay:      new(30 * time.Minute),
			Unlimited:     new(true),
		},
		Update: &api.UpdateStrategy{
			MaxParallel:      new(1),
			HealthCheck:      new(healthChecks),
			MinHealthyTime:   new(patroniMinHealthy),
			HealthyDeadline:  new(patroniHealthyDeadline),
			ProgressDeadline: new(patroniProgressDeadline),
			AutoRevert:       new(false),
		},
		Migrate: &api.MigrateStrategy{
			MaxParallel:     new(1),
			HealthCheck:     new(healthChecks),
			MinHealthyTime:  new(patroniMinHealthy),
			HealthyDeadline: new(patroniHealthyDeadline),
		},
		// Nomad's own service for the REST API: its check (/readiness: running and caught up)
		// gates rolling updates. The PostgreSQL service itself is registered by Patroni.
		Services: []*api.Service{{
			Name:      name + "-api",
			PortLabel: "patroni",
			Provider:  api.ServiceProviderConsul,
			Checks: []api.ServiceCheck{{
				Name:      "patroni readiness",
				Type:      "http",
				PortLabel: "patroni",
				Path:      "/readiness",
				Interval:  10 * time.Second,
				Timeout:   3 * time.Second,
			}},
		}},
		Tasks: []*api.Task{task},
	}
	disconnect(group, t.Nomad.Version)

	return &api.Job{
		ID:          new(name),
		Name:        new(name),
		Type:        new(api.JobTypeService),
		Datacenters: t.Datacenters,
		TaskGroups:  []*api.TaskGroup{group},
		Meta:        map[string]string{"vipctl_cluster": c.Name},
	}, nil
}

// disconnect sets what a Patroni member does on a host cut off from the Nomad servers: it stops
// itself after patroniStopOnClientAfter, and (from Nomad 1.8, the disconnect block) is never
// replaced while disconnected, so two members never carry the same alloc index, and so the same
// PATRONI_NAME, at once. Nomad before 1.8 knows only stop_after_client_disconnect; with
// distinct_hosts and count = hosts it has nowhere else to place a replacement anyway.
func disconnect(g *api.TaskGroup, v topology.NomadVersion) {
	if v.HasDisconnectBlock() {
		g.Disconnect = &api.DisconnectStrategy{
			StopOnClientAfter: new(patroniStopOnClientAfter),
			Replace:           new(false),
		}
		return
	}
	//lint:ignore SA1019 the field of the Nomad versions before the disconnect block
	g.StopAfterClientDisconnect = new(patroniStopOnClientAfter)
}

// literalTemplate makes text safe as the data of a Nomad template block: consul-template
// renders it back to exactly the text (every "{{" becomes an action printing "{{").
func literalTemplate(s string) string { return strings.ReplaceAll(s, "{{", `{{"{{"}}`) }

// passwordTemplate renders the Patroni passwords (and, when the Variable has one, Patroni's
// Consul ACL token) from the job's Nomad Variable as an env file.
func passwordTemplate(c topology.Cluster) string {
	return fmt.Sprintf(`{{ with nomadVar %q -}}
PATRONI_SUPERUSER_PASSWORD={{ .%s }}
PATRONI_REPLICATION_PASSWORD={{ .%s }}
{{ with .%s }}PATRONI_CONSUL_TOKEN={{ . }}
{{ end -}}
{{- end }}
`, c.VariablePath(), superuserPasswordKey, replicationPasswordKey, consulTokenKey)
}

// HAProxyJob returns the HAProxy job haproxy-<cluster>: one HAProxy per host of the group, in the
// host's network, serving the cluster's port on every address of the host (so on the VIP wherever
// it is) and forwarding to the Patroni primary found through Consul DNS.
func HAProxyJob(t *topology.Topology, c topology.Cluster) (*api.Job, error) {
	hosts, err := groupHosts(t, c)
	if err != nil {
		return nil, err
	}
	cfg, err := haproxy.Config(t, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	name := c.HAProxyJobName()
	task := &api.Task{
		Name:   "haproxy",
		Driver: "docker",
		Config: map[string]any{
			"image":        haproxyImage,
			"network_mode": "host",
			"volumes":      []string{"local/haproxy:" + haproxyConfigDir},
		},
		Templates: []*api.Template{{
			EmbeddedTmpl: new(literalTemplate(string(cfg))),
			DestPath:     new("local/haproxy/haproxy.cfg"),
			ChangeMode:   new("signal"),
			ChangeSignal: new("SIGUSR2"), // the image runs HAProxy in master-worker mode: USR2 reloads
		}},
		KillTimeout: new(10 * time.Second),
		Resources: &api.Resources{
			CPU:      new(200),
			MemoryMB: new(128),
		},
	}
	group := &api.TaskGroup{
		Name:        new("haproxy"),
		Count:       new(len(hosts)),
		Constraints: hostConstraints(hosts),
		Networks: []*api.NetworkResource{{
			Mode: "host",
			ReservedPorts: []api.Port{
				{Label: "db", Value: c.Port},
				{Label: "stats", Value: c.StatsPort},
			},
		}},
		RestartPolicy: &api.RestartPolicy{
			Attempts: new(5),
			Interval: new(5 * time.Minute),
			Delay:    new(10 * time.Second),
			Mode:     new(api.RestartPolicyModeDelay),
		},
		Update: &api.UpdateStrategy{
			MaxParallel:     new(1),
			HealthCheck:     new(healthChecks),
			MinHealthyTime:  new(10 * time.Second),
			HealthyDeadline: new(3 * time.Minute),
			AutoRevert:      new(true),
		},
		Services: []*api.Service{{
			Name:      name,
			PortLabel: "db",
			Provider:  api.ServiceProviderConsul,
			Checks: []api.ServiceCheck{{
				Name:      "haproxy stats",
				Type:      "http",
				PortLabel: "stats",
				Path:      "/",
				Interval:  10 * time.Second,
				Timeout:   2 * time.Second,
			}},
		}},
		Tasks: []*api.Task{task},
	}
	return &api.Job{
		ID:          new(name),
		Name:        new(name),
		Type:        new(api.JobTypeService),
		Datacenters: t.Datacenters,
		TaskGroups:  []*api.TaskGroup{group},
		Meta:        map[string]string{"vipctl_cluster": c.Name},
	}, nil
}

func backupJob(t *topology.Topology, c topology.Cluster, script string) (*api.Job, error) {
	hosts, err := groupHosts(t, c)
	if err != nil {
		return nil, err
	}
	if c.Backup.Schedule == "" {
		return nil, fmt.Errorf("%w: cluster %q: backup has no schedule", ErrRender, c.Name)
	}
	name := c.BackupJobName()
	task := &api.Task{
		Name:   "backup",
		Driver: "raw_exec", // on the host: pgsql_backup.sh finds the local Patroni container and docker-execs into it
		Config: map[string]any{
			"command": "/bin/bash",
			"args":    []string{"${NOMAD_TASK_DIR}/pgsql_backup.sh"},
		},
		Templates: []*api.Template{{
			EmbeddedTmpl: new(literalTemplate(script)),
			DestPath:     new("local/pgsql_backup.sh"),
			Perms:        new("0755"),
			ChangeMode:   new("noop"),
		}},
		Resources: &api.Resources{
			CPU:      new(100),
			MemoryMB: new(64),
		},
	}
	group := &api.TaskGroup{
		Name: new("backup"),
		// A sysbatch job runs once on every eligible node: the regexp keeps it on the group's hosts.
		Constraints: hostConstraints(hosts)[:1],
		RestartPolicy: &api.RestartPolicy{
			Attempts: new(0),
			Mode:     new(api.RestartPolicyModeFail),
		},
		Tasks: []*api.Task{task},
	}
	return &api.Job{
		ID:          new(name),
		Name:        new(name),
		Type:        new(api.JobTypeSysbatch),
		Datacenters: t.Datacenters,
		Periodic: &api.PeriodicConfig{
			Spec:            new(c.Backup.Schedule),
			ProhibitOverlap: new(true),
		},
		TaskGroups: []*api.TaskGroup{group},
		Meta:       map[string]string{"vipctl_cluster": c.Name},
	}, nil
}
