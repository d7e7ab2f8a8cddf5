package vip

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vipctl/vipctl/internal/pcmk"

	"github.com/vipctl/vipctl/internal/haproxystats"
)

// The health agent ocf:vipctl:health, cloned on the hosts of one group, publishes through a
// node attribute whether this host really serves the group's clusters: "1" when every check
// passes, "0" when one fails. The CIB scores the VIP towards hosts where the attribute is "1".
// Unhealthy is a value, not a failure: the agent's monitor fails only when the agent itself
// cannot run, so that a stopped HAProxy never makes Pacemaker restart or ban the health clone.

// Health values of the node attribute.
const (
	Healthy   = "1"
	Unhealthy = "0"
)

// HealthCheck is one PostgreSQL cluster served on this host: HAProxy's port and its stats port.
type HealthCheck struct {
	Cluster   string // the HAProxy proxy name (the cluster's name)
	Port      int
	StatsPort int
}

// HealthParams are the parameters of ocf:vipctl:health.
type HealthParams struct {
	Attribute string        // the node attribute to set
	Checks    []HealthCheck // from "clusters": NAME:PORT:STATS_PORT, space-separated
	Address   netip.Addr    // where the checks connect (HAProxy binds every address)
	Timeout   time.Duration // bound of each check (check_timeout_ms)
	Interval  time.Duration // OCF_RESKEY_CRM_meta_interval: 0 makes monitor a probe
	Deadline  time.Duration // OCF_RESKEY_CRM_meta_timeout
}

var healthParams = []param{
	{name: "attribute", typ: "string", required: true, unique: true,
		short: "Node attribute to set",
		long:  "The transient node attribute the agent sets to 1 (healthy) or 0 (unhealthy) on this host."},
	{name: "clusters", typ: "string", required: true,
		short: "Clusters to check: NAME:PORT:STATS_PORT ...",
		long: "Space-separated NAME:PORT:STATS_PORT, one per PostgreSQL cluster of the group. The host " +
			"is healthy when, for every cluster, a TCP connection to PORT succeeds and HAProxy's stats " +
			"page on STATS_PORT shows the proxy NAME's backend UP (at least one server UP)."},
	{name: "address", typ: "string", def: "127.0.0.1",
		short: "Address the checks connect to",
		long:  "The address of this host the checks connect to (HAProxy listens on every address of the host)."},
	{name: "check_timeout_ms", typ: "integer", def: "1000",
		short: "Bound of each check in milliseconds",
		long:  "How long each TCP connection or stats read may take before the check counts as failed."},
}

var healthActions = []action{
	{"start", "20s", ""},
	{"stop", "20s", ""},
	{"monitor", "20s", "5s"},
	{"meta-data", "5s", ""},
	{"validate-all", "20s", ""},
}

const healthUsage = "usage: health {start|stop|monitor|validate-all|meta-data}"

// WriteHealthMetadata writes the OCF meta-data of ocf:vipctl:health.
func WriteHealthMetadata(w io.Writer) error {
	return writeMetadata(w, "health",
		`Sets a node attribute to 1 when this host really serves its group's PostgreSQL clusters
(TCP connect to each cluster's port; HAProxy's stats show the cluster's backend UP) and to 0
when not. Clone it on the group's hosts; a location rule on the attribute then prefers healthy
hosts for the group's VIP. Unhealthy is reported through the attribute, never as a failure.`,
		"Health of this host for its group's VIP, as a node attribute", healthParams, healthActions)
}

func healthDefault(name string) string {
	for _, p := range healthParams {
		if p.name == name {
			return p.def
		}
	}
	return ""
}

