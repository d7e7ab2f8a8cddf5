package cib

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Op says what a change does to an element or a field.
type Op string

// The three kinds of change.
const (
	OpAdd    Op = "added"
	OpChange Op = "changed"
	OpRemove Op = "removed"
)

// Change is one element of the configuration that apply adds, changes or removes.
type Change struct {
	Op      Op     `json:"op"`
	Section string `json:"section"`       // configuration section: crm_config, resources, constraints…
	Element string `json:"element"`       // primitive, rsc_location…; "nvpair" for a property or default
	ID      string `json:"id"`            // the element's id; for an nvpair, its name
	Set     string `json:"set,omitempty"` // for an nvpair: the id of the set holding it
	// Fields are the element's values that change (all of them when it is added or removed).
	Fields []Field `json:"fields"`
}

// Field is one value inside a changed element.
type Field struct {
	Op Op `json:"op"`
	// Path names the value inside the element: "@type" for an attribute of the element,
	// "meta_attributes[vip-a-meta_attributes]/nvpair[target-role]" for an nvpair's value,
	// "operations/op[vip-a-monitor-interval-10s]@timeout" for an attribute further down.
	Path string `json:"path"`
	Old  string `json:"old,omitempty"` // the live value (not for OpAdd)
	New  string `json:"new,omitempty"` // the value apply writes (not for OpRemove)
}

// nvSections hold sets of name/value pairs, compared pair by pair.
var nvSections = map[string]bool{"crm_config": true, "rsc_defaults": true, "op_defaults": true}

// Compare returns the changes that turn the configuration of live into that of merged, section
// by section: properties and defaults pair by pair, other elements by id with the values that
// differ. The order of elements and attributes does not count as a change.
func Compare(live, merged *etree.Document) ([]Change, error) {
	lconf, err := configuration(live)
	if err != nil {
		return nil, err
	}
	mconf, err := configuration(merged)
	if err != nil {
		return nil, err
	}
	var tags []string
	for _, conf := range []*etree.Element{lconf, mconf} {
		for _, s := range conf.ChildElements() {
			if !slices.Contains(tags, s.Tag) {
				tags = append(tags, s.Tag)
			}
		}
	}
	var changes []Change
	for _, tag := range tags {
		ls, ms := lconf.SelectElement(tag), mconf.SelectElement(tag)
		if nvSections[tag] {
			changes = append(changes, compareNVSets(tag, ls, ms)...)
		} else {
			changes = append(changes, compareElements(tag, ls, ms)...)
		}
	}
	return changes, nil
}

// flatEntry is one value of a flattened element or section.
type flatEntry struct{ key, value string }

// keyedChildren lists the children of e (nil: none) with a key unique among them: the segment naming
// them in a path (see pathSegments).
func keyedChildren(e *etree.Element) ([]string, map[string]*etree.Element) {
	if e == nil {
		return nil, map[string]*etree.Element{}
	}
	children := e.ChildElements()
	keys := pathSegments(children)
	m := make(map[string]*etree.Element, len(children))
	for i, c := range children {
		m[keys[i]] = c
	}
	return keys, m
}

// pathSegments names each element in a path: nvpair[name], tag[id], or tag; a name that repeats
// among the siblings gets "#2", "#3"… from its second occurrence on.
func pathSegments(children []*etree.Element) []string {
	seen := map[string]int{}
	out := make([]string, len(children))
	for i, c := range children {
		seg := c.Tag
		if name := c.SelectAttrValue("name", ""); c.Tag == "nvpair" && name != "" {
			seg += "[" + name + "]"
		} else if id := c.SelectAttrValue("id", ""); id != "" {
			seg += "[" + id + "]"
		}
		seen[seg]++
		if n := seen[seg]; n > 1 {
			seg += "#" + strconv.Itoa(n)
		}
		out[i] = seg
	}
	return out
}

// flattenElement lists every value inside a top-level element, in document order, keyed by its
// path (see Field.Path). Ids are part of the paths, except an nvpair's, which is named by its
// name: Pacemaker looks nvpairs up by name, so a different nvpair id is no change.
func flattenElement(e *etree.Element) []flatEntry {
	var out []flatEntry
	var walk func(e *etree.Element, path string)
	walk = func(e *etree.Element, path string) {
		nvpair := e.Tag == "nvpair" && path != ""
		described := false
		for _, a := range e.Attr {
			key := a.FullKey()
			switch {
			case key == "id":
				continue // in the path already (an nvpair's id means nothing to Pacemaker)
			case nvpair && key == "name":
				continue // in the path already
			case nvpair && key == "value":
				out = append(out, flatEntry{path, a.Value})
			default:
				out = append(out, flatEntry{path + "@" + key, a.Value})
			}
			described = true
		}
		if text := strings.TrimSpace(e.Text()); text != "" {
			out = append(out, flatEntry{path + "#text", text})
			described = true
		}
		children := e.ChildElements()
		if !described && len(children) == 0 && path != "" {
			out = append(out, flatEntry{path, ""}) // an element that is there, and nothing more
		}
		for i, seg := range pathSegments(children) {
			if path != "" {
				seg = path + "/" + seg
			}
			walk(children[i], seg)
		}
	}
	walk(e, "")
	return out
}

// sameElement reports whether two elements have the same tag and the same values, in any order.
func sameElement(a, b *etree.Element) bool {
	return a.Tag == b.Tag && maps.Equal(entryMap(flattenElement(a)), entryMap(flattenElement(b)))
}

