package verify

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// A policy that loads must enforce. Decoding YAML into Go structs loses
// the difference between a field left out and a field written null, [] or
// {}: both decode to the zero value, which for every rule means "not
// checked". So `equals: null` or `refs: []` would load and silently check
// nothing. The two walks below refuse such documents and values as a
// whole class, by the shape of the schema rather than field by field:
//
//   - schemaWalk walks the YAML node tree of a file along the Policy type,
//     before anything is decoded, where "absent" and "present but empty"
//     can still be told apart;
//   - valueWalk walks a Policy value (built in Go, or decoded) for what a
//     Go value still shows: a non-nil empty slice, a non-nil pointer to a
//     rule that sets nothing, equals/oneOf values no JSON value can equal.

// maxExactJSONInt bounds the numbers equals and oneOf may hold: parameters
// are read from JSON as float64, which cannot tell integers apart above
// 2^53, so a larger number in a policy would match values it does not name.
const maxExactJSONInt = 1 << 53

type schemaWalk struct{ file string }

func (w schemaWalk) errAt(n *yaml.Node, path, format string, args ...any) error {
	return &PolicyError{File: w.file, Line: n.Line, Field: path, Err: fmt.Errorf(format, args...)}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// plain refuses the YAML features that let a document say something other
// than what it shows at that place: anchors and aliases (a value defined
// elsewhere, possibly exponentially expanded), merge keys (fields spliced
// in from elsewhere) and explicit tags (!!binary decodes base64 into a
// string, !!str makes a number a string, custom tags mean nothing here).
func (w schemaWalk) plain(n *yaml.Node, path string) error {
	switch {
	case n.Kind == yaml.AliasNode:
		return w.errAt(n, path, "YAML aliases (*%s) are not allowed in a policy: write the value out", n.Value)
	case n.Anchor != "":
		return w.errAt(n, path, "YAML anchors (&%s) are not allowed in a policy", n.Anchor)
	case n.Tag == "!!merge":
		return w.errAt(n, path, "YAML merge keys (<<) are not allowed in a policy: write the fields out")
	case n.Style&yaml.TaggedStyle != 0:
		return w.errAt(n, path, "explicit YAML tags (%s) are not allowed in a policy", n.Tag)
	}
	return nil
}

type schemaField struct {
	name  string // the YAML (and JSON) name
	index int
}

// yamlFields lists a struct's schema fields, in declaration order.
func yamlFields(t reflect.Type) []schemaField {
	var out []schemaField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			out = append(out, schemaField{name, i})
		}
	}
	return out
}

// node checks n, the value of the field at path, against the field's type t.
func (w schemaWalk) node(n *yaml.Node, t reflect.Type, path string) error {
	if err := w.plain(n, path); err != nil {
		return err
	}
	if n.Tag == "!!null" {
		if path == "" {
			return w.errAt(n, path, "the document is null: a policy is a mapping")
		}
		if t.Kind() == reflect.Interface {
			return w.errAt(n, path, "null: no parameter value is matched against null; to require that a parameter is absent, use forbidden: true")
		}
		return w.errAt(n, path, "null: leave the field out, or give it a value")
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[Duration]():
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return w.errAt(n, path, "must be a duration such as \"720h\"")
		}
		var d Duration
		if err := n.Decode(&d); err != nil {
			return w.errAt(n, path, "%q is not a non-negative duration such as \"720h\"", n.Value)
		}
		if d == 0 {
			return w.errAt(n, path, "%q is zero, which checks nothing: leave the field out, or give a positive duration", n.Value)
		}
		return nil
	case t.Kind() == reflect.Interface:
		return w.jsonValue(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return w.mapping(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return w.errAt(n, path, "must be a list")
		}
		if len(n.Content) == 0 {
			return w.errAt(n, path, "empty list, which checks nothing: leave the field out, or list at least one item")
		}
		for i, c := range n.Content {
			if err := w.node(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return w.errAt(n, path, "must be a string (quote it: YAML reads %q as %s)", n.Value, strings.TrimPrefix(n.Tag, "!!"))
		}
		if n.Value == "" {
			return w.errAt(n, path, "empty string, which checks nothing: leave the field out, or give a value")
		}
		return nil
	case reflect.Int:
		var v int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
			return w.errAt(n, path, "must be an integer")
		}
		if v == 0 {
			return w.errAt(n, path, "0 is what leaving the field out means: leave it out, or give another value")
		}
		return nil
	case reflect.Bool:
		// false is allowed: it is a value ("not required"), not an
		// absence; a rule left with nothing true is refused as a whole.
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return w.errAt(n, path, "must be true or false")
		}
		return nil
	}
	return w.errAt(n, path, "unsupported field type %s", t)
}

