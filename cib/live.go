package cib

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vipctl/vipctl/internal/pcmk"
	"github.com/vipctl/vipctl/topology"
)

// DefaultBackupDir is where apply keeps a copy of every CIB it replaces.
const DefaultBackupDir = "/var/lib/vipctl/cib-backup"

// DefaultAttempts is how many times apply reads, merges and writes when someone else keeps
// changing the CIB between vipctl's read and its write.
const DefaultAttempts = 5

// Refusals: the live cluster is not the one the topology describes. Nothing is written.
var (
	// ErrWrongCluster: the live cluster-name property differs from corosync.cluster_name.
	ErrWrongCluster = errors.New("the live cluster is not the topology's cluster")
	// ErrUnknownNode: the live nodes section holds nodes that are no host of the topology.
	ErrUnknownNode = errors.New("the live CIB has nodes the topology does not know")
	// ErrIDConflict: an id vipctl renders is taken in the live CIB by something vipctl does not own.
	ErrIDConflict = errors.New("an id vipctl renders is used by an element vipctl does not own")
	// ErrBadCIB: a CIB document lacks the structure every CIB has.
	ErrBadCIB = errors.New("not a CIB document")
	// ErrConcurrentChange: the CIB changed between every read and write, up to the attempt limit.
	ErrConcurrentChange = errors.New("the CIB kept changing while vipctl wrote it")
)

// Version is a CIB's version: Pacemaker accepts an update only onto the version it was made for.
type Version struct {
	AdminEpoch int `json:"admin_epoch"`
	Epoch      int `json:"epoch"`
	NumUpdates int `json:"num_updates"`
}

// String formats the version as Pacemaker does: admin_epoch.epoch.num_updates.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.AdminEpoch, v.Epoch, v.NumUpdates)
}

// VersionOf reads the version attributes of a CIB document's root.
func VersionOf(doc *etree.Document) (Version, error) {
	root := doc.Root()
	if root == nil || root.Tag != "cib" {
		return Version{}, fmt.Errorf("%w: no <cib> root element", ErrBadCIB)
	}
	var v Version
	for _, f := range []struct {
		name string
		dst  *int
	}{{"admin_epoch", &v.AdminEpoch}, {"epoch", &v.Epoch}, {"num_updates", &v.NumUpdates}} {
		s := root.SelectAttrValue(f.name, "0")
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("%w: <cib %s=%q> is not a version number", ErrBadCIB, f.name, s)
		}
		*f.dst = n
	}
	return v, nil
}

// LiveConfig says how vipctl reaches the running cluster's CIB. The zero value runs the tools
// found on PATH on this host and keeps backups in DefaultBackupDir.
type LiveConfig struct {
	// Run runs cibadmin against the cluster (pcmk.NSEnter reaches a lab host); nil: pcmk.Local
	// with Timeout. A given runner bounds each run with its own timeout.
	Run pcmk.Runner
	// Timeout bounds each run of crm_diff, and of cibadmin when Run is nil; 0 means
	// DefaultToolTimeout.
	Timeout time.Duration
	// BackupDir receives a copy of each CIB that apply replaces; "" means DefaultBackupDir.
	BackupDir string
	// Attempts bounds the read-merge-write rounds when the CIB changes under apply; 0 means DefaultAttempts.
	Attempts int
	// Logger receives retries; nil discards.
	Logger *slog.Logger
}

// Live reads, compares and writes the CIB of the running cluster.
type Live struct {
	tools     tools
	backupDir string
	attempts  int
	log       *slog.Logger
	now       func() time.Time

	// beforeWrite, when set, runs after the CIB was read and backed up and before the patch is
	// written (attempt counts from 1). Tests use it to change the CIB concurrently.
	beforeWrite func(ctx context.Context, attempt int) error
}

// NewLive returns a Live for the cluster that cfg reaches.
func NewLive(cfg LiveConfig) *Live {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultToolTimeout
	}
	local := pcmk.Local{Timeout: timeout}
	cluster := cfg.Run
	if cluster == nil {
		cluster = local
	}
	l := &Live{
		tools:     tools{cluster: cluster, local: local},
		backupDir: cfg.BackupDir,
		attempts:  cfg.Attempts,
		log:       cfg.Logger,
		now:       time.Now,
	}
	if l.backupDir == "" {
		l.backupDir = DefaultBackupDir
	}
	if l.attempts <= 0 {
		l.attempts = DefaultAttempts
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// Query reads the whole live CIB.
func (l *Live) Query(ctx context.Context) (*etree.Document, error) {
	_, doc, err := l.query(ctx)
	return doc, err
}

// query returns the live CIB both as cibadmin printed it and parsed.
func (l *Live) query(ctx context.Context) ([]byte, *etree.Document, error) {
	raw, err := l.tools.query(ctx)
	if err != nil {
		return nil, nil, err
	}
	doc, err := parseCIB(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("read the live CIB: %w", err)
	}
	return raw, doc, nil
}

// parseCIB parses a CIB document and checks that it has a <cib> root with a <configuration>.
func parseCIB(b []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCIB, err)
	}
	if _, err := configuration(doc); err != nil {
		return nil, err
	}
	if depth(doc.Root()) > maxDepth {
		return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrBadCIB, maxDepth)
	}
	return doc, nil
}

