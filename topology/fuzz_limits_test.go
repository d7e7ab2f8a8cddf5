package topology

import (
	"bytes"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"strings"
	"testing"
)

// FuzzDepth: whatever the kind, depth and what sits at the bottom, Parse neither crashes nor
// recurses past the limit: beyond MaxDepth levels of any kind the file is refused with the
// depth diagnostic, and checkLimits agrees with Parse. The seed corpus
// (testdata/fuzz/FuzzDepth) holds each kind just within, at and past the limit, and a
// half a million levels.
func FuzzDepth(f *testing.F) {
	f.Fuzz(func(t *testing.T, kind byte, n int, inner []byte) {
		if n < 0 || n > 1<<20 || len(inner) > 1<<10 {
			return
		}
		src := deepSource(kind, n, inner)
		_, err := Parse(src, "fuzz.hcl")
		limited := checkLimits(src, "fuzz.hcl").HasErrors()
		if err == nil && limited {
			t.Fatalf("checkLimits refuses what Parse accepts")
		}
		if err != nil {
			checkError(t, err)
		}
		if n > MaxDepth && len(src) <= MaxFileSize && !limited {
			t.Errorf("%d levels of %q pass the depth check", n, kind)
		}
	})
}

// deepSource nests inner n levels deep in one kind of syntax.
func deepSource(kind byte, n int, inner []byte) []byte {
	var b bytes.Buffer
	switch kind % 7 {
	case 0:
		b.WriteString("x = " + strings.Repeat("[", n))
		b.Write(inner)
		b.WriteString(strings.Repeat("]", n))
	case 1:
		b.WriteString("x = " + strings.Repeat("(", n))
		b.Write(inner)
		b.WriteString(strings.Repeat(")", n))
	case 2:
		b.WriteString("x = " + strings.Repeat("{a=", n))
		b.Write(inner)
		b.WriteString(strings.Repeat("}", n))
	case 3:
		b.WriteString("x = " + strings.Repeat(`"${`, (n+1)/2))
		b.Write(inner)
		b.WriteString(strings.Repeat(`}"`, (n+1)/2))
	case 4:
		b.WriteString("x = " + strings.Repeat("!", n))
		b.Write(inner)
	case 5:
		b.WriteString("x = " + strings.Repeat("-", n))
		b.Write(inner)
	default:
		b.WriteString(strings.Repeat("a {\n", n))
		b.Write(inner)
		b.WriteString("\n" + strings.Repeat("}\n", n))
	}
	b.WriteString("\n")
	return b.Bytes()
}

// lexDepthExceeds is the depth rule computed from HCL's own tokens, the oracle of tooDeep
// (too costly for the loader: the lexer keeps about 500 bytes per token).
func lexDepthExceeds(src []byte) bool {
	tokens, _ := hclsyntax.LexConfig(src, "oracle.hcl", hcl.Pos{Line: 1, Column: 1})
	depth, unary := 0, 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			unary = 0
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
			unary = 0
		case hclsyntax.TokenBang, hclsyntax.TokenMinus:
			unary++
		default:
			unary = 0
		}
		if depth+unary > MaxDepth {
			return true
		}
	}
	return false
}

// FuzzDepthScanner: wherever HCL's tokens nest deeper than MaxDepth, the loader's scanner
// says so too (it may be stricter, never laxer).
func FuzzDepthScanner(f *testing.F) {
	for _, kind := range []byte("[({\"!-b") {
		f.Add(deepSource(kind, MaxDepth+1, []byte("1")))
	}
	f.Add([]byte("x = <<EOT\n${[[[[\nEOT\n"))
	f.Add([]byte("x = \"a\nb${[(\"${1}\")]}\"\n# [[[[\n/* (((( */"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<16 {
			return
		}
		if lexDepthExceeds(src) && tooDeep(src) < 0 {
			t.Errorf("HCL's tokens nest deeper than %d, the scanner lets it pass", MaxDepth)
		}
	})
}
