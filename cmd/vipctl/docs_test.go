package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandsDoc is the operator's command reference that TestCommandsDocumented keeps honest.
const commandsDoc = "../../docs/commands.md"

var (
	// docHeading matches a section of the reference that documents one command:
	// "## `vipctl …`" or "### `vipctl …`", with anything after the closing backtick.
	docHeading = regexp.MustCompile("(?m)^#{2,4} `(vipctl[^`]*)`.*$")
	// commandWord is a word of a command path (not a flag, an ARG or a bracket).
	commandWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// docSections splits the command reference into sections keyed by command path
// ("vipctl cib simulate"): the heading's words up to the first one that is not a command name.
// A section runs to the next command heading.
func docSections(doc string) map[string]string {
	sections := map[string]string{}
	locs := docHeading.FindAllStringSubmatchIndex(doc, -1)
	for i, loc := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		var path []string
		for _, w := range strings.Fields(doc[loc[2]:loc[3]]) {
			if !commandWord.MatchString(w) {
				break
			}
			path = append(path, w)
		}
		sections[strings.Join(path, " ")] += doc[loc[0]:end]
	}
	return sections
}

// operatorCommands lists the commands of the tree that an operator runs, each with the flags it
// defines (the root's persistent flags belong to the root). Hidden commands and flags, cobra's
// help command and -h/--help are left out, and so are pure group commands (`vipctl cib`), which
// only print their help: no flags of their own, no arguments in their use line.
func operatorCommands(root *cobra.Command) map[string][]*pflag.Flag {
	out := map[string][]*pflag.Flag{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		var flags []*pflag.Flag
		collect := func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" {
				flags = append(flags, f)
			}
		}
		c.LocalNonPersistentFlags().VisitAll(collect)
		c.PersistentFlags().VisitAll(collect)
		group := c.HasSubCommands() && len(strings.Fields(c.Use)) == 1
		if (c.Runnable() && !group) || len(flags) > 0 {
			out[c.CommandPath()] = flags
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// undocumented names each command that doc has no section for, and each flag that its
// command's section does not mention (as --name, and as -x for a shorthand), sorted.
func undocumented(doc string, cmds map[string][]*pflag.Flag) []string {
	sections := docSections(doc)
	var missing []string
	for path, flags := range cmds {
		sec, ok := sections[path]
		if !ok {
			missing = append(missing, "command `"+path+"`")
			continue
		}
		for _, f := range flags {
			if !mentions(sec, "--"+f.Name) {
				missing = append(missing, "flag --"+f.Name+" of `"+path+"`")
			}
			if f.Shorthand != "" && !mentions(sec, "-"+f.Shorthand) {
				missing = append(missing, "flag -"+f.Shorthand+" of `"+path+"`")
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// mentions reports whether text names flag as a whole word: "--fail" is not found in
// "--failover", nor "-d" in "-dW" or "--dir".
func mentions(text, flag string) bool {
	return regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(flag) + `($|[^\w-])`).MatchString(text)
}

func readCommandsDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(commandsDoc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCommandsDocumented fails for every command of vipctl's tree that docs/commands.md has no
// section for, and every flag that the command's section does not mention, so that the
// reference cannot fall behind the code.
func TestCommandsDocumented(t *testing.T) {
	cmds := operatorCommands(newRootCmd(&globals{}))
	for _, want := range []string{"vipctl", "vipctl cib simulate", "vipctl ocf install", "vipctl lab fail"} {
		if _, ok := cmds[want]; !ok {
			t.Fatalf("the walk of the command tree missed %q: it found %v", want, cmds)
		}
	}
	for _, m := range undocumented(readCommandsDoc(t), cmds) {
		t.Errorf("%s: %s is not documented", commandsDoc, m)
	}
}

// TestCommandsDocumentedCatchesGaps takes a command's section and a flag out of the reference
// and checks that exactly those are reported.
func TestCommandsDocumentedCatchesGaps(t *testing.T) {
	doc := readCommandsDoc(t)
	sections := docSections(doc)
	simulate, apply := sections["vipctl cib simulate"], sections["vipctl cib apply"]
	if simulate == "" || apply == "" {
		t.Fatalf("%s: no section for cib simulate or cib apply: the heading parser is broken", commandsDoc)
	}
	doc = strings.Replace(doc, simulate, "", 1)
	doc = strings.Replace(doc, apply, strings.ReplaceAll(apply, "--backup-dir", "--elsewhere"), 1)
	global := sections["vipctl"]
	doc = strings.Replace(doc, global, strings.ReplaceAll(global, "--output", "--out"), 1)

	cmds := operatorCommands(newRootCmd(&globals{}))
	before := undocumented(readCommandsDoc(t), cmds) // TestCommandsDocumented reports these
	var got []string
	for _, m := range undocumented(doc, cmds) {
		if !slices.Contains(before, m) {
			got = append(got, m)
		}
	}
	want := []string{
		"command `vipctl cib simulate`",
		"flag --backup-dir of `vipctl cib apply`",
		"flag --output of `vipctl`",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("undocumented on a cut reference (-want +got):\n%s", diff)
	}
}

func TestMentions(t *testing.T) {
	for _, tc := range []struct {
		text, flag string
		want       bool
	}{
		{"`--fail HOST`", "--fail", true},
		{"--failover", "--fail", false},
		{"haproxy -dW -c", "-d", false},
		{"`-d`, `--dir DIR`", "-d", true},
		{"--dir", "-d", false},
		{"(-o json)", "-o", true},
	} {
		if got := mentions(tc.text, tc.flag); got != tc.want {
			t.Errorf("mentions(%q, %q) = %v, want %v", tc.text, tc.flag, got, tc.want)
		}
	}
}

// TestDocsIndexListsEveryPage fails for each page of docs/ that the index docs/README.md does
// not link to.
func TestDocsIndexListsEveryPage(t *testing.T) {
	index, err := os.ReadFile("../../docs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		name := filepath.Base(p)
		if name != "README.md" && !strings.Contains(string(index), "]("+name+")") {
			t.Errorf("docs/README.md does not link to %s", name)
		}
	}
}

// TestCibPackageDocNamesEverySubcommand fails when the cib package's doc comment does not name
// each `vipctl cib` subcommand (it said render, verify and simulate long after diff and apply
// existed).
func TestCibPackageDocNamesEverySubcommand(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../cib/doc.go", nil, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("cib/doc.go has no package doc comment")
	}
	doc := f.Doc.Text()
	for _, sub := range newCmdCib(&globals{}).Commands() {
		if !strings.Contains(doc, sub.Name()) {
			t.Errorf("the cib package doc does not mention %q: %q", sub.Name(), doc)
		}
	}
}
