package topology

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Limits of a topology file, checked before HCL parses it (docs/topology.md names them).
const (
	// MaxFileSize is the largest topology in bytes: 1 MiB, about 250 times the example and
	// 20 times the largest file the generator writes (MaxGroups groups).
	MaxFileSize = 1 << 20
	// MaxDepth is how deeply blocks, brackets, parentheses, quoted strings, heredocs,
	// template interpolations and runs of unary operators (! and -) may nest. The format
	// itself needs 5. HCL's parser recurses once per level: a million levels overflow its stack.
	MaxDepth = 32
)

// checkLimits refuses a source over MaxFileSize or nested deeper than MaxDepth, at the
// position where the limit is crossed.
func checkLimits(src []byte, filename string) hcl.Diagnostics {
	if len(src) > MaxFileSize {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Topology larger than %d bytes", MaxFileSize),
			Detail:   fmt.Sprintf("A topology file has at most %d bytes (1 MiB); this one goes on past that point.", MaxFileSize),
			Subject:  posAt(src, MaxFileSize, filename).Ptr(),
		}}
	}
	if off := tooDeep(src); off >= 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Nesting deeper than %d levels", MaxDepth),
			Detail: fmt.Sprintf("Blocks, brackets, parentheses, strings, interpolations and unary operators nest at most %d deep in a topology file.",
				MaxDepth),
			Subject: posAt(src, off, filename).Ptr(),
		}}
	}
	return nil
}

// Levels of the depth scanner.
const (
	levelExpr   = 'e' // {, [ or ( in an expression
	levelInterp = 'i' // ${ or %{ in a string or heredoc
	levelString = 's' // a quoted string
	levelDoc    = 'h' // a heredoc
)

// tooDeep returns the offset at which src nests deeper than MaxDepth, or -1. It follows HCL's
// lexical structure (comments, quoted strings with escapes, heredocs, interpolations) with a
// stack of at most MaxDepth levels, in one pass and without allocating per byte: the HCL
// lexer itself keeps about 500 bytes per token, half a gigabyte for a file of brackets.
func tooDeep(src []byte) int {
	var stack [MaxDepth]byte
	var docs [MaxDepth][]byte // the closing word of each open heredoc, by level
	depth, unary := 0, 0
	lineStart := true // in a heredoc: at the start of a line
	push := func(l byte) bool {
		if depth == MaxDepth {
			return false
		}
		stack[depth] = l
		depth++
		return true
	}
	for i := 0; i < len(src); i++ {
		top := byte(levelExpr)
		if depth > 0 {
			top = stack[depth-1]
		}
		c := src[i]
		switch top {
		case levelString, levelDoc:
			if top == levelDoc && lineStart {
				end := bytes.IndexByte(src[i:], '\n')
				if end < 0 {
					end = len(src) - i
				}
				if bytes.Equal(bytes.TrimSpace(src[i:i+end]), docs[depth-1]) {
					depth--
					i += end - 1
					lineStart = false
					continue
				}
			}
			lineStart = c == '\n'
			switch {
			case top == levelString && c == '\\':
				i++
			case top == levelString && c == '"':
				depth--
			case (c == '$' || c == '%') && i+2 < len(src) && src[i+1] == c && src[i+2] == '{':
				i += 2 // $${ and %%{ are literal
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				if !push(levelInterp) {
					return i
				}
				i++
			}
			continue
		}
		// An expression.
		switch {
		case c == '!' || c == '-':
			unary++
			if depth+unary > MaxDepth {
				return i
			}
			continue
		case c == ' ' || c == '\t':
			continue
		}
		unary = 0
		switch {
		case c == '#', c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				return -1
			}
			i += end - 1
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return -1
			}
			i += end + 3
		case c == '"':
			if !push(levelString) {
				return i
			}
		case c == '{' || c == '[' || c == '(':
			if !push(levelExpr) {
				return i
			}
		case c == '}' || c == ']' || c == ')':
			if depth > 0 {
				depth--
			}
		case c == '<' && i+1 < len(src) && src[i+1] == '<':
			word, n := heredocHeader(src[i+2:])
			if n == 0 {
				i++
				break
			}
			if !push(levelDoc) {
				return i
			}
			docs[depth-1] = word
			i += 1 + n
			lineStart = true
		}
	}
	return -1
}

// heredocHeader reads "-WORD\n" or "WORD\n" after "<<" and returns WORD and the bytes read
// (newline included), or 0 when src does not start a heredoc.
func heredocHeader(src []byte) ([]byte, int) {
	i := 0
	if i < len(src) && src[i] == '-' {
		i++
	}
	start := i
	for i < len(src) && (src[i] == '_' || src[i] >= 'a' && src[i] <= 'z' || src[i] >= 'A' && src[i] <= 'Z' ||
		i > start && (src[i] == '-' || src[i] >= '0' && src[i] <= '9')) {
		i++
	}
	if i == start {
		return nil, 0
	}
	word := src[start:i]
	if i < len(src) && src[i] == '\r' {
		i++
	}
	if i >= len(src) || src[i] != '\n' {
		return nil, 0
	}
	return word, i + 1
}

// posAt is the position of byte offset off of src.
func posAt(src []byte, off int, filename string) hcl.Range {
	pos := hcl.Pos{Line: 1, Column: 1, Byte: off}
	for i := 0; i < off; {
		r, n := utf8.DecodeRune(src[i:])
		if r == '\n' {
			pos.Line++
			pos.Column = 1
		} else {
			pos.Column++
		}
		i += n
	}
	end := pos
	end.Column++
	end.Byte++
	return hcl.Range{Filename: filename, Start: pos, End: end}
}
