// Package printable makes text from files and command lines safe to print on a terminal.
package printable

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s with every character that a terminal would not show as itself (control
// bytes, ANSI escapes, line breaks, invalid UTF-8, other unprintable runes) written as a Go
// escape such as \x1b, \n or \u200b. Printable text, spaces included, is kept as it is.
func Line(s string) string {
	if !needsQuoting(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])>>4, 16) + strconv.FormatUint(uint64(s[i])&0xf, 16))
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r) // e.g. '\x1b'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// Lines is Line for each line of s: the line breaks stay, everything else is escaped.
func Lines(s string) string {
	if !needsQuoting(strings.ReplaceAll(s, "\n", "")) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Line(l)
	}
	return strings.Join(lines, "\n")
}

func needsQuoting(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r != ' ' && !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
