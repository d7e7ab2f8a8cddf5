package haproxy

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"text/template"

	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/topology"
)

// ErrRender is matched (errors.Is) by every error about a cluster that haproxy.cfg cannot carry.
var ErrRender = errors.New("cannot render haproxy.cfg")

// SRVName returns the Consul DNS SRV name under which the leader of a cluster is found.
//
// Patroni (consul.register_service) registers every running member as a service named after
// its scope, here the job name pgsql-<cluster>, at its PostgreSQL connect address (node IP and
// the dynamic host port of "pgsql"), tagged with its role; the leader carries "master" in every
// Patroni version (Patroni 3 tags it "primary" and, for compatibility, "master"). HAProxy asks
// for that tag (RFC 2782 form _<service>._<tag>), so replicas never become servers: HAProxy 2.6
// puts a newly resolved server UP before its first health check (init-state arrived only in
// HAProxy 3.1), and with every member in the answer a replica would take connections for up to
// fall × inter after HAProxy starts or a member restarts on a new port. The health check
// against Patroni's /primary stays as the second guard during a failover.
func SRVName(c topology.Cluster) string {
	return "_" + c.PatroniJobName() + "._master.service.consul"
}

// haproxyTemplate is the configuration of one cluster's HAProxy, parsed on first use.
var haproxyTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("haproxy.cfg").Parse(`# HAProxy for PostgreSQL cluster {{.Cluster}} (Nomad job {{.Job}}), rendered by vipctl: do not edit.
# Clients connect to the VIP of host group {{.Group}} on port {{.Port}}; the one server that passes
# Patroni's /primary check (the leader) receives the connection.

global
    log stdout format raw local0
    maxconn 4096

defaults
    mode tcp
    log global
    option tcplog
    option dontlognull
    option clitcpka
    option srvtcpka
    retries 2
    timeout connect 4s
    timeout client 30m
    timeout server 30m
    timeout check 3s

# Consul DNS of the host's agent: HAProxy runs in the host's network.
resolvers consul
    nameserver consul {{.DNS}}
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid {{.HoldValid}}ms
    hold other 30s
    hold refused 30s
    hold nx 30s
    hold timeout 30s
    hold obsolete 30s

listen {{.Cluster}}
    bind *:{{.Port}}
    mode tcp
    option httpchk
    http-check send meth OPTIONS uri /primary
    http-check expect status 200
    default-server {{.Check}} on-marked-down shutdown-sessions
    server-template pg 1-{{.Replicas}} {{.SRV}} resolvers consul resolve-prefer ipv4 init-addr none check port {{.PatroniPort}}

listen {{.Cluster}}-stats
    bind *:{{.StatsPort}}
    mode http
    stats enable
    stats uri /
    stats refresh 10s
`))
})

// ServerCheck is a server's health check timing: every check_interval_ms while a server is UP
// (the primary), and at a quarter of that (at least 100 ms) while it is going down or coming up
// (fastinter) and while it is DOWN (downinter: the replicas, which fail /primary), so that a
// replica that Patroni promotes takes connections within a quarter interval × rise. It is the
// default-server line of every haproxy.cfg vipctl renders (the compose micro-cluster's too).
func ServerCheck(h topology.HAProxy) string {
	fast := max(h.CheckIntervalMS/4, 100)
	return fmt.Sprintf("inter %dms fastinter %dms downinter %dms fall %d rise %d",
		h.CheckIntervalMS, fast, fast, h.Fall, h.Rise)
}

// Config returns the haproxy.cfg of a cluster: a TCP listener on the cluster's port whose
// backends are the cluster's Patroni members found through Consul DNS, of which only the primary
// passes the health check, and a stats listener on the cluster's stats port.
func Config(t *topology.Topology, c topology.Cluster) ([]byte, error) {
	dns, err := netip.ParseAddrPort(t.Consul.DNS)
	if err != nil {
		return nil, fmt.Errorf("%w: consul.dns %q: HAProxy needs an IP:port nameserver: %w", ErrRender, t.Consul.DNS, err)
	}
	if c.Replicas < 1 {
		return nil, fmt.Errorf("%w: cluster %q: replicas %d", ErrRender, c.Name, c.Replicas)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"port", c.Port}, {"patroni_port", c.PatroniPort}, {"stats_port", c.StatsPort}} {
		if p.v < 1 || p.v > 65535 {
			return nil, fmt.Errorf("%w: cluster %q: %s %d outside 1..65535", ErrRender, c.Name, p.name, p.v)
		}
	}
	var b bytes.Buffer
	err = haproxyTemplate().Execute(&b, map[string]any{
		"Cluster":     c.Name,
		"Job":         c.HAProxyJobName(),
		"Group":       c.HostGroup,
		"Port":        c.Port,
		"StatsPort":   c.StatsPort,
		"PatroniPort": c.PatroniPort,
		"Replicas":    c.Replicas,
		"SRV":         SRVName(c),
		"DNS":         dns.String(),
		"Check":       ServerCheck(c.HAProxy),
		"HoldValid":   c.HAProxy.ResolveIntervalMS,
	})
	if err != nil {
		return nil, fmt.Errorf("haproxy.cfg of cluster %q: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// Files returns haproxy/<cluster>.cfg for every cluster of the topology.
func Files(t *topology.Topology) ([]bundle.File, error) {
	var files []bundle.File
	for _, c := range t.Clusters {
		cfg, err := Config(t, c)
		if err != nil {
			return nil, err
		}
		files = append(files, bundle.File{Path: "haproxy/" + c.Name + ".cfg", Mode: 0o644, Data: cfg})
	}
	return files, nil
}
