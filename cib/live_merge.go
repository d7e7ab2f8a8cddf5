package cib

import (
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// operatorMeta are the meta attributes operators set on a resource at run time (pcs resource
// disable, unmanage, maintenance). Unless the desired resource sets them itself, apply keeps
// them on vipctl's resources rather than undo an operator's decision.
var operatorMeta = []string{"target-role", "is-managed", "maintenance"}

// Merge returns the CIB that apply writes: a copy of live in which vipctl's part is replaced by
// desired's, and nothing else changed.
//
//   - resources carrying the meta attribute vipctl-managed=true, and constraints and alerts whose
//     id starts with vip- or vipctl-, are vipctl's: they are added, replaced or removed to match desired
//     (keeping an operator's target-role, is-managed and maintenance on them);
//   - the nvpairs of desired's crm_config, rsc_defaults and op_defaults are set to desired's
//     values in the live sets, next to every other nvpair (Pacemaker's dc-version,
//     cluster-name… and the operator's own);
//   - everything else, including the nodes and status sections, stays as it is.
//
// The result matches ErrIDConflict when one of desired's ids is taken by something else.
func Merge(live, desired *etree.Document) (*etree.Document, error) {
	dconf, err := configuration(desired)
	if err != nil {
		return nil, fmt.Errorf("desired CIB: %w", err)
	}
	merged := live.Copy()
	lconf, err := configuration(merged)
	if err != nil {
		return nil, fmt.Errorf("live CIB: %w", err)
	}
	mergeOwned(lconf, dconf.SelectElement("resources"), "resources", ownedResource, true)
	mergeOwned(lconf, dconf.SelectElement("constraints"), "constraints", ownedConstraint, false)
	mergeOwned(lconf, dconf.SelectElement("alerts"), "alerts", ownedConstraint, false)
	for _, name := range []string{"crm_config", "rsc_defaults", "op_defaults"} {
		if dsec := dconf.SelectElement(name); dsec != nil {
			mergeNVPairs(lconf, dsec)
		}
	}
	if err := newDuplicateIDs(live, lconf); err != nil {
		return nil, err
	}
	return merged, nil
}

// ownedResource reports whether a top-level resource is vipctl's: it carries the meta attribute
// vipctl-managed=true. An id prefix alone does not make a resource vipctl's, so a resource
// someone named vip-… by hand is never removed.
func ownedResource(e *etree.Element) bool {
	for _, meta := range e.SelectElements("meta_attributes") {
		for _, nv := range meta.SelectElements("nvpair") {
			if nv.SelectAttrValue("name", "") == ManagedMeta && nv.SelectAttrValue("value", "") == ManagedValue {
				return true
			}
		}
	}
	return false
}

// ownedConstraint reports whether a constraint (or an alert) is vipctl's: constraints cannot
// carry meta attributes, so the id prefix is the mark.
func ownedConstraint(e *etree.Element) bool {
	return IsOwnedID(e.SelectAttrValue("id", ""))
}

// confSection returns the child of conf with the given tag, creating it when missing.
func confSection(conf *etree.Element, tag string) *etree.Element {
	if s := conf.SelectElement(tag); s != nil {
		return s
	}
	return conf.CreateElement(tag)
}

// mergeOwned makes the owned children of the live section equal to the children of the desired
// section (nil: none): owned ones missing from desired are removed, the others replaced in
// place when they differ, and desired ones not yet live appended.
func mergeOwned(lconf, dsec *etree.Element, tag string, owned func(*etree.Element) bool, keepMeta bool) {
	var want []*etree.Element
	if dsec != nil {
		want = dsec.ChildElements()
	}
	byID := map[string]*etree.Element{}
	for _, d := range want {
		byID[d.SelectAttrValue("id", "")] = d
	}
	lsec := confSection(lconf, tag)
	done := map[string]bool{}
	for _, l := range lsec.ChildElements() {
		if !owned(l) {
			continue
		}
		id := l.SelectAttrValue("id", "")
		d, ok := byID[id]
		if !ok || done[id] {
			lsec.RemoveChild(l)
			continue
		}
		done[id] = true
		n := d.Copy()
		if keepMeta {
			keepOperatorMeta(l, n)
		}
		if !sameElement(l, n) {
			lsec.InsertChildAt(l.Index(), n)
			lsec.RemoveChild(l)
		}
	}
	for _, d := range want {
		if !done[d.SelectAttrValue("id", "")] {
			lsec.AddChild(d.Copy())
		}
	}
}

// keepOperatorMeta copies the operator's run-time meta attributes (operatorMeta) of the live
// resource into the desired one, unless desired sets them itself.
func keepOperatorMeta(live, desired *etree.Element) {
	set := func(e *etree.Element) map[string]*etree.Element {
		m := map[string]*etree.Element{}
		for _, meta := range e.SelectElements("meta_attributes") {
			if len(meta.SelectElements("rule")) > 0 {
				continue
			}
			for _, nv := range meta.SelectElements("nvpair") {
				m[nv.SelectAttrValue("name", "")] = nv
			}
		}
		return m
	}
	have, want := set(live), set(desired)
	var target *etree.Element
	for _, name := range operatorMeta {
		nv, ok := have[name]
		if !ok {
			continue
		}
		if _, ok := want[name]; ok {
			continue
		}
		if target == nil {
			target = desired.SelectElement("meta_attributes")
			if target == nil {
				target = desired.CreateElement("meta_attributes")
				target.CreateAttr("id", desired.SelectAttrValue("id", "")+"-meta_attributes")
			}
		}
		target.AddChild(nv.Copy())
	}
}

// mergeNVPairs sets each nvpair of the desired section (crm_config, rsc_defaults or
// op_defaults) in the live one. The value goes into the live set of the same id; in
// rsc_defaults and op_defaults, into whichever unconditional live set already has the name
// (two sets giving one name different values leave the winner to chance). When no live set has
// the name, the nvpair is added to the set of desired's id, created when missing.
func mergeNVPairs(lconf, dsec *etree.Element) {
	lsec := confSection(lconf, dsec.Tag)
	for _, dset := range dsec.ChildElements() {
		setID := dset.SelectAttrValue("id", "")
		for _, dnv := range dset.SelectElements("nvpair") {
			name, value := dnv.SelectAttrValue("name", ""), dnv.SelectAttrValue("value", "")
			found := false
			for _, lset := range lsec.SelectElements(dset.Tag) {
				sameSet := lset.SelectAttrValue("id", "") == setID
				anySet := dsec.Tag != "crm_config" && len(lset.SelectElements("rule")) == 0
				if !sameSet && !anySet {
					continue
				}
				for _, lnv := range lset.SelectElements("nvpair") {
					if lnv.SelectAttrValue("name", "") != name {
						continue
					}
					found = true
					if lnv.SelectAttrValue("value", "") != value {
						lnv.CreateAttr("value", value)
					}
				}
			}
			if found {
				continue
			}
			var target *etree.Element
			for _, lset := range lsec.SelectElements(dset.Tag) {
				if lset.SelectAttrValue("id", "") == setID {
					target = lset
					break
				}
			}
			if target == nil {
				target = lsec.CreateElement(dset.Tag)
				for _, a := range dset.Attr {
					target.CreateAttr(a.FullKey(), a.Value)
				}
			}
			target.AddChild(dnv.Copy())
		}
	}
}

// newDuplicateIDs returns an error matching ErrIDConflict when the merged configuration holds
// an id twice that the live one did not already hold twice.
func newDuplicateIDs(live *etree.Document, merged *etree.Element) error {
	before := map[string]bool{}
	if lconf, err := configuration(live); err == nil {
		for id := range duplicateIDs(lconf) {
			before[id] = true
		}
	}
	var dups []string
	for id, tags := range duplicateIDs(merged) {
		if !before[id] {
			dups = append(dups, fmt.Sprintf("%q (%s)", id, tags))
		}
	}
	if len(dups) == 0 {
		return nil
	}
	slices.Sort(dups)
	return fmt.Errorf("%w: %s; rename the element made by hand, or mark it with meta %s=%s to hand it to vipctl",
		ErrIDConflict, strings.Join(dups, ", "), ManagedMeta, ManagedValue)
}

// duplicateIDs returns each id held by more than one element under e, with the holders' tags.
func duplicateIDs(e *etree.Element) map[string]string {
	holders := map[string][]string{}
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if id := e.SelectAttrValue("id", ""); id != "" {
			holders[id] = append(holders[id], e.Tag)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(e)
	dups := map[string]string{}
	for id, tags := range holders {
		if len(tags) > 1 {
			dups[id] = strings.Join(tags, " and ")
		}
	}
	return dups
}
