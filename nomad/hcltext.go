package nomad

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/apparentlymart/go-textseg/v15/textseg"
	"golang.org/x/text/unicode/norm"
)

// vipctl writes HCL text itself instead of with hashicorp/hcl's hclwrite. The OCF agent is this
// same binary, and hclwrite imports go-cmp, whose package initialisation (regexps compiled at
// init) ran before main on every run: about 0.5 ms of every agent monitor, which Pacemaker
// runs every few seconds on every host. The text is laid out as hclwrite.Format (and
// `nomad fmt`) lays it out: two spaces per level, the "=" of consecutive one-line attributes
// aligned, strings escaped as hclwrite escapes them.

// body is an HCL body being written: attributes, blocks and empty lines, in the order added.
type body struct{ items []bodyItem }

// bodyItem is an attribute (expr set), a block (block set) or, without a name, an empty line.
type bodyItem struct {
	name   string   // attribute name or block type
	labels []string // block labels
	expr   string   // attribute value as HCL text; a line after the first is relative to the attribute's indentation
	raw    bool     // expr is a heredoc: its lines are written as they are, not indented
	block  *body
}

func (b *body) appendAttr(name, expr string) {
	b.items = append(b.items, bodyItem{name: name, expr: expr})
}

func (b *body) appendHeredoc(name, expr string) {
	b.items = append(b.items, bodyItem{name: name, expr: expr, raw: true})
}

func (b *body) appendBlock(typ string, labels ...string) *body {
	nb := &body{}
	b.items = append(b.items, bodyItem{name: typ, labels: labels, block: nb})
	return nb
}

func (b *body) appendBlank() { b.items = append(b.items, bodyItem{}) }

// isEmpty reports whether b has neither attributes nor blocks.
func (b *body) isEmpty() bool {
	return !slices.ContainsFunc(b.items, func(it bodyItem) bool { return it.name != "" })
}

// aligned reports whether the item's "=" lines up with its neighbours': a one-line attribute
// or a heredoc (by its first line). A value that opens a bracket on one line and closes it on
// another (a long list, a map) ends the run, as in hclwrite.Format.
func (it bodyItem) aligned() bool {
	return it.block == nil && it.name != "" && (it.raw || !strings.Contains(it.expr, "\n"))
}

// text is b written at depth levels of indentation.
func (b *body) text(depth int) string {
	var sb strings.Builder
	b.write(&sb, depth)
	return sb.String()
}

func (b *body) write(sb *strings.Builder, depth int) {
	indent := strings.Repeat("  ", depth)
	width := 0 // of the names in the current run of aligned attributes
	for i, it := range b.items {
		switch {
		case it.name == "":
			sb.WriteString("\n")
		case it.block != nil:
			sb.WriteString(indent + it.name)
			for _, l := range it.labels {
				sb.WriteString(` "` + escapeAll(l) + `"`)
			}
			sb.WriteString(" {\n")
			it.block.write(sb, depth+1)
			sb.WriteString(indent + "}\n")
		case it.aligned():
			if i == 0 || !b.items[i-1].aligned() {
				width = 0
				for _, next := range b.items[i:] {
					if !next.aligned() {
						break
					}
					width = max(width, columns(next.name))
				}
			}
			pad := strings.Repeat(" ", width-columns(it.name))
			sb.WriteString(indent + it.name + pad + " = " + it.expr + "\n")
		default:
			sb.WriteString(indent + it.name + " = " + strings.ReplaceAll(it.expr, "\n", "\n"+indent) + "\n")
		}
	}
}

// columns is the width of s as hclwrite.Format counts it: in grapheme clusters.
func columns(s string) int {
	n, _ := textseg.TokenCount([]byte(s), textseg.ScanGraphemeClusters)
	return n
}

// listExpr is a list of quoted strings: on one line, or one element per line when long.
func listExpr(vs []string) string {
	width := 0
	for _, v := range vs {
		width += len(v) + 4
	}
	qs := make([]string, len(vs))
	for i, v := range vs {
		qs[i] = quoted(v)
	}
	if len(vs) > 1 && width > 72 {
		return "[\n  " + strings.Join(qs, ",\n  ") + ",\n]"
	}
	return "[" + strings.Join(qs, ", ") + "]"
}

// mapBody is m as the attributes of a body, with quoted keys in sorted order.
func mapBody(m map[string]string) *body {
	b := &body{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.appendAttr(quoted(k), quoted(m[k]))
	}
	return b
}

// mapExpr is an object of strings, one key per line.
func mapExpr(m map[string]string) string {
	return "{\n" + mapBody(m).text(1) + "}"
}

// mapListExpr is a list of objects of strings; hclwrite.Format indents the "}, {" between two
// elements as deep as their keys, and so does this.
func mapListExpr(ms []map[string]string) string {
	if len(ms) == 0 {
		return "[]"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = mapBody(m).text(1)
	}
	return "[{\n" + strings.Join(parts, "  }, {\n") + "}]"
}

// runtimeInterpolation matches the interpolations Nomad resolves when it places a task.
var runtimeInterpolation = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\$\{(NOMAD_[A-Za-z0-9_]+|(node|attr|meta)\.[A-Za-z0-9_.-]+)\}`)
})

// quoted is a quoted HCL string whose value is s, keeping Nomad's runtime interpolations.
func quoted(s string) string {
	var sb strings.Builder
	sb.WriteString(`"`)
	last := 0
	for _, m := range runtimeInterpolation().FindAllStringIndex(s, -1) {
		sb.WriteString(escapeAll(s[last:m[0]]))
		sb.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	sb.WriteString(escapeAll(s[last:]))
	sb.WriteString(`"`)
	return sb.String()
}

// escapeAll is the body of a quoted HCL string whose value is exactly s: quotes, backslashes,
// newlines, carriage returns and tabs escaped with a backslash, "${" and "%{" doubled to
// "$${" and "%%{", other non-printable characters as \uNNNN or \UNNNNNNNN (as hclwrite writes
// a cty string, which is in Unicode normal form C, as HCL's parser makes every string).
func escapeAll(s string) string {
	var sb strings.Builder
	s = norm.NFC.String(s)
	for i, r := range s {
		switch r {
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '$', '%':
			sb.WriteRune(r)
			if strings.HasPrefix(s[i+1:], "{") {
				sb.WriteRune(r)
			}
		default:
			switch {
			case unicode.IsPrint(r):
				sb.WriteRune(r)
			case r < 0x10000:
				fmt.Fprintf(&sb, `\u%04x`, r)
			default:
				fmt.Fprintf(&sb, `\U%08x`, r)
			}
		}
	}
	return sb.String()
}

// appendText writes multi-line text as a heredoc, which keeps it readable; its value is exactly s
// ("${" and "%{" escaped), including the final newline. Other text is a quoted string.
func (b *body) appendText(name, s string) {
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\r") {
		b.appendAttr(name, quoted(s))
		return
	}
	delim := "EOT"
	lines := strings.Split(s, "\n")
	for n := 0; slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == delim }); n++ {
		delim = fmt.Sprintf("EOT%d", n)
	}
	text := strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	b.appendHeredoc(name, "<<"+delim+"\n"+text+delim)
}
