package verify_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// idFixture: a builder key, a trusted VSA verifier key, and a Go-built
// policy equivalent to the YAML document doc.
type idFixture struct {
	builder, verifier sign.Signer
	vk                sign.Verifier
	art               intoto.ResourceDescriptor
	prov              *sign.Envelope
}

func newIDFixture(t *testing.T) idFixture {
	t.Helper()
	fx := idFixture{builder: genKey(t, sign.ECDSAP256SHA256), verifier: genKey(t, sign.Ed25519)}
	fx.vk, _ = sign.VerifierFor(fx.verifier)
	fx.art = intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}
	// No image material: the dependency walk of TestEngineHoldsACopyOfThePolicy has nothing to fetch.
	src := []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}}
	fx.prov = envelope(t, build{materials: src}.statement(t), fx.builder)
	return fx
}

// goPolicy is the policy of yamlPolicy, built in Go.
func (fx idFixture) goPolicy(t *testing.T) *verify.Policy {
	return &verify.Policy{
		Version:    1,
		Builders:   []verify.BuilderRule{{ID: builderID}},
		Parameters: []verify.ParameterRule{{Name: "jobs", Equals: 4}, {Name: "workflow", Equals: map[string]any{"ref": "refs/heads/main"}}},
		Signers:    []verify.SignerRule{{Artifacts: "registry.example.com/**", Keys: []verify.KeyRef{{PEM: pubPEM(t, fx.builder)}}}},
	}
}

func (fx idFixture) yamlPolicy(t *testing.T) string {
	return "# the same policy, another spelling\nversion: 1\nbuilders:\n  - id: " + builderID +
		"\nparameters:\n  - name: jobs\n    equals: 4.0\n  - {name: workflow, equals: {ref: refs/heads/main}}" +
		"\nsigners:\n  - artifacts: \"registry.example.com/**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, fx.builder)) + "\n"
}