func entryMap(es []flatEntry) map[string]string {
	m := make(map[string]string, len(es))
	for _, e := range es {
		m[e.key] = e.value
	}
	return m
}

// diffEntries returns the fields that differ between the old and new values of an element:
// changed and added ones in new's order, then removed ones in old's order.
func diffEntries(old, new []flatEntry) []Field {
	om, nm := entryMap(old), entryMap(new)
	var fields []Field
	for _, e := range new {
		switch ov, ok := om[e.key]; {
		case !ok:
			fields = append(fields, Field{Op: OpAdd, Path: e.key, New: e.value})
		case ov != e.value:
			fields = append(fields, Field{Op: OpChange, Path: e.key, Old: ov, New: e.value})
		}
	}
	for _, e := range old {
		if _, ok := nm[e.key]; !ok {
			fields = append(fields, Field{Op: OpRemove, Path: e.key, Old: e.value})
		}
	}
	return fields
}

// compareElements compares the children of a section (either may be nil) by id.
func compareElements(section string, live, merged *etree.Element) []Change {
	lkeys, lm := keyedChildren(live)
	mkeys, mm := keyedChildren(merged)
	change := func(op Op, e *etree.Element, key string, fields []Field) Change {
		return Change{Op: op, Section: section, Element: e.Tag, ID: e.SelectAttrValue("id", key), Fields: fields}
	}
	var changes []Change
	for _, k := range mkeys {
		m := mm[k]
		l, ok := lm[k]
		if !ok {
			changes = append(changes, change(OpAdd, m, k, diffEntries(nil, flattenElement(m))))
			continue
		}
		if fields := diffEntries(flattenElement(l), flattenElement(m)); len(fields) > 0 {
			changes = append(changes, change(OpChange, m, k, fields))
		}
	}
	for _, k := range lkeys {
		if _, ok := mm[k]; !ok {
			l := lm[k]
			changes = append(changes, change(OpRemove, l, k, diffEntries(flattenElement(l), nil)))
		}
	}
	return changes
}

// nvEntry is one nvpair of a property or defaults section.
type nvEntry struct {
	set, name, value string
}

// nvPairs lists the nvpairs of a section's sets keyed by set id and name (a name repeated in one
// set gets "#2"…).
func nvPairs(sec *etree.Element) ([]string, map[string]nvEntry) {
	var keys []string
	m := map[string]nvEntry{}
	if sec == nil {
		return keys, m
	}
	for _, set := range sec.ChildElements() {
		setID := set.SelectAttrValue("id", "")
		nvs := set.SelectElements("nvpair")
		for i, seg := range pathSegments(nvs) {
			k := setID + "/" + seg
			keys = append(keys, k)
			m[k] = nvEntry{set: setID, name: nvs[i].SelectAttrValue("name", ""), value: nvs[i].SelectAttrValue("value", "")}
		}
	}
	return keys, m
}

// compareNVSets compares two property or defaults sections (either may be nil) pair by pair.
func compareNVSets(section string, live, merged *etree.Element) []Change {
	lkeys, lm := nvPairs(live)
	mkeys, mm := nvPairs(merged)
	change := func(op Op, nv nvEntry, f Field) Change {
		f.Op, f.Path = op, "value"
		return Change{Op: op, Section: section, Element: "nvpair", ID: nv.name, Set: nv.set, Fields: []Field{f}}
	}
	var changes []Change
	for _, k := range mkeys {
		m := mm[k]
		l, ok := lm[k]
		switch {
		case !ok:
			changes = append(changes, change(OpAdd, m, Field{New: m.value}))
		case l.value != m.value:
			changes = append(changes, change(OpChange, m, Field{Old: l.value, New: m.value}))
		}
	}
	for _, k := range lkeys {
		if _, ok := mm[k]; !ok {
			changes = append(changes, change(OpRemove, lm[k], Field{Old: lm[k].value}))
		}
	}
	return changes
}

// opSign is the mark a change carries in text output.
var opSign = map[Op]string{OpAdd: "+", OpChange: "~", OpRemove: "-"}

// WriteChanges writes changes as text, one line per element or property and one indented line
// per value:
//
//	~ crm_config cib-bootstrap-options: no-quorum-policy: ignore → stop
//	+ resources: primitive vip-db-a
//	    + @class: ocf
func WriteChanges(w io.Writer, changes []Change) error {
	var b strings.Builder
	for _, c := range changes {
		if c.Element == "nvpair" && len(c.Fields) == 1 {
			fmt.Fprintf(&b, "%s %s %s: %s: %s\n", opSign[c.Op], c.Section, c.Set, c.ID, fieldValue(c.Fields[0]))
			continue
		}
		fmt.Fprintf(&b, "%s %s: %s %s\n", opSign[c.Op], c.Section, c.Element, c.ID)
		for _, f := range c.Fields {
			fmt.Fprintf(&b, "    %s %s: %s\n", opSign[f.Op], f.Path, fieldValue(f))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fieldValue shows a field's value, "old → new" for a changed one.
func fieldValue(f Field) string {
	switch f.Op {
	case OpAdd:
		return showValue(f.New)
	case OpRemove:
		return showValue(f.Old)
	default:
		return showValue(f.Old) + " → " + showValue(f.New)
	}
}

// showValue prints a value as is, quoted when it is empty or has spaces at either end.
func showValue(v string) string {
	if v == "" || strings.TrimSpace(v) != v {
		return strconv.Quote(v)
	}
	return v
}
