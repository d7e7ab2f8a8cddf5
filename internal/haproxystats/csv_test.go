package haproxystats

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Real stats pages and socket answers of HAProxy (testdata/README.md) read as the records of the
// proxy asked for, in HAProxy's order.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		file, proxy string
		want        []Record
	}{
		{"demo-up.csv", "demo", []Record{
			{Proxy: "demo", Name: Frontend, Status: "OPEN"},
			{Proxy: "demo", Name: "pg1", Status: "UP", Check: "L4OK"},
			{Proxy: "demo", Name: "pg2", Status: "DOWN", Check: "L4CON"},
			{Proxy: "demo", Name: Backend, Status: "UP"},
		}},
		{"demo-down.csv", "demo", []Record{
			{Proxy: "demo", Name: Frontend, Status: "OPEN"},
			{Proxy: "demo", Name: "pg1", Status: "DOWN", Check: "L4CON"},
			{Proxy: "demo", Name: "pg2", Status: "DOWN", Check: "L4CON"},
			{Proxy: "demo", Name: Backend, Status: "DOWN"},
		}},
		{"show-stat.csv", "demo", []Record{
			{Proxy: "demo", Name: Frontend, Status: "OPEN"},
			{Proxy: "demo", Name: "pg1", Status: "UP", Address: "127.0.0.1:33941", Check: "L4OK"},
			{Proxy: "demo", Name: "pg2", Status: "DOWN", Address: "127.0.0.1:1", Check: "L4CON"},
			{Proxy: "demo", Name: Backend, Status: "UP"},
		}},
		{"show-stat.csv", "stats", []Record{
			{Proxy: "stats", Name: Frontend, Status: "OPEN"},
			{Proxy: "stats", Name: Backend, Status: "UP"},
		}},
	} {
		t.Run(c.file+" "+c.proxy, func(t *testing.T) {
			got, err := Read(strings.NewReader(readFile(t, c.file)), c.proxy)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
		})
	}
}

// A check that runs while the page is read is marked "* " before its last result; the record
// carries the result alone. Lines from HAProxy 2.6 with a server between states.
func TestReadCheckRunning(t *testing.T) {
	header, _, _ := strings.Cut(readFile(t, "show-stat.csv"), "\n")
	page := header + "\n" +
		"demo,pg1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/2,1,1,0,1,0,5,0,,1,2,1,,0,,2,0,,0,* L7STS,503,1,,,,,,,,,,,0,0,,,,,-1,HTTP status check returned code <3C>503<3E>,,0,0,0,0,,,,Layer7 wrong status,,1,2,1,,,,10.20.0.11:23001,,tcp,\n"
	got, err := Read(strings.NewReader(page), "demo")
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{{Proxy: "demo", Name: "pg1", Status: "UP 1/2", Address: "10.20.0.11:23001", Check: "L7STS"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

func TestReadErrors(t *testing.T) {
	if _, err := Read(strings.NewReader(readFile(t, "demo-up.csv")), "other"); !errors.Is(err, ErrNoProxy) {
		t.Errorf("a proxy the page does not list: err = %v, want ErrNoProxy", err)
	}
	for _, bad := range []string{"", "<html>stats</html>\n", "# a,b\nx,y\n", "not,a,stats,page\n", "# pxname,svname,status\n\"demo,pg1\n"} {
		if _, err := Read(strings.NewReader(bad), "demo"); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want ErrFormat", bad, err)
		}
	}
}
