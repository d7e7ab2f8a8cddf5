package badtopo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Base is a valid topology: two hosts, one host group with a VIP, one cluster backed up to a
// posix repository. Every case is this file with a few edits; its lines are numbered here so
// that a case's expected positions can be read off it.
const Base = `corosync {
  cluster_name = "t"
}
pacemaker {
  stonith_enabled = false
}
host "h1" {
  address = "192.0.2.1"
}
host "h2" {
  address = "192.0.2.2"
}
host_group "g" {
  hosts = ["h1", "h2"]
  vip {
    address = "192.0.2.100/24"
  }
}
cluster "c" {
  host_group   = "g"
  port         = 5001
  patroni_port = 8008
  image        = "img"
  backup {
    schedule = "0 3 * * *"
    repo {
      path = "/var/lib/pgbackrest"
    }
  }
}
`

// An Edit changes the topology at a place, named by a dotted path of block types, their
// labels and, last, an attribute: "corosync.cluster_name", "host.h2", "cluster.c.backup.repo.path".
type Edit struct {
	op    string
	place string
	text  string
}

// Set gives the attribute at place the HCL expression value; an attribute the block does not
// have yet is added after the block's last attribute.
func Set(place, value string) Edit { return Edit{"set", place, value} }

// Delete removes the attribute or the block (with all it holds) at place.
func Delete(place string) Edit { return Edit{"delete", place, ""} }

// Insert puts text (attributes or blocks) just before the attribute or block at place.
func Insert(place, text string) Edit { return Edit{"insert", place, text} }

// Append puts text at the end of the block at place; place "" is the end of the file.
func Append(place, text string) Edit { return Edit{"append", place, text} }

// Relabel gives the block at place another label: Relabel("host.h2", "-h2").
func Relabel(place, label string) Edit { return Edit{"relabel", place, label} }

// Unclose replaces the closing brace of the block at place by an empty line, which
// leaves the file unparsable; it must be the last edit.
func Unclose(place string) Edit { return Edit{"unclose", place, ""} }

func (e Edit) String() string {
	if e.text == "" {
		return fmt.Sprintf("%s %s", e.op, e.place)
	}
	return fmt.Sprintf("%s %s %s", e.op, e.place, e.text)
}

// Want is one diagnostic a case must give: where it starts, its summary (which names the
// value), and for a duplicate where the first one is ("line,col", as its detail names it).
type Want struct {
	Line, Col int
	Summary   string
	First     string
}

// Pos is the position as messages print it: "line,col".
func (w Want) Pos() string { return fmt.Sprintf("%d,%d", w.Line, w.Col) }

// A Case is one bad topology: Base with Edits applied, and every diagnostic it gives, in order.
type Case struct {
	Name  string
	Edits []Edit
	Want  []Want
}

// Source is the case's topology: Base with the edits applied in order, each result formatted
// as `hclwrite.Format` does (attributes aligned, blocks indented).
func (c Case) Source() ([]byte, error) {
	src := []byte(Base)
	for i, e := range c.Edits {
		if e.op == "unclose" && i != len(c.Edits)-1 {
			return nil, fmt.Errorf("case %s: %s is not the last edit", c.Name, e)
		}
		lines, err := e.apply(strings.Split(strings.TrimSuffix(string(src), "\n"), "\n"))
		if err != nil {
			return nil, fmt.Errorf("case %s: %s: %w", c.Name, e, err)
		}
		src = []byte(strings.Join(lines, "\n") + "\n")
		if e.op != "unclose" { // formatting an unclosed block would indent the rest of the file
			src = hclwrite.Format(src)
		}
	}
	return src, nil
}

// Write writes the case's topology to dir/<name>.hcl and returns that path.
func (c Case) Write(t testing.TB, dir string) string {
	t.Helper()
	src, err := c.Source()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, c.Name+".hcl")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// item is an attribute or a block of the file being edited, by line (0-based, end inclusive).
type item struct {
	name, label string
	block       bool
	start, end  int
	children    []*item
}

