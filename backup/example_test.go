package backup_test

import (
	"fmt"

	"github.com/vipctl/vipctl/topology"

	"github.com/vipctl/vipctl/backup"
)

func ExampleArchiveCommand() {
	fmt.Println(backup.ArchiveCommand(topology.Cluster{Name: "msrvc01"}))
	// Output: pgbackrest --stanza=msrvc01 archive-push %p
}

func ExampleFiles() {
	tp := &topology.Topology{Groups: []topology.HostGroup{{Name: "db-a", Hosts: []string{"pg-01"}}}}
	c := topology.Cluster{Name: "msrvc01", HostGroup: "db-a", PatroniPort: 8008,
		Backup: topology.Backup{Enabled: true, Schedule: "0 3 * * *",
			Repo: topology.Repo{Type: topology.RepoPosix, Path: "/var/lib/pgbackrest"}}}
	files, err := backup.Files(tp, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Mode, f.Path)
	}
	// Output:
	// -rw-r--r-- backup/msrvc01/pgbackrest.conf
	// -rwxr-xr-x backup/msrvc01/stanza_init.sh
	// -rwxr-xr-x backup/msrvc01/backup_if_primary.sh
	// -rwxr-xr-x backup/msrvc01/pgsql_backup.sh
	// -rw-r--r-- backup/msrvc01/cron_backup
}
