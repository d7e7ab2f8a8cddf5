package topology

import (
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/cronexpr"
)

func (c *checker) clusters() {
	names := map[string]*src{}
	for i, s := range c.p.clusters {
		cl := c.p.t.Clusters[i]
		c.name(s, lowerName, names)
		if s.set["image"] && strings.TrimSpace(cl.Image) == "" {
			c.errorf(s.at("image"), `Invalid image ""`, "%s: image must name a container image.", s.title())
		}
		if s.set["host_group"] {
			c.clusterGroup(s, cl)
		}
		c.resources(s, cl.Resources)
		c.backup(s, cl.Backup)
		c.patroni(s, cl.Patroni)
		c.haproxy(s, cl.HAProxy)
	}
}

// Limits of the failover settings: what Patroni and HAProxy accept, and sane for an operator.
const (
	minPatroniTTL     = 4 // Consul sessions: ttl/2 must be at least Consul's smallest session_ttl_min (1 s) and a loop
	maxPatroniSeconds = 3600
	minCheckMS        = 100
	maxCheckMS        = 60000
	maxCheckCount     = 100
)

// patroni checks the timing rule Patroni documents: loop_wait + 2 × retry_timeout ≤ ttl (a
// primary that cannot reach the DCS demotes itself before its lock expires and another member
// takes over).
func (c *checker) patroni(cs *src, p Patroni) {
	s := cs.child("patroni")
	for _, v := range []struct {
		attr     string
		value    int
		min, max int
	}{
		{"ttl", p.TTL, minPatroniTTL, maxPatroniSeconds},
		{"loop_wait", p.LoopWait, 1, maxPatroniSeconds},
		{"retry_timeout", p.RetryTimeout, 1, maxPatroniSeconds},
		{"primary_start_timeout", p.PrimaryStartTimeout, 0, maxPatroniSeconds},
	} {
		if v.value < v.min || v.value > v.max {
			c.errorf(s.at(v.attr), fmt.Sprintf("Invalid %s %d", v.attr, v.value),
				"%s: patroni.%s must be within %d..%d seconds.", cs.title(), v.attr, v.min, v.max)
			return
		}
	}
	if p.LoopWait+2*p.RetryTimeout > p.TTL {
		c.errorf(s.at("ttl"), fmt.Sprintf("Invalid ttl %d", p.TTL),
			"%s: patroni.ttl (%d) must be at least loop_wait + 2 × retry_timeout (%d + 2 × %d = %d), as Patroni requires.",
			cs.title(), p.TTL, p.LoopWait, p.RetryTimeout, p.LoopWait+2*p.RetryTimeout)
	}
}

func (c *checker) haproxy(cs *src, h HAProxy) {
	s := cs.child("haproxy")
	for _, v := range []struct {
		attr  string
		value int
	}{{"check_interval_ms", h.CheckIntervalMS}, {"resolve_interval_ms", h.ResolveIntervalMS}} {
		if v.value < minCheckMS || v.value > maxCheckMS {
			c.errorf(s.at(v.attr), fmt.Sprintf("Invalid %s %d", v.attr, v.value),
				"%s: haproxy.%s must be within %d..%d.", cs.title(), v.attr, minCheckMS, maxCheckMS)
		}
	}
	for _, v := range []struct {
		attr  string
		value int
	}{{"fall", h.Fall}, {"rise", h.Rise}} {
		if v.value < 1 || v.value > maxCheckCount {
			c.errorf(s.at(v.attr), fmt.Sprintf("Invalid %s %d", v.attr, v.value),
				"%s: haproxy.%s must be within 1..%d.", cs.title(), v.attr, maxCheckCount)
		}
	}
}

// clusterGroup checks the group a cluster refers to and its replicas.
func (c *checker) clusterGroup(s *src, cl Cluster) {
	g, ok := c.p.t.Group(cl.HostGroup)
	if !ok {
		c.errorf(s.at("host_group"), "Unknown host_group "+quote(cl.HostGroup),
			"%s refers to host group %q, but no host_group block defines it.", s.title(), cl.HostGroup)
		return
	}
	if len(g.Hosts) > 0 && (cl.Replicas < 1 || cl.Replicas > len(g.Hosts)) {
		c.errorf(s.at("replicas"), fmt.Sprintf("Invalid replicas %d", cl.Replicas),
			"%s: replicas must be within 1..%d, the number of hosts in host group %q.", s.title(), len(g.Hosts), g.Name)
	}
}

