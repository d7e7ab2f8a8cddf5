// Package stack lists the files of a topology's PostgreSQL stack in the bundle: the Nomad jobs,
// haproxy.cfg, the backup files and compose, each from the package named for it.
package stack

import (
	"github.com/vipctl/vipctl/backup"
	"github.com/vipctl/vipctl/bundle"
	"github.com/vipctl/vipctl/compose"
	"github.com/vipctl/vipctl/haproxy"
	"github.com/vipctl/vipctl/nomad"
	"github.com/vipctl/vipctl/topology"
)

// Files returns the stack's files of the bundle, in a fixed order:
// nomad/<job>.nomad and .json for every job, haproxy/<cluster>.cfg, backup/<cluster>/* for
// clusters with backup on, and compose/* (the micro-cluster of the first cluster, when there is
// one). (cib.xml and corosync/corosync.conf come from
// their own packages; vipctl render adds them.)
func Files(t *topology.Topology) ([]bundle.File, error) {
	jobs, err := nomad.Jobs(t)
	if err != nil {
		return nil, err
	}
	var files []bundle.File
	for _, j := range jobs {
		h, err := nomad.JobHCL(j)
		if err != nil {
			return nil, err
		}
		js, err := nomad.JobJSON(j)
		if err != nil {
			return nil, err
		}
		files = append(files,
			bundle.File{Path: "nomad/" + *j.ID + ".nomad", Mode: 0o644, Data: h},
			bundle.File{Path: "nomad/" + *j.ID + ".json", Mode: 0o644, Data: js})
	}
	hx, err := haproxy.Files(t)
	if err != nil {
		return nil, err
	}
	files = append(files, hx...)
	for _, c := range t.Clusters {
		bf, err := backup.Files(t, c)
		if err != nil {
			return nil, err
		}
		files = append(files, bf...)
	}
	if len(t.Clusters) > 0 {
		cf, err := compose.Files(t)
		if err != nil {
			return nil, err
		}
		files = append(files, cf...)
	}
	return files, nil
}
