package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// schemaField is one field of the policy schema: its path with "[]" for
// list items (signers[].keys[].pem) and its Go type.
type schemaField struct {
	path string
	typ  reflect.Type
}

// schemaFields lists every field of the Policy schema by reflection, so
// that a field added later shows up here, and in the tests below, without
// anyone remembering to add it. dependencies.policy is a Policy: its fields
// are the top level's, so it is listed as one field.
func schemaFields() []schemaField {
	var out []schemaField
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			out = append(out, schemaField{path, f.Type})
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft == reflect.TypeFor[verify.Policy]() {
				continue
			}
			switch {
			case ft.Kind() == reflect.Struct:
				walk(ft, path)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), path+"[]")
			}
		}
	}
	walk(reflect.TypeFor[verify.Policy](), "")
	return out
}

// locate finds the first place in a decoded document where the path
// template exists and returns its concrete path (signers[0].keys[2].kms),
// the map holding it and its key.
func locate(tree any, tmpl string) (concrete string, parent map[string]any, key string, ok bool) {
	parts := strings.Split(tmpl, ".")
	var find func(node any, i int, prefix string) (string, map[string]any, string, bool)
	find = func(node any, i int, prefix string) (string, map[string]any, string, bool) {
		m, isMap := node.(map[string]any)
		if !isMap {
			return "", nil, "", false
		}
		name, list := strings.CutSuffix(parts[i], "[]")
		v, present := m[name]
		if !present {
			return "", nil, "", false
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		if i == len(parts)-1 {
			return p, m, name, true
		}
		if !list {
			return find(v, i+1, p)
		}
		items, _ := v.([]any)
		for j, item := range items {
			if c, pm, k, ok := find(item, i+1, fmt.Sprintf("%s[%d]", p, j)); ok {
				return c, pm, k, true
			}
		}
		return "", nil, "", false
	}
	return find(tree, 0, "")
}

func deepCopy(t testing.TB, v any) any {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// allExtensions is a policy identity with every Fulcio extension set.
func allExtensions() map[string]any {
	id := map[string]any{"issuer": "https://issuer.example.com", "subject": "ci@example.com"}
	for _, f := range (&verify.Identity{}).Extensions() {
		id[f.Name] = "v-" + f.Name
	}
	return id
}

func pemBlock(t testing.TB, s sign.Signer) string {
	t.Helper()
	b, err := sign.MarshalPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// maximalPolicy sets every field of the schema once (fields that exclude
// each other are set in different list items) and loads.
func maximalPolicy(t testing.TB, pem string) map[string]any {
	t.Helper()
	doc := map[string]any{
		"version":            1,
		"builders":           []any{map[string]any{"id": "https://ci.example.com/b", "versions": []any{"v1"}}},
		"buildTypes":         []any{"https://example.com/bt@v1"},
		"source":             map[string]any{"repository": "git+https://github.com/example/app", "refs": []any{"refs/heads/main"}},
		"requiredPredicates": []any{"https://slsa.dev/provenance/v1"},
		"maxAge":             "720h",
		"materials":          map[string]any{"requireImageDigests": true, "requireDigests": true},
		"parameters": []any{
			map[string]any{"name": "a.b", "required": true, "pattern": "x.*"},
			map[string]any{"name": "c", "forbidden": true},
			map[string]any{"name": "d", "equals": "x"},
			map[string]any{"name": "e", "oneOf": []any{"x", 2}},
		},
		"dependencies": map[string]any{"maxDepth": 2, "policy": map[string]any{
			"signers": []any{map[string]any{"artifacts": "**", "keys": []any{map[string]any{"pem": pem}}}},
		}},
		"signers": []any{map[string]any{
			"artifacts":        "**",
			"threshold":        1,
			"keys":             []any{map[string]any{"pem": pem}, map[string]any{"file": "k.pub"}, map[string]any{"kms": "test://k"}},
			"identities":       []any{map[string]any{"issuer": "https://issuer.example.com", "subject": "ci@example.com"}, map[string]any{"issuerRegexp": "https://issuer[.]example[.]com", "subjectRegexp": "ci@.*"}, allExtensions()},
			"bindToProvenance": []any{"builder", "source", "ref", "trigger"},
		}},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.ParsePolicy(b); err != nil {
		t.Fatalf("the maximal policy does not load: %v\n%s", err, b)
	}
	return doc
}

// emptyValues are the "present but says nothing" spellings of a field of
// type typ: null always; then [], {}, "", 0 or 0s by kind. false is not
// one (it is a value), and neither is "" for equals (a parameter can be
// required to equal the empty string).
func emptyValues(typ reflect.Type) map[string]any {
	out := map[string]any{"null": nil}
	if typ == reflect.TypeFor[verify.Duration]() {
		out["0s"] = "0s"
		return out
	}
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Slice:
		out["[]"] = []any{}
	case reflect.Struct:
		out["{}"] = map[string]any{}
	case reflect.String:
		out[`""`] = ""
	case reflect.Int:
		out["0"] = 0
	}
	return out
}

// Every field of the schema, written null or empty ([], {}, "", 0, 0s), in
// YAML or JSON, is a load error that names the field and its line. On main
// each of these loaded and checked nothing (or, for a few, failed with
// another message elsewhere).
func TestSchemaEveryFieldNullOrEmptyIsALoadError(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	base := maximalPolicy(t, pemBlock(t, key))
	n := 0
	for _, f := range schemaFields() {
		for label, v := range emptyValues(f.typ) {
			doc := deepCopy(t, base)
			concrete, parent, k, ok := locate(doc, f.path)
			if !ok {
				t.Fatalf("the maximal policy has no %s: add it", f.path)
			}
			parent[k] = v
			y, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			j, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			for format, data := range map[string][]byte{"yaml": y, "json": j} {
				n++
				_, err := verify.ParsePolicy(data)
				var pe *verify.PolicyError
				if !errors.As(err, &pe) || !errors.Is(err, verify.ErrPolicy) {
					t.Errorf("%s: %s (%s) loads: err = %v", concrete, label, format, err)
					continue
				}
				if pe.Field != concrete || pe.Line < 1 {
					t.Errorf("%s: %s (%s): error names field %q line %d: %v", concrete, label, format, pe.Field, pe.Line, err)
					continue
				}
				if format == "yaml" {
					lines := strings.Split(string(data), "\n")
					last := concrete[strings.LastIndexAny(concrete, ".]")+1:]
					if !strings.Contains(lines[pe.Line-1], last) && !strings.Contains(lines[pe.Line-1], "- ") {
						t.Errorf("%s: line %d is %q", concrete, pe.Line, lines[pe.Line-1])
					}
				}
			}
		}
	}
	t.Logf("%d documents refused", n)
}

// The same for policies built in Go, where a Go value can show it: a
// non-nil empty slice, or a non-nil pointer to a rule that sets nothing, is
// an error from Validate and NewEngine naming the field.
func TestSchemaGoValuesEmptyIsAnError(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	raw, _ := yaml.Marshal(maximalPolicy(t, pemBlock(t, key)))
	n := 0
	for _, f := range schemaFields() {
		kind := f.typ.Kind()
		if kind != reflect.Slice && kind != reflect.Pointer {
			continue
		}
		p, err := verify.ParsePolicy(raw)
		if err != nil {
			t.Fatal(err)
		}
		concrete, ok := setGo(reflect.ValueOf(p).Elem(), strings.Split(f.path, "."), "")
		if !ok {
			t.Fatalf("no %s in the maximal policy", f.path)
		}
		n++
		err = p.Validate()
		var pe *verify.PolicyError
		if !errors.As(err, &pe) || pe.Field != concrete {
			t.Errorf("%s empty in Go: err = %v", concrete, err)
		}
		if _, err := verify.NewEngine(context.Background(), p); !errors.Is(err, verify.ErrPolicy) {
			t.Errorf("%s empty in Go: NewEngine err = %v", concrete, err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d list and pointer fields", n)
	}
}

// setGo finds the field at the path template in a Policy value and sets it
// to a non-nil empty slice or a pointer to a zero struct.
func setGo(v reflect.Value, parts []string, prefix string) (string, bool) {
	name, list := strings.CutSuffix(parts[0], "[]")
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	for i := 0; i < v.NumField(); i++ {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if tag != name {
			continue
		}
		fv := v.Field(i)
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		if len(parts) == 1 {
			switch fv.Kind() {
			case reflect.Slice:
				fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
			case reflect.Pointer:
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			return p, true
		}
		if !list {
			return setGo(fv, parts[1:], p)
		}
		for j := 0; j < fv.Len(); j++ {
			if c, ok := setGo(fv.Index(j), parts[1:], fmt.Sprintf("%s[%d]", p, j)); ok {
				return c, true
			}
		}
	}
	return "", false
}

// mapFetcher serves attestations by "repo@sha256:hex".
type mapFetcher map[string][]*sign.Envelope

func (m mapFetcher) Fetch(_ context.Context, image string) ([]*sign.Attestation, error) {
	return attsOf(m[image]...), nil
}

// fakeBundle is the stand-in Sigstore bundle of fakeIdentities: a bundle
// whose key hint is the JSON of the identity it claims. The keyless
// package does the real matching (tested there); here the point is that
// the engine hands the rule's identities, every field of them, to the
// authenticator and obeys its verdict.
func fakeBundle(t *testing.T, claim verify.Identity, env *sign.Envelope) *sign.Attestation {
	t.Helper()
	hint, err := json.Marshal(claim)
	if err != nil {
		t.Fatal(err)
	}
	b := bundleOf(t, env)
	b.VerificationMaterial.PublicKey.Hint = string(hint)
	return &sign.Attestation{Envelope: env, Bundle: b}
}

type fakeIdentities []verify.Identity

func (ids fakeIdentities) Authenticate(_ context.Context, att *sign.Attestation, _ intoto.DigestSet) (*verify.Authenticated, error) {
	if att.Bundle == nil {
		return nil, errors.New("no bundle")
	}
	var claim verify.Identity
	if err := json.Unmarshal([]byte(att.Bundle.VerificationMaterial.PublicKey.Hint), &claim); err != nil {
		return nil, err
	}
	full := func(expr, s string) bool { return regexp.MustCompile(`^(?:` + expr + `)$`).MatchString(s) }
	for _, id := range ids {
		if id.Issuer != "" && id.Issuer != claim.Issuer || id.IssuerRegexp != "" && !full(id.IssuerRegexp, claim.Issuer) ||
			id.Subject != "" && id.Subject != claim.Subject || id.SubjectRegexp != "" && !full(id.SubjectRegexp, claim.Subject) {
			continue
		}
		ok, got := true, claim.Extensions()
		for i, f := range id.Extensions() {
			ok = ok && (f.Value == "" || f.Value == got[i].Value)
		}
		if ok {
			return &verify.Authenticated{Envelope: att.Bundle.DSSEEnvelope, Signers: []verify.Signer{{Identity: &claim}}}, nil
		}
	}
	return nil, errors.New("identity not trusted")
}

// enforceCase shows that a field is enforced: the pass policy admits the
// attestations, the fail policy (which sets the field) refuses them with
// want. Required parts of a rule (an ID, an issuer) cannot be left out, so
// for them the two policies differ in the field's value.
type enforceCase struct {
	pass, fail string // policy bodies; SIGNERS is replaced by the default signer rule
	art        string // artifact digest name; default "artifact"
	atts       func(t *testing.T) []*sign.Attestation
	fetch      mapFetcher
	want       error
}

// Every field of the schema can make an evaluation fail: for each, a
// policy with it refuses what the same policy without it (or with another
// value) admits. A field added to the schema without a case here fails
// this test.
func TestSchemaEveryFieldIsEnforced(t *testing.T) {
	ctx := context.Background()
	root, second, stranger := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519), genKey(t, sign.Ed25519)
	dir := t.TempDir()
	rootFile, strangerFile := filepath.Join(dir, "root.pub"), filepath.Join(dir, "stranger.pub")
	for path, s := range map[string]sign.Signer{rootFile: root, strangerFile: stranger} {
		if err := os.WriteFile(path, []byte(pemBlock(t, s)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pemOf := func(s sign.Signer) string {
		return "|\n          " + indent(pemBlock(t, s))
	}
	signers := func(rule string) string { return "signers:\n  - artifacts: \"**\"\n" + rule }
	keyRule := func(s sign.Signer) string { return signers("    keys:\n      - pem: " + pemOf(s) + "\n") }
	idRule := func(id string) string { return signers("    identities:\n      - " + id + "\n") }
	const goodID = "issuer: https://issuer.example.com\n        subject: ci@example.com"

	good := func(t *testing.T) []*sign.Attestation {
		return attsOf(envelope(t, build{}.statement(t), root))
	}
	signedBy := func(b build, s ...sign.Signer) func(t *testing.T) []*sign.Attestation {
		return func(t *testing.T) []*sign.Attestation {
			return attsOf(envelope(t, b.statement(t), s...))
		}
	}
	// The bundle claims ci@example.com at issuer.example.com, with every
	// Fulcio extension set to "v-" and its name.
	claim := verify.Identity{Issuer: "https://issuer.example.com", Subject: "ci@example.com"}
	claimExt := reflect.ValueOf(&claim).Elem()
	for _, f := range claim.Extensions() {
		claimExt.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, f.Name) }).SetString("v-" + f.Name)
	}
	bundled := func(t *testing.T) []*sign.Attestation {
		return []*sign.Attestation{fakeBundle(t, claim, envelope(t, build{}.statement(t), stranger))}
	}
	image := func(name string) intoto.ResourceDescriptor {
		return intoto.ResourceDescriptor{URI: "oci://registry.example.com/" + name, Digest: intoto.DigestSet{"sha256": digestOf(name)["sha256"]}}
	}
	at := func(name string) string {
		return "registry.example.com/" + name + "@sha256:" + digestOf(name)["sha256"]
	}
	src := intoto.ResourceDescriptor{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}
	// app's base image is attested (by root, from builderID); its own base
	// (grand) is not.
	chain := mapFetcher{}
	appOnBase := signedBy(build{subject: "app", materials: []intoto.ResourceDescriptor{src, image("base")}}, root)
	baseEnv := func() *sign.Envelope {
		return envelope(t, build{subject: "base", materials: []intoto.ResourceDescriptor{src, image("grand")}}.statement(t), root)
	}
	chain[at("base")] = []*sign.Envelope{baseEnv()}

	cases := map[string]enforceCase{
		"builders":            {pass: "", fail: "builders: [{id: https://other.example.com/b}]\n", want: verify.ErrBuilder},
		"builders[].id":       {pass: "builders: [{id: " + builderID + "}]\n", fail: "builders: [{id: https://other.example.com/b}]\n", want: verify.ErrBuilder},
		"builders[].versions": {pass: "builders: [{id: https://ci.example.com/builders/release, versions: [v1]}]\n", fail: "builders: [{id: https://ci.example.com/builders/release, versions: [v2]}]\n", want: verify.ErrBuilder},
		"buildTypes":          {pass: "", fail: "buildTypes: [https://example.com/buildtypes/other@v1]\n", want: verify.ErrBuildType},
		"source":              {pass: "", fail: "source: {repository: git+https://github.com/other/app}\n", want: verify.ErrSource},
		"source.repository":   {pass: "source: {repository: " + goodRepo + "}\n", fail: "source: {repository: git+https://github.com/other/app}\n", want: verify.ErrSource},
		"source.refs":         {pass: "source: {repository: " + goodRepo + "}\n", fail: "source: {repository: " + goodRepo + ", refs: [refs/heads/release]}\n", want: verify.ErrSource},
		"requiredPredicates":  {pass: "", fail: "requiredPredicates: [https://spdx.dev/Document]\n", want: verify.ErrMissingPredicate},
		"maxAge":              {pass: "", fail: "maxAge: 1h\n", want: verify.ErrTooOld},
		"materials": {pass: "", fail: "materials: {requireImageDigests: true}\n", want: verify.ErrMaterial,
			atts: signedBy(build{materials: []intoto.ResourceDescriptor{src, {URI: "oci://registry.example.com/base:latest", Digest: intoto.DigestSet{"sha512": strings.Repeat("d", 128)}}}}, root)},
		"materials.requireImageDigests": {pass: "materials: {requireImageDigests: false, requireDigests: true}\n", fail: "materials: {requireImageDigests: true}\n", want: verify.ErrMaterial,
			atts: signedBy(build{materials: []intoto.ResourceDescriptor{src, {URI: "oci://registry.example.com/base:latest", Digest: intoto.DigestSet{"sha512": strings.Repeat("d", 128)}}}}, root)},
		"materials.requireDigests": {pass: "materials: {requireImageDigests: true, requireDigests: false}\n", fail: "materials: {requireDigests: true}\n", want: verify.ErrMaterial,
			atts: signedBy(build{materials: []intoto.ResourceDescriptor{src, {URI: "https://example.com/tool", Digest: intoto.DigestSet{"md5": strings.Repeat("d", 32)}}}}, root)},
		"parameters":             {pass: "", fail: "parameters: [{name: target, equals: debug}]\n", want: verify.ErrParameter},
		"parameters[].name":      {pass: "parameters: [{name: target, equals: release}]\n", fail: "parameters: [{name: other, equals: release}]\n", want: verify.ErrParameter},
		"parameters[].required":  {pass: "parameters: [{name: absent, required: false, forbidden: true}]\n", fail: "parameters: [{name: absent, required: true}]\n", want: verify.ErrParameter},
		"parameters[].forbidden": {pass: "parameters: [{name: target, forbidden: false, equals: release}]\n", fail: "parameters: [{name: target, forbidden: true}]\n", want: verify.ErrParameter},
		"parameters[].equals":    {pass: "parameters: [{name: workflow, equals: {ref: refs/heads/main}}]\n", fail: "parameters: [{name: workflow, equals: {ref: refs/heads/dev}}]\n", want: verify.ErrParameter},
		"parameters[].oneOf":     {pass: "parameters: [{name: jobs, oneOf: [2, 4]}]\n", fail: "parameters: [{name: jobs, oneOf: [2, 8]}]\n", want: verify.ErrParameter},
		"parameters[].pattern":   {pass: "parameters: [{name: workflow.ref, pattern: refs/heads/.*}]\n", fail: "parameters: [{name: workflow.ref, pattern: refs/tags/.*}]\n", want: verify.ErrParameter},
		"dependencies": {pass: "", fail: "dependencies: {maxDepth: 1}\n", want: verify.ErrDependency,
			art: "app", atts: appOnBase, fetch: mapFetcher{}},
		"dependencies.maxDepth": {pass: "dependencies: {maxDepth: 1}\n", fail: "dependencies: {maxDepth: 2}\n", want: verify.ErrDependency,
			art: "app", atts: appOnBase, fetch: chain},
		"dependencies.policy": {pass: "dependencies: {maxDepth: 1}\n", want: verify.ErrDependency,
			fail: "dependencies:\n  maxDepth: 1\n  policy:\n    builders: [{id: https://other.example.com/b}]\n    " + strings.ReplaceAll(keyRule(root), "\n", "\n    ") + "\n",
			art:  "app", atts: appOnBase, fetch: chain},
		"signers":               {pass: "SIGNERS", fail: keyRule(stranger), want: verify.ErrNoAttestation},
		"signers[].artifacts":   {pass: "SIGNERS", fail: strings.Replace(keyRule(root), `"**"`, `"other/**"`, 1), want: verify.ErrNoTrustedSigners},
		"signers[].keys":        {pass: keyRule(root), fail: keyRule(stranger), want: verify.ErrNoAttestation},
		"signers[].keys[].pem":  {pass: keyRule(root), fail: keyRule(stranger), want: verify.ErrNoAttestation},
		"signers[].keys[].file": {pass: signers("    keys: [{file: " + rootFile + "}]\n"), fail: signers("    keys: [{file: " + strangerFile + "}]\n"), want: verify.ErrNoAttestation},
		"signers[].keys[].kms":  {pass: signers("    keys: [{kms: test://root}]\n"), fail: signers("    keys: [{kms: test://stranger}]\n"), want: verify.ErrNoAttestation},
		"signers[].threshold": {pass: signers("    keys:\n      - pem: " + pemOf(root) + "\n      - pem: " + pemOf(second) + "\n"),
			fail: signers("    threshold: 2\n    keys:\n      - pem: " + pemOf(root) + "\n      - pem: " + pemOf(second) + "\n"), want: verify.ErrNoAttestation},
		"signers[].identities":                 {pass: idRule(goodID), fail: idRule("issuer: https://other.example.com\n        subjectRegexp: .*"), atts: bundled, want: verify.ErrNoAttestation},
		"signers[].identities[].issuer":        {pass: idRule(goodID), fail: idRule("issuer: https://other.example.com\n        subject: ci@example.com"), atts: bundled, want: verify.ErrNoAttestation},
		"signers[].identities[].subject":       {pass: idRule(goodID), fail: idRule("issuer: https://issuer.example.com\n        subject: other@example.com"), atts: bundled, want: verify.ErrNoAttestation},
		"signers[].identities[].subjectRegexp": {pass: idRule("issuer: https://issuer.example.com\n        subjectRegexp: ci@.*"), fail: idRule("issuer: https://issuer.example.com\n        subjectRegexp: other@.*"), atts: bundled, want: verify.ErrNoAttestation},
		"signers[].identities[].issuerRegexp":  {pass: idRule("issuerRegexp: https://issuer[.]example[.]com\n        subject: ci@example.com"), fail: idRule("issuerRegexp: https://other[.].*\n        subject: ci@example.com"), atts: bundled, want: verify.ErrNoAttestation},
	}
	// The bundle's certificate claims another builder than the provenance's.
	cases["signers[].bindToProvenance"] = enforceCase{pass: idRule(goodID),
		fail: idRule(goodID) + "    bindToProvenance: [builder]\n", atts: bundled, want: verify.ErrBinding}
	// Every Fulcio extension of an identity: the claimed value passes,
	// another fails.
	for _, f := range claim.Extensions() {
		cases["signers[].identities[]."+f.Name] = enforceCase{
			pass: idRule(goodID + "\n        " + f.Name + ": " + f.Value), fail: idRule(goodID + "\n        " + f.Name + ": other"),
			atts: bundled, want: verify.ErrNoAttestation}
	}
	// version selects the schema; it is not a rule an attestation can fail.
	exempt := []string{"version"}

	resolver := verify.WithKeyResolver(func(_ context.Context, ref string) (sign.Verifier, error) {
		switch ref {
		case "test://root":
			return sign.VerifierFor(root)
		case "test://stranger":
			return sign.VerifierFor(stranger)
		}
		return nil, errors.New("unknown key")
	})
	identities := verify.WithIdentities(func(ids []verify.Identity, _ func() time.Time) (verify.Authenticator, error) {
		return fakeIdentities(ids), nil
	})
	load := func(t *testing.T, body string) (*verify.Policy, any) {
		t.Helper()
		if !regexp.MustCompile(`(?m)^signers:`).MatchString(body) && !strings.Contains(body, "SIGNERS") {
			body += "SIGNERS"
		}
		doc := "version: 1\n" + strings.Replace(body, "SIGNERS", keyRule(root), 1)
		p, err := verify.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		var tree any
		if err := yaml.Unmarshal([]byte(doc), &tree); err != nil {
			t.Fatal(err)
		}
		return p, tree
	}
	fields := schemaFields()
	for _, f := range fields {
		c, ok := cases[f.path]
		if !ok {
			if !slices.Contains(exempt, f.path) {
				t.Errorf("no enforcement case for %s: add one", f.path)
			}
			continue
		}
		delete(cases, f.path)
		t.Run(f.path, func(t *testing.T) {
			if c.atts == nil {
				c.atts = good
			}
			if c.art == "" {
				c.art = "artifact"
			}
			if c.fetch == nil {
				c.fetch = mapFetcher{}
			}
			art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf(c.art)}
			run := func(body string) (*verify.Report, error, any) {
				p, tree := load(t, body)
				eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }), verify.WithFetcher(c.fetch), resolver, identities)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := eng.Evaluate(ctx, art, c.atts(t))
				return rep, err, tree
			}
			if rep, err, _ := run(c.pass); err != nil {
				t.Fatalf("the policy without %s refuses: %v\n%s", f.path, err, rep)
			}
			rep, err, tree := run(c.fail)
			if _, _, _, ok := locate(tree, f.path); !ok {
				t.Fatalf("the failing policy does not set %s", f.path)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("with %s: err = %v, want %v\n%s", f.path, err, c.want, rep)
			}
		})
	}
	for path := range cases {
		t.Errorf("case %s names no field of the schema", path)
	}
}

// Load errors for the rest of the class: documents and values that YAML
// reads as something other than they show, values no JSON parameter can
// equal, rules that check nothing. Each loads on main.
func TestPolicyLoadMustEnforce(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	signers := "signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pemBlock(t, key)) + "\n"
	param := func(rule string) string { return "version: 1\nparameters:\n  - " + rule + "\n" + signers }
	cases := []struct {
		name, doc string
		field     string // "-": not checked
		line      int
	}{
		{"empty document", "", "", 0},
		{"comments only", "# nothing\n", "", 0},
		{"document marker only", "---\n", "", 2},
		{"null document", "null\n", "", 1},
		{"JSON null", "null", "", 1},
		{"JSON empty object", "{}", "", 1},
		{"a list", "[1]", "", 1},
		{"second document ignored by yaml.Unmarshal", "version: 1\n" + signers + "---\nbuilders: [{id: https://x.example.com/b}]\n", "", 9},
		{"empty second document", "version: 1\n" + signers + "---\n", "", 9},
		{"anchor and alias", "version: 1\nbuilders: &b [{id: https://x.example.com/b}]\nbuildTypes: *b\n" + signers, "builders", 2},
		{"merge key", "version: 1\nsource:\n  <<: {repository: git+https://github.com/a/b}\n" + signers, "source", 3},
		{"merge key as a value", "version: 1\nbuildTypes: [<<]\n" + signers, "buildTypes[0]", 2},
		{"!!str on a number", "version: !!str 1\n" + signers, "version", 1},
		{"!!binary", "version: 1\nbuildTypes: [!!binary aHR0cHM6Ly9leGFtcGxlLmNvbS94]\n" + signers, "buildTypes[0]", 2},
		{"custom tag", "version: 1\nmaxAge: !dur 1h\n" + signers, "maxAge", 2},
		{"a float where a string goes", "version: 1\nbuilders: [{id: https://ci.example.com/b, versions: [1.10]}]\n" + signers, "builders[0].versions[0]", 2},
		{"a number where a string goes", "version: 1\nsigners:\n  - artifacts: 123\n    keys: [{file: k.pub}]\n", "signers[0].artifacts", 3},
		{"a string where a bool goes", "version: 1\nmaterials: {requireDigests: \"true\"}\n" + signers, "materials.requireDigests", 2},
		{"materials all false", "version: 1\nmaterials: {requireImageDigests: false, requireDigests: false}\n" + signers, "materials", 2},
		{"maxDepth 0", "version: 1\ndependencies: {maxDepth: 0}\n" + signers, "dependencies.maxDepth", 2},
		{"maxAge 0h", "version: 1\nmaxAge: 0h\n" + signers, "maxAge", 2},
		{"maxAge 0", "version: 1\nmaxAge: \"0\"\n" + signers, "maxAge", 2},
		{"threshold 0", "version: 1\nsigners:\n  - artifacts: x\n    threshold: 0\n    keys: [{file: k.pub}]\n", "signers[0].threshold", 4},
		{"dependency policy null", "version: 1\ndependencies:\n  maxDepth: 1\n  policy:\n" + signers, "dependencies.policy", 4},
		{"dependency policy with an empty list", "version: 1\ndependencies:\n  policy:\n    buildTypes: []\n    signers: [{artifacts: x, keys: [{file: k.pub}]}]\n" + signers, "dependencies.policy.buildTypes", 4},
		{"unknown field inside a rule", "version: 1\nsource: {repository: git+https://github.com/a/b, ref: main}\n" + signers, "source", 2},
		{"name only", param("name: target"), "parameters[0]", 3},
		{"required false only", param("name: target\n    required: false"), "parameters[0]", 3},
		{"forbidden false only", param("name: target\n    forbidden: false"), "parameters[0]", 3},
		{"equals null", param("name: target\n    equals: null"), "parameters[0].equals", 4},
		{"equals empty", param("name: target\n    equals:"), "parameters[0].equals", 4},
		{"equals ~", param("name: target\n    equals: ~"), "parameters[0].equals", 4},
		{"oneOf empty", param("name: target\n    oneOf: []"), "parameters[0].oneOf", 4},
		{"oneOf with null", param("name: target\n    oneOf: [release, null]"), "parameters[0].oneOf[1]", 4},
		{"pattern empty", param("name: target\n    pattern: \"\""), "parameters[0].pattern", 4},
		{"equals a timestamp", param("name: date\n    equals: 2026-01-02"), "parameters[0].equals", 4},
		{"equals a timestamp inside a list", param("name: dates\n    oneOf: [[2026-01-02]]"), "parameters[0].oneOf[0][0]", 4},
		{"equals a map with an int key", param("name: m\n    equals: {1: one}"), "parameters[0].equals", 4},
		{"equals a map with a bool key", param("name: m\n    equals: {a: {true: x}}"), "parameters[0].equals.a", 4},
		{"equals NaN", param("name: n\n    equals: .nan"), "parameters[0].equals", 4},
		{"equals infinity", param("name: n\n    equals: -.inf"), "parameters[0].equals", 4},
		{"equals 2^53+1", param("name: n\n    equals: 9007199254740993"), "parameters[0].equals", 4},
		{"equals 1e20", param("name: n\n    equals: 1e20"), "parameters[0].equals", 4},
		{"equals !!binary", param("name: b\n    equals: !!binary aGVsbG8="), "parameters[0].equals", 4},
		{"equals an alias", "version: 1\nbuildTypes: [&x https://example.com/bt]\nparameters:\n  - name: a\n    equals: *x\n" + signers, "buildTypes[0]", 2},
		{"name with an empty segment", param("name: workflow..ref\n    required: true"), "parameters[0].name", 3},
		{"name with a trailing dot", param("name: workflow.\n    required: true"), "parameters[0].name", 3},
		{"name with a leading dot", param("name: .ref\n    required: true"), "parameters[0].name", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify.ParsePolicy([]byte(c.doc))
			var pe *verify.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, verify.ErrPolicy) {
				t.Fatalf("loads: err = %v\n%s", err, c.doc)
			}
			if c.field != "-" && pe.Field != c.field {
				t.Errorf("field = %q, want %q (%v)", pe.Field, c.field, err)
			}
			if c.line != 0 && pe.Line != c.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, c.line, err)
			}
		})
	}
}

