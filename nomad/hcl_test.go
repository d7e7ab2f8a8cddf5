package nomad

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/vipctl/vipctl/topology"
)

// node is a writer-independent view of a job specification: non-zero attribute values by name
// and blocks by type, in order. Both the HCL file and the typed job are reduced to it.
type node struct {
	Labels []string
	Attrs  map[string]any
	Blocks map[string][]node
}

func newNode(labels ...string) node {
	return node{Labels: labels, Attrs: map[string]any{}, Blocks: map[string][]node{}}
}

// normalize makes equal values compare equal: durations by their value, numbers as int64.
func normalize(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return x.String()
	case string:
		if d, err := time.ParseDuration(x); err == nil {
			return d.String()
		}
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	}
	return v
}

func isZero(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.IsZero() || ((rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0)
}

// nodeOfStruct reduces a value of an api type by its hcl struct tags, following the job
// specification's conventions: a reserved port is a "port" block with "static".
func nodeOfStruct(t *testing.T, v reflect.Value, labels ...string) node {
	t.Helper()
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	n := newNode(labels...)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		tag, ok := f.Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		switch kind {
		case "label":
			continue // given by the parent
		case "block":
			if name == "reserved_ports" {
				name = "port"
			}
			n.Blocks[name] = append(n.Blocks[name], blocksOf(t, fv)...)
			if len(n.Blocks[name]) == 0 {
				delete(n.Blocks, name)
			}
		default:
			if f.Type.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if isZero(fv.Interface()) {
				continue
			}
			val := normalize(fv.Interface())
			if rv := reflect.ValueOf(val); rv.Kind() == reflect.String {
				val = normalize(rv.String()) // named string types such as ReconcileOption
			}
			if !isZero(val) {
				n.Attrs[name] = val
			}
		}
	}
	return n
}

// blocksOf returns the blocks a field holds: a struct or pointer is one block, a slice one per
// element, a map of structs one per key (labelled with it), a map of values one block of attributes.
func blocksOf(t *testing.T, fv reflect.Value) []node {
	t.Helper()
	switch fv.Kind() {
	case reflect.Pointer:
		if fv.IsNil() {
			return nil
		}
		return blocksOf(t, fv.Elem())
	case reflect.Struct:
		return []node{nodeOfStruct(t, fv, structLabel(fv)...)}
	case reflect.Slice:
		var out []node
		for i := range fv.Len() {
			out = append(out, blocksOf(t, fv.Index(i))...)
		}
		return out
	case reflect.Map:
		if fv.Len() == 0 {
			return nil
		}
		elem := fv.Type().Elem()
		if elem.Kind() == reflect.Pointer && elem.Elem().Kind() == reflect.Struct {
			var out []node
			for _, k := range sortedKeys(fv) {
				out = append(out, nodeOfStruct(t, fv.MapIndex(k), k.String()))
			}
			return out
		}
		n := newNode()
		for _, k := range sortedKeys(fv) {
			val := fv.MapIndex(k).Interface()
			if m, ok := val.(map[string]string); ok {
				obj := map[string]any{}
				for mk, mv := range m {
					obj[mk] = mv
				}
				val = obj
			}
			if !isZero(normalize(val)) {
				n.Attrs[k.String()] = normalize(val)
			}
		}
		return []node{n}
	}
	t.Fatalf("cannot reduce a %s block", fv.Kind())
	return nil
}

// structLabel returns the label of a struct whose hcl tag marks a field as the label.
func structLabel(v reflect.Value) []string {
	for i := range v.NumField() {
		tag := v.Type().Field(i).Tag.Get("hcl")
		if strings.HasSuffix(tag, ",label") {
			f := v.Field(i)
			if f.Kind() == reflect.Pointer {
				f = f.Elem()
			}
			return []string{f.String()}
		}
	}
	return nil
}

