package cib

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/journal"
	"github.com/vipctl/vipctl/topology"
)

// The schema and feature set the rendered document declares: what `cibadmin --empty` of the
// installed Pacemaker 2.1.5 writes. A newer crm_feature_set makes crm_simulate abort.
const (
	SchemaVersion = "pacemaker-3.9"
	FeatureSet    = "3.16.1"
)

// Ownership marks. Everything vipctl creates has an id starting with PrefixVIP (the VIP
// primitives) or PrefixOwned (everything else), and every resource carries the meta attribute
// ManagedMeta=ManagedValue. The Pacemaker schema rejects unknown XML attributes, so the mark
// cannot be an attribute of its own.
const (
	PrefixVIP    = topology.VIPIDPrefix // the VIP primitives: HostGroup.VIPID
	PrefixOwned  = "vipctl-"
	ManagedMeta  = "vipctl-managed"
	ManagedValue = "true"
	// ClusterMetaPrefix starts the name of the VIP meta attribute that records the ports of one
	// PostgreSQL cluster served at the VIP: vipctl-cluster-<cluster> = "port=5001,patroni=8008,stats=6001".
	ClusterMetaPrefix = "vipctl-cluster-"
	// BootstrapOptions is the cluster_property_set that holds vipctl's cluster properties: a
	// second set would be silently overridden by this one.
	BootstrapOptions = "cib-bootstrap-options"
	// StartFailureIsFatal is the cluster property vipctl sets to false: a failed start counts
	// one failure against migration-threshold (docs/cib.md, "Failed starts and fail counts").
	StartFailureIsFatal = "start-failure-is-fatal"
	// AlertID is the id of vipctl's alert, which feeds the failover journal (`vipctl alert`).
	AlertID = PrefixOwned + "alert"
)

// rscDefaultsID is the id of vipctl's rsc_defaults meta attribute set.
const rscDefaultsID = PrefixOwned + "rsc_defaults"

// Fixed resource settings of every VIP (and, for the failures, of every resource of vipctl's).
const (
	MigrationThreshold = 3     // failures on a host before a resource of vipctl's leaves it
	FailureTimeout     = "60s" // failures expire, so a switch outage cannot ban every host for good
	monitorInterval    = "10s"
	opTimeout          = "20s"
	fenceMonitor       = "60s"
)

// ErrUnrenderable is matched (errors.Is) when a topology holds something the CIB cannot carry,
// such as a character XML cannot represent.
var ErrUnrenderable = errors.New("topology cannot be rendered as a CIB")

// IsOwnedID reports whether a CIB element id marks the element as vipctl's.
func IsOwnedID(id string) bool {
	return strings.HasPrefix(id, PrefixVIP) || strings.HasPrefix(id, PrefixOwned)
}

// FenceID is the id of the stonith primitive of a fence block.
func FenceID(fence string) string { return PrefixOwned + "fence-" + sanitizeID(fence) }

// ClusterPorts are the ports of one PostgreSQL cluster, recorded as a meta attribute of its VIP.
type ClusterPorts struct {
	Port        int // HAProxy's port: clients connect to VIP:Port
	PatroniPort int
	StatsPort   int
}

// String formats the ports as the meta attribute's value: "port=5001,patroni=8008,stats=6001".
func (p ClusterPorts) String() string {
	return fmt.Sprintf("port=%d,patroni=%d,stats=%d", p.Port, p.PatroniPort, p.StatsPort)
}

// ParseClusterPorts reads a value written by ClusterPorts.String.
func ParseClusterPorts(s string) (ClusterPorts, error) {
	var p ClusterPorts
	seen := map[string]bool{}
	for field := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return ClusterPorts{}, fmt.Errorf("cluster ports %q: %q is not key=value", s, field)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return ClusterPorts{}, fmt.Errorf("cluster ports %q: %s=%q is not a port", s, k, v)
		}
		switch k {
		case "port":
			p.Port = n
		case "patroni":
			p.PatroniPort = n
		case "stats":
			p.StatsPort = n
		default:
			return ClusterPorts{}, fmt.Errorf("cluster ports %q: unknown key %q", s, k)
		}
		if seen[k] {
			return ClusterPorts{}, fmt.Errorf("cluster ports %q: %q given twice", s, k)
		}
		seen[k] = true
	}
	if len(seen) != 3 {
		return ClusterPorts{}, fmt.Errorf("cluster ports %q: want port, patroni and stats", s)
	}
	return p, nil
}

