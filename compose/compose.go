// Package compose renders the local micro-cluster of a topology's first cluster (compose/ of
// the bundle): docker-compose.yml, the postgres-patroni image's Dockerfile and entrypoint.sh,
// HAProxy's configuration, and the cluster's files each member binds.
package compose

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/haproxy"
	"github.com/vipctl/vipctl/internal/quote"
	"github.com/vipctl/vipctl/internal/tmplset"
	"github.com/vipctl/vipctl/patroni"
	"github.com/vipctl/vipctl/topology"
)

// ErrRender is matched (errors.Is) by every error about a topology that the micro-cluster
// cannot carry.
var ErrRender = errors.New("cannot render compose")

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates are the micro-cluster's templates.
var templates = tmplset.New(templateFS, "templates/*.tmpl", template.FuncMap{"q": quote.Shell, "y": composeQuote})

// clusterName is the topology's rule for cluster names (they become service and file names).
var clusterName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]*$`) })

// Images of the compose micro-cluster besides the cluster's own.
const (
	composeConsulImage  = "hashicorp/consul:1.16"
	composeHAProxyImage = "haproxy:2.6"
)

// composeMembers is the size of the micro-cluster: three Consul servers, three Patroni members.
const composeMembers = 3

// composeMember is one Patroni member of the micro-cluster.
type composeMember struct {
	Name   string // service and host name, also PATRONI_NAME
	Consul string // the Consul server it registers through
}

// composeData is what the compose templates see; every value is raw, templates quote it.
type composeData struct {
	Cluster, Scope, Image, Label         string
	Port, StatsPort, PatroniPort, PGPort int
	PGData, PGDataMount, PGSocketDir     string
	Backup, PosixRepo, S3                bool
	RepoPath, ArchiveCommand             string
	PatroniConf, PatroniConfDir          string
	PgbackrestConf, PgbackrestConfDir    string
	StanzaInit, BackupIfPrimary          string
	ConsulImage, HAProxyImage            string
	Consuls                              []string
	Members                              []composeMember
	Patroni                              topology.Patroni
	Check                                string // HAProxy's default-server check settings
	HoldValid                            int    // HAProxy's resolution interval (ms)
}

// Files renders the local micro-cluster of the topology's first cluster under compose/:
// docker-compose.yml (three Consul servers, three Patroni members, HAProxy), the Dockerfile of
// the postgres-patroni image with the one file it copies (entrypoint.sh), haproxy.cfg, and the
// cluster's files that the compose file binds into each member: patroni.yml and, with backups
// on, pgbackrest.conf, stanza_init.sh and backup_if_primary.sh. The image holds nothing of any
// one cluster, so the Nomad jobs of every cluster can run it with their own files.
func Files(t *topology.Topology) ([]bundle.File, error) {
	if len(t.Clusters) == 0 {
		return nil, fmt.Errorf("%w: compose: the topology has no cluster", ErrRender)
	}
	c := t.Clusters[0]
	for _, p := range []int{c.Port, c.StatsPort, c.PatroniPort} {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("%w: compose: cluster %q: port %d outside 1..65535", ErrRender, c.Name, p)
		}
	}
	if !clusterName().MatchString(c.Name) || c.Image == "" || strings.ContainsAny(c.Image, " \t\r\n") {
		return nil, fmt.Errorf("%w: compose: cluster %q with image %q", ErrRender, c.Name, c.Image)
	}
	ct := c.Container()
	d := composeData{
		Cluster: c.Name, Scope: c.PatroniJobName(), Image: c.Image, Label: ct.Label,
		Port: c.Port, StatsPort: c.StatsPort, PatroniPort: c.PatroniPort, PGPort: ct.PGPort,
		PGData: ct.PGData, PGDataMount: ct.PGDataMount, PGSocketDir: ct.PGSocketDir,
		Backup:      c.Backup.Enabled,
		PatroniConf: ct.PatroniConf, PatroniConfDir: path.Dir(ct.PatroniConf),
		PgbackrestConf: ct.PgbackrestConf, PgbackrestConfDir: path.Dir(ct.PgbackrestConf),
		StanzaInit: ct.StanzaInit, BackupIfPrimary: ct.BackupIfPrimary,
		ConsulImage: composeConsulImage, HAProxyImage: composeHAProxyImage,
		Patroni: c.Patroni, Check: haproxy.ServerCheck(c.HAProxy), HoldValid: c.HAProxy.ResolveIntervalMS,
	}
	for i := 1; i <= composeMembers; i++ {
		consul := fmt.Sprintf("consul-%d", i)
		d.Consuls = append(d.Consuls, consul)
		d.Members = append(d.Members, composeMember{Name: fmt.Sprintf("pg-%d", i), Consul: consul})
	}

	var bound []bundle.File // the in-container backup files
	if c.Backup.Enabled {
		set, err := backup.Render(t, c)
		if err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		bound = []bundle.File{set.Conf, set.StanzaInit, set.BackupIfPrimary}
		d.ArchiveCommand = backup.ArchiveCommand(c)
		d.RepoPath = c.Backup.Repo.Path
		d.PosixRepo = c.Backup.Repo.Type == topology.RepoPosix
		d.S3 = c.Backup.Repo.Type == topology.RepoS3
	}

	var files []bundle.File
	for _, o := range []struct {
		name string
		mode fs.FileMode
	}{
		{"docker-compose.yml", 0o644},
		{"Dockerfile", 0o644},
		{"entrypoint.sh", 0o755},
		{"patroni.yml", 0o644},
		{"haproxy.cfg", 0o644},
	} {
		var data []byte
		var err error
		if o.name == "patroni.yml" { // the image's, as the Patroni job carries it
			data, err = patroni.Config(c)
		} else {
			data, err = templates.Render(o.name+".tmpl", d)
		}
		if err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		files = append(files, bundle.File{Path: path.Join("compose", o.name), Mode: o.mode, Data: data})
	}
	// The cluster's in-container backup files, bound into each member.
	for _, f := range bound {
		files = append(files, bundle.File{Path: path.Join("compose", path.Base(f.Path)), Mode: f.Mode, Data: f.Data})
	}
	return files, nil
}

// composeQuote returns s as a YAML scalar that docker-compose reads back as s: every $ is
// doubled, so compose does not take it for an interpolation.
func composeQuote(s string) string { return quote.YAML(strings.ReplaceAll(s, "$", "$$")) }
