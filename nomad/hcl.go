package nomad

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/nomad/api"
)

// JobHCL writes a job as a Nomad job specification (HCL2), in a fixed order: the same job gives
// the same bytes. It writes the fields vipctl's jobs use; a field it does not know is an error,
// never silently dropped (see the checks in each writer).
//
// Strings keep Nomad's runtime interpolations (${NOMAD_…}, ${node.…}, ${attr.…}, ${meta.…})
// as they are, so the file reads as an operator would write it; every other "${" or "%{" is
// escaped, so text such as a shell script in a template reaches the task unchanged.
func JobHCL(job *api.Job) ([]byte, error) {
	if job == nil || job.ID == nil {
		return nil, fmt.Errorf("%w: job without ID", ErrRender)
	}
	w := &hclWriter{}
	file := &body{}
	w.job(file.appendBlock("job", *job.ID), job)
	if w.err != nil {
		return nil, fmt.Errorf("job %q: %w", *job.ID, w.err)
	}
	return []byte(file.text(0)), nil
}

// hclWriter writes api structs into HCL bodies (hcltext.go), keeping the first error.
type hclWriter struct{ err error }

func (w *hclWriter) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: "+format, append([]any{ErrRender}, args...)...)
	}
}

func (w *hclWriter) job(b *body, j *api.Job) {
	if j.Name != nil && *j.Name != *j.ID {
		setString(b, "name", *j.Name)
	}
	optString(b, "region", j.Region)
	optString(b, "namespace", j.Namespace)
	optString(b, "type", j.Type)
	optInt(b, "priority", j.Priority)
	if len(j.Datacenters) > 0 {
		setStrings(b, "datacenters", j.Datacenters)
	}
	optString(b, "node_pool", j.NodePool)
	if j.Update != nil || j.Reschedule != nil || j.Migrate != nil || len(j.Affinities) > 0 || len(j.Spreads) > 0 ||
		j.Multiregion != nil || j.ParameterizedJob != nil || j.UI != nil {
		w.fail("job-level update, reschedule, migrate, affinity, spread, multiregion, parameterized and ui are not written")
	}
	if j.Periodic != nil {
		w.periodic(block(b, "periodic"), j.Periodic)
	}
	for _, c := range j.Constraints {
		constraint(block(b, "constraint"), c)
	}
	if len(j.Meta) > 0 {
		w.stringMap(block(b, "meta"), j.Meta)
	}
	for _, g := range j.TaskGroups {
		if g.Name == nil {
			w.fail("task group without name")
			return
		}
		separate(b)
		w.group(b.appendBlock("group", *g.Name), g)
	}
}

func (w *hclWriter) periodic(b *body, p *api.PeriodicConfig) {
	optBool(b, "enabled", p.Enabled)
	optString(b, "cron", p.Spec)
	if len(p.Specs) > 0 {
		setStrings(b, "crons", p.Specs)
	}
	optBool(b, "prohibit_overlap", p.ProhibitOverlap)
	optString(b, "time_zone", p.TimeZone)
}

