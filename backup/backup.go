package backup

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/internal/quote"
	"github.com/vipctl/vipctl/internal/tmplset"
	"github.com/vipctl/vipctl/topology"
)

// ErrInvalid is matched (errors.Is) by every error about a cluster's backup settings that
// the backup files cannot carry.
var ErrInvalid = errors.New("invalid backup settings")

// ErrDisabled is matched by Render's error for a cluster whose backup is off.
var ErrDisabled = errors.New("backup is disabled")

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates are the backup files' templates.
var templates = tmplset.New(templateFS, "templates/*.tmpl", template.FuncMap{"q": quote.Shell})

// Set is the backup files of one cluster, each named by its role. The paths are the
// bundle's (backup/<cluster>/<name>); where each file goes on a host or in the container is the
// role's: Cluster.Container for the first three, HostScriptPath and HostCronPath for the others.
type Set struct {
	Conf            bundle.File // pgbackrest.conf, in the container at Container().PgbackrestConf
	StanzaInit      bundle.File // stanza_init.sh, in the container at Container().StanzaInit
	BackupIfPrimary bundle.File // backup_if_primary.sh, in the container at Container().BackupIfPrimary
	HostScript      bundle.File // pgsql_backup.sh, on each host of the group at HostScriptPath
	Cron            bundle.File // cron_backup, on each host of the group at HostCronPath
}

// Files returns the set in the bundle's order.
func (s Set) Files() []bundle.File {
	return []bundle.File{s.Conf, s.StanzaInit, s.BackupIfPrimary, s.HostScript, s.Cron}
}

// HostScriptPath is where pgsql_backup.sh of a cluster is installed on each host of its group.
func HostScriptPath(cluster string) string { return "/root/pgsql_backup-" + cluster + ".sh" }

// HostCronPath is where cron_backup of a cluster is installed on each host of its group.
func HostCronPath(cluster string) string { return "/etc/cron.d/vipctl-backup-" + cluster }

// HostLogPath is the log file the cron entry of a cluster appends to.
func HostLogPath(cluster string) string { return "/var/log/pgsql_backup-" + cluster + ".log" }

// ArchiveCommand returns PostgreSQL's archive_command for the cluster's Patroni configuration:
// pgbackrest pushes each WAL segment into the cluster's stanza.
func ArchiveCommand(c topology.Cluster) string {
	return "pgbackrest --stanza=" + quote.Shell(c.Name) + " archive-push %p"
}

// backupData is what the backup templates see; every value is raw, templates quote with q.
type backupData struct {
	Cluster       string
	Stanza        string
	Group         string
	Repo          topology.Repo
	PGData        string
	PGPort        int
	PGSocketDir   string
	PatroniURL    string
	PatroniJob    string
	BackupJob     string
	Label         string
	InnerScript   string
	ContainerConf string
	Schedule      string
	HostScript    string
	CronPath      string
	LogFile       string
}

// Files renders the pgbackrest files of one cluster under backup/<cluster>/ in the bundle's
// order (Render's set). It returns nil when the cluster's backup is disabled.
func Files(t *topology.Topology, c topology.Cluster) ([]bundle.File, error) {
	if !c.Backup.Enabled {
		return nil, nil
	}
	set, err := Render(t, c)
	if err != nil {
		return nil, err
	}
	return set.Files(), nil
}