// maxDepth bounds the nesting of a CIB that vipctl accepts. Pacemaker's schema nests a few
// levels (rules within rules the deepest); the bound keeps a malformed document from making
// the comparison's paths grow without end.
const maxDepth = 64

// depth returns how deep elements nest under e (1 for an element without children).
func depth(e *etree.Element) int {
	d := 0
	for _, c := range e.ChildElements() {
		d = max(d, depth(c))
		if d > maxDepth {
			break
		}
	}
	return d + 1
}

// configuration returns the <configuration> element of a CIB document.
func configuration(doc *etree.Document) (*etree.Element, error) {
	root := doc.Root()
	if root == nil || root.Tag != "cib" {
		return nil, fmt.Errorf("%w: no <cib> root element", ErrBadCIB)
	}
	conf := root.SelectElement("configuration")
	if conf == nil {
		return nil, fmt.Errorf("%w: no <configuration> in <cib>", ErrBadCIB)
	}
	return conf, nil
}

// Plan is what apply would do to one live CIB: the changes, and the document it would write.
type Plan struct {
	Version Version  // the live CIB's version the plan was made from
	Changes []Change // empty when the live CIB already is as desired

	liveRaw []byte          // the live CIB as cibadmin printed it: what a backup keeps
	live    *etree.Document // the live CIB, parsed
	merged  *etree.Document // live with vipctl's part replaced by the desired one
}

// Unchanged reports whether the live CIB already is as desired.
func (p *Plan) Unchanged() bool { return len(p.Changes) == 0 }

// Plan reads the live CIB, checks that it belongs to the topology's cluster and works out
// what apply would change to bring vipctl's part of it to the desired document.
func (l *Live) Plan(ctx context.Context, t *topology.Topology, desired *etree.Document) (*Plan, error) {
	raw, live, err := l.query(ctx)
	if err != nil {
		return nil, err
	}
	return newPlan(raw, live, t, desired)
}

// PlanFor works out, without any cluster, what apply would change in the live CIB document
// liveXML (as `cibadmin --query` prints it) to bring vipctl's part of it to desired.
func PlanFor(liveXML []byte, t *topology.Topology, desired *etree.Document) (*Plan, error) {
	live, err := parseCIB(liveXML)
	if err != nil {
		return nil, err
	}
	return newPlan(liveXML, live, t, desired)
}

func newPlan(raw []byte, live *etree.Document, t *topology.Topology, desired *etree.Document) (*Plan, error) {
	v, err := VersionOf(live)
	if err != nil {
		return nil, err
	}
	if err := CheckCluster(live, t); err != nil {
		return nil, err
	}
	merged, err := Merge(live, desired)
	if err != nil {
		return nil, err
	}
	changes, err := Compare(live, merged)
	if err != nil {
		return nil, err
	}
	return &Plan{Version: v, Changes: changes, liveRaw: raw, live: live, merged: merged}, nil
}

// CheckCluster refuses a live CIB that is not the topology's cluster: its cluster-name property
// must equal corosync.cluster_name, and each node of its nodes section must be a host of the
// topology. The errors match ErrWrongCluster or ErrUnknownNode.
func CheckCluster(live *etree.Document, t *topology.Topology) error {
	conf, err := configuration(live)
	if err != nil {
		return err
	}
	name, ok := "", false
	if crm := conf.SelectElement("crm_config"); crm != nil {
		for _, set := range crm.SelectElements("cluster_property_set") {
			if set.SelectAttrValue("id", "") != BootstrapOptions {
				continue
			}
			for _, nv := range set.SelectElements("nvpair") {
				if nv.SelectAttrValue("name", "") == "cluster-name" {
					name, ok = nv.SelectAttrValue("value", ""), true
				}
			}
		}
	}
	switch {
	case !ok:
		return fmt.Errorf("%w: the live CIB has no cluster-name property yet (is the cluster up and has it elected a DC?); the topology's cluster is %q",
			ErrWrongCluster, t.Corosync.ClusterName)
	case name != t.Corosync.ClusterName:
		return fmt.Errorf("%w: the live cluster is named %q, the topology's corosync.cluster_name is %q",
			ErrWrongCluster, name, t.Corosync.ClusterName)
	}
	var unknown []string
	if nodes := conf.SelectElement("nodes"); nodes != nil {
		for _, n := range nodes.SelectElements("node") {
			uname := n.SelectAttrValue("uname", "")
			if _, known := t.Host(uname); !known {
				unknown = append(unknown, fmt.Sprintf("%q (id %s)", uname, n.SelectAttrValue("id", "?")))
			}
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("%w: %s", ErrUnknownNode, strings.Join(unknown, ", "))
	}
	return nil
}