func (w *hclWriter) group(b *body, g *api.TaskGroup) {
	optInt(b, "count", g.Count)
	if g.ShutdownDelay != nil {
		setDuration(b, "shutdown_delay", *g.ShutdownDelay)
	}
	if len(g.Affinities) > 0 || len(g.Spreads) > 0 || g.Scaling != nil || g.Consul != nil || g.MaxRunDuration != nil ||
		unwrittenDisconnect(g) {
		w.fail("group %q: affinity, spread, scaling, consul, max_run_duration, max_client_disconnect and prevent_reschedule_on_lost are not written", *g.Name)
	}
	if g.Disconnect != nil && stopAfterClientDisconnect(g) != nil {
		w.fail("group %q: both the disconnect block and stop_after_client_disconnect: Nomad takes one", *g.Name)
	}
	if d := stopAfterClientDisconnect(g); d != nil {
		setDuration(b, "stop_after_client_disconnect", *d)
	}
	for _, c := range g.Constraints {
		constraint(block(b, "constraint"), c)
	}
	for _, n := range g.Networks {
		w.network(block(b, "network"), n)
	}
	for _, name := range slices.Sorted(maps.Keys(g.Volumes)) {
		w.volume(b.appendBlock("volume", name), g.Volumes[name])
	}
	if g.EphemeralDisk != nil {
		eb := block(b, "ephemeral_disk")
		optBool(eb, "sticky", g.EphemeralDisk.Sticky)
		optBool(eb, "migrate", g.EphemeralDisk.Migrate)
		optInt(eb, "size", g.EphemeralDisk.SizeMB)
	}
	if r := g.RestartPolicy; r != nil {
		rb := block(b, "restart")
		optInt(rb, "attempts", r.Attempts)
		optDuration(rb, "interval", r.Interval)
		optDuration(rb, "delay", r.Delay)
		optString(rb, "mode", r.Mode)
		optBool(rb, "render_templates", r.RenderTemplates)
	}
	if r := g.ReschedulePolicy; r != nil {
		rb := block(b, "reschedule")
		optInt(rb, "attempts", r.Attempts)
		optDuration(rb, "interval", r.Interval)
		optDuration(rb, "delay", r.Delay)
		optString(rb, "delay_function", r.DelayFunction)
		optDuration(rb, "max_delay", r.MaxDelay)
		optBool(rb, "unlimited", r.Unlimited)
	}
	if d := g.Disconnect; d != nil {
		db := block(b, "disconnect")
		optDuration(db, "lost_after", d.LostAfter)
		optDuration(db, "stop_on_client_after", d.StopOnClientAfter)
		optBool(db, "replace", d.Replace)
		if d.Reconcile != nil {
			setString(db, "reconcile", string(*d.Reconcile))
		}
	}
	if u := g.Update; u != nil {
		ub := block(b, "update")
		optDuration(ub, "stagger", u.Stagger)
		optInt(ub, "max_parallel", u.MaxParallel)
		optString(ub, "health_check", u.HealthCheck)
		optDuration(ub, "min_healthy_time", u.MinHealthyTime)
		optDuration(ub, "healthy_deadline", u.HealthyDeadline)
		optDuration(ub, "progress_deadline", u.ProgressDeadline)
		optInt(ub, "canary", u.Canary)
		optBool(ub, "auto_revert", u.AutoRevert)
		optBool(ub, "auto_promote", u.AutoPromote)
	}
	if m := g.Migrate; m != nil {
		mb := block(b, "migrate")
		optInt(mb, "max_parallel", m.MaxParallel)
		optString(mb, "health_check", m.HealthCheck)
		optDuration(mb, "min_healthy_time", m.MinHealthyTime)
		optDuration(mb, "healthy_deadline", m.HealthyDeadline)
	}
	if len(g.Meta) > 0 {
		w.stringMap(block(b, "meta"), g.Meta)
	}
	for _, s := range g.Services {
		w.service(block(b, "service"), s)
	}
	for _, t := range g.Tasks {
		separate(b)
		w.task(b.appendBlock("task", t.Name), t)
	}
}

// unwrittenDisconnect reports whether a group sets the pre-1.8 disconnect fields that vipctl
// never renders.
func unwrittenDisconnect(g *api.TaskGroup) bool {
	//lint:ignore SA1019 detecting the deprecated fields is the point
	return g.MaxClientDisconnect != nil || g.PreventRescheduleOnLost != nil
}

// stopAfterClientDisconnect is the group attribute of Nomad before 1.8 (nomad.version < 1.8),
// which the disconnect block replaced.
func stopAfterClientDisconnect(g *api.TaskGroup) *time.Duration {
	//lint:ignore SA1019 the jobs for Nomad before 1.8 need it
	return g.StopAfterClientDisconnect
}

func (w *hclWriter) network(b *body, n *api.NetworkResource) {
	if n.Device != "" || n.CIDR != "" || n.IP != "" || n.DNS != nil || n.Hostname != "" || n.CNI != nil {
		w.fail("network: only mode, mbits and ports are written")
	}
	if n.Mode != "" {
		setString(b, "mode", n.Mode)
	}
	optInt(b, "mbits", n.MBits)
	// A job specification declares every port as "port": one with "static" is reserved.
	ports := func(ps []api.Port, reserved bool) {
		for _, p := range ps {
			if reserved != (p.Value != 0) {
				w.fail("network: port %q: a reserved port needs a static value, a dynamic one none", p.Label)
			}
			pb := b.appendBlock("port", p.Label)
			if p.Value != 0 {
				setInt(pb, "static", p.Value)
			}
			if p.To != 0 {
				setInt(pb, "to", p.To)
			}
			if p.HostNetwork != "" {
				setString(pb, "host_network", p.HostNetwork)
			}
			if p.IgnoreCollision {
				setBool(pb, "ignore_collision", true)
			}
		}
	}
	ports(n.ReservedPorts, true)
	ports(n.DynamicPorts, false)
}

