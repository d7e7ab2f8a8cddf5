package nomad

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"github.com/vipctl/vipctl/internal/quote"
)

//go:embed scripts/*.tmpl
var scriptFS embed.FS

// scriptTemplates are the templates of scripts/: the compose micro-cluster and the image's
// patroni.yml (the backup files' are the backup package's). They are parsed on first use, not
// at start-up: every run of the vipctl binary, the OCF agent's included, would pay for it.
var scriptTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").
		Funcs(template.FuncMap{"q": quote.Shell, "y": composeQuote, "yaml": yamlString}).
		ParseFS(scriptFS, "scripts/*.tmpl"))
})

func renderTemplate(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := scriptTemplates().ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", strings.TrimSuffix(name, ".tmpl"), err)
	}
	return b.Bytes(), nil
}

// clusterName is the topology's rule for cluster names (they become service and file names).
var clusterName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]*$`) })
