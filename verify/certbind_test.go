package verify_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance/platform"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// The certificate and provenance of one GitHub Actions build, as they
// agree: the workflow build.yml of example/app at main, pushed, commit cc…
const (
	ghIssuer  = "https://token.actions.githubusercontent.com"
	ghBuilder = "https://github.com/example/app/.github/workflows/build.yml@refs/heads/main"
	ghRepo    = "https://github.com/example/app"
)

func ghClaim() verify.Identity {
	return verify.Identity{
		Issuer: ghIssuer, Subject: ghBuilder,
		BuildSignerURI: ghBuilder, SourceRepositoryURI: ghRepo, SourceRepositoryDigest: commit,
		SourceRepositoryRef: "refs/heads/main", BuildTrigger: "push", RunnerEnvironment: "github-hosted",
	}
}

func ghBuild() build {
	return build{
		builder: ghBuilder, buildType: platform.GitHubWorkflowBuildType,
		materials: []intoto.ResourceDescriptor{{URI: "git+" + ghRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}}},
		params:    map[string]any{"workflow": map[string]any{"repository": ghRepo, "ref": "refs/heads/main", "path": ".github/workflows/build.yml"}},
		internal:  map[string]any{"github": map[string]any{"event_name": "push"}},
	}
}

// bindPolicy trusts any workflow of the GitHub issuer, bound to the
// provenance by every binding, and, when key is given, that key too.
func bindPolicy(t *testing.T, key sign.Signer, binds ...string) *verify.Policy {
	t.Helper()
	if len(binds) == 0 {
		binds = []string{verify.BindBuilder, verify.BindSource, verify.BindRef, verify.BindTrigger}
	}
	rule := verify.SignerRule{Artifacts: "**", BindToProvenance: binds,
		Identities: []verify.Identity{{Issuer: ghIssuer, SubjectRegexp: `https://github\.com/.*`}}}
	if key != nil {
		rule.Keys = []verify.KeyRef{{PEM: pemBlock(t, key)}}
	}
	return &verify.Policy{Version: verify.PolicyVersion, Signers: []verify.SignerRule{rule}}
}

func evalBound(t *testing.T, p *verify.Policy, atts []*sign.Attestation) (*verify.Report, error) {
	t.Helper()
	ctx := context.Background()
	eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(func(ids []verify.Identity, _ func() time.Time) (verify.Authenticator, error) {
		return fakeIdentities(ids), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}, atts)
}

// bindingErrors are the binding failures of a report, by field.
func bindingErrors(rep *verify.Report) map[string]*verify.BindingError {
	out := map[string]*verify.BindingError{}
	for _, c := range rep.Checks {
		var be *verify.BindingError
		if c.Outcome == verify.Failed && errors.As(c.Err, &be) {
			out[be.Field] = be
		}
	}
	return out
}