func (w *hclWriter) volume(b *body, v *api.VolumeRequest) {
	if v.MountOptions != nil || v.AccessMode != "" || v.AttachmentMode != "" {
		w.fail("volume %q: CSI options are not written", v.Name)
	}
	setString(b, "type", v.Type)
	setString(b, "source", v.Source)
	setBool(b, "read_only", v.ReadOnly)
	if v.Sticky {
		setBool(b, "sticky", true)
	}
	if v.PerAlloc {
		setBool(b, "per_alloc", true)
	}
}

func (w *hclWriter) service(b *body, s *api.Service) {
	if s.Connect != nil || s.Identity != nil || s.Weights != nil || s.CheckRestart != nil || len(s.CanaryTags) > 0 ||
		len(s.CanaryMeta) > 0 || len(s.TaggedAddresses) > 0 || s.Address != "" || s.AddressMode != "" {
		w.fail("service %q: connect, identity, weights, check_restart, canary fields, tagged addresses and address are not written", s.Name)
	}
	setString(b, "name", s.Name)
	if s.PortLabel != "" {
		setString(b, "port", s.PortLabel)
	}
	if s.Provider != "" {
		setString(b, "provider", s.Provider)
	}
	if len(s.Tags) > 0 {
		setStrings(b, "tags", s.Tags)
	}
	if s.TaskName != "" {
		setString(b, "task", s.TaskName)
	}
	if len(s.Meta) > 0 {
		w.stringMap(block(b, "meta"), s.Meta)
	}
	for _, c := range s.Checks {
		if c.CheckRestart != nil || len(c.Header) > 0 || c.Command != "" || len(c.Args) > 0 || c.Body != "" {
			w.fail("service %q: check %q: check_restart, header, command, args and body are not written", s.Name, c.Name)
		}
		cb := block(b, "check")
		setString(cb, "name", c.Name)
		setString(cb, "type", c.Type)
		if c.PortLabel != "" {
			setString(cb, "port", c.PortLabel)
		}
		if c.Path != "" {
			setString(cb, "path", c.Path)
		}
		if c.Method != "" {
			setString(cb, "method", c.Method)
		}
		setDuration(cb, "interval", c.Interval)
		setDuration(cb, "timeout", c.Timeout)
	}
}

func (w *hclWriter) task(b *body, t *api.Task) {
	setString(b, "driver", t.Driver)
	if t.User != "" {
		setString(b, "user", t.User)
	}
	if t.KillTimeout != nil {
		setDuration(b, "kill_timeout", *t.KillTimeout)
	}
	if t.KillSignal != "" {
		setString(b, "kill_signal", t.KillSignal)
	}
	if t.Lifecycle != nil || len(t.Constraints) > 0 || len(t.Affinities) > 0 || len(t.Services) > 0 || t.RestartPolicy != nil ||
		t.LogConfig != nil || len(t.Artifacts) > 0 || t.Vault != nil || t.Consul != nil || t.DispatchPayload != nil ||
		t.CSIPluginConfig != nil || t.Leader || t.ShutdownDelay != 0 || t.Kind != "" || len(t.ScalingPolicies) > 0 ||
		len(t.Secrets) > 0 || t.Identity != nil || len(t.Identities) > 0 || len(t.Actions) > 0 || t.Schedule != nil {
		w.fail("task %q: only driver, user, kill_timeout, kill_signal, config, env, meta, template, volume_mount and resources are written", t.Name)
	}
	if len(t.Config) > 0 {
		w.config(block(b, "config"), t.Config)
	}
	if len(t.Env) > 0 {
		w.stringMap(block(b, "env"), t.Env)
	}
	if len(t.Meta) > 0 {
		w.stringMap(block(b, "meta"), t.Meta)
	}
	for _, tp := range t.Templates {
		w.template(block(b, "template"), tp)
	}
	for _, m := range t.VolumeMounts {
		mb := block(b, "volume_mount")
		optString(mb, "volume", m.Volume)
		optString(mb, "destination", m.Destination)
		optBool(mb, "read_only", m.ReadOnly)
		optString(mb, "propagation_mode", m.PropagationMode)
		optString(mb, "selinux_label", m.SELinuxLabel)
	}
	if r := t.Resources; r != nil {
		if len(r.Networks) > 0 || len(r.Devices) > 0 || r.NUMA != nil || r.IOPS != nil {
			w.fail("task %q: resources: network, device, numa and iops are not written", t.Name)
		}
		rb := block(b, "resources")
		optInt(rb, "cpu", r.CPU)
		optInt(rb, "cores", r.Cores)
		optInt(rb, "memory", r.MemoryMB)
		optInt(rb, "memory_max", r.MemoryMaxMB)
		optInt(rb, "disk", r.DiskMB)
		optInt(rb, "secrets", r.SecretsMB)
	}
}

