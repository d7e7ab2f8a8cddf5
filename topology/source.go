package topology

import (
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// src is where one block of the file is: its ranges and attributes, kept for diagnostics.
type src struct {
	kind   string          // block type, e.g. "host"
	name   string          // its label, if any
	def    hcl.Range       // the block header
	label  hcl.Range       // the label (the header when there is none)
	attrs  hcl.Attributes  // as written
	set    map[string]bool // attributes written and decoded without error
	single map[string]*src // nested blocks without label
	multi  map[string][]*src
	absent bool // not written: stands in for a missing nested block
}

// at is where attribute name's value is written, or the block header when it is not.
func (s *src) at(name string) hcl.Range {
	if a, ok := s.attrs[name]; ok {
		return a.Expr.Range()
	}
	return s.def
}

// addressAt is where a host block writes the address of its link i: an element of addresses,
// else address.
func (s *src) addressAt(i int) hcl.Range {
	if _, ok := s.attrs["addresses"]; ok {
		return s.elemAt("addresses", i)
	}
	return s.at("address")
}

// elemAt is where element i of a list attribute is written, or the whole value.
func (s *src) elemAt(name string, i int) hcl.Range {
	a, ok := s.attrs[name]
	if !ok {
		return s.def
	}
	if tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(tuple.Exprs) {
		return tuple.Exprs[i].Range()
	}
	return a.Expr.Range()
}

// keyAt is where key is written in an object attribute (`params = { key = … }`), or the whole
// value.
func (s *src) keyAt(name, key string) hcl.Range {
	a, ok := s.attrs[name]
	if !ok {
		return s.def
	}
	if obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			if v, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() == key {
				return item.KeyExpr.Range()
			}
		}
	}
	return a.Expr.Range()
}

// child is the nested block of that type; when absent, an empty src at this block's header.
func (s *src) child(kind string) *src {
	if c, ok := s.single[kind]; ok {
		return c
	}
	return &src{kind: kind, def: s.def, label: s.def, set: map[string]bool{}, absent: true}
}

// decoder reads blocks and attribute values, collecting diagnostics.
type decoder struct {
	collector
	file []byte // the source, to quote values in messages
}

// text is the source text at r, shortened for a message.
func (d *decoder) text(r hcl.Range) string {
	if r.Start.Byte < 0 || r.End.Byte > len(d.file) || r.Start.Byte > r.End.Byte {
		return ""
	}
	t := []rune(string(d.file[r.Start.Byte:r.End.Byte]))
	if len(t) > 60 {
		t = append(t[:57], []rune("...")...)
	}
	return string(t)
}

// hint adds advice to a decoding diagnostic where a common mistake causes it.
func hint(diag *hcl.Diagnostic) string {
	if diag.Summary == "Variables not allowed" {
		return ` Write "$${" for a literal "${", e.g. "$${attr.unique.network.ip-address}:8500".`
	}
	return ""
}

// body decodes a block body of the given kind with its nested blocks.
func (d *decoder) body(kind string, body hcl.Body, def hcl.Range) *src {
	schema := schemas[kind]
	content, diags := body.Content(schema)
	d.add(diags)
	s := &src{
		kind: kind, def: def, label: def, attrs: content.Attributes,
		set: map[string]bool{}, single: map[string]*src{}, multi: map[string][]*src{},
	}
	for _, b := range content.Blocks {
		d.nested(s, b)
	}
	return s
}

func (d *decoder) nested(parent *src, b *hcl.Block) {
	c := d.body(b.Type, b.Body, b.DefRange)
	if len(b.Labels) > 0 {
		c.name, c.label = b.Labels[0], b.LabelRanges[0]
		parent.multi[b.Type] = append(parent.multi[b.Type], c)
		return
	}
	if first, dup := parent.single[b.Type]; dup {
		d.errorf(b.DefRange, "Duplicate "+b.Type+" block",
			"Only one %s block is allowed here; the first is at %s.", b.Type, at(first.def))
		return
	}
	parent.single[b.Type] = c
}

// value decodes attribute name of s into dst; it reports whether dst was set.
func value[T any](d *decoder, s *src, name string, dst *T) bool {
	a, ok := s.attrs[name]
	if !ok {
		return false
	}
	var v T
	if diags := decodeExpression(a.Expr, &v); diags.HasErrors() {
		first := diags.Errs()[0].(*hcl.Diagnostic) // the rest follow from it
		d.errorf(a.Expr.Range(), "Invalid "+name+" "+d.text(a.Expr.Range()), "%s: %s%s",
			s.title(), first.Detail, hint(first))
		return false
	}
	if !cleanText(any(v)) {
		d.errorf(a.Expr.Range(), "Invalid "+name+" "+d.text(a.Expr.Range()),
			"%s: %s must not hold control characters or white space at either end.", s.title(), name)
		return false
	}
	*dst = v
	s.set[name] = true
	return true
}

// cleanText reports whether the strings in v are free of control characters and of white
// space at their ends: every value ends up in a line-based file or a command line.
func cleanText(v any) bool {
	var texts []string
	switch v := v.(type) {
	case string:
		texts = []string{v}
	case []string:
		texts = v
	case map[string]string:
		for k, val := range v {
			texts = append(texts, k, val)
		}
	}
	for _, t := range texts {
		if t != strings.TrimSpace(t) || strings.ContainsFunc(t, unicode.IsControl) {
			return false
		}
	}
	return true
}

// require reports a missing attribute of s, naming the block; an absent block is reported
// by its parent instead.
func (d *decoder) require(s *src, names ...string) {
	if s.absent {
		return
	}
	for _, n := range names {
		if _, ok := s.attrs[n]; !ok {
			d.errorf(s.def, "Missing "+n, "%s needs %s.", s.title(), n)
		}
	}
}

// title names the block for messages, e.g. `host "pg-01"`.
func (s *src) title() string {
	if s.kind == "" {
		return "the file's top level"
	}
	if s.name == "" {
		return s.kind + " block"
	}
	return s.kind + ` "` + s.name + `"`
}