func TestBindToProvenance(t *testing.T) {
	stranger := genKey(t, sign.Ed25519)
	bundled := func(claim verify.Identity, b build) func(t *testing.T) []*sign.Attestation {
		return func(t *testing.T) []*sign.Attestation {
			return []*sign.Attestation{fakeBundle(t, claim, envelope(t, b.statement(t), stranger))}
		}
	}
	claimWith := func(f func(*verify.Identity)) verify.Identity { c := ghClaim(); f(&c); return c }
	buildWith := func(f func(*build)) build { b := ghBuild(); f(&b); return b }
	other := strings.Repeat("d", 40)

	// Each forgery: a certificate or a provenance that says something else
	// (or nothing) for one bound fact fails that fact, by name.
	cases := map[string]struct {
		atts   func(t *testing.T) []*sign.Attestation
		fields []string // the binding fields that fail; none: the artifact passes
	}{
		"match": {atts: bundled(ghClaim(), ghBuild())},
		"sha1 digest, certificate in uppercase hex": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryDigest = strings.ToUpper(commit)
		}), buildWith(func(b *build) {
			b.materials[0].Digest = intoto.DigestSet{"sha1": commit}
		}))},
		// Scheme and host are case-insensitive (DNS, URI syntax).
		"host in another case": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials[0].URI = "GIT+HTTPS://GitHub.com/example/app@refs/heads/main"
		}))},

		"another builder in the certificate": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.BuildSignerURI = "https://github.com/attacker/fork/.github/workflows/build.yml@refs/heads/main"
		}), ghBuild()), fields: []string{"builder"}},
		"another builder in the provenance": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.builder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator.yml@refs/tags/v2.0.0"
		})), fields: []string{"builder"}},
		"another repository": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryURI = "https://github.com/attacker/app"
		}), ghBuild()), fields: []string{"source repository"}},
		"another commit": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryDigest = other
		}), ghBuild()), fields: []string{"source digest"}},
		"a commit that is no commit": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryDigest = commit[:39] + "g"
		}), ghBuild()), fields: []string{"source digest"}},
		"another ref": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryRef = "refs/heads/dev"
		}), ghBuild()), fields: []string{"ref"}},
		"another trigger": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.BuildTrigger = "pull_request_target"
		}), ghBuild()), fields: []string{"trigger"}},
		"another trigger in the provenance": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.internal = map[string]any{"github": map[string]any{"event_name": "workflow_dispatch"}}
		})), fields: []string{"trigger"}},
		"the provenance states no trigger": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.internal = map[string]any{"github": map[string]any{}}
		})), fields: []string{"trigger"}},
		"a build type that states no trigger": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.buildType = buildType
		})), fields: []string{"trigger"}},

		// Case variants of the path are other repositories.
		"repository path in another case (provenance)": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials[0].URI = "git+https://github.com/Example/App@refs/heads/main"
			b.params["workflow"].(map[string]any)["repository"] = "https://github.com/Example/App"
		})), fields: []string{"source repository"}},
		"repository path in another case (certificate)": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryURI = "https://github.com/EXAMPLE/app"
		}), ghBuild()), fields: []string{"source repository"}},
		"a certificate repository with a ref": {atts: bundled(claimWith(func(c *verify.Identity) {
			c.SourceRepositoryURI = ghRepo + "@refs/heads/main"
		}), ghBuild()), fields: []string{"source repository"}},

		"no source material": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials = []intoto.ResourceDescriptor{{URI: pinned, Digest: intoto.DigestSet{"sha256": strings.Repeat("b", 64)}}}
		})), fields: []string{"source repository", "source digest", "ref"}},
		"no material of the repository the workflow names": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.params["workflow"].(map[string]any)["repository"] = "https://github.com/example/other"
		})), fields: []string{"source repository", "source digest", "ref"}},
		"a source material without digest": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials[0].Digest = intoto.DigestSet{"sha256": strings.Repeat("b", 64)}
		})), fields: []string{"source digest"}},
		"a source material without ref": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials[0].URI = "git+" + ghRepo
			b.params = map[string]any{"target": "release"}
		})), fields: []string{"ref"}},
		"gitCommit and sha1 disagree": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials[0].Digest = intoto.DigestSet{"gitCommit": commit, "sha1": other}
		})), fields: []string{"source digest"}},
		"two source materials, two commits": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials = append(b.materials, intoto.ResourceDescriptor{URI: "git+" + ghRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": other}})
		})), fields: []string{"source digest"}},
		"two source materials, two refs": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.materials = append(b.materials, intoto.ResourceDescriptor{URI: "git+" + ghRepo + "@refs/heads/dev", Digest: intoto.DigestSet{"gitCommit": commit}})
		})), fields: []string{"ref"}},
		"material ref and workflow ref disagree": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.params["workflow"].(map[string]any)["ref"] = "refs/heads/dev"
		})), fields: []string{"ref"}},
		// Without a repository in the parameters every git material is a
		// source: the certified one next to another does not bind.
		"two source repositories": {atts: bundled(ghClaim(), buildWith(func(b *build) {
			b.params = map[string]any{"target": "release"}
			b.materials = append(b.materials, intoto.ResourceDescriptor{URI: "git+https://github.com/attacker/app@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}})
		})), fields: []string{"source repository"}},
	}
	// Every certified fact a binding reads, left out of the certificate.
	for name, f := range map[string]func(*verify.Identity){
		"builder":           func(c *verify.Identity) { c.BuildSignerURI = "" },
		"source repository": func(c *verify.Identity) { c.SourceRepositoryURI = "" },
		"source digest":     func(c *verify.Identity) { c.SourceRepositoryDigest = "" },
		"ref":               func(c *verify.Identity) { c.SourceRepositoryRef = "" },
		"trigger":           func(c *verify.Identity) { c.BuildTrigger = "" },
	} {
		cases["no "+name+" extension"] = struct {
			atts   func(t *testing.T) []*sign.Attestation
			fields []string
		}{atts: bundled(claimWith(f), ghBuild()), fields: []string{name}}
	}

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			atts := c.atts(t)
			// Without the binding, the certificate is trusted as it was.
			if rep, err := evalBound(t, &verify.Policy{Version: 1, Signers: []verify.SignerRule{{Artifacts: "**",
				Identities: []verify.Identity{{Issuer: ghIssuer, SubjectRegexp: `https://github\.com/.*`}}}}}, atts); err != nil {
				t.Fatalf("without binding: %v\n%s", err, rep)
			}
			rep, err := evalBound(t, bindPolicy(t, nil), atts)
			got := bindingErrors(rep)
			if len(c.fields) == 0 {
				if err != nil {
					t.Fatalf("err = %v\n%s", err, rep)
				}
				return
			}
			if !errors.Is(err, verify.ErrBinding) {
				t.Fatalf("err = %v, want ErrBinding\n%s", err, rep)
			}
			var fields []string
			for f := range got {
				fields = append(fields, f)
			}
			slices.Sort(fields)
			want := slices.Sorted(slices.Values(c.fields))
			if !slices.Equal(fields, want) {
				t.Fatalf("failed bindings %v, want %v\n%s", fields, want, rep)
			}
			// A binding of one fact only fails on that fact alone.
			var binds []string
			for _, f := range c.fields {
				binds = append(binds, strings.Fields(f)[0])
			}
			if _, err := evalBound(t, bindPolicy(t, nil, slices.Compact(binds)...), atts); !errors.Is(err, verify.ErrBinding) {
				t.Fatalf("binding %v alone: err = %v", binds, err)
			}
		})
	}
}

