package tmplset

import (
	"strings"
	"testing"
	"testing/fstest"
	"text/template"
)

// A set renders its templates with their functions; a failing one is an error naming the file
// without .tmpl; nothing is parsed before the first Render.
func TestSet(t *testing.T) {
	fsys := fstest.MapFS{
		"t/hello.tmpl": {Data: []byte(`hello {{up .}}`)},
		"t/bad.tmpl":   {Data: []byte(`{{.Missing.Field}}`)},
	}
	parsed := false
	s := New(fsys, "t/*.tmpl", template.FuncMap{"up": func(v string) string { parsed = true; return strings.ToUpper(v) }})
	if parsed {
		t.Fatal("New ran a template")
	}
	got, err := s.Render("hello.tmpl", "world")
	if err != nil || string(got) != "hello WORLD" {
		t.Errorf("Render = %q, %v; want \"hello WORLD\"", got, err)
	}
	if _, err := s.Render("bad.tmpl", "x"); err == nil || !strings.HasPrefix(err.Error(), "render bad: ") {
		t.Errorf("bad template: err = %v, want one starting \"render bad: \"", err)
	}
}