// ParseHealthParams reads the health agent's parameters.
func ParseHealthParams(getenv func(string) string) (HealthParams, error) {
	get := func(name string) string {
		if v := getenv("OCF_RESKEY_" + name); v != "" {
			return v
		}
		return healthDefault(name)
	}
	var p HealthParams
	p.Attribute = get("attribute")
	if p.Attribute == "" {
		return p, fmt.Errorf("%w: attribute is required", ErrConfig)
	}
	if strings.ContainsAny(p.Attribute, " \t\n/") {
		return p, fmt.Errorf("%w: attribute %q holds a space or a slash", ErrConfig, p.Attribute)
	}
	for _, f := range strings.Fields(get("clusters")) {
		parts := strings.Split(f, ":")
		if len(parts) != 3 || parts[0] == "" {
			return p, fmt.Errorf("%w: clusters: %q is not NAME:PORT:STATS_PORT", ErrConfig, f)
		}
		var ports [2]int
		for i, s := range parts[1:] {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 65535 {
				return p, fmt.Errorf("%w: clusters: %q: %q is not a port", ErrConfig, f, s)
			}
			ports[i] = n
		}
		p.Checks = append(p.Checks, HealthCheck{Cluster: parts[0], Port: ports[0], StatsPort: ports[1]})
	}
	if len(p.Checks) == 0 {
		return p, fmt.Errorf("%w: clusters names no cluster", ErrConfig)
	}
	a, err := netip.ParseAddr(get("address"))
	if err != nil {
		return p, fmt.Errorf("%w: address %q: %w", ErrConfig, get("address"), err)
	}
	p.Address = a
	ms, err := strconv.Atoi(get("check_timeout_ms"))
	if err != nil || ms < 1 {
		return p, fmt.Errorf("%w: check_timeout_ms %q is not a positive number", ErrConfig, get("check_timeout_ms"))
	}
	p.Timeout = time.Duration(ms) * time.Millisecond
	p.Interval, err = metaMillis(getenv, "OCF_RESKEY_CRM_meta_interval", 0)
	if err != nil {
		return p, err
	}
	p.Deadline, err = metaMillis(getenv, "OCF_RESKEY_CRM_meta_timeout", defaultTimeout)
	if err != nil {
		return p, err
	}
	return p, nil
}

// metaMillis reads a CRM_meta_* value in milliseconds, def when unset.
func metaMillis(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s=%q is not a number of milliseconds", ErrConfig, name, s)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// HealthAgent runs the actions of ocf:vipctl:health.
type HealthAgent struct {
	Getenv func(string) string // OCF_RESKEY_* source; default os.Getenv
	Stdout io.Writer           // meta-data goes here
	Stderr io.Writer           // ocf-exit-reason lines and changes of health go here
	RunDir string              // where the last value set is kept; default DefaultRunDir
	// SetAttribute sets (value != "") or deletes (value == "") the node attribute on this
	// host; default attrd_updater.
	SetAttribute func(ctx context.Context, name, value string) error
}

// Run runs the action args[0] and returns its OCF exit code.
func (a *HealthAgent) Run(ctx context.Context, args []string) int {
	if a.Getenv == nil {
		a.Getenv = os.Getenv
	}
	if a.Stdout == nil {
		a.Stdout = io.Discard
	}
	if a.Stderr == nil {
		a.Stderr = io.Discard
	}
	if a.RunDir == "" {
		a.RunDir = DefaultRunDir
	}
	if a.SetAttribute == nil {
		a.SetAttribute = attrdUpdater(pcmk.Local{})
	}
	if len(args) == 0 {
		fmt.Fprintln(a.Stderr, healthUsage)
		return OCFErrArgs
	}
	return exit(a.Stderr, a.run(ctx, args[0]))
}

func (a *HealthAgent) run(ctx context.Context, action string) error {
	switch action {
	case "meta-data":
		return WriteHealthMetadata(a.Stdout)
	case "usage", "help":
		_, err := fmt.Fprintln(a.Stdout, healthUsage)
		return err
	case "start", "stop", "monitor", "status", "validate-all":
	default:
		fmt.Fprintln(a.Stderr, healthUsage)
		return status(OCFErrUnimplemented, fmt.Errorf("action %q is not implemented", action))
	}
	p, err := ParseHealthParams(a.Getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.Deadline-p.Deadline/10)
	defer cancel()
	state := filepath.Join(a.RunDir, "health-"+p.Attribute)
	switch action {
	case "validate-all":
		return nil
	case "start":
		return a.publish(ctx, p, state, true)
	case "stop":
		// A failed stop gets a host fenced: deleting the attribute is best effort (a host that
		// leaves the cluster loses its transient attributes anyway).
		if err := a.SetAttribute(ctx, p.Attribute, ""); err != nil {
			fmt.Fprintf(a.Stderr, "health: deleting %s: %v\n", p.Attribute, err)
		}
		if err := os.Remove(state); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("health: %w", err)
		}
		return nil
	default: // monitor, status
		if _, err := os.Stat(state); errors.Is(err, os.ErrNotExist) {
			return status(OCFNotRunning, errors.New("not started on this host"))
		}
		// A probe (interval 0) runs after Pacemaker starts on this host, when its attribute
		// manager may have lost the value: it sets the attribute whatever the state file says.
		return a.publish(ctx, p, state, p.Interval == 0)
	}
}