// A plain mismatch names both values and where they come from; a value
// from an attacker is bounded in the error.
func TestBindingErrorNamesBothSides(t *testing.T) {
	stranger := genKey(t, sign.Ed25519)
	claim := ghClaim()
	claim.BuildTrigger = "pull_request_target"
	claim.BuildSignerURI = "https://github.com/attacker/" + strings.Repeat("x", 1<<20)
	atts := []*sign.Attestation{fakeBundle(t, claim, envelope(t, ghBuild().statement(t), stranger))}
	rep, err := evalBound(t, bindPolicy(t, nil), atts)
	be := bindingErrors(rep)
	if tr := be["trigger"]; tr == nil || tr.Certificate != "pull_request_target" || tr.Provenance != "push" ||
		tr.CertificateField != "buildTrigger" || tr.ProvenanceField != "internalParameters.github.event_name" {
		t.Fatalf("trigger: %+v", tr)
	}
	if !strings.Contains(err.Error(), `trigger (certificate buildTrigger "pull_request_target", provenance internalParameters.github.event_name "push")`) {
		t.Errorf("err = %v", err)
	}
	if b := be["builder"]; b == nil || len(b.Certificate) > 512 || b.Provenance != ghBuilder {
		t.Fatalf("builder: %+v", b)
	}
	if len(err.Error()) > 4096 || len(rep.String()) > 8192 {
		t.Errorf("a 1 MiB extension makes a %d-byte error and a %d-byte report", len(err.Error()), len(rep.String()))
	}
}

