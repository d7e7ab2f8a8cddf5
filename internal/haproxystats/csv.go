package haproxystats

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

var (
	// ErrFormat: the input is not a stats CSV (no "# pxname,…" header with the columns read).
	ErrFormat = errors.New("not an HAProxy stats CSV")
	// ErrNoProxy: the stats CSV lists no record of the proxy asked for.
	ErrNoProxy = errors.New("the stats page lists no proxy of that name")
)

// Names of the two records of a proxy that are not servers.
const (
	Frontend = "FRONTEND"
	Backend  = "BACKEND"
)

// Record is one line of the stats CSV: a frontend, a server or a backend of a proxy.
type Record struct {
	Proxy   string // pxname
	Name    string // svname: a server's name, or Frontend, or Backend
	Status  string // UP, DOWN, MAINT, OPEN, "UP 1/3", "MAINT (resolution)", ...
	Address string // addr: a server's address ("" while unresolved, or in versions without it)
	Check   string // check_status, the last check's result, without the "* " of a check running
}

// IsServer reports whether the record is a server (not the frontend or backend line).
func (r Record) IsServer() bool { return r.Name != Frontend && r.Name != Backend }

// Read returns the records of proxy in the stats CSV r, in HAProxy's order. Columns are found by
// name in the header, so versions that add columns read the same. A CSV without a record of
// proxy matches ErrNoProxy; one that is no stats CSV matches ErrFormat.
func Read(r io.Reader, proxy string) ([]Record, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	if len(header) == 0 || !strings.HasPrefix(header[0], "# ") {
		return nil, fmt.Errorf("%w: header %q does not start with \"# pxname\"", ErrFormat, strings.Join(header, ","))
	}
	header[0] = strings.TrimPrefix(header[0], "# ")
	col := func(name string) int { return slices.Index(header, name) }
	px, sv, st, addr, chk := col("pxname"), col("svname"), col("status"), col("addr"), col("check_status")
	if px < 0 || sv < 0 || st < 0 {
		return nil, fmt.Errorf("%w: the header lacks pxname, svname or status", ErrFormat)
	}
	field := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return rec[i]
	}
	var out []Record
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if field(rec, px) != proxy {
			continue
		}
		out = append(out, Record{
			Proxy:   proxy,
			Name:    field(rec, sv),
			Status:  field(rec, st),
			Address: field(rec, addr),
			Check:   strings.TrimPrefix(field(rec, chk), "* "),
		})
	}
	if out == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoProxy, proxy)
	}
	return out, nil
}