// publish runs the checks and sets the attribute when the result differs from the last one set
// (recorded in state), or always when force is set. The agent forks attrd_updater only then.
func (a *HealthAgent) publish(ctx context.Context, p HealthParams, state string, force bool) error {
	value, why := Healthy, ""
	if err := CheckHealth(ctx, p.Address, p.Checks, p.Timeout); err != nil {
		value, why = Unhealthy, err.Error()
	}
	last, err := os.ReadFile(state)
	if !force && err == nil && string(last) == value {
		return nil
	}
	if err := a.SetAttribute(ctx, p.Attribute, value); err != nil {
		return err
	}
	if string(last) != value {
		if why == "" {
			why = "every check passes"
		}
		fmt.Fprintf(a.Stderr, "health: %s=%s: %s\n", p.Attribute, value, why)
	}
	if err := os.MkdirAll(a.RunDir, 0o755); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return writeFileAtomic(state, []byte(value), 0o644)
}

// attrdUpdater returns the SetAttribute that sets or deletes a transient node attribute of
// this host with attrd_updater, run through run. A tool that cannot be started is ErrNoTool.
func attrdUpdater(run pcmk.Runner) func(ctx context.Context, name, value string) error {
	return func(ctx context.Context, name, value string) error {
		args := []string{"--name", name, "--delete"}
		if value != "" {
			args = []string{"--name", name, "--update", value}
		}
		_, err := run.Run(ctx, pcmk.Command("attrd_updater", args...))
		var xe *exec.ExitError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &xe) && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%w: %w", ErrNoTool, err) // not found, not executable
		default:
			return err
		}
	}
}

// ErrNoTool is matched when a tool the agent runs is not installed (OCF_ERR_INSTALLED).
var ErrNoTool = errors.New("a tool the agent needs is missing")

// ErrUnhealthy is matched by the error of a failed health check.
var ErrUnhealthy = errors.New("unhealthy")

// CheckHealth runs the checks of every cluster against addr, each bounded by timeout: a TCP
// connection to the cluster's port, and HAProxy's stats CSV on its stats port showing the
// cluster's backend UP. The first failure is returned, matching ErrUnhealthy.
func CheckHealth(ctx context.Context, addr netip.Addr, checks []HealthCheck, timeout time.Duration) error {
	for _, c := range checks {
		if err := checkPort(ctx, addr, c.Port, timeout); err != nil {
			return fmt.Errorf("%w: %s: port %d: %w", ErrUnhealthy, c.Cluster, c.Port, err)
		}
		up, err := backendUp(ctx, addr, c, timeout)
		if err != nil {
			return fmt.Errorf("%w: %s: HAProxy stats on port %d: %w", ErrUnhealthy, c.Cluster, c.StatsPort, err)
		}
		if !up {
			return fmt.Errorf("%w: %s: HAProxy's backend %s has no server UP", ErrUnhealthy, c.Cluster, c.Cluster)
		}
	}
	return nil
}

