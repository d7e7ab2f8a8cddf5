// Package tmplset holds the embedded text templates of a renderer, parsed on first use rather
// than at start-up: every run of the vipctl binary, the OCF agent's included, would pay for
// parsing them in an init.
package tmplset

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"text/template"
)

// Set is the templates of fsys matching a pattern, with their functions.
type Set struct {
	parse func() *template.Template
}

// New returns the Set of the templates in fsys matching pattern; they are parsed (and a bad
// one panics, as template.Must does) the first time one is rendered.
func New(fsys fs.FS, pattern string, funcs template.FuncMap) *Set {
	return &Set{parse: sync.OnceValue(func() *template.Template {
		return template.Must(template.New("").Funcs(funcs).ParseFS(fsys, pattern))
	})}
}

// Render executes the template name (the file's base name, e.g. "cron_backup.tmpl") with data;
// an error names the file without ".tmpl".
func (s *Set) Render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := s.parse().ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", strings.TrimSuffix(name, ".tmpl"), err)
	}
	return b.Bytes(), nil
}