// outline reads the items of lines as written by Base and the edits: one attribute or block
// header per line, a block (or an attribute's object value opened by "= {") closed by a line
// of its own "}".
func outline(lines []string) (*item, error) {
	root := &item{block: true, start: -1, end: len(lines)}
	stack := []*item{root}
	for i, l := range lines {
		l = strings.TrimSpace(l)
		top := stack[len(stack)-1]
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case l == "}":
			if len(stack) == 1 {
				return nil, fmt.Errorf("line %d: unmatched }", i+1)
			}
			top.end = i
			stack = stack[:len(stack)-1]
		case strings.HasSuffix(l, "{"):
			head := strings.TrimSpace(strings.TrimSuffix(l, "{"))
			var b *item
			if name, _, ok := strings.Cut(head, "="); ok { // an attribute whose object spans lines
				b = &item{name: strings.TrimSpace(name), start: i}
			} else {
				name, label, _ := strings.Cut(head, " ")
				b = &item{name: name, label: strings.Trim(label, `"`), block: true, start: i}
			}
			top.children = append(top.children, b)
			stack = append(stack, b)
		default:
			name, _, ok := strings.Cut(l, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: neither attribute nor block: %q", i+1, l)
			}
			top.children = append(top.children, &item{name: strings.TrimSpace(name), start: i, end: i})
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("block at line %d not closed", stack[len(stack)-1].start+1)
	}
	return root, nil
}

// find resolves a place. With missingAttr, a last element that names no attribute of an
// existing block resolves to that block and the name.
func find(root *item, place string, missingAttr bool) (it *item, attr string, err error) {
	if place == "" {
		return root, "", nil
	}
	elems := strings.Split(place, ".")
	cur := root
	for i := 0; i < len(elems); i++ {
		var next *item
		for _, c := range cur.children {
			if c.name != elems[i] {
				continue
			}
			if c.block && c.label != "" {
				if i+1 >= len(elems) || c.label != elems[i+1] {
					continue
				}
				next = c
				i++
				break
			}
			next = c
			break
		}
		if next == nil {
			if missingAttr && i == len(elems)-1 {
				return cur, elems[i], nil
			}
			return nil, "", fmt.Errorf("no %q in the file", strings.Join(elems[:i+1], "."))
		}
		if !next.block && i != len(elems)-1 {
			return nil, "", fmt.Errorf("%q is an attribute, not a block", strings.Join(elems[:i+1], "."))
		}
		cur = next
	}
	return cur, "", nil
}

func splice(lines []string, at, drop int, add ...string) []string {
	out := append([]string{}, lines[:at]...)
	out = append(out, add...)
	return append(out, lines[at+drop:]...)
}

func (e Edit) apply(lines []string) ([]string, error) {
	root, err := outline(lines)
	if err != nil {
		return nil, err
	}
	it, newAttr, err := find(root, e.place, e.op == "set")
	if err != nil {
		return nil, err
	}
	text := strings.Split(strings.TrimSuffix(e.text, "\n"), "\n")
	switch e.op {
	case "set":
		if newAttr == "" {
			if it.block {
				return nil, fmt.Errorf("%q is a block", e.place)
			}
			name, _, _ := strings.Cut(lines[it.start], "=")
			return splice(lines, it.start, it.end-it.start+1, name+"= "+e.text), nil
		}
		at := it.start + 1 // after the block's last attribute, else first in the block
		for _, c := range it.children {
			if !c.block {
				at = c.end + 1
			}
		}
		return splice(lines, at, 0, newAttr+" = "+e.text), nil
	case "delete":
		if it == root {
			return nil, fmt.Errorf("delete needs a place")
		}
		return splice(lines, it.start, it.end-it.start+1), nil
	case "insert":
		if it == root {
			return nil, fmt.Errorf("insert needs a place")
		}
		return splice(lines, it.start, 0, text...), nil
	case "append":
		if !it.block {
			return nil, fmt.Errorf("%q is an attribute", e.place)
		}
		return splice(lines, it.end, 0, text...), nil
	case "relabel":
		if !it.block || it.label == "" {
			return nil, fmt.Errorf("%q is not a labelled block", e.place)
		}
		return splice(lines, it.start, 1, fmt.Sprintf("%s %q {", it.name, e.text)), nil
	case "unclose":
		if !it.block || it == root {
			return nil, fmt.Errorf("%q is not a block", e.place)
		}
		return splice(lines, it.end, 1, ""), nil
	}
	return nil, fmt.Errorf("unknown edit %q", e.op)
}