// Explicit false is a value, "" and [] and {} are values equals can
// require, and they load and are enforced; numbers compare numerically at
// every depth (on main, equals: [1, 2] read from YAML as ints never matched
// the JSON [1, 2], read as float64s).
func TestPolicyValuesThatLoad(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.Ed25519)
	signers := "signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pemBlock(t, key)) + "\n"
	params := map[string]any{"target": "release", "empty": "", "list": []any{1, 2.5, "x"}, "obj": map[string]any{}, "arr": []any{},
		"nested": map[string]any{"n": []any{map[string]any{"k": 3}}}, "flag": false}
	env := envelope(t, build{params: params}.statement(t), key)
	for _, c := range []struct {
		rule string
		pass bool
	}{
		{"name: target\n    required: false\n    equals: release", true},
		{"name: target\n    forbidden: false\n    pattern: rel.*", true},
		{"name: empty\n    equals: \"\"", true},
		{"name: target\n    equals: \"\"", false},
		{"name: list\n    equals: [1, 2.5, x]", true},
		{"name: list\n    equals: [1, 2, x]", false},
		{"name: list\n    oneOf: [[1], [1, 2.5, x]]", true},
		{"name: obj\n    equals: {}", true},
		{"name: target\n    equals: {}", false},
		{"name: arr\n    equals: []", true},
		{"name: obj\n    equals: []", false},
		{"name: nested\n    equals: {n: [{k: 3}]}", true},
		{"name: nested\n    equals: {n: [{k: 3.0}]}", true},
		{"name: nested\n    equals: {n: [{k: 3, j: 1}]}", false},
		{"name: nested.n\n    equals: [{k: \"3\"}]", false},
		{"name: flag\n    equals: false", true},
		{"name: flag\n    equals: 0", false},
		{"name: jobs\n    equals: 9007199254740992", false},
	} {
		doc := "version: 1\nparameters:\n  - " + c.rule + "\n" + signers
		p, err := verify.ParsePolicy([]byte(doc))
		if err != nil {
			t.Errorf("%s: does not load: %v", c.rule, err)
			continue
		}
		eng, err := verify.NewEngine(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app", Digest: digestOf("artifact")}, attsOf(env))
		if (err == nil) != c.pass {
			t.Errorf("%q: err = %v, want pass %v\n%s", c.rule, err, c.pass, rep)
		}
	}
}

