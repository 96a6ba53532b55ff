package verify_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

var (
	buildTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	now       = buildTime.Add(48 * time.Hour)
	pinned    = "oci://registry.example.com/base"
	goodRepo  = "git+https://github.com/example/app"
	commit    = strings.Repeat("c", 40)
)

// build describes a provenance to record; the zero value is a good build.
type build struct {
	builder   string
	buildType string
	materials []intoto.ResourceDescriptor
	params    map[string]any
	internal  map[string]any
	finished  time.Time
	subject   string
}

func (b build) statement(t *testing.T) []byte {
	t.Helper()
	if b.builder == "" {
		b.builder = builderID
	}
	if b.buildType == "" {
		b.buildType = buildType
	}
	if b.materials == nil {
		b.materials = []intoto.ResourceDescriptor{
			{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}},
			{URI: pinned, Digest: intoto.DigestSet{"sha256": strings.Repeat("b", 64)}},
		}
	}
	if b.params == nil {
		b.params = map[string]any{"target": "release", "workflow": map[string]any{"ref": "refs/heads/main"}, "jobs": 4}
	}
	if b.finished.IsZero() {
		b.finished = buildTime
	}
	if b.subject == "" {
		b.subject = "artifact"
	}
	clock := b.finished
	r := provenance.NewRecorder(provenance.Builder{ID: b.builder}, b.buildType, provenance.WithClock(func() time.Time { return clock }))
	r.Start()
	for k, v := range b.params {
		if err := r.SetExternalParameter(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range b.internal {
		if err := r.SetInternalParameter(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddMaterial(b.materials...); err != nil {
		t.Fatal(err)
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf(b.subject)}); err != nil {
		t.Fatal(err)
	}
	r.Finish()
	out, err := r.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// envelope signs stmt as it is, as an attacker holding a trusted key could:
// through the generic DSSE primitive, not SignStatement, which refuses the
// malformed statements these tests present to the verifier.
func envelope(t *testing.T, stmt []byte, signers ...sign.Signer) *sign.Envelope {
	t.Helper()
	env, err := sign.SignEnvelope(context.Background(), sign.PayloadTypeInToto, stmt, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func pubPEM(t *testing.T, s sign.Signer) string {
	t.Helper()
	b, err := sign.MarshalPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func indent(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n          ") }

const basePolicy = `
version: 1
builders:
  - id: https://ci.example.com/builders/release@v1
buildTypes: [https://example.com/buildtypes/make@v1]
source:
  repository: git+https://github.com/example/app
  refs: [refs/heads/main, refs/tags/v*]
maxAge: 720h
materials:
  requireImageDigests: true
parameters:
  - name: target
    equals: release
  - name: debug
    forbidden: true
signers:
  - artifacts: "registry.example.com/**"
    keys:
      - pem: |
          ROOTKEY
  - artifacts: "registry.example.com/sig-storage/*"
    keys:
      - pem: |
          STORAGEKEY
`

func TestPolicyTable(t *testing.T) {
	ctx := context.Background()
	root := genKey(t, sign.ECDSAP256SHA256)
	storage := genKey(t, sign.Ed25519)
	stranger := genKey(t, sign.ECDSAP256SHA256)
	basePol := strings.NewReplacer("ROOTKEY", indent(pubPEM(t, root)), "STORAGEKEY", indent(pubPEM(t, storage))).Replace(basePolicy)

	mat := func(extra ...intoto.ResourceDescriptor) []intoto.ResourceDescriptor {
		return append([]intoto.ResourceDescriptor{
			{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}},
		}, extra...)
	}
	sha := intoto.DigestSet{"sha256": strings.Repeat("b", 64)}
	type tc struct {
		name   string
		policy func(string) string // edits the base policy
		art    string              // artifact name; default registry.example.com/app
		envs   func(t *testing.T) []*sign.Envelope
		want   error // nil: passes
	}
	one := func(b build, s ...sign.Signer) func(t *testing.T) []*sign.Envelope {
		return func(t *testing.T) []*sign.Envelope { return []*sign.Envelope{envelope(t, b.statement(t), s...)} }
	}
	same := func(p string) string { return p }
	repl := func(old, new string) func(string) string {
		return func(p string) string {
			if !strings.Contains(p, old) {
				panic("policy edit does not apply: " + old)
			}
			return strings.Replace(p, old, new, 1)
		}
	}
	cases := []tc{
		{name: "good build passes", policy: same, envs: one(build{}, root)},
		{name: "tag ref allowed by pattern", policy: same, envs: one(build{materials: mat(intoto.ResourceDescriptor{URI: goodRepo + "@refs/tags/v1.2.3", Digest: intoto.DigestSet{"gitCommit": commit}})}, root)},
		{name: "unsigned: no envelopes", policy: same, envs: func(*testing.T) []*sign.Envelope { return nil }, want: verify.ErrNoAttestation},
		{name: "signed by a stranger", policy: same, envs: one(build{}, stranger), want: verify.ErrNoAttestation},
		{name: "attestation for another artifact", policy: same, envs: one(build{subject: "other"}, root), want: verify.ErrNoAttestation},
		{name: "wrong builder", policy: same, envs: one(build{builder: "https://ci.evil.com/builders/release@v1"}, root), want: verify.ErrBuilder},
		{name: "builder prefix trick", policy: same, envs: one(build{builder: builderID + "/../evil"}, root), want: verify.ErrBuilder},
		{name: "builder case difference", policy: same, envs: one(build{builder: strings.Replace(builderID, "ci.example", "CI.example", 1)}, root), want: verify.ErrBuilder},
		{name: "builder trailing slash", policy: same, envs: one(build{builder: builderID + "/"}, root), want: verify.ErrBuilder},
		{name: "builder version pattern matches", policy: repl("  - id: https://ci.example.com/builders/release@v1", "  - id: https://ci.example.com/builders/release\n    versions: [v1, v1.*]"), envs: one(build{builder: "https://ci.example.com/builders/release@v1.4"}, root)},
		{name: "builder version pattern rejects v2", policy: repl("  - id: https://ci.example.com/builders/release@v1", "  - id: https://ci.example.com/builders/release\n    versions: [v1, v1.*]"), envs: one(build{builder: "https://ci.example.com/builders/release@v2"}, root), want: verify.ErrBuilder},
		{name: "builder version pattern: no version given", policy: repl("  - id: https://ci.example.com/builders/release@v1", "  - id: https://ci.example.com/builders/release\n    versions: [v1]"), envs: one(build{builder: "https://ci.example.com/builders/release"}, root), want: verify.ErrBuilder},
		{name: "wrong build type", policy: same, envs: one(build{buildType: "https://example.com/buildtypes/make@v2"}, root), want: verify.ErrBuildType},
		{name: "source from another repo", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: "git+https://github.com/evil/app@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "source repo prefix trick", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo + "-fork@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "source host suffix trick", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: "git+https://github.com.evil.com/example/app@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "source repo case difference", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: "git+https://github.com/Example/app@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "ref that only looks like main", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/heads/main-hotfix", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "branch named like a tag", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/heads/refs/tags/v1", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "tag pattern does not cross slashes", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/tags/v1/../../heads/dev", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "source without commit digest", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"sha256": strings.Repeat("a", 64)}}}}, root), want: verify.ErrSource},
		{name: "source without ref when refs required", policy: same, envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo, Digest: intoto.DigestSet{"gitCommit": commit}}}}, root), want: verify.ErrSource},
		{name: "ref from externalParameters.workflow", policy: same, envs: one(build{
			materials: []intoto.ResourceDescriptor{{URI: goodRepo, Digest: intoto.DigestSet{"gitCommit": commit}}},
			params:    map[string]any{"target": "release", "workflow": map[string]any{"repository": "https://github.com/example/app", "ref": "refs/heads/main"}},
		}, root)},
		{name: "workflow ref that is not allowed", policy: same, envs: one(build{
			materials: []intoto.ResourceDescriptor{{URI: goodRepo, Digest: intoto.DigestSet{"gitCommit": commit}}},
			params:    map[string]any{"target": "release", "workflow": map[string]any{"repository": "https://github.com/example/app", "ref": "refs/heads/dev"}},
		}, root), want: verify.ErrSource},
		{name: "workflow ref of another repository does not apply", policy: same, envs: one(build{
			materials: []intoto.ResourceDescriptor{{URI: goodRepo, Digest: intoto.DigestSet{"gitCommit": commit}}},
			params:    map[string]any{"target": "release", "workflow": map[string]any{"repository": "https://github.com/evil/app", "ref": "refs/heads/main"}},
		}, root), want: verify.ErrSource},
		{name: "workflow ref without a pinned commit", policy: same, envs: one(build{
			materials: []intoto.ResourceDescriptor{{URI: goodRepo, Digest: intoto.DigestSet{"sha256": strings.Repeat("a", 64)}}},
			params:    map[string]any{"target": "release", "workflow": map[string]any{"repository": "https://github.com/example/app", "ref": "refs/heads/main"}},
		}, root), want: verify.ErrSource},
		{name: "source any ref when policy names none", policy: repl("  refs: [refs/heads/main, refs/tags/v*]\n", ""), envs: one(build{materials: []intoto.ResourceDescriptor{{URI: goodRepo + "@refs/heads/dev", Digest: intoto.DigestSet{"gitCommit": commit}}}}, root)},
		{name: "too old", policy: same, envs: one(build{finished: now.Add(-31 * 24 * time.Hour)}, root), want: verify.ErrTooOld},
		{name: "just inside max age", policy: same, envs: one(build{finished: now.Add(-720*time.Hour + time.Second)}, root)},
		{name: "unpinned image hidden among pinned", policy: same, envs: one(build{materials: mat(
			intoto.ResourceDescriptor{URI: "oci://registry.example.com/a", Digest: sha},
			intoto.ResourceDescriptor{URI: "oci://registry.example.com/b", Digest: intoto.DigestSet{"sha512": strings.Repeat("d", 128)}},
			intoto.ResourceDescriptor{URI: "oci://registry.example.com/c", Digest: sha},
		)}, root), want: verify.ErrMaterial},
		{name: "docker purl without digest", policy: same, envs: one(build{materials: mat(intoto.ResourceDescriptor{URI: "pkg:docker/golang@1.25", Digest: intoto.DigestSet{"gitCommit": commit}})}, root), want: verify.ErrMaterial},
		{name: "non-image material without sha256 fine for image rule", policy: same, envs: one(build{materials: mat(intoto.ResourceDescriptor{URI: "https://example.com/tool", Digest: intoto.DigestSet{"sha512": strings.Repeat("d", 128)}})}, root)},
		{name: "requireDigests rejects md5-only material", policy: repl("  requireImageDigests: true", "  requireDigests: true"), envs: one(build{materials: mat(intoto.ResourceDescriptor{URI: "https://example.com/tool", Digest: intoto.DigestSet{"md5": strings.Repeat("d", 32)}})}, root), want: verify.ErrMaterial},
		{name: "parameter wrong value", policy: same, envs: one(build{params: map[string]any{"target": "debug"}}, root), want: verify.ErrParameter},
		{name: "parameter missing", policy: same, envs: one(build{params: map[string]any{"other": "x"}}, root), want: verify.ErrParameter},
		{name: "parameter case difference", policy: same, envs: one(build{params: map[string]any{"target": "Release"}}, root), want: verify.ErrParameter},
		{name: "forbidden parameter present", policy: same, envs: one(build{params: map[string]any{"target": "release", "debug": false}}, root), want: verify.ErrParameter},
		{name: "nested parameter pattern", policy: repl("  - name: debug\n", "  - name: workflow.ref\n    pattern: refs/heads/(main|release-.*)\n  - name: debug\n"), envs: one(build{}, root)},
		{name: "nested parameter pattern is anchored", policy: repl("  - name: debug\n", "  - name: workflow.ref\n    pattern: refs/heads/main\n  - name: debug\n"), envs: one(build{params: map[string]any{"target": "release", "workflow": map[string]any{"ref": "refs/heads/main-evil"}}}, root), want: verify.ErrParameter},
		{name: "numeric parameter equals", policy: repl("  - name: debug\n", "  - name: jobs\n    equals: 4\n  - name: debug\n"), envs: one(build{}, root)},
		{name: "oneOf parameter", policy: repl("    equals: release", "    oneOf: [release, staging]"), envs: one(build{params: map[string]any{"target": "staging"}}, root)},
		{name: "oneOf parameter rejects", policy: repl("    equals: release", "    oneOf: [release, staging]"), envs: one(build{params: map[string]any{"target": "prod"}}, root), want: verify.ErrParameter},
		{name: "subproject signs its own artifact", policy: same, art: "registry.example.com/sig-storage/csi", envs: one(build{}, storage)},
		{name: "root key cannot sign for subproject", policy: same, art: "registry.example.com/sig-storage/csi", envs: one(build{}, root), want: verify.ErrNoAttestation},
		{name: "subproject cannot widen to sibling", policy: same, art: "registry.example.com/sig-network/dns", envs: one(build{}, storage), want: verify.ErrNoAttestation},
		{name: "subproject * does not cross /", policy: same, art: "registry.example.com/sig-storage/csi/driver", envs: one(build{}, storage), want: verify.ErrNoAttestation},
		{name: "artifact outside every rule", policy: same, art: "evil.example.com/app", envs: one(build{}, root), want: verify.ErrNoTrustedSigners},
		{name: "registry prefix trick", policy: same, art: "registry.example.com.evil.io/app", envs: one(build{}, root), want: verify.ErrNoTrustedSigners},
		{name: "required SBOM missing", policy: repl("maxAge:", "requiredPredicates: [https://slsa.dev/provenance/v1, https://spdx.dev/Document]\nmaxAge:"), envs: one(build{}, root), want: verify.ErrMissingPredicate},
		{name: "required SBOM present", policy: repl("maxAge:", "requiredPredicates: [https://slsa.dev/provenance/v1, https://spdx.dev/Document]\nmaxAge:"), envs: func(t *testing.T) []*sign.Envelope {
			sbom := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` + digestOf("artifact")["sha256"] + `"}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`)
			return []*sign.Envelope{envelope(t, build{}.statement(t), root), envelope(t, sbom, root)}
		}},
		{name: "SBOM signed by stranger does not count", policy: repl("maxAge:", "requiredPredicates: [https://spdx.dev/Document]\nmaxAge:"), envs: func(t *testing.T) []*sign.Envelope {
			sbom := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` + digestOf("artifact")["sha256"] + `"}}],"predicateType":"https://spdx.dev/Document","predicate":{}}`)
			return []*sign.Envelope{envelope(t, build{}.statement(t), root), envelope(t, sbom, stranger)}
		}, want: verify.ErrMissingPredicate},
		{name: "one good provenance among bad ones", policy: same, envs: func(t *testing.T) []*sign.Envelope {
			return []*sign.Envelope{envelope(t, build{builder: "https://evil.example.com/b"}.statement(t), root), envelope(t, build{}.statement(t), root)}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := verify.ParsePolicy([]byte(c.policy(basePol)))
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			art := c.art
			if art == "" {
				art = "registry.example.com/app"
			}
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: art, Digest: digestOf("artifact")}, attsOf(c.envs(t)...))
			if c.want == nil {
				if err != nil {
					t.Fatalf("want pass, got %v\n%s", err, rep)
				}
				if !rep.Passed() || !strings.HasPrefix(rep.String(), "policy: PASS") {
					t.Fatalf("report does not pass:\n%s", rep)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want errors.Is %v\n%s", err, c.want, rep)
			}
			if rep.Passed() || !strings.Contains(rep.String(), "failed") {
				t.Fatalf("report hides the failure:\n%s", rep)
			}
		})
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
}

func TestPolicyThreshold(t *testing.T) {
	ctx := context.Background()
	a, b := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	pol := "version: 1\nsigners:\n  - artifacts: \"**\"\n    threshold: 2\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, a)) + "\n      - pem: |\n          " + indent(pubPEM(t, b)) + "\n"
	p, err := verify.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "x", Digest: digestOf("artifact")}
	if _, err := eng.Evaluate(ctx, art, attsOf(envelope(t, build{}.statement(t), a))); !errors.Is(err, verify.ErrNoAttestation) {
		t.Fatalf("one of two keys: %v", err)
	}
	if rep, err := eng.Evaluate(ctx, art, attsOf(envelope(t, build{}.statement(t), a, b))); err != nil {
		t.Fatalf("both keys: %v\n%s", err, rep)
	}
}

func TestPolicyParseErrors(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	pem := indent(pubPEM(t, key))
	signers := "signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + pem + "\n"
	cases := []struct {
		name, doc string
		line      int
		field     string
	}{
		{"wrong version", "version: 2\n" + signers, 1, "version"},
		{"unknown field", "version: 1\nbuilder: x\n" + signers, 2, ""},
		{"duplicate key", "version: 1\nversion: 1\n" + signers, 2, ""},
		{"no signers", "version: 1\n", 0, "signers"},
		{"relative builder id", "version: 1\nbuilders:\n  - id: my-builder\n" + signers, 3, "builders[0].id"},
		{"bad maxAge", "version: 1\nmaxAge: forever\n" + signers, 2, ""},
		{"bad pattern", "version: 1\nparameters:\n  - name: a\n    pattern: \"(\"\n" + signers, 4, "parameters[0].pattern"},
		{"two constraints", "version: 1\nparameters:\n  - name: a\n    equals: 1\n    oneOf: [1]\n" + signers, 3, "parameters[0]"},
		{"source with ref", "version: 1\nsource:\n  repository: git+https://github.com/a/b@refs/heads/main\n" + signers, 3, "source.repository"},
		{"short ref", "version: 1\nsource:\n  repository: git+https://github.com/a/b\n  refs: [main]\n" + signers, 4, "source.refs[0]"},
		{"key with two sources", "version: 1\nsigners:\n  - artifacts: x\n    keys:\n      - pem: a\n        file: b\n", 5, "signers[0].keys[0]"},
		{"duplicate pattern", "version: 1\n" + signers + "  - artifacts: \"**\"\n    keys:\n      - file: k.pub\n", 9, "signers[1].artifacts"},
		{"threshold over keys", "version: 1\nsigners:\n  - artifacts: x\n    threshold: 3\n    keys:\n      - file: k.pub\n", 4, "signers[0].threshold"},
		{"not YAML", "version: [1\n", 0, ""},
		{"too many wildcards", "version: 1\nsigners:\n  - artifacts: \"*a*a*a*a*a*a*a*a*a*\"\n    keys:\n      - file: k.pub\n", 3, "signers[0].artifacts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify.ParsePolicy([]byte(c.doc))
			var pe *verify.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, verify.ErrPolicy) {
				t.Fatalf("err = %v, want *PolicyError", err)
			}
			if c.line != 0 && pe.Line != c.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, c.line, err)
			}
			if c.field != "" && pe.Field != c.field {
				t.Errorf("field = %q, want %q (%v)", pe.Field, c.field, err)
			}
		})
	}
}