func (w *hclWriter) template(b *body, t *api.Template) {
	if t.ChangeScript != nil || t.Wait != nil || t.VaultGrace != nil || t.LeftDelim != nil || t.RightDelim != nil {
		w.fail("template: change_script, wait, vault_grace and delimiters are not written")
	}
	optString(b, "source", t.SourcePath)
	optString(b, "destination", t.DestPath)
	optBool(b, "env", t.Envvars)
	optString(b, "change_mode", t.ChangeMode)
	optString(b, "change_signal", t.ChangeSignal)
	optBool(b, "once", t.Once)
	if t.Splay != nil {
		setDuration(b, "splay", *t.Splay)
	}
	optString(b, "perms", t.Perms)
	optInt(b, "uid", t.Uid)
	optInt(b, "gid", t.Gid)
	optBool(b, "error_on_missing_key", t.ErrMissingKey)
	if t.EmbeddedTmpl != nil {
		b.appendText("data", *t.EmbeddedTmpl)
	}
}

// config writes a driver's config block: strings, integers, booleans, string lists, string maps
// and lists of string maps, in sorted key order.
func (w *hclWriter) config(b *body, cfg map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		if !hclsyntax.ValidIdentifier(k) {
			w.fail("config key %q is not an HCL identifier", k)
			continue
		}
		switch v := cfg[k].(type) {
		case string:
			setString(b, k, v)
		case int:
			setInt(b, k, v)
		case bool:
			setBool(b, k, v)
		case []string:
			setStrings(b, k, v)
		case map[string]string:
			b.appendAttr(k, mapExpr(v))
		case []map[string]string:
			b.appendAttr(k, mapListExpr(v))
		default:
			w.fail("config %q: value of type %T is not written", k, v)
		}
	}
}

// separate puts an empty line before a group or task block, unless it opens its parent.
func separate(b *body) {
	if !b.isEmpty() {
		b.appendBlank()
	}
}

func block(b *body, name string) *body { return b.appendBlock(name) }

func constraint(b *body, c *api.Constraint) {
	if c.LTarget != "" {
		setString(b, "attribute", c.LTarget)
	}
	if c.Operand != "" && c.Operand != "=" {
		setString(b, "operator", c.Operand)
	}
	if c.RTarget != "" {
		setString(b, "value", c.RTarget)
	}
}

// stringMap writes a map as attributes in sorted key order (env, meta); keys must be identifiers.
func (w *hclWriter) stringMap(b *body, m map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !hclsyntax.ValidIdentifier(k) {
			w.fail("key %q is not an HCL identifier", k)
			continue
		}
		setString(b, k, m[k])
	}
}

func setString(b *body, name, v string)            { b.appendAttr(name, quoted(v)) }
func setInt(b *body, name string, v int)           { b.appendAttr(name, strconv.Itoa(v)) }
func setBool(b *body, name string, v bool)         { b.appendAttr(name, strconv.FormatBool(v)) }
func setStrings(b *body, name string, vs []string) { b.appendAttr(name, listExpr(vs)) }

// setDuration writes a duration the way job specifications do ("30s", "5m", "1h30m").
func setDuration(b *body, name string, d time.Duration) {
	setString(b, name, formatDuration(d))
}

func formatDuration(d time.Duration) string {
	s := d.String()
	// time.Duration.String writes 5m0s and 1h0m0s; drop the zero units.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func optString(b *body, name string, v *string) {
	if v != nil {
		setString(b, name, *v)
	}
}

func optInt(b *body, name string, v *int) {
	if v != nil {
		setInt(b, name, *v)
	}
}

func optBool(b *body, name string, v *bool) {
	if v != nil {
		setBool(b, name, *v)
	}
}

func optDuration(b *body, name string, v *time.Duration) {
	if v != nil {
		setDuration(b, name, *v)
	}
}
