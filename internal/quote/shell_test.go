package quote

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vipctl/vipctl/internal/testenv"
)

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"msrvc01", "msrvc01"},
		{"/var/lib/pgbackrest", "/var/lib/pgbackrest"},
		{"http://127.0.0.1:8008", "http://127.0.0.1:8008"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(reboot)", "'$(reboot)'"},
		{"`id`;rm -rf /", "'`id`;rm -rf /'"},
		{"*", "'*'"},
		{"~root", "'~root'"},
		{"a\nb", "'a\nb'"},
		{"'", `''\'''`},
	} {
		if got := Shell(tc.in); got != tc.want {
			t.Errorf("Shell(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// bashEcho makes bash read each quoted word and print it back, NUL-terminated.
func bashEcho(t testing.TB, bash string, words []string) []string {
	t.Helper()
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = Shell(w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bash, "--norc", "-c", "printf '%s\\0' "+strings.Join(quoted, " ")).Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// TestShellQuoteBashRoundTrip checks with bash itself that every quoted word reads back unchanged.
func TestShellQuoteBashRoundTrip(t *testing.T) {
	bash := testenv.RequireTool(t, "bash")
	words := []string{"plain", "", "two words", "it's", `back\slash`, "$HOME", "${x:-y}", "!event", "a\tb\nc",
		"#comment", "semi;colon", "amp&", "pipe|", "<in>", "(sub)", "{brace}", "[glob]?", "é ü 😀", `"dq"`}
	got := bashEcho(t, bash, words)
	if len(got) != len(words) {
		t.Fatalf("bash read %d words, want %d: %q", len(got), len(words), got)
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: bash read %q, want %q", i, got[i], words[i])
		}
	}
}

func FuzzShellQuote(f *testing.F) {
	bash := testenv.RequireTool(f, "bash")
	for _, s := range []string{"msrvc01", "", "it's", "$(id)", "a\nb", `\'`, "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) {
			t.Skip("an argument cannot carry NUL")
		}
		got := bashEcho(t, bash, []string{s})
		if len(got) != 1 || got[0] != s {
			t.Fatalf("bash read %q back as %q", s, got)
		}
	})
}