// mapping checks a rule (a struct): known fields, each checked, and at
// least one field that enforces something once decoded.
func (w schemaWalk) mapping(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.MappingNode {
		if path == "" {
			return w.errAt(n, path, "a policy is a mapping of fields (version, signers, …)")
		}
		return w.errAt(n, path, "must be a mapping")
	}
	if len(n.Content) == 0 {
		if path == "" {
			return w.errAt(n, path, "the document is an empty mapping")
		}
		return w.errAt(n, path, "empty mapping, which checks nothing: leave the field out, or set at least one of its fields")
	}
	fields := map[string]int{}
	for _, f := range yamlFields(t) {
		fields[f.name] = f.index
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := w.plain(k, path); err != nil {
			return err
		}
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			return w.errAt(k, path, "field names must be plain strings")
		}
		p := joinPath(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			return w.errAt(k, path, "unknown field %q", k.Value)
		}
		if seen[k.Value] {
			return w.errAt(k, p, "given twice")
		}
		seen[k.Value] = true
		if err := w.node(v, t.Field(idx).Type, p); err != nil {
			return err
		}
	}
	// Every field passed on its own; the rule may still enforce nothing,
	// as materials: {requireDigests: false} does.
	rv := reflect.New(t)
	if err := n.Decode(rv.Interface()); err == nil && exportedZero(rv.Elem()) {
		return w.errAt(n, path, "sets nothing that is checked (every field is false): leave the rule out, or set a field to true")
	}
	return nil
}

// jsonValue checks a value of equals or oneOf: it must be something a
// parameter read from JSON can equal.
func (w schemaWalk) jsonValue(n *yaml.Node, path string) error {
	if err := w.plain(n, path); err != nil {
		return err
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := w.jsonValue(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if err := w.plain(k, path); err != nil {
				return err
			}
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
				return w.errAt(k, path, "key %q is not a string, and a JSON object's keys are: quote it", k.Value)
			}
			if err := w.jsonValue(v, joinPath(path, k.Value)); err != nil {
				return err
			}
		}
		return nil
	case yaml.ScalarNode:
	default:
		return w.errAt(n, path, "not a value")
	}
	switch n.Tag {
	case "!!str", "!!bool":
		return nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil || i > maxExactJSONInt || i < -maxExactJSONInt {
			return w.errAt(n, path, "%s is beyond ±2^53, where JSON numbers read as float64 stop being exact", n.Value)
		}
		return nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxExactJSONInt {
			return w.errAt(n, path, "%s is not a finite number within ±2^53, so no JSON number equals it exactly", n.Value)
		}
		return nil
	case "!!null":
		return w.errAt(n, path, "null: no parameter value is matched against null; to require that a parameter is absent, use forbidden: true")
	case "!!timestamp":
		return w.errAt(n, path, "YAML reads %s as a timestamp, which no JSON value equals: quote it to mean the string", n.Value)
	}
	return w.errAt(n, path, "a YAML %s is not a JSON value", n.Tag)
}

// exportedZero reports whether every exported field of a struct is zero
// (unexported fields are the package's own bookkeeping).
func exportedZero(v reflect.Value) bool {
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() && !v.Field(i).IsZero() {
			return false
		}
	}
	return true
}

