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
	if !path.IsAbs(r.Path) {
		c.errorf(s.at("path"), "Invalid path "+quote(r.Path), "%s: repo.path must be an absolute path.", cs.title())
	}
}