func dial(ctx context.Context, addr netip.Addr, port int, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, uint16(port)).String())
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, nil
}

func checkPort(ctx context.Context, addr netip.Addr, port int, timeout time.Duration) error {
	c, err := dial(ctx, addr, port, timeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// maxStats bounds what is read of a stats page.
const maxStats = 1 << 20

// backendUp reads HAProxy's stats CSV ("GET /;csv", as the stats listener of vipctl's
// haproxy.cfg serves it) with one HTTP/1.0 request on a plain connection, and reports whether
// the BACKEND line of the cluster's proxy says UP. (The binary links net/http anyway, for
// status and nomad, so this saves no start-up work; it only keeps the monitor to one plain
// request. Moving the CSV reading to one place shared with status is left to do.)
func backendUp(ctx context.Context, addr netip.Addr, c HealthCheck, timeout time.Duration) (bool, error) {
	conn, err := dial(ctx, addr, c.StatsPort, timeout)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, "GET /;csv HTTP/1.0\r\nHost: "+addr.String()+"\r\n\r\n"); err != nil {
		return false, err
	}
	r := bufio.NewReader(io.LimitReader(conn, maxStats))
	line, err := r.ReadString('\n')
	if err != nil {
		return false, fmt.Errorf("no HTTP answer: %w", err)
	}
	if f := strings.Fields(line); len(f) < 2 || f[1] != "200" {
		return false, fmt.Errorf("HTTP answer %q", strings.TrimSpace(line))
	}
	chunked := false
	for { // headers
		h, err := r.ReadString('\n')
		if err != nil {
			return false, fmt.Errorf("HTTP headers: %w", err)
		}
		h = strings.TrimSpace(h)
		if h == "" {
			break
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "transfer-encoding") && strings.EqualFold(strings.TrimSpace(v), "chunked") {
			chunked = true
		}
	}
	// HAProxy 2.6 answers even an HTTP/1.0 request with a chunked body.
	var body io.Reader = r
	if chunked {
		body = &chunkReader{r: r}
	}
	return statsBackendUp(body, c.Cluster)
}

// chunkReader decodes an HTTP/1.1 chunked body (RFC 9112 section 7.1; trailers are not read).
type chunkReader struct {
	r    *bufio.Reader
	left int64 // bytes left in the current chunk
	done bool
	err  error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 && !c.done {
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if c.done {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && c.left == 0 {
		err = c.crlf()
	}
	c.err = err
	return n, err
}

// next reads a chunk-size line; size 0 ends the body.
func (c *chunkReader) next() error {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("chunked body: %w", err)
	}
	size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
	n, err := strconv.ParseInt(size, 16, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("chunked body: bad chunk size %q", line)
	}
	c.left, c.done = n, n == 0
	return nil
}

func (c *chunkReader) crlf() error {
	b := make([]byte, 2)
	if _, err := io.ReadFull(c.r, b); err != nil || string(b) != "\r\n" {
		return fmt.Errorf("chunked body: no CRLF after a chunk")
	}
	return nil
}

// statsBackendUp reads HAProxy's stats CSV and reports whether proxy's BACKEND record has the
// status UP. A CSV without that record is an error.
func statsBackendUp(r io.Reader, proxy string) (bool, error) {
	recs, err := haproxystats.Read(r, proxy)
	if err != nil {
		return false, fmt.Errorf("stats CSV: %w", err)
	}
	for _, rec := range recs {
		if rec.Name == haproxystats.Backend {
			return rec.Status == "UP", nil
		}
	}
	return false, fmt.Errorf("stats CSV: no backend of proxy %q", proxy)
}
