package badtopo

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Each kind of edit gives Base with one piece of text replaced.
func TestEdits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edits    []Edit
		old, new string // Base with old replaced by new is the result
	}{
		{"set existing", []Edit{Set("host.h2.address", `"x"`)}, `address = "192.0.2.2"`, `address = "x"`},
		{"set new after the last attribute", []Edit{Set("cluster.c.replicas", "2")},
			"  image        = \"img\"\n", "  image        = \"img\"\n  replicas     = 2\n"},
		{"delete block", []Edit{Delete("host_group.g.vip")}, "  vip {\n    address = \"192.0.2.100/24\"\n  }\n", ""},
		{"delete attribute", []Edit{Delete("cluster.c.backup.schedule")}, "    schedule = \"0 3 * * *\"\n", ""},
		{"insert first", []Edit{Insert("corosync", `datacenters = ["a"]`)}, "corosync {", "datacenters = [\"a\"]\ncorosync {"},
		{"insert block, indented", []Edit{Insert("cluster.c.backup", "x {\ny = 1\n}")}, "  backup {", "  x {\n    y = 1\n  }\n  backup {"},
		{"append to the file", []Edit{Append("", "x {\n}")}, Base, Base + "x {\n}\n"},
		{"append to a block", []Edit{Append("cluster.c.backup.repo", "type = \"posix\"")},
			"      path = \"/var/lib/pgbackrest\"\n", "      path = \"/var/lib/pgbackrest\"\n      type = \"posix\"\n"},
		{"relabel", []Edit{Relabel("host.h1", "-h1")}, `host "h1" {`, `host "-h1" {`},
		{"unclose, not formatted", []Edit{Unclose("host.h1")}, "  address = \"192.0.2.1\"\n}\n", "  address = \"192.0.2.1\"\n\n"},
		{"set an object value of many lines, then again", []Edit{Set("host_group.g.hosts", "{\na = 1\n}"), Set("host_group.g.hosts", `["h2"]`)},
			`hosts = ["h1", "h2"]`, `hosts = ["h2"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(Base, tc.old) {
				t.Fatalf("Base has no %q", tc.old)
			}
			src, err := Case{Name: tc.name, Edits: tc.edits}.Source()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.Replace(Base, tc.old, tc.new, 1), string(src)); diff != "" {
				t.Errorf("source (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEditErrors(t *testing.T) {
	for _, e := range []Edit{
		Set("host.h9.address", `"x"`),       // no such block
		Set("host_group.g.vip", `"x"`),      // a block
		Set("corosync.cluster_name.x", "1"), // an attribute is not a block
		Delete(""),
		Insert("", "x = 1"),
		Append("corosync.cluster_name", "x = 1"),
		Relabel("corosync", "x"),
		Unclose("corosync.cluster_name"),
	} {
		if _, err := (Case{Name: "c", Edits: []Edit{e}}).Source(); err == nil {
			t.Errorf("%s: no error", e)
		}
	}
	if _, err := (Case{Name: "c", Edits: []Edit{Unclose("corosync"), Delete("pacemaker")}}).Source(); err == nil {
		t.Errorf("an edit after Unclose: no error")
	}
}

// Every case has its own name, at least one diagnostic, and edits that each change the file.
func TestCasesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		seen[c.Name] = true
		if len(c.Want) == 0 {
			t.Errorf("case %s expects no diagnostic", c.Name)
		}
		prev := []byte(Base)
		for i := range c.Edits {
			src, err := Case{Name: c.Name, Edits: c.Edits[:i+1]}.Source()
			if err != nil {
				t.Fatal(err)
			}
			if string(src) == string(prev) {
				t.Errorf("case %s: edit %s changes nothing", c.Name, c.Edits[i])
			}
			prev = src
		}
	}
}