// Policies built in Go get the checks a Go value allows: a parameter rule
// with no constraint (a nil Equals is "not set", so Equals: nil alone
// checks nothing), values no JSON parameter can equal, a bad name, a
// negative MaxAge. On main each was accepted (and MaxAge < 0 silently
// dropped the age rule).
func TestPolicyGoBuiltChecks(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	base := func() *verify.Policy {
		return &verify.Policy{Version: 1, Signers: []verify.SignerRule{{Artifacts: "**", Keys: []verify.KeyRef{{PEM: pemBlock(t, key)}}}}}
	}
	with := func(f func(p *verify.Policy)) *verify.Policy { p := base(); f(p); return p }
	param := func(r verify.ParameterRule) *verify.Policy {
		return with(func(p *verify.Policy) { p.Parameters = []verify.ParameterRule{r} })
	}
	cases := []struct {
		name  string
		p     *verify.Policy
		field string
	}{
		{"Equals nil and nothing else", param(verify.ParameterRule{Name: "target", Equals: nil}), "parameters[0]"},
		{"OneOf with nil", param(verify.ParameterRule{Name: "a", OneOf: []any{"x", nil}}), "parameters[0].oneOf[1]"},
		{"Equals a time.Time", param(verify.ParameterRule{Name: "a", Equals: time.Now()}), "parameters[0].equals"},
		{"Equals bytes", param(verify.ParameterRule{Name: "a", Equals: []byte("x")}), "parameters[0].equals"},
		{"Equals a map with int keys", param(verify.ParameterRule{Name: "a", Equals: map[int]string{1: "x"}}), "parameters[0].equals"},
		{"Equals a map[any]any", param(verify.ParameterRule{Name: "a", Equals: map[any]any{"k": "v"}}), "parameters[0].equals"},
		{"Equals NaN", param(verify.ParameterRule{Name: "a", Equals: math.NaN()}), "parameters[0].equals"},
		{"Equals 2^60", param(verify.ParameterRule{Name: "a", Equals: int64(1) << 60}), "parameters[0].equals"},
		{"Equals a struct", param(verify.ParameterRule{Name: "a", Equals: struct{ A string }{"x"}}), "parameters[0].equals"},
		{"Equals a pointer", param(verify.ParameterRule{Name: "a", Equals: new(string)}), "parameters[0].equals"},
		{"nested nil", param(verify.ParameterRule{Name: "a", Equals: map[string]any{"k": []any{nil}}}), "parameters[0].equals.k[0]"},
		{"name with an empty segment", param(verify.ParameterRule{Name: "a..b", Required: true}), "parameters[0].name"},
		{"negative MaxAge", with(func(p *verify.Policy) { p.MaxAge = verify.Duration(-time.Hour) }), "maxAge"},
		{"empty string in a list", with(func(p *verify.Policy) { p.BuildTypes = []string{""} }), "buildTypes[0]"},
		{"dependencies that set nothing", with(func(p *verify.Policy) { p.Dependencies = &verify.DependencyRule{} }), "dependencies"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			var pe *verify.PolicyError
			if !errors.As(err, &pe) || pe.Field != c.field {
				t.Fatalf("err = %v, want a PolicyError on %s", err, c.field)
			}
			if _, err := verify.NewEngine(context.Background(), c.p); !errors.Is(err, verify.ErrPolicy) {
				t.Fatalf("NewEngine err = %v", err)
			}
		})
	}
	// Go values jsonEqual can compare are accepted and enforced.
	ok := param(verify.ParameterRule{Name: "workflow", Equals: map[string]string{"ref": "refs/heads/main"}})
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(context.Background(), ok)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := eng.Evaluate(context.Background(), intoto.ResourceDescriptor{Name: "app", Digest: digestOf("artifact")}, attsOf(envelope(t, build{}.statement(t), key))); err != nil {
		t.Fatalf("map[string]string equals: %v\n%s", err, rep)
	}
}

// A parameter rule added to the caller's Policy after NewEngine is not
// read: the engine holds its own validated copy. (On main the engine read
// the caller's Policy at evaluation time, and an uncompiled pattern or a
// rule with no constraint had to be made to fail closed there.)
func TestParameterRuleAddedAfterNewEngineIsNotRead(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.Ed25519)
	p := &verify.Policy{Version: 1, Signers: []verify.SignerRule{{Artifacts: "**", Keys: []verify.KeyRef{{PEM: pemBlock(t, key)}}}}}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	env := envelope(t, build{}.statement(t), key)
	for _, r := range []verify.ParameterRule{
		{Name: "target", Pattern: "debug"},
		{Name: "absent"},
		{Name: "absent", Required: true},
	} {
		p.Parameters = []verify.ParameterRule{r}
		if _, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app", Digest: digestOf("artifact")}, attsOf(env)); err != nil {
			t.Errorf("%+v added after NewEngine changed the verdict: %v", r, err)
		}
	}
}