func (fx idFixture) engine(t *testing.T, p *verify.Policy, opts ...verify.EngineOption) *verify.Engine {
	t.Helper()
	e, err := verify.NewEngine(context.Background(), p, append(opts, verify.WithClock(func() time.Time { return now }))...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// vsa is a PASSED VSA by the trusted verifier, written by an engine of p.
func (fx idFixture) vsa(t *testing.T, p *verify.Policy) *sign.Envelope {
	t.Helper()
	e := fx.engine(t, p)
	rep, err := e.Evaluate(context.Background(), fx.art, attsOf(fx.prov))
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := e.VSA(rep, verify.VSAOptions{VerifierID: testVerifierID})
	if err != nil {
		t.Fatal(err)
	}
	return envelope(t, stmt, fx.verifier)
}

// admits reports whether an engine of p that trusts the verifier admits the
// artifact on the VSA alone.
func (fx idFixture) admits(t *testing.T, p *verify.Policy, vsa *sign.Envelope) bool {
	t.Helper()
	e := fx.engine(t, p, verify.WithTrustedVSA(testVerifierID, 24*time.Hour, fx.vk))
	_, err := e.Evaluate(context.Background(), fx.art, attsOf(vsa))
	return err == nil
}

func parse(t *testing.T, doc string) *verify.Policy {
	t.Helper()
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every policy an engine evaluates has an identity, the same for a file and
// for Go, and a trusted VSA must name it. On main a Go-built policy had no
// digest and its engine took a VSA for any policy, or for none: the cases
// "another policy", "changed after the VSA", "names no policy" and "key
// file replaced" were admitted there.
func TestVSAPolicyIdentity(t *testing.T) {
	fx := newIDFixture(t)
	goPol := fx.goPolicy(t)
	filePol := parse(t, fx.yamlPolicy(t))

	// The same policy, from Go or from a file in another spelling (a
	// comment, flow style, 4.0 for 4): one identity, and either's VSA
	// admits under the other.
	if g, f := fx.engine(t, goPol).PolicyDigest(), fx.engine(t, filePol).PolicyDigest(); g["sha256"] == "" || !reflect.DeepEqual(g, f) {
		t.Fatalf("identities differ: Go %v, file %v", g, f)
	}
	if !fx.admits(t, goPol, fx.vsa(t, filePol)) || !fx.admits(t, filePol, fx.vsa(t, goPol)) {
		t.Fatal("a VSA for the same policy is refused")
	}

	changed := fx.goPolicy(t)
	changed.MaxAge = verify.Duration(time.Hour)
	other := parse(t, fx.yamlPolicy(t)+"buildTypes: [\""+buildType+"\"]\n")
	noPolicy := func(t *testing.T, p *verify.Policy, edit func(pred map[string]any)) *sign.Envelope {
		e := fx.engine(t, p)
		rep, _ := e.Evaluate(context.Background(), fx.art, attsOf(fx.prov))
		stmt, err := e.VSA(rep, verify.VSAOptions{VerifierID: testVerifierID})
		if err != nil {
			t.Fatal(err)
		}
		return envelope(t, editPredicate(t, stmt, edit), fx.verifier)
	}
	for name, c := range map[string]struct {
		judge *verify.Policy
		vsa   *sign.Envelope
	}{
		"Go policy, VSA for another policy":            {goPol, fx.vsa(t, other)},
		"file policy, VSA for another policy":          {filePol, fx.vsa(t, other)},
		"Go policy changed after the VSA":              {changed, fx.vsa(t, goPol)},
		"Go policy, VSA names no policy":               {goPol, noPolicy(t, goPol, func(p map[string]any) { delete(p, "policy") })},
		"Go policy, VSA names a policy without digest": {goPol, noPolicy(t, goPol, func(p map[string]any) { p["policy"] = map[string]any{"uri": "https://example.com/p"} })},
		"Go policy, VSA names an empty digest":         {goPol, noPolicy(t, goPol, func(p map[string]any) { p["policy"] = map[string]any{"digest": map[string]any{"sha256": ""}} })},
		"file policy, VSA names no policy":             {filePol, noPolicy(t, filePol, func(p map[string]any) { delete(p, "policy") })},
		"VSA names the file's bytes, not the identity": {filePol, noPolicy(t, filePol, func(p map[string]any) {
			p["policy"] = map[string]any{"digest": map[string]any{"sha256": sha256Hex(fx.yamlPolicy(t))}}
		})},
		"VSA names the identity in uppercase": {goPol, noPolicy(t, goPol, func(p map[string]any) {
			d := p["policy"].(map[string]any)["digest"].(map[string]any)
			d["sha256"] = strings.ToUpper(d["sha256"].(string))
		})},
		"VSA names the identity under another algorithm": {goPol, noPolicy(t, goPol, func(p map[string]any) {
			d := p["policy"].(map[string]any)["digest"].(map[string]any)
			d["sha512"] = d["sha256"]
			delete(d, "sha256")
		})},
	} {
		t.Run(name, func(t *testing.T) {
			if fx.admits(t, c.judge, c.vsa) {
				t.Fatal("admitted")
			}
		})
	}
}

// A key file replaced beside an unchanged policy file changes what the
// policy trusts, so it changes the identity: a VSA issued under the old key
// is refused. On main the identity was the policy file's bytes, which did
// not change.
func TestVSAPolicyIdentityKeyFile(t *testing.T) {
	fx := newIDFixture(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "builder.pub")
	if err := os.WriteFile(keyFile, []byte(pubPEM(t, fx.builder)), 0o600); err != nil {
		t.Fatal(err)
	}
	polFile := filepath.Join(dir, "policy.yaml")
	doc := "version: 1\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - file: builder.pub\n"
	if err := os.WriteFile(polFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func() *verify.Policy {
		p, err := verify.LoadPolicyFile(polFile)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := load()
	vsa := fx.vsa(t, before)
	// The same key inline is the same policy.
	inline := parse(t, "version: 1\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          "+indent(pubPEM(t, fx.builder))+"\n")
	if !fx.admits(t, inline, vsa) {
		t.Fatal("the same key inline: VSA refused")
	}
	if err := os.WriteFile(keyFile, []byte(pubPEM(t, genKey(t, sign.ECDSAP256SHA256))), 0o600); err != nil {
		t.Fatal(err)
	}
	after := load()
	if fx.admits(t, after, vsa) {
		t.Fatal("a VSA issued before the key file was replaced is admitted")
	}
}

// Each part of a policy is part of its identity: changing any one gives
// another digest. (The fields' enforcement is TestEveryFieldCanFail's.)
func TestPolicyIdentityCoversEveryRule(t *testing.T) {
	fx := newIDFixture(t)
	base := func() *verify.Policy {
		p := fx.goPolicy(t)
		p.BuildTypes = []string{buildType}
		p.Source = &verify.SourceRule{Repository: goodRepo, Refs: []string{"refs/heads/main"}}
		p.RequiredPredicates = []string{"https://slsa.dev/provenance/v1"}
		p.MaxAge = verify.Duration(time.Hour)
		p.Signers = append(p.Signers, verify.SignerRule{Artifacts: "other/*", Keys: []verify.KeyRef{{PEM: pubPEM(t, fx.verifier)}}})
		return p
	}
	edits := map[string]func(p *verify.Policy){
		"builder id":        func(p *verify.Policy) { p.Builders[0].ID += "x" },
		"builder versions":  func(p *verify.Policy) { p.Builders[0].Versions = []string{"v1"} },
		"build type":        func(p *verify.Policy) { p.BuildTypes[0] += "x" },
		"source repository": func(p *verify.Policy) { p.Source.Repository += "x" },
		"source refs":       func(p *verify.Policy) { p.Source.Refs[0] = "refs/heads/dev" },
		"predicates":        func(p *verify.Policy) { p.RequiredPredicates[0] += "x" },
		"maxAge":            func(p *verify.Policy) { p.MaxAge++ },
		"materials":         func(p *verify.Policy) { p.Materials.RequireDigests = true },
		"parameter value":   func(p *verify.Policy) { p.Parameters[0].Equals = 5 },
		"parameter nested":  func(p *verify.Policy) { p.Parameters[1].Equals = map[string]any{"ref": "refs/heads/dev"} },
		"parameter kind":    func(p *verify.Policy) { p.Parameters[0].Equals = "4" },
		"parameter oneOf":   func(p *verify.Policy) { p.Parameters[0].Equals, p.Parameters[0].OneOf = nil, []any{4} },
		"parameter name":    func(p *verify.Policy) { p.Parameters[0].Name = "jobz" },
		"dependencies":      func(p *verify.Policy) { p.Dependencies = &verify.DependencyRule{MaxDepth: 2} },
		"signer pattern":    func(p *verify.Policy) { p.Signers[0].Artifacts = "registry.example.com/*" },
		"signer key":        func(p *verify.Policy) { p.Signers[0].Keys[0].PEM = pubPEM(t, genKey(t, sign.ECDSAP256SHA256)) },
		"threshold":         func(p *verify.Policy) { p.Signers[0].Threshold = 1 },
		"second rule's key": func(p *verify.Policy) { p.Signers[1].Keys[0].PEM = pubPEM(t, fx.builder) },
	}
	fetch := verify.WithFetcher(nopFetcher{})
	ref := fx.engine(t, base(), fetch).PolicyDigest()
	seen := map[string]string{ref["sha256"]: "base"}
	for name, edit := range edits {
		p := base()
		edit(p)
		d := fx.engine(t, p, fetch).PolicyDigest()["sha256"]
		if prev, dup := seen[d]; dup {
			t.Errorf("%s: same identity as %s", name, prev)
		}
		seen[d] = name
	}
}

type nopFetcher struct{}

func (nopFetcher) Fetch(context.Context, string) ([]*sign.Attestation, error) { return nil, nil }

// scribble overwrites, in place, every string, number and bool reachable
// from v (through pointers, slices, maps and interfaces), as a caller
// reusing its Policy value would.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			if v.Kind() == reflect.Interface && v.Elem().Kind() != reflect.Map && v.Elem().Kind() != reflect.Slice && v.Elem().Kind() != reflect.Pointer {
				if v.CanSet() {
					v.Set(reflect.ValueOf("scribbled"))
				}
				return
			}
			scribble(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				scribble(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if e.Kind() == reflect.Interface && (e.Elem().Kind() == reflect.Map || e.Elem().Kind() == reflect.Slice) {
				scribble(e.Elem()) // shares the map or slice's storage
				continue
			}
			v.SetMapIndex(k, reflect.ValueOf("scribbled"))
		}
	case reflect.String:
		v.SetString(v.String() + "-scribbled")
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	}
}

// The engine holds a deep copy of its policy: overwriting every field,
// list item and parameter value of the caller's Policy after NewEngine, even
// while evaluations run (go test -race), changes neither the verdict nor
// the identity. On main the engine read the caller's Policy: the verdict
// turned to a failure (builder, parameters), and -race reported the writes.
func TestEngineHoldsACopyOfThePolicy(t *testing.T) {
	fx := newIDFixture(t)
	p := fx.goPolicy(t)
	p.Parameters = append(p.Parameters, verify.ParameterRule{Name: "target", OneOf: []any{"release", []any{"x"}}}, verify.ParameterRule{Name: "debug", Forbidden: true})
	p.Source = &verify.SourceRule{Repository: goodRepo, Refs: []string{"refs/heads/main"}}
	p.Dependencies = &verify.DependencyRule{Policy: fx.goPolicy(t)}
	p.Dependencies.Policy.Version = 0
	e := fx.engine(t, p, verify.WithFetcher(nopFetcher{}))
	id := e.PolicyDigest()
	evaluate := func() error {
		_, err := e.Evaluate(context.Background(), fx.art, attsOf(fx.prov))
		return err
	}
	if err := evaluate(); err != nil {
		t.Fatalf("before: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := evaluate(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	scribble(reflect.ValueOf(p))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("during the caller's writes: %v", err)
	}
	if p.Builders[0].ID == builderID || p.Parameters[2].OneOf[0] == "release" {
		t.Fatal("test premise: the policy was not overwritten")
	}
	if err := evaluate(); err != nil {
		t.Fatalf("after: %v", err)
	}
	if !reflect.DeepEqual(id, e.PolicyDigest()) {
		t.Fatalf("identity changed: %v, then %v", id, e.PolicyDigest())
	}
}

// sha256Hex is the SHA-256 of a policy document's bytes, in hex: the
// identity VSAs used to name.
func sha256Hex[T string | []byte](doc T) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}