// valueWalk checks a Policy value for what survives decoding: non-nil
// empty slices (a Go program, or encoding/json, writing [] for a list it
// meant to fill), non-nil pointers to rules that set nothing, empty
// strings in lists, and equals/oneOf values no JSON value can equal. It
// returns the field path and the problem.
func valueWalk(v reflect.Value, path string) (string, error) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "", nil
		}
		if v.Elem().Kind() == reflect.Struct && exportedZero(v.Elem()) {
			return path, fmt.Errorf("sets nothing that is checked: leave it nil, or set at least one of its fields")
		}
		return valueWalk(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for _, sf := range yamlFields(t) {
			if f, err := valueWalk(v.Field(sf.index), joinPath(path, sf.name)); err != nil {
				return f, err
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return "", nil
		}
		if v.Len() == 0 {
			return path, fmt.Errorf("empty list, which checks nothing: leave it nil, or list at least one item")
		}
		for i := 0; i < v.Len(); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			e := v.Index(i)
			if e.Kind() == reflect.Interface {
				if f, err := jsonMatchable(e, p); err != nil {
					return f, err
				}
				continue
			}
			if e.Kind() == reflect.String && e.String() == "" {
				return p, fmt.Errorf("empty string")
			}
			if f, err := valueWalk(e, p); err != nil {
				return f, err
			}
		}
	case reflect.Interface:
		if v.IsNil() {
			return "", nil // not set
		}
		return jsonMatchable(v, path)
	}
	return "", nil
}

// jsonMatchable checks that a policy value can equal a parameter decoded
// from JSON (string, bool, float64, []any, map[string]any). It returns the
// path of the offending part.
func jsonMatchable(v reflect.Value, path string) (string, error) {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid, reflect.Interface:
		return path, fmt.Errorf("null: no parameter value is matched against null; to require that a parameter is absent, use Forbidden")
	case reflect.String, reflect.Bool:
		return "", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i := v.Int(); i > maxExactJSONInt || i < -maxExactJSONInt {
			return path, fmt.Errorf("%d is beyond ±2^53, where JSON numbers read as float64 stop being exact", i)
		}
		return "", nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() > maxExactJSONInt {
			return path, fmt.Errorf("%d is beyond 2^53, where JSON numbers read as float64 stop being exact", v.Uint())
		}
		return "", nil
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxExactJSONInt {
			return path, fmt.Errorf("%v is not a finite number within ±2^53, so no JSON number equals it exactly", f)
		}
		return "", nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return path, fmt.Errorf("%s is bytes, which no JSON value equals: use a string", v.Type())
		}
		for i := 0; i < v.Len(); i++ {
			if f, err := jsonMatchable(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return f, err
			}
		}
		return "", nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return path, fmt.Errorf("a map with %s keys can never equal a JSON object, whose keys are strings", v.Type().Key())
		}
		it := v.MapRange()
		for it.Next() {
			if f, err := jsonMatchable(it.Value(), joinPath(path, it.Key().String())); err != nil {
				return f, err
			}
		}
		return "", nil
	}
	return path, fmt.Errorf("a %s can never equal a JSON value", v.Type())
}

// jsonEqual compares a parameter (decoded from JSON: float64, string, bool,
// nil, []any, map[string]any) with a policy value (which jsonMatchable
// accepted: any integer or float kind, strings, bools, slices and
// string-keyed maps of them), numerically for numbers at every depth, so
// that `equals: [1, 2]` read from YAML as ints matches the JSON [1, 2].
func jsonEqual(got, want any) bool { return jsonEqualValue(got, reflect.ValueOf(want)) }

func jsonEqualValue(got any, w reflect.Value) bool {
	for w.Kind() == reflect.Interface && !w.IsNil() {
		w = w.Elem()
	}
	switch w.Kind() {
	case reflect.Invalid, reflect.Interface:
		return got == nil
	case reflect.String:
		s, ok := got.(string)
		return ok && s == w.String()
	case reflect.Bool:
		b, ok := got.(bool)
		return ok && b == w.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := toFloat(got)
		return ok && f == float64(w.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f, ok := toFloat(got)
		return ok && f == float64(w.Uint())
	case reflect.Float32, reflect.Float64:
		f, ok := toFloat(got)
		return ok && f == w.Float()
	case reflect.Slice, reflect.Array:
		g, ok := got.([]any)
		if !ok || len(g) != w.Len() {
			return false
		}
		for i := range g {
			if !jsonEqualValue(g[i], w.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		g, ok := got.(map[string]any)
		if !ok || len(g) != w.Len() || w.Type().Key().Kind() != reflect.String {
			return false
		}
		it := w.MapRange()
		for it.Next() {
			gv, ok := g[it.Key().String()]
			if !ok || !jsonEqualValue(gv, it.Value()) {
				return false
			}
		}
		return true
	}
	return false
}