// Render renders the pgbackrest files of one cluster with backup on: pgbackrest.conf,
// stanza_init.sh, backup_if_primary.sh, pgsql_backup.sh and cron_backup.
func Render(t *topology.Topology, c topology.Cluster) (Set, error) {
	if !c.Backup.Enabled {
		return Set{}, fmt.Errorf("cluster %q: %w", c.Name, ErrDisabled)
	}
	if err := check(c); err != nil {
		return Set{}, err
	}
	ct := c.Container()
	d := backupData{
		Cluster:       c.Name,
		Stanza:        c.Name,
		Group:         c.HostGroup,
		Repo:          c.Backup.Repo,
		PGData:        ct.PGData,
		PGPort:        ct.PGPort,
		PGSocketDir:   ct.PGSocketDir,
		PatroniURL:    "http://127.0.0.1:" + strconv.Itoa(c.PatroniPort),
		PatroniJob:    c.PatroniJobName(),
		BackupJob:     c.BackupJobName(),
		Label:         ct.Label,
		InnerScript:   ct.BackupIfPrimary,
		ContainerConf: ct.PgbackrestConf,
		Schedule:      strings.Join(strings.Fields(c.Backup.Schedule), " "),
		HostScript:    HostScriptPath(c.Name),
		CronPath:      HostCronPath(c.Name),
		LogFile:       HostLogPath(c.Name),
	}
	var set Set
	for _, o := range []struct {
		f    *bundle.File
		name string // file name under backup/<cluster>/ and template name without .tmpl
		mode fs.FileMode
	}{
		{&set.Conf, "pgbackrest.conf", 0o644},
		{&set.StanzaInit, "stanza_init.sh", 0o755},
		{&set.BackupIfPrimary, "backup_if_primary.sh", 0o755},
		{&set.HostScript, "pgsql_backup.sh", 0o755},
		{&set.Cron, "cron_backup", 0o644},
	} {
		data, err := templates.Render(o.name+".tmpl", d)
		if err != nil {
			return Set{}, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		*o.f = bundle.File{Path: path.Join("backup", c.Name, o.name), Mode: o.mode, Data: data}
	}
	return set, nil
}

// clusterName is the topology's rule for cluster and group names (they become stanza, job and file names).
var clusterName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]*$`) })

// cronField matches one field of a cron schedule (numbers, names, *, ranges, steps, lists).
var cronField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z*,/-]+$`) })

// check refuses values that no quoting can carry: pgbackrest.conf is line based and a
// cron schedule cannot be quoted.
func check(c topology.Cluster) error {
	if !clusterName().MatchString(c.Name) {
		return fmt.Errorf("cluster name %q does not match %s: %w", c.Name, clusterName(), ErrInvalid)
	}
	if !clusterName().MatchString(c.HostGroup) {
		return fmt.Errorf("cluster %s: host group name %q does not match %s: %w", c.Name, c.HostGroup, clusterName(), ErrInvalid)
	}
	r := c.Backup.Repo
	if r.Type != topology.RepoPosix && r.Type != topology.RepoS3 {
		return fmt.Errorf("cluster %s: backup repo type %q: %w", c.Name, r.Type, ErrInvalid)
	}
	values := map[string]string{"repo path": r.Path}
	if r.Type == topology.RepoS3 {
		values["repo bucket"], values["repo endpoint"], values["repo region"] = r.Bucket, r.Endpoint, r.Region
	}
	for what, v := range values {
		if v == "" || v != strings.TrimSpace(v) || strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("cluster %s: %s %q is empty or holds blanks at its ends or control characters: %w",
				c.Name, what, v, ErrInvalid)
		}
	}
	if r.Type == topology.RepoPosix && !path.IsAbs(r.Path) {
		return fmt.Errorf("cluster %s: posix repo path %q is not absolute: %w", c.Name, r.Path, ErrInvalid)
	}
	if c.PatroniPort < 1 || c.PatroniPort > 65535 {
		return fmt.Errorf("cluster %s: patroni_port %d: %w", c.Name, c.PatroniPort, ErrInvalid)
	}
	fields := strings.Fields(c.Backup.Schedule)
	ok := len(fields) == 5
	for _, f := range fields {
		ok = ok && cronField().MatchString(f)
	}
	if !ok {
		return fmt.Errorf("cluster %s: backup schedule %q is not five cron fields: %w",
			c.Name, c.Backup.Schedule, ErrInvalid)
	}
	return nil
}