func (c *checker) resources(cs *src, r Resources) {
	s := cs.child("resources")
	for _, v := range []struct {
		attr  string
		value int
	}{{"cpu", r.CPU}, {"memory", r.MemoryMB}, {"disk", r.DiskMB}, {"mbits", r.Mbits}} {
		if v.value < 1 {
			c.errorf(s.at(v.attr), fmt.Sprintf("Invalid %s %d", v.attr, v.value),
				"%s: resources.%s must be 1 or more.", cs.title(), v.attr)
		}
	}
}

func (c *checker) backup(cs *src, b Backup) {
	s := cs.child("backup")
	if _, err := cronexpr.Parse(b.Schedule); err != nil || len(strings.Fields(b.Schedule)) != 5 {
		c.errorf(s.at("schedule"), "Invalid schedule "+quote(b.Schedule),
			"%s: backup.schedule must be a cron expression of five fields, such as \"0 3 * * *\".", cs.title())
	} else if bad := nomadOnlyCron(b.Schedule); bad != "" {
		c.errorf(s.at("schedule"), "Invalid schedule "+quote(b.Schedule),
			"%s: backup.schedule uses %q, which Nomad's parser takes but Debian's cron refuses (backups would never run); write numbers, ranges, lists, steps, * or month and day names only.",
			cs.title(), bad)
	}
	c.repo(cs, s.child("repo"), b.Repo)
}

func (c *checker) repo(cs, s *src, r Repo) {
	s3only := []struct{ attr, value string }{{"bucket", r.Bucket}, {"endpoint", r.Endpoint}, {"region", r.Region}}
	switch r.Type {
	case RepoPosix:
		for _, a := range s3only {
			if s.set[a.attr] {
				c.errorf(s.at(a.attr), "Unexpected "+a.attr, "%s: %s is for repo type %q only.", cs.title(), a.attr, RepoS3)
			}
		}
	case RepoS3:
		for _, a := range s3only {
			if _, ok := s.attrs[a.attr]; !ok {
				c.errorf(s.def, "Missing "+a.attr, "%s: a repo of type %q needs %s.", cs.title(), RepoS3, a.attr)
			} else if s.set[a.attr] && a.value == "" {
				c.errorf(s.at(a.attr), "Invalid "+a.attr+` ""`, "%s: %s must not be empty.", cs.title(), a.attr)
			}
		}
	default:
		c.errorf(s.at("type"), "Invalid repo type "+quote(r.Type), "%s: repo.type must be %q or %q.", cs.title(), RepoPosix, RepoS3)
	}
	switch {
	case !path.IsAbs(r.Path):
		c.errorf(s.at("path"), "Invalid path "+quote(r.Path), "%s: repo.path must be an absolute path.", cs.title())
	case r.Type == RepoPosix && (r.Path == "/" || path.Clean(r.Path) != r.Path):
		c.errorf(s.at("path"), "Invalid path "+quote(r.Path),
			"%s: repo.path must be a clean absolute path below / (no \".\" or \"..\", no trailing or double slash): it is mounted into the container at the same path.", cs.title())
	case r.Type == RepoPosix:
		for _, reserved := range (Cluster{}).Container().dirs() {
			if within(r.Path, reserved) || within(reserved, r.Path) {
				c.errorf(s.at("path"), "Invalid path "+quote(r.Path),
					"%s: repo.path overlaps %s, which the Patroni container uses itself (docker refuses the mount, or it hides PostgreSQL's files).", cs.title(), reserved)
				break
			}
		}
	}
}

// nomadOnlyCron returns the first part of a schedule that Nomad's parser (cronexpr) accepts and
// Debian's cron refuses — L (last), W (weekday), ? (no value), # (nth weekday) or any word but
// a month or day name — or "".
func nomadOnlyCron(schedule string) string {
	for i := 0; i < len(schedule); i++ {
		c := schedule[i]
		switch {
		case c == '?' || c == '#':
			return schedule[i : i+1]
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(schedule) && (schedule[j] >= 'a' && schedule[j] <= 'z' || schedule[j] >= 'A' && schedule[j] <= 'Z') {
				j++
			}
			if !strings.Contains(cronNames, ","+strings.ToUpper(schedule[i:j])+",") {
				return schedule[i:j]
			}
			i = j - 1
		}
	}
	return ""
}

// cronNames are the month and day names that both parsers accept.
const cronNames = ",JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC,SUN,MON,TUE,WED,THU,FRI,SAT,"

// within reports whether p is dir or below it.
func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
