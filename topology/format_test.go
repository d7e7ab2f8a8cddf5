package topology

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Format writes t as a topology file with every default written out: loading the result
// gives t again (but for File and Warnings). Only the tests need it, so it lives in a test
// file: hclwrite links go-cmp, whose package init would cost every run of the vipctl binary
// (and so every run of the OCF agent, which is the same binary) about 0.5 ms.
func Format(t *Topology) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.SetAttributeValue("datacenters", stringList(t.Datacenters))
	formatSettings(root, t)
	for _, fe := range t.Fences {
		formatFence(root.AppendNewBlock("fence", []string{fe.Name}).Body(), fe)
	}
	for _, h := range t.Hosts {
		formatHost(root.AppendNewBlock("host", []string{h.Name}).Body(), h)
	}
	for _, g := range t.Groups {
		formatGroup(root.AppendNewBlock("host_group", []string{g.Name}).Body(), g)
	}
	for _, c := range t.Clusters {
		formatCluster(root.AppendNewBlock("cluster", []string{c.Name}).Body(), c)
	}
	return f.Bytes()
}

func formatSettings(root *hclwrite.Body, t *Topology) {
	consul := root.AppendNewBlock("consul", nil).Body()
	consul.SetAttributeValue("address", cty.StringVal(t.Consul.Address))
	consul.SetAttributeValue("dns", cty.StringVal(t.Consul.DNS))
	consul.SetAttributeValue("job_address", cty.StringVal(t.Consul.JobAddress))
	co := root.AppendNewBlock("corosync", nil).Body()
	co.SetAttributeValue("cluster_name", cty.StringVal(t.Corosync.ClusterName))
	co.SetAttributeValue("token_ms", cty.NumberIntVal(int64(t.Corosync.TokenMS)))
	pm := root.AppendNewBlock("pacemaker", nil).Body()
	pm.SetAttributeValue("stonith_enabled", cty.BoolVal(t.Pacemaker.StonithEnabled))
	pm.SetAttributeValue("no_quorum_policy", cty.StringVal(t.Pacemaker.NoQuorumPolicy))
	pm.SetAttributeValue("resource_stickiness", cty.NumberIntVal(int64(t.Pacemaker.ResourceStickiness)))
}

func formatFence(b *hclwrite.Body, f Fence) {
	b.SetAttributeValue("agent", cty.StringVal(f.Agent))
	b.SetAttributeValue("host", cty.StringVal(f.Host))
	if len(f.Params) > 0 {
		params := map[string]cty.Value{}
		for k, v := range f.Params {
			params[k] = cty.StringVal(v)
		}
		b.SetAttributeValue("params", cty.MapVal(params))
	}
}

func formatHost(b *hclwrite.Body, h Host) {
	b.SetAttributeValue("address", cty.StringVal(h.Address.String()))
	b.SetAttributeValue("nodeid", cty.NumberIntVal(int64(h.NodeID)))
	if h.NIC != "" {
		b.SetAttributeValue("nic", cty.StringVal(h.NIC))
	}
}

func formatGroup(b *hclwrite.Body, g HostGroup) {
	b.SetAttributeValue("hosts", stringList(g.Hosts))
	vip := b.AppendNewBlock("vip", nil).Body()
	vip.SetAttributeValue("address", cty.StringVal(g.VIP.Prefix.String()))
	if g.VIP.NIC != "" {
		vip.SetAttributeValue("nic", cty.StringVal(g.VIP.NIC))
	}
	vip.SetAttributeValue("agent", cty.StringVal(g.VIP.Agent))
}

func formatCluster(b *hclwrite.Body, c Cluster) {
	b.SetAttributeValue("host_group", cty.StringVal(c.HostGroup))
	b.SetAttributeValue("port", cty.NumberIntVal(int64(c.Port)))
	b.SetAttributeValue("patroni_port", cty.NumberIntVal(int64(c.PatroniPort)))
	b.SetAttributeValue("stats_port", cty.NumberIntVal(int64(c.StatsPort)))
	b.SetAttributeValue("image", cty.StringVal(c.Image))
	b.SetAttributeValue("replicas", cty.NumberIntVal(int64(c.Replicas)))
	r := b.AppendNewBlock("resources", nil).Body()
	r.SetAttributeValue("cpu", cty.NumberIntVal(int64(c.Resources.CPU)))
	r.SetAttributeValue("memory", cty.NumberIntVal(int64(c.Resources.MemoryMB)))
	r.SetAttributeValue("disk", cty.NumberIntVal(int64(c.Resources.DiskMB)))
	r.SetAttributeValue("mbits", cty.NumberIntVal(int64(c.Resources.Mbits)))
	bk := b.AppendNewBlock("backup", nil).Body()
	bk.SetAttributeValue("enabled", cty.BoolVal(c.Backup.Enabled))
	bk.SetAttributeValue("schedule", cty.StringVal(c.Backup.Schedule))
	formatRepo(bk.AppendNewBlock("repo", nil).Body(), c.Backup.Repo)
}

func formatRepo(b *hclwrite.Body, r Repo) {
	b.SetAttributeValue("type", cty.StringVal(r.Type))
	b.SetAttributeValue("path", cty.StringVal(r.Path))
	for _, kv := range [][2]string{{"bucket", r.Bucket}, {"endpoint", r.Endpoint}, {"region", r.Region}} {
		if kv[1] != "" {
			b.SetAttributeValue(kv[0], cty.StringVal(kv[1]))
		}
	}
}

// stringList is a list of strings as an HCL value.
func stringList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}