func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j].String() < keys[i].String() {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// nodeOfBody reduces a parsed HCL body.
func nodeOfBody(t *testing.T, b *hclsyntax.Body, labels ...string) node {
	t.Helper()
	n := newNode(labels...)
	for name := range b.Attributes {
		v := goValue(t, attrValue(t, b, name))
		if !isZero(v) {
			n.Attrs[name] = v
		}
	}
	for _, blk := range b.Blocks {
		n.Blocks[blk.Type] = append(n.Blocks[blk.Type], nodeOfBody(t, blk.Body, blk.Labels...))
	}
	return n
}

func goValue(t *testing.T, v cty.Value) any {
	t.Helper()
	ty := v.Type()
	switch {
	case ty == cty.String:
		return normalize(v.AsString())
	case ty == cty.Number:
		i, _ := v.AsBigFloat().Int64()
		return i
	case ty == cty.Bool:
		return v.True()
	case ty.IsTupleType() || ty.IsListType():
		elems := v.AsValueSlice()
		if len(elems) > 0 && (elems[0].Type().IsObjectType() || elems[0].Type().IsMapType()) {
			var maps []map[string]string
			for _, e := range elems {
				m := map[string]string{}
				for k, ev := range e.AsValueMap() {
					m[k] = ev.AsString()
				}
				maps = append(maps, m)
			}
			return maps
		}
		var out []string
		for _, e := range elems {
			out = append(out, e.AsString())
		}
		return out
	case ty.IsObjectType() || ty.IsMapType():
		out := map[string]any{}
		for k, e := range v.AsValueMap() {
			out[k] = e.AsString()
		}
		return out
	}
	t.Fatalf("unexpected value of type %s", ty.FriendlyName())
	return nil
}

// TestJobHCLCarriesEveryField: reduced by the api types' own hcl tags (independently of the
// writer), every job equals its HCL file parsed back: the writer drops nothing and adds nothing.
func TestJobHCLCarriesEveryField(t *testing.T) {
	// Jobs for a Nomad before 1.8 carry stop_after_client_disconnect instead of the disconnect block.
	nomad16 := exampleTopology(t)
	nomad16.Nomad.Version = topology.NomadVersion{Major: 1, Minor: 6}
	for _, tp := range []*topology.Topology{exampleTopology(t), manyClusters(t, 10, 2), nomad16} {
		jobs, err := Jobs(tp)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			src, err := JobHCL(j)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := hclparse.NewParser().ParseHCL(src, *j.ID+".nomad")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			jb := only(t, f.Body.(*hclsyntax.Body), "job")
			got := nodeOfBody(t, jb.Body, jb.Labels...)

			want := nodeOfStruct(t, reflect.ValueOf(j), *j.ID)
			// The job's ID is the block label; its name is written only when it differs.
			delete(want.Attrs, "id")
			if *j.Name == *j.ID {
				delete(want.Attrs, "name")
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s: HCL differs from the typed job (-typed +hcl):\n%s", *j.ID, d)
			}
		}
	}
}

// TestJobHCLCrossCheckCanFail: the reduction sees a field the HCL does not carry.
func TestJobHCLCrossCheckCanFail(t *testing.T) {
	tp := exampleTopology(t)
	j, err := PatroniJob(tp, tp.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	src, err := JobHCL(j)
	if err != nil {
		t.Fatal(err)
	}
	j.TaskGroups[0].Tasks[0].User = "root" // set after writing: the file lacks it
	f, diags := hclparse.NewParser().ParseHCL(src, "x.nomad")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	jb := only(t, f.Body.(*hclsyntax.Body), "job")
	want := nodeOfStruct(t, reflect.ValueOf(j), *j.ID)
	delete(want.Attrs, "id")
	delete(want.Attrs, "name")
	if cmp.Equal(want, nodeOfBody(t, jb.Body, jb.Labels...)) {
		t.Error("a field missing from the HCL went unnoticed")
	}
}