// Render builds the full CIB document (configuration and an empty status) for a topology.
func Render(t *topology.Topology) (*etree.Document, error) {
	r := renderer{t: t, ids: map[string]bool{}}
	doc := etree.NewDocument()
	root := doc.CreateElement("cib")
	root.CreateAttr("crm_feature_set", FeatureSet)
	root.CreateAttr("validate-with", SchemaVersion)
	root.CreateAttr("epoch", "1")
	root.CreateAttr("num_updates", "0")
	root.CreateAttr("admin_epoch", "0")
	conf := root.CreateElement("configuration")

	// The ids that are contracts are taken first, so that no derived id can take one of them
	// (group "a" derives vip-a-monitor-interval-10s, which is also the VIP of group
	// "a-monitor-interval-10s").
	r.claim(BootstrapOptions)
	r.claim(rscDefaultsID)
	r.claim(AlertID)
	for _, f := range t.Fences {
		r.claim(FenceID(f.Name))
	}
	for _, g := range t.Groups {
		r.claim(g.VIPID())
		if len(r.t.ClustersOf(g.Name)) > 0 {
			r.claim(HealthID(g.Name))
			r.claim(HealthCloneID(g.Name))
		}
	}

	r.crmConfig(conf.CreateElement("crm_config"))
	// No <node> entries: a node listed in the configuration with no status is unclean, and
	// crm_verify then warns that it would fence it. Pacemaker adds each node as it joins, and
	// crm_simulate adds the nodes it brings up.
	conf.CreateElement("nodes")
	resources := conf.CreateElement("resources")
	constraints := conf.CreateElement("constraints")
	// The VIPs come first: the controller runs a transition's actions in the order of this
	// section, and on a loaded machine it runs them one at a time (its throttle lowers the batch
	// limit to half the peers), so a VIP listed after the fence devices starts only after their
	// moves off a lost host.
	for _, g := range t.Groups {
		r.vip(resources, constraints, g)
		r.health(resources, constraints, g)
	}
	for _, f := range t.Fences {
		r.fence(resources, constraints, f)
	}
	r.rscDefaults(conf.CreateElement("rsc_defaults"))
	r.alerts(conf.CreateElement("alerts"))
	root.CreateElement("status")

	if r.err != nil {
		return nil, r.err
	}
	if err := checkText(root); err != nil {
		return nil, err
	}
	doc.Indent(2)
	return doc, nil
}

// RenderXML renders the CIB of a topology as indented XML ending in a newline.
func RenderXML(t *topology.Topology) ([]byte, error) {
	doc, err := Render(t)
	if err != nil {
		return nil, err
	}
	return WriteXML(doc)
}

// WriteXML serialises a CIB document as vipctl writes it: indented, ending in a newline.
func WriteXML(doc *etree.Document) ([]byte, error) {
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("write CIB: %w", err)
	}
	if !strings.HasSuffix(string(b), "\n") {
		b = append(b, '\n')
	}
	return b, nil
}

// renderer holds the state of one Render call: the topology and the ids used so far.
type renderer struct {
	t   *topology.Topology
	ids map[string]bool
	err error
}

