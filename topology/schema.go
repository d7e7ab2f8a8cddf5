package topology

import "github.com/hashicorp/hcl/v2"

// schemas holds the body schema of each block type; block types are unique across levels.
// The file itself is the "" entry. A block type with a label may repeat; one without may not.
var schemas = map[string]*hcl.BodySchema{
	"": {
		Attributes: attrs("datacenters"),
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "consul"}, {Type: "nomad"}, {Type: "corosync"}, {Type: "pacemaker"},
			{Type: "fence", LabelNames: []string{"name"}},
			{Type: "host", LabelNames: []string{"name"}},
			{Type: "host_group", LabelNames: []string{"name"}},
			{Type: "cluster", LabelNames: []string{"name"}},
		},
	},
	"consul":     {Attributes: attrs("address", "dns", "job_address")},
	"nomad":      {Attributes: attrs("version")},
	"corosync":   {Attributes: attrs("cluster_name", "token_ms")},
	"pacemaker":  {Attributes: attrs("stonith_enabled", "no_quorum_policy", "resource_stickiness")},
	"fence":      {Attributes: attrs("agent", "host", "params")},
	"host":       {Attributes: attrs("address", "addresses", "nodeid", "nic")},
	"host_group": {Attributes: attrs("hosts"), Blocks: []hcl.BlockHeaderSchema{{Type: "vip"}}},
	"vip":        {Attributes: attrs("address", "nic", "agent")},
	"cluster": {
		Attributes: attrs("host_group", "port", "patroni_port", "stats_port", "image", "replicas"),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "resources"}, {Type: "backup"}, {Type: "patroni"}, {Type: "haproxy"}},
	},
	"patroni":   {Attributes: attrs("ttl", "loop_wait", "retry_timeout", "primary_start_timeout", "synchronous_mode")},
	"haproxy":   {Attributes: attrs("check_interval_ms", "fall", "rise", "resolve_interval_ms")},
	"resources": {Attributes: attrs("cpu", "memory", "disk", "mbits")},
	"backup":    {Attributes: attrs("enabled", "schedule"), Blocks: []hcl.BlockHeaderSchema{{Type: "repo"}}},
	"repo":      {Attributes: attrs("type", "path", "bucket", "endpoint", "region")},
}

// attrs lists optional attributes; required ones are checked by the decoder so that the
// error can name the block.
func attrs(names ...string) []hcl.AttributeSchema {
	s := make([]hcl.AttributeSchema, len(names))
	for i, n := range names {
		s[i] = hcl.AttributeSchema{Name: n}
	}
	return s
}
