package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"maps"
	"reflect"
	"slices"

	"github.com/slsakit/slsakit/sign"
)

// policyIdentityDomain separates the hash of a policy's identity from any
// other SHA-256 (a file's bytes among them): a policy file whose bytes
// happen to be the canonical form must not share its identity by accident.
const policyIdentityDomain = "slsakit.dev/policy-identity/v1\n"

// clone returns a deep copy of p: NewEngine holds the copy, so that a
// caller who changes (or keeps building) its Policy after NewEngine, or
// from another goroutine, changes nothing the engine reads. Every slice,
// map and pointer is copied; Equals and OneOf values are copied with
// their Go types kept, so that validate judges the copy exactly as it
// would the original.
func (p *Policy) clone() *Policy {
	if p == nil {
		return nil
	}
	c := *p
	c.Builders = slices.Clone(p.Builders)
	for i := range c.Builders {
		c.Builders[i].Versions = slices.Clone(c.Builders[i].Versions)
	}
	c.BuildTypes = slices.Clone(p.BuildTypes)
	if p.Source != nil {
		s := *p.Source
		s.Refs = slices.Clone(s.Refs)
		c.Source = &s
	}
	c.RequiredPredicates = slices.Clone(p.RequiredPredicates)
	c.Parameters = slices.Clone(p.Parameters)
	for i := range c.Parameters {
		r := &c.Parameters[i]
		r.Equals = cloneAny(r.Equals)
		if r.OneOf != nil {
			r.OneOf = make([]any, len(p.Parameters[i].OneOf))
			for j, o := range p.Parameters[i].OneOf {
				r.OneOf[j] = cloneAny(o)
			}
		}
	}
	if p.Dependencies != nil {
		d := *p.Dependencies
		d.Policy = d.Policy.clone()
		c.Dependencies = &d
	}
	c.Signers = slices.Clone(p.Signers)
	for i := range c.Signers {
		c.Signers[i].Keys = slices.Clone(c.Signers[i].Keys)
		c.Signers[i].Identities = slices.Clone(c.Signers[i].Identities)
		c.Signers[i].BindToProvenance = slices.Clone(c.Signers[i].BindToProvenance)
	}
	c.lines = maps.Clone(p.lines)
	return &c
}

// cloneAny deep-copies a parameter value, keeping its Go type.
func cloneAny(v any) any {
	if v == nil {
		return nil
	}
	return cloneValue(reflect.ValueOf(v)).Interface()
}

func cloneValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(cloneValue(v.Elem()))
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(cloneValue(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(cloneValue(v.Index(i)))
		}
		return c
	case reflect.Array:
		c := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(cloneValue(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			c.SetMapIndex(it.Key(), cloneValue(it.Value()))
		}
		return c
	}
	// Scalars are values. Structs (and whatever else) are refused by
	// validate as parameter values, so a shallow copy is enough to judge
	// them.
	return v
}

// identity returns the policy's identity: the SHA-256 of a canonical JSON
// form of what the policy enforces, whether it was read from a file or
// built in Go. keys[i][j] is the key loaded for Signers[i].Keys[j]; each
// KeyRef is replaced by that key's public key (PEM of its PKIX DER), so
// that replacing a key file, which changes what the policy trusts without
// changing the policy's bytes, changes the identity, and the same key
// given inline, as a file or through KMS counts once. dep is the identity
// form of the dependency policy, if any. Formatting, comments, key order
// and the spelling of numbers (1, 1.0) do not count.
func (p *Policy) identity(keys [][]sign.Verifier, dep *Policy) (*Policy, string, error) {
	c := p.clone()
	for i := range c.Signers {
		for j := range c.Signers[i].Keys {
			if i >= len(keys) || j >= len(keys[i]) {
				continue
			}
			// A rotated key is every version it trusts, newest first:
			// enabling or disabling a version changes what is trusted.
			versions := []sign.Verifier{keys[i][j]}
			if vv, ok := keys[i][j].(sign.VersionedVerifier); ok {
				versions = vv.Versions()
			}
			var pems []byte
			for _, v := range versions {
				der, err := x509.MarshalPKIXPublicKey(v.Public())
				if err != nil {
					// A KMS verifier that cannot show its key is named by
					// its reference: still an identity, only a coarser one.
					pems = nil
					break
				}
				pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
			}
			if pems != nil {
				c.Signers[i].Keys[j] = KeyRef{PEM: string(pems)}
			}
		}
	}
	for i := range c.Signers {
		// A set: the order it is written in changes nothing it checks.
		slices.Sort(c.Signers[i].BindToProvenance)
	}
	for i := range c.Parameters {
		r := &c.Parameters[i]
		if r.Equals != nil {
			r.Equals = jsonForm(reflect.ValueOf(r.Equals))
		}
		for j, o := range r.OneOf {
			r.OneOf[j] = jsonForm(reflect.ValueOf(o))
		}
	}
	if c.Dependencies != nil && dep != nil {
		c.Dependencies.Policy = dep
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	h.Write([]byte(policyIdentityDomain))
	h.Write(b)
	return c, hex.EncodeToString(h.Sum(nil)), nil
}

// jsonForm turns a parameter value (one that validate accepted) into the
// plain JSON types, numbers as float64 (exact: validate bounds them to
// ±2^53), so that YAML's int 1, Go's int64(1) and float64(1) hash alike
// and a Go type's own MarshalJSON cannot make two values hash alike.
func jsonForm(v reflect.Value) any {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonForm(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[it.Key().String()] = jsonForm(it.Value())
		}
		return out
	}
	return nil
}
