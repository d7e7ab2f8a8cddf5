package nomad

import (
	"fmt"
	"path"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/topology"
)

// PatroniJob returns the Patroni job pgsql-<cluster>: one PostgreSQL member per host of the
// cluster's group, registered in Consul by Patroni itself under the job name. Its patroni.yml is
// patroni.Config's; with backup on, the members archive WAL through pgbackrest and carry the
// cluster's pgbackrest files, which the image's entrypoint uses (stanza_init.sh at start).
func PatroniJob(t *topology.Topology, c topology.Cluster) (*api.Job, error) {
	var x patroniExtras
	if c.Backup.Enabled {
		set, err := backup.Render(t, c)
		if err != nil {
			return nil, err
		}
		if c.Backup.Repo.Type == topology.RepoPosix {
			x.repoVolume, x.repoPath = c.RepoVolumeName(), c.Backup.Repo.Path
		}
		// The files the container needs, rendered into the task directory and bound over
		// the image's copies, so the job and the bundle always carry the same scripts.
		ct := c.Container()
		for _, into := range []struct {
			f           bundle.File
			dest, perms string
		}{
			{set.Conf, ct.PgbackrestConf, "0644"},
			{set.StanzaInit, ct.StanzaInit, "0755"},
			{set.BackupIfPrimary, ct.BackupIfPrimary, "0755"},
		} {
			name := path.Base(into.f.Path)
			x.templates = append(x.templates, &api.Template{
				EmbeddedTmpl: new(literalTemplate(string(into.f.Data))),
				DestPath:     new("local/" + name),
				Perms:        new(into.perms),
				ChangeMode:   new("noop"),
			})
			x.mounts = append(x.mounts, "local/"+name+":"+into.dest)
		}
	}
	return patroniJob(t, c, x)
}

// BackupJob returns the periodic sysbatch job backup-<cluster>: at the cluster's backup schedule
// it runs pgsql_backup.sh (the bundle's backup/<cluster>/pgsql_backup.sh) on every host of the
// group; the script acts only where the local member is the Patroni primary. It is the
// alternative to the cron entry of the bundle.
func BackupJob(t *topology.Topology, c topology.Cluster) (*api.Job, error) {
	set, err := backup.Render(t, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	return backupJob(t, c, string(set.HostScript.Data))
}
