package nomad

import (
	"fmt"
	"path"

	"github.com/vipctl/vipctl/bundle"

	"github.com/hashicorp/nomad/api"

	"github.com/vipctl/vipctl/topology"
)

// PatroniJob returns the Patroni job pgsql-<cluster>: one PostgreSQL member per host of the
// cluster's group, registered in Consul by Patroni itself under the job name. Its patroni.yml is
// PatroniConfig's; with backup on, the members archive WAL through pgbackrest and carry the
// cluster's pgbackrest files, which the image's entrypoint uses (stanza_init.sh at start).
func PatroniJob(t *topology.Topology, c topology.Cluster) (*api.Job, error) {
	var x patroniExtras
	if c.Backup.Enabled {
		files, err := BackupFiles(t, c)
		if err != nil {
			return nil, err
		}
		if c.Backup.Repo.Type == topology.RepoPosix {
			x.repoVolume, x.repoPath = c.RepoVolumeName(), c.Backup.Repo.Path
		}
		// The files the container needs, rendered into the task directory and bound over
		// the image's copies, so the job and the bundle always carry the same scripts.
		for _, into := range []struct{ name, dest, perms string }{
			{"pgbackrest.conf", c.Container().PgbackrestConf, "0644"},
			{"stanza_init.sh", c.Container().StanzaInit, "0755"},
			{"backup_if_primary.sh", c.Container().BackupIfPrimary, "0755"},
		} {
			data, err := fileData(files, path.Join("backup", c.Name, into.name))
			if err != nil {
				return nil, err
			}
			x.templates = append(x.templates, &api.Template{
				EmbeddedTmpl: new(literalTemplate(string(data))),
				DestPath:     new("local/" + into.name),
				Perms:        new(into.perms),
				ChangeMode:   new("noop"),
			})
			x.mounts = append(x.mounts, "local/"+into.name+":"+into.dest)
		}
	}
	return patroniJob(t, c, x)
}

// BackupJob returns the periodic sysbatch job backup-<cluster>: at the cluster's backup schedule
// it runs pgsql_backup.sh (the bundle's backup/<cluster>/pgsql_backup.sh) on every host of the
// group; the script acts only where the local member is the Patroni primary. It is the
// alternative to the cron entry of the bundle.
func BackupJob(t *topology.Topology, c topology.Cluster) (*api.Job, error) {
	if !c.Backup.Enabled {
		return nil, fmt.Errorf("%w: cluster %q: backup is disabled", ErrRender, c.Name)
	}
	files, err := BackupFiles(t, c)
	if err != nil {
		return nil, err
	}
	script, err := fileData(files, path.Join("backup", c.Name, "pgsql_backup.sh"))
	if err != nil {
		return nil, err
	}
	return backupJob(t, c, string(script))
}

// fileData returns the content of the rendered file at p.
func fileData(files []bundle.File, p string) ([]byte, error) {
	for _, f := range files {
		if f.Path == p {
			return f.Data, nil
		}
	}
	return nil, fmt.Errorf("%w: the backup files have no %s", ErrRender, p)
}
