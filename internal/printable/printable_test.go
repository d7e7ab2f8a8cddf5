package printable

import "testing"

func TestLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, with spaces", "plain text, with spaces"},
		{"h\x1b[31mx", `h\x1b[31mx`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"bad \xff byte", `bad \xff byte`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bell\a", `bell\a`},
		{"é ü 日本", "é ü 日本"},
		{"\x00", `\x00`},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestLines(t *testing.T) {
	in := "f.hcl:1,1: one \x1b[2J\nf.hcl:2,1: two\x07"
	want := "f.hcl:1,1: one \\x1b[2J\nf.hcl:2,1: two\\a"
	if got := Lines(in); got != want {
		t.Errorf("Lines = %q; want %q", got, want)
	}
}
