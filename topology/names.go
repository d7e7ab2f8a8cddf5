package topology

import "path"

// The names a cluster goes by outside vipctl: Nomad jobs, the Consul service Patroni registers,
// host volumes and the Nomad Variable of its passwords. Every renderer and every reader of a
// running stack (status, lab, bootstrap) takes them from here.

// PatroniJobName is the Nomad job of the cluster's Patroni members, pgsql-<cluster>; it is also
// the Patroni scope and the Consul service name the members register.
func (c Cluster) PatroniJobName() string { return "pgsql-" + c.Name }

// HAProxyJobName is the Nomad job of the cluster's HAProxies, haproxy-<cluster>; it is also the
// Consul service the HAProxies register.
func (c Cluster) HAProxyJobName() string { return "haproxy-" + c.Name }

// BackupJobName is the cluster's periodic backup job in Nomad, backup-<cluster>.
func (c Cluster) BackupJobName() string { return "backup-" + c.Name }

// VolumeName is the Nomad host volume holding the cluster's PostgreSQL data. Every host of the
// cluster's group declares it in its client configuration.
func (c Cluster) VolumeName() string { return "pgdata-" + c.Name }

// RepoVolumeName is the Nomad host volume holding the cluster's posix pgbackrest repository:
// on every host of the group it must be the same shared storage, so that a new primary
// archives into the repository the old one used.
func (c Cluster) RepoVolumeName() string { return "pgbackrest-" + c.Name }

// VariablePath is the Nomad Variables path holding the cluster's Patroni passwords; every task
// of the Patroni job may read it without a policy.
func (c Cluster) VariablePath() string { return "nomad/jobs/" + c.PatroniJobName() }

// VIPIDPrefix starts the CIB id of every group's VIP primitive.
const VIPIDPrefix = "vip-"

// VIPID is the CIB id of the group's VIP primitive, vip-<group>: crm_resource, crm_mon and the
// failover journal name the VIP by it.
func (g HostGroup) VIPID() string { return VIPIDPrefix + g.Name }

// Container is the layout of a Patroni member's container, the postgres-patroni image of the
// bundle's compose/Dockerfile: the Patroni job, the backup scripts, the compose file and the
// lab's launcher put and find each file there.
type Container struct {
	PGDataMount     string // where the member's data volume is mounted
	PGData          string // PostgreSQL's data directory: below PGDataMount, so initdb owns an empty directory
	PGSocketDir     string // PostgreSQL's unix socket directory
	PGPort          int    // the port PostgreSQL listens on in the container
	PatroniConf     string // patroni.yml: the image's entrypoint runs "patroni PatroniConf"
	PgbackrestConf  string // pgbackrest.conf (pgbackrest's default path)
	StanzaInit      string // stanza_init.sh: the entrypoint starts it in the background
	BackupIfPrimary string // backup_if_primary.sh: pgsql_backup.sh runs it through docker exec
	// Label is the docker label naming the cluster of a container: pgsql_backup.sh finds the
	// cluster's container on a host by it.
	Label string
}

// Container returns the layout of the cluster's member containers (the same for every cluster:
// one image serves them all, each job binds its own files into it).
func (Cluster) Container() Container {
	return Container{
		PGDataMount:     "/var/lib/postgresql/data",
		PGData:          "/var/lib/postgresql/data/pgdata",
		PGSocketDir:     "/var/run/postgresql",
		PGPort:          5432,
		PatroniConf:     "/etc/patroni/patroni.yml",
		PgbackrestConf:  "/etc/pgbackrest/pgbackrest.conf",
		StanzaInit:      "/usr/local/bin/stanza_init.sh",
		BackupIfPrimary: "/usr/local/bin/backup_if_primary.sh",
		Label:           "vipctl.cluster",
	}
}

// dirs are the directories of the container that hold its files: a posix repository, mounted
// at its own path, must not overlap them.
func (c Container) dirs() []string {
	return []string{c.PGDataMount, c.PGSocketDir, path.Dir(c.PgbackrestConf), path.Dir(c.StanzaInit), path.Dir(c.BackupIfPrimary)}
}