// id returns a unique, valid XML id derived from the parts, pcs style: joined by "-", invalid
// characters replaced, and "-1", "-2"… appended when the id is taken.
func (r *renderer) id(parts ...string) string {
	base := sanitizeID(strings.Join(parts, "-"))
	id := base
	for n := 1; r.ids[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	r.ids[id] = true
	return id
}

// claim registers an id that must be used exactly as given (a contract name such as vip-<group>);
// taking one twice makes the topology unrenderable.
func (r *renderer) claim(id string) {
	if r.ids[id] && r.err == nil {
		r.err = fmt.Errorf("%w: id %q would be used twice", ErrUnrenderable, id)
	}
	r.ids[id] = true
}

func (r *renderer) nvpair(set *etree.Element, name, value string) {
	nv := set.CreateElement("nvpair")
	nv.CreateAttr("id", r.id(set.SelectAttrValue("id", ""), name))
	nv.CreateAttr("name", name)
	nv.CreateAttr("value", value)
}

func (r *renderer) crmConfig(crm *etree.Element) {
	set := crm.CreateElement("cluster_property_set")
	set.CreateAttr("id", BootstrapOptions)
	r.nvpair(set, "stonith-enabled", strconv.FormatBool(r.t.Pacemaker.StonithEnabled))
	r.nvpair(set, "no-quorum-policy", r.t.Pacemaker.NoQuorumPolicy)
	// A failed start counts one failure against migration-threshold instead of setting the fail
	// count to INFINITY (Pacemaker's default), which would ban the host from the resource for
	// failure-timeout after a single start that waited for an address still answered elsewhere.
	// The property is cluster-wide (Pacemaker 2.1 has no per-resource form): every resource of
	// vipctl's carries migration-threshold and failure-timeout (failureMeta), so none of them is
	// retried for ever on a host where it cannot start.
	r.nvpair(set, StartFailureIsFatal, "false")
}

// failureMeta adds the failure handling of every vipctl resource to its meta attribute set:
// MigrationThreshold failures on a host move it away, and they expire after FailureTimeout.
func (r *renderer) failureMeta(meta *etree.Element) {
	r.nvpair(meta, "failure-timeout", FailureTimeout)
	r.nvpair(meta, "migration-threshold", strconv.Itoa(MigrationThreshold))
}

func (r *renderer) rscDefaults(d *etree.Element) {
	// Scored so that it wins over any other rsc_defaults set (pcs writes one): among sets of
	// equal score, which one wins depends on their order in the document.
	set := d.CreateElement("meta_attributes")
	set.CreateAttr("id", rscDefaultsID)
	set.CreateAttr("score", "INFINITY")
	r.nvpair(set, "resource-stickiness", strconv.Itoa(r.t.Pacemaker.ResourceStickiness))
}

// fence renders the stonith primitive of one fence block and the constraint that keeps it off
// the host it fences (a host never runs the device that would fence it).
func (r *renderer) fence(resources, constraints *etree.Element, f topology.Fence) {
	id := FenceID(f.Name)
	p := resources.CreateElement("primitive")
	p.CreateAttr("id", id)
	p.CreateAttr("class", "stonith")
	p.CreateAttr("type", f.Agent)

	ia := p.CreateElement("instance_attributes")
	ia.CreateAttr("id", r.id(id, "instance_attributes"))
	for _, k := range slices.Sorted(maps.Keys(f.Params)) {
		if k == "pcmk_host_list" {
			continue // always this device's one host, below
		}
		r.nvpair(ia, k, f.Params[k])
	}
	r.nvpair(ia, "pcmk_host_list", f.Host)
	r.failureMeta(r.managedMeta(p, id))

	ops := p.CreateElement("operations")
	r.op(ops, id, "monitor", fenceMonitor, "")

	loc := constraints.CreateElement("rsc_location")
	loc.CreateAttr("id", r.id(PrefixOwned+"location", strings.TrimPrefix(id, PrefixOwned), f.Host, "-INFINITY"))
	loc.CreateAttr("rsc", id)
	loc.CreateAttr("node", f.Host)
	loc.CreateAttr("score", "-INFINITY")
}

// alerts renders vipctl's alert: every node, fencing and resource event goes to the alert
// agent (`vipctl alert`), which appends it to the host's failover journal. Attribute changes are
// not selected: node attributes change often and say nothing about failovers. The alert's
// timeout is longer than the agent's own budget, so Pacemaker never has to kill it.
func (r *renderer) alerts(alerts *etree.Element) {
	a := alerts.CreateElement("alert")
	a.CreateAttr("id", AlertID)
	a.CreateAttr("path", journal.AlertPath)
	sel := a.CreateElement("select")
	sel.CreateElement("select_nodes")
	sel.CreateElement("select_fencing")
	sel.CreateElement("select_resources")
	meta := a.CreateElement("meta_attributes")
	meta.CreateAttr("id", r.id(AlertID, "meta_attributes"))
	r.nvpair(meta, "timeout", strconv.Itoa(int(journal.AlertTimeout/time.Millisecond))+"ms")
	rcpt := a.CreateElement("recipient")
	rcpt.CreateAttr("id", r.id(AlertID, "journal"))
	rcpt.CreateAttr("value", journal.DefaultPath)
}

// managedMeta adds the meta attribute set carrying vipctl's ownership mark and returns it.
func (r *renderer) managedMeta(p *etree.Element, id string) *etree.Element {
	meta := p.CreateElement("meta_attributes")
	meta.CreateAttr("id", r.id(id, "meta_attributes"))
	r.nvpair(meta, ManagedMeta, ManagedValue)
	return meta
}

func (r *renderer) op(ops *etree.Element, rsc, name, interval, timeout string) {
	op := ops.CreateElement("op")
	op.CreateAttr("id", r.id(rsc, name, "interval", interval))
	op.CreateAttr("name", name)
	op.CreateAttr("interval", interval)
	if timeout != "" {
		op.CreateAttr("timeout", timeout)
	}
}

// vip renders the VIP primitive of one host group and the rule keeping it on the group's hosts.
func (r *renderer) vip(resources, constraints *etree.Element, g topology.HostGroup) {
	id := g.VIPID()
	p := resources.CreateElement("primitive")
	p.CreateAttr("id", id)
	p.CreateAttr("class", "ocf")
	if g.VIP.Agent == topology.AgentIPaddr2 {
		p.CreateAttr("provider", "heartbeat")
		p.CreateAttr("type", "IPaddr2")
	} else {
		p.CreateAttr("provider", "vipctl")
		p.CreateAttr("type", "vip")
	}

	// One NIC for the whole group goes into the common set; differing NICs go into one set per
	// host, chosen by a #uname rule and scored above the common set so they take precedence.
	nics := map[string]string{} // host → nic, hosts with a nic only
	for _, h := range g.Hosts {
		if nic := r.t.NICFor(h); nic != "" {
			nics[h] = nic
		}
	}
	common := ""
	if len(nics) == len(g.Hosts) && len(g.Hosts) > 0 {
		common = nics[g.Hosts[0]]
		for _, nic := range nics {
			if nic != common {
				common = ""
				break
			}
		}
	}

	ia := p.CreateElement("instance_attributes")
	ia.CreateAttr("id", r.id(id, "instance_attributes"))
	r.nvpair(ia, "ip", g.VIP.Prefix.Addr().String())
	r.nvpair(ia, "cidr_netmask", strconv.Itoa(g.VIP.Prefix.Bits()))
	if common != "" {
		r.nvpair(ia, "nic", common)
	} else {
		ia.CreateAttr("score", "1")
		for _, h := range g.Hosts {
			nic, ok := nics[h]
			if !ok {
				continue
			}
			hs := p.CreateElement("instance_attributes")
			hsID := r.id(id, "instance_attributes", h)
			hs.CreateAttr("id", hsID)
			hs.CreateAttr("score", "2")
			rule := hs.CreateElement("rule")
			ruleID := r.id(hsID, "rule")
			rule.CreateAttr("id", ruleID)
			rule.CreateAttr("boolean-op", "and")
			r.expr(rule, ruleID, "#uname", "eq", h)
			r.nvpair(hs, "nic", nic)
		}
	}

	meta := p.CreateElement("meta_attributes")
	meta.CreateAttr("id", r.id(id, "meta_attributes"))
	r.failureMeta(meta)
	for _, c := range r.t.ClustersOf(g.Name) {
		ports := ClusterPorts{Port: c.Port, PatroniPort: c.PatroniPort, StatsPort: c.StatsPort}
		r.nvpair(meta, ClusterMetaPrefix+c.Name, ports.String())
	}
	r.nvpair(meta, ManagedMeta, ManagedValue)

	ops := p.CreateElement("operations")
	r.op(ops, id, "monitor", monitorInterval, opTimeout)
	r.op(ops, id, "start", "0s", opTimeout)
	r.op(ops, id, "stop", "0s", opTimeout)

	r.onGroupOnly(constraints, id, g)
	if len(g.Hosts) == 0 && r.err == nil {
		r.err = fmt.Errorf("%w: host group %q has no hosts", ErrUnrenderable, g.Name)
	}
}

// onGroupOnly renders the constraint that keeps rsc on the group's hosts: -INFINITY on every
// node that is none of them.
func (r *renderer) onGroupOnly(constraints *etree.Element, rsc string, g topology.HostGroup) {
	loc := constraints.CreateElement("rsc_location")
	locID := r.id(PrefixOwned+"location", rsc)
	loc.CreateAttr("id", locID)
	loc.CreateAttr("rsc", rsc)
	rule := loc.CreateElement("rule")
	ruleID := r.id(locID, "rule")
	rule.CreateAttr("id", ruleID)
	rule.CreateAttr("score", "-INFINITY")
	rule.CreateAttr("boolean-op", "and")
	for _, h := range g.Hosts {
		r.expr(rule, ruleID, "#uname", "ne", h)
	}
}

func (r *renderer) expr(rule *etree.Element, ruleID, attr, op, value string) {
	e := rule.CreateElement("expression")
	e.CreateAttr("id", r.id(ruleID, "expr"))
	e.CreateAttr("attribute", attr)
	e.CreateAttr("operation", op)
	e.CreateAttr("value", value)
}

// sanitizeID makes s a valid XML id (an NCName, ASCII only): characters outside
// [A-Za-z0-9._-] become "_", and an id not starting with a letter or "_" gets a "_" in front.
func sanitizeID(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	id := b.String()
	if id == "" || !(id[0] == '_' || (id[0]|0x20 >= 'a' && id[0]|0x20 <= 'z')) {
		id = "_" + id
	}
	return id
}

// checkText rejects attribute values that XML 1.0 cannot carry (control characters, invalid UTF-8).
func checkText(e *etree.Element) error {
	for _, a := range e.Attr {
		if !validXMLText(a.Value) {
			return fmt.Errorf("%w: %s %s=%q holds a character XML cannot carry", ErrUnrenderable, e.Tag, a.Key, a.Value)
		}
	}
	for _, c := range e.ChildElements() {
		if err := checkText(c); err != nil {
			return err
		}
	}
	return nil
}

func validXMLText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		switch {
		case c == '\t', c == '\n', c == '\r':
		case c < 0x20, c == 0xFFFE, c == 0xFFFF, c >= 0xD800 && c <= 0xDFFF:
			return false
		}
	}
	return true
}
