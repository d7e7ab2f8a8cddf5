package quote

import (
	"regexp"
	"strings"
	"sync"
)

// shellSafe matches words that the shell reads literally without quotes.
var shellSafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`) })

// Shell returns s as one shell word that bash reads back as exactly s: unchanged when
// it holds only safe characters, else in single quotes, each quote inside written as quote,
// backslash, quote, quote.
func Shell(s string) string {
	if shellSafe().MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