func TestPolicyFileKeysAndJSON(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := genKey(t, sign.ECDSAP384SHA384)
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), []byte(pubPEM(t, key)), 0o644); err != nil {
		t.Fatal(err)
	}
	// JSON is YAML: the same schema reads from either.
	pol := `{"version": 1, "builders": [{"id": "` + builderID + `"}], "signers": [{"artifacts": "**", "keys": [{"file": "release.pub"}]}]}`
	path := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(path, []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := verify.LoadPolicyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app", Digest: digestOf("artifact")}, attsOf(envelope(t, build{}.statement(t), key))); err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	// A KMS key without a resolver, and keyless identities, fail closed.
	for _, doc := range []string{
		`{"version": 1, "signers": [{"artifacts": "**", "keys": [{"kms": "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"}]}]}`,
		`{"version": 1, "signers": [{"artifacts": "**", "identities": [{"issuer": "https://token.actions.githubusercontent.com", "subject": "x"}]}]}`,
	} {
		p, err := verify.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify.NewEngine(ctx, p); !errors.Is(err, verify.ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
	}
	// A resolver plugs KMS (or any) keys in.
	p, _ = verify.ParsePolicy([]byte(`{"version": 1, "signers": [{"artifacts": "**", "keys": [{"kms": "test://k"}]}]}`))
	eng, err = verify.NewEngine(ctx, p, verify.WithKeyResolver(func(_ context.Context, ref string) (sign.Verifier, error) {
		if ref != "test://k" {
			return nil, errors.New("unknown key")
		}
		return sign.VerifierFor(key)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app", Digest: digestOf("artifact")}, attsOf(envelope(t, build{}.statement(t), key))); err != nil {
		t.Fatal(err)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(basePolicy))
	f.Add([]byte(`{"version":1,"signers":[{"artifacts":"**","keys":[{"file":"k"}]}]}`))
	f.Add([]byte("version: 1\nparameters:\n  - name: a\n    pattern: x\n"))
	for _, seed := range []string{
		"version: 1\nparameters: [{name: a, equals: null}]\nsigners: [{artifacts: x, keys: [{file: k}]}]\n",
		"version: 1\nsource: &s {repository: git+https://a/b}\ndependencies: {maxDepth: 1, policy: {source: *s, signers: [{artifacts: x, keys: [{file: k}]}]}}\nsigners: [{artifacts: x, keys: [{file: k}]}]\n",
		"version: 1\nmaterials: {<<: {requireDigests: true}}\nsigners: [{artifacts: x, keys: [{file: k}]}]\n",
		`{"version": 1, "parameters": [{"name": "a", "oneOf": [1, {"k": [2026-01-02]}]}], "signers": [{"artifacts": "x", "threshold": 1, "keys": [{"pem": "p"}]}]}`,
		"version: 1\nsigners: [{artifacts: x, keys: [{file: k}]}]\n---\nmaxAge: 1h\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := verify.ParsePolicy(data)
		if err != nil {
			var pe *verify.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PolicyError: %v", err)
			}
			return
		}
		if p.Version != verify.PolicyVersion || len(p.Signers) == 0 {
			t.Fatalf("accepted an invalid policy: %+v", p)
		}
		// A policy that loads enforces what it shows: no list it holds is
		// empty, no rule it points to is zero, every parameter rule checks
		// something.
		if path := emptyRule(reflect.ValueOf(p).Elem(), ""); path != "" {
			t.Fatalf("accepted a policy whose %s checks nothing:\n%s", path, data)
		}
		for i, r := range p.Parameters {
			if !r.Required && !r.Forbidden && r.Equals == nil && r.OneOf == nil && r.Pattern == "" {
				t.Fatalf("accepted parameters[%d] without a constraint:\n%s", i, data)
			}
		}
	})
}

// TestPolicyJSONAmbiguousKeys: a JSON policy is held to the rules of signed
// JSON. "signers" and "Signers" side by side is refused by name, with the
// line and the key path, before any YAML reading; so are the other
// constructs readers disagree on. At main 0a75f45 each was refused too, but
// by accident of the YAML reader (unknown field, bad escape) or of
// validation, with no sentinel: this test fails there on errors.Is.
func TestPolicyJSONAmbiguousKeys(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, doc string
		want      error
		line      int
		field     string
	}{
		{"signers and Signers", "{\"version\": 1,\n \"signers\": [{\"artifacts\": \"**\", \"keys\": [{\"file\": \"a.pub\"}]}],\n \"Signers\": [{\"artifacts\": \"**\", \"keys\": [{\"file\": \"evil.pub\"}]}]}",
			strictjson.ErrAmbiguousKey, 3, "Signers"},
		{"nested case variant", `{"version": 1, "signers": [{"artifacts": "**", "keys": [{"file": "a.pub", "File": "evil.pub"}]}]}`,
			strictjson.ErrAmbiguousKey, 1, "signers[0].keys[0].File"},
		{"delimiter variant", `{"version": 1, "build_types": [], "buildTypes": [], "signers": []}`,
			strictjson.ErrAmbiguousKey, 1, "buildTypes"},
		{"lone surrogate", `{"version": 1, "signers": [{"artifacts": "app\ud800", "keys": [{"file": "a.pub"}]}]}`,
			strictjson.ErrUnsafeString, 1, "signers[0].artifacts"},
		{"integer beyond 2^53", `{"version": 1, "signers": [{"artifacts": "**", "threshold": 9007199254740993, "keys": [{"file": "a.pub"}]}]}`,
			strictjson.ErrUnsafeNumber, 1, "signers[0].threshold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "policy.json")
			if err := os.WriteFile(path, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := verify.LoadPolicyFile(path)
			var pe *verify.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, verify.ErrPolicy) || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want a *PolicyError matching %v", err, c.want)
			}
			if pe.File != path || pe.Line != c.line || pe.Field != c.field {
				t.Errorf("file %q line %d field %q, want %q %d %q (%v)", pe.File, pe.Line, pe.Field, path, c.line, c.field, err)
			}
		})
	}
	// YAML flow style that is not JSON is still read as YAML.
	if _, err := verify.ParsePolicy([]byte(`{version: 1, signers: [{artifacts: "**", keys: [{file: a.pub}]}]}`)); err != nil {
		t.Fatalf("YAML flow policy: %v", err)
	}
}

// emptyRule returns the path of a non-nil empty slice, or of a non-nil
// pointer to a struct whose exported fields are all zero, in v; "" if none.
func emptyRule(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		if v.Elem().Kind() == reflect.Struct {
			zero := true
			for i := 0; i < v.Elem().NumField(); i++ {
				zero = zero && (!v.Elem().Type().Field(i).IsExported() || v.Elem().Field(i).IsZero())
			}
			if zero {
				return path
			}
		}
		return emptyRule(v.Elem(), path)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				if p := emptyRule(v.Field(i), path+"."+v.Type().Field(i).Name); p != "" {
					return p
				}
			}
		}
	case reflect.Slice:
		if !v.IsNil() && v.Len() == 0 {
			return path
		}
		for i := 0; i < v.Len(); i++ {
			if p := emptyRule(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}
