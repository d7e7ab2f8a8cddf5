// Package patroni renders the patroni.yml of the postgres-patroni image for a cluster, which the
// Patroni job carries into its tasks and compose binds into each member.
package patroni

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"
	"text/template"

	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/internal/quote"
	"github.com/vipctl/vipctl/topology"
)

//go:embed templates/patroni.yml.tmpl
var patroniYML string

// tmpl is parsed on first use, not at start-up: every run of the vipctl binary, the OCF agent's
// included, would pay for it.
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("patroni.yml").Funcs(template.FuncMap{"yaml": quote.YAML}).Parse(patroniYML))
})

// configData is what the template sees; every value is raw, the template quotes it.
type configData struct {
	Cluster        string
	Backup         bool
	PatroniConf    string
	PGSocketDir    string
	ArchiveCommand string
	Patroni        topology.Patroni
}

// Config returns the patroni.yml of the postgres-patroni image for a cluster: the bootstrap
// and PostgreSQL settings shared by every member, with WAL archiving through pgbackrest when
// the cluster's backup is on. Per-member values come from PATRONI_* variables.
func Config(c topology.Cluster) ([]byte, error) {
	d := configData{Cluster: c.Name, Backup: c.Backup.Enabled, PatroniConf: c.Container().PatroniConf,
		PGSocketDir: c.Container().PGSocketDir, Patroni: c.Patroni}
	if c.Backup.Enabled {
		d.ArchiveCommand = backup.ArchiveCommand(c)
	}
	var b bytes.Buffer
	if err := tmpl().Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render patroni.yml: %w", err)
	}
	return b.Bytes(), nil
}