// A provenance signed with a key has no certificate to bind, even when
// the rule trusts the key (for other predicates): it fails, saying so.
func TestBindingKeySigned(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	atts := attsOf(envelope(t, ghBuild().statement(t), key))
	p := bindPolicy(t, key)
	p.Signers[0].BindToProvenance = []string{verify.BindBuilder}
	rep, err := evalBound(t, p, atts)
	be := bindingErrors(rep)["certificate"]
	if !errors.Is(err, verify.ErrBinding) || be == nil || !strings.Contains(be.Reason, "signed with key") {
		t.Fatalf("err = %v, binding error %+v\n%s", err, be, rep)
	}
	// The same rule without the binding trusts it.
	p.Signers[0].BindToProvenance = nil
	if _, err := evalBound(t, p, atts); err != nil {
		t.Fatal(err)
	}
	// A rule that binds needs no provenance rules to look at provenance:
	// with no provenance at all among the attestations, it fails.
	sbom := []*sign.Attestation{fakeBundle(t, ghClaim(), envelope(t, subjectStatement("sha256", digestOf("artifact")["sha256"]), key))}
	if _, err := evalBound(t, bindPolicy(t, nil), sbom); !errors.Is(err, verify.ErrMissingPredicate) {
		t.Fatalf("no provenance: err = %v, want ErrMissingPredicate", err)
	}
}

func TestBindToProvenancePolicy(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	id := "    identities:\n      - {issuer: https://issuer.example.com, subject: ci@example.com}\n"
	keys := "    keys:\n      - pem: |\n          " + indent(pemBlock(t, key)) + "\n"
	for name, c := range map[string]struct{ rule, field string }{
		"unknown":       {id + "    bindToProvenance: [builder, workflow]\n", "signers[0].bindToProvenance[1]"},
		"case variant":  {id + "    bindToProvenance: [Builder]\n", "signers[0].bindToProvenance[0]"},
		"twice":         {id + "    bindToProvenance: [source, source]\n", "signers[0].bindToProvenance[1]"},
		"no identities": {keys + "    bindToProvenance: [builder]\n", "signers[0].bindToProvenance"},
		"empty":         {id + "    bindToProvenance: []\n", "signers[0].bindToProvenance"},
	} {
		_, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n" + c.rule))
		var pe *verify.PolicyError
		if !errors.As(err, &pe) || pe.Field != c.field {
			t.Errorf("%s: err = %v, want a PolicyError at %s", name, err, c.field)
		}
	}

	// The policy's identity covers the binding, as a set.
	digest := func(binds ...string) string {
		eng, err := verify.NewEngine(context.Background(), bindPolicy(t, nil, binds...), verify.WithIdentities(
			func(ids []verify.Identity, _ func() time.Time) (verify.Authenticator, error) {
				return fakeIdentities(ids), nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		return eng.PolicyDigest()["sha256"]
	}
	unbound := bindPolicy(t, nil)
	unbound.Signers[0].BindToProvenance = nil
	eng, err := verify.NewEngine(context.Background(), unbound, verify.WithIdentities(
		func(ids []verify.Identity, _ func() time.Time) (verify.Authenticator, error) {
			return fakeIdentities(ids), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := digest("builder", "source"), digest("source", "builder"); a != b {
		t.Errorf("order changes the digest: %s, %s", a, b)
	}
	if digest("builder") == digest("builder", "source") || digest("builder") == eng.PolicyDigest()["sha256"] {
		t.Error("the binding does not change the policy digest")
	}
}

// Identity patterns are bounded when a policy loads (they are RE2, so
// linear in time, but their programs grow with them).
func TestIdentityRegexpBounded(t *testing.T) {
	long := "https://github\\.com/(?:" + strings.Repeat("a|", 600) + "b)/.*"
	for _, field := range []string{"issuerRegexp", "subjectRegexp"} {
		id := "{issuer: https://issuer.example.com, subject: ci@example.com}"
		if field == "issuerRegexp" {
			id = "{issuerRegexp: '" + long + "', subject: ci@example.com}"
		} else {
			id = "{issuer: https://issuer.example.com, subjectRegexp: '" + long + "'}"
		}
		_, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    identities: [" + id + "]\n"))
		var pe *verify.PolicyError
		if !errors.As(err, &pe) || pe.Field != "signers[0].identities[0]."+field {
			t.Errorf("%s of %d bytes: err = %v", field, len(long), err)
		}
	}
}
