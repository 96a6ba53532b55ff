package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

var errFakeBundle = errors.New("fake bundle verifier: untrusted bundle")

// keyBundles is a BundleVerifier standing in for the keyless one: a
// bundle "verifies" when its DSSE envelope is signed by key. Like the real
// one it returns the authenticated envelope; unlike it, it does not check
// the subject against the digest, so the core's own subject check shows.
type keyBundles struct {
	key sign.Verifier

	mu      sync.Mutex
	digests []string
}

func (k *keyBundles) VerifyBundle(ctx context.Context, bundle []byte, digest string) (*sign.Envelope, error) {
	k.mu.Lock()
	k.digests = append(k.digests, digest)
	k.mu.Unlock()
	env, err := oci.ParseBundle(bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errFakeBundle, err)
	}
	for _, s := range env.Signatures {
		if k.key.Verify(ctx, env.PAE(), s.Sig) == nil {
			return env, nil
		}
	}
	return nil, errFakeBundle
}

func (k *keyBundles) seen() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.digests...)
}

type bundleFunc func(ctx context.Context, bundle []byte, digest string) (*sign.Envelope, error)

func (f bundleFunc) VerifyBundle(ctx context.Context, bundle []byte, digest string) (*sign.Envelope, error) {
	return f(ctx, bundle, digest)
}

func verifierOf(t *testing.T, s sign.Signer) sign.Verifier {
	t.Helper()
	v, err := sign.VerifierFor(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bundleOf wraps env in a Sigstore bundle v0.3 with a key hint as
// verification material: the shape oci.Attach writes as a referrer.
func mustParseBundle(t *testing.T, raw []byte) *sign.Bundle {
	t.Helper()
	b, err := sign.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bundleOf(t *testing.T, env *sign.Envelope) []byte {
	t.Helper()
	de, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"mediaType":            sign.MediaTypeBundle,
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "test"}},
		"dsseEnvelope":         json.RawMessage(de),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkOf(r *verify.Result, name string) verify.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return verify.Check{}
}

func TestVerifyImageBundles(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	key, other := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID}

	t.Run("verified", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key)}
		ref := reg.PushRandomImage(t, "bundled")
		env := envelope(t, imageStatement(t, ref), key)
		if _, err := oci.Attach(ctx, ref, &sign.Attestation{Envelope: env, Bundle: mustParseBundle(t, bundleOf(t, env))}, oci.WithInsecure()); err != nil {
			t.Fatal(err)
		}
		res, err := verify.VerifyImageBundles(ctx, reg.Host()+"/bundled:latest", bv, want, oci.WithInsecure())
		if err != nil {
			t.Fatalf("VerifyImageBundles: %v", err)
		}
		if len(res.Verified()) != 1 || res.Image != ref {
			t.Fatalf("result: %+v", res)
		}
		r := res.Verified()[0]
		if c := checkOf(r, "signature"); c.Outcome != verify.Passed || !strings.Contains(c.Got, "Sigstore bundle verified") {
			t.Errorf("signature check = %+v", c)
		}
		if r.Statement == nil || r.Statement.Provenance.BuilderID != builderID {
			t.Errorf("statement = %+v", r.Statement)
		}
		_, digest, _ := strings.Cut(ref, "@")
		if got := bv.seen(); !reflect.DeepEqual(got, []string{digest}) {
			t.Errorf("bundle verified for %v, want [%s]", got, digest)
		}
		// The same attestation, expected to be of another type, is not listed.
		_, err = verify.VerifyImageBundles(ctx, ref, bv, verify.Expectations{PredicateType: "https://spdx.dev/Document"}, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) {
			t.Errorf("other predicate type: err = %v", err)
		}
	})

	t.Run("bundle rejected", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key)}
		ref := reg.PushRandomImage(t, "untrusted")
		attach(t, ref, envelope(t, imageStatement(t, ref), other), oci.Referrers)
		res, err := verify.VerifyImageBundles(ctx, ref, bv, want, oci.WithInsecure())
		for _, target := range []error{verify.ErrNoAttestation, verify.ErrSignature, errFakeBundle} {
			if !errors.Is(err, target) {
				t.Errorf("err = %v, want %v", err, target)
			}
		}
		if len(res.Attestations) != 1 {
			t.Fatalf("attestations = %d", len(res.Attestations))
		}
		r := res.Attestations[0]
		if r.Statement != nil || checkOf(r, "statement").Outcome != verify.Skipped {
			t.Errorf("statement read although the bundle failed: %s", r)
		}
	})

	t.Run("wrong digest", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key)}
		ref := reg.PushRandomImage(t, "wrongdigest")
		elsewhere := reg.PushRandomImage(t, "elsewhere")
		attach(t, elsewhere, envelope(t, imageStatement(t, elsewhere), key), oci.Referrers)
		if n := reg.CopyAttestations(t, elsewhere, ref); n != 1 {
			t.Fatalf("copied %d attestations, want 1", n)
		}
		_, err := verify.VerifyImageBundles(ctx, ref, bv, want, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(err, verify.ErrSubject) || errors.Is(err, verify.ErrSignature) {
			t.Errorf("err = %v, want ErrNoAttestation and ErrSubject", err)
		}
	})

	t.Run("legacy layout has no bundle", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key)}
		ref := reg.PushRandomImage(t, "legacyonly")
		attach(t, ref, envelope(t, imageStatement(t, ref), key), oci.Legacy)
		res, err := verify.VerifyImageBundles(ctx, ref, bv, want, oci.WithInsecure(), oci.WithLayout(oci.Legacy))
		if !errors.Is(err, verify.ErrNoAttestation) || len(res.Attestations) != 0 || len(bv.seen()) != 0 {
			t.Errorf("err = %v, result %+v", err, res)
		}
	})

	t.Run("payload type", func(t *testing.T) {
		ref := reg.PushRandomImage(t, "payloadtype")
		env := envelope(t, imageStatement(t, ref), key)
		attach(t, ref, env, oci.Referrers)
		bv := bundleFunc(func(context.Context, []byte, string) (*sign.Envelope, error) {
			e := *env
			e.PayloadType = "text/plain"
			return &e, nil
		})
		_, err := verify.VerifyImageBundles(ctx, ref, bv, want, oci.WithInsecure())
		if !errors.Is(err, verify.ErrPayloadType) || !errors.Is(err, verify.ErrNoAttestation) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("misbehaving verifier", func(t *testing.T) {
		ref := reg.PushRandomImage(t, "nilenv")
		attach(t, ref, envelope(t, imageStatement(t, ref), key), oci.Referrers)
		bv := bundleFunc(func(context.Context, []byte, string) (*sign.Envelope, error) { return nil, nil })
		if _, err := verify.VerifyImageBundles(ctx, ref, bv, want, oci.WithInsecure()); !errors.Is(err, verify.ErrSignature) {
			t.Errorf("nil envelope: err = %v", err)
		}
		if _, err := verify.VerifyImageBundles(ctx, ref, nil, want, oci.WithInsecure()); !errors.Is(err, verify.ErrSignature) {
			t.Errorf("nil verifier: err = %v", err)
		}
	})
}

func TestVerifyBundleDigest(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	env := envelope(t, statement(t, "artifact"), key)
	var got string
	bv := bundleFunc(func(_ context.Context, _ []byte, digest string) (*sign.Envelope, error) {
		got = digest
		return env, nil
	})
	b := bundleOf(t, env)

	d := digestOf("artifact")
	if _, err := verify.VerifyBundle(ctx, bv, b, verify.Expectations{SubjectDigest: d}); err != nil || got != "sha256:"+d["sha256"] {
		t.Fatalf("err = %v, digest %q", err, got)
	}
	for name, ds := range map[string]provenance.DigestSet{
		"none":     nil,
		"weak":     {"sha1": strings.Repeat("a", 40)},
		"sha512":   {"sha512": strings.Repeat("b", 128)},
		"mismatch": digestOf("another artifact"),
	} {
		got = ""
		r, err := verify.VerifyBundle(ctx, bv, b, verify.Expectations{SubjectDigest: ds})
		if !errors.Is(err, verify.ErrSubject) {
			t.Errorf("%s: err = %v, want ErrSubject", name, err)
		}
		switch name {
		case "sha512":
			if got != "sha512:"+ds["sha512"] {
				t.Errorf("sha512: verified for %q", got)
			}
		case "none", "weak":
			if got != "" || r.Statement != nil {
				t.Errorf("%s: verifier called for %q", name, got)
			}
		}
	}
	if _, err := verify.VerifyBundle(ctx, bv, nil, verify.Expectations{SubjectDigest: d}); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("empty bundle: err = %v", err)
	}
}

// identityPolicy trusts the identity ("issuer", subject) for app/** and,
// with keys, a key as well.
func identityPolicy(t *testing.T, subject string, keys ...sign.Signer) *verify.Policy {
	t.Helper()
	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\nsigners:\n  - artifacts: \"app/**\"\n" +
		"    identities:\n      - issuer: https://issuer.example.com\n        subject: " + subject + "\n"
	if len(keys) > 0 {
		doc += "    keys:\n"
		for _, k := range keys {
			doc += "      - pem: |\n          " + indent(pubPEM(t, k)) + "\n"
		}
	}
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return p
}

// identityKeys is an IdentityVerifier where an identity's subject names a
// key: a bundle verifies when signed by it.
func identityKeys(keys map[string]sign.Signer, got *[][]verify.Identity) verify.IdentityVerifier {
	return func(ids []verify.Identity) (verify.BundleVerifier, error) {
		*got = append(*got, ids)
		k, ok := keys[ids[0].Subject]
		if !ok {
			return nil, fmt.Errorf("no key for %q", ids[0].Subject)
		}
		v, err := sign.VerifierFor(k)
		if err != nil {
			return nil, err
		}
		return &keyBundles{key: v}, nil
	}
}

func TestEngineIdentities(t *testing.T) {
	ctx := context.Background()
	alice, bob, keyed := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	var calls [][]verify.Identity
	idv := verify.WithIdentityVerifier(identityKeys(map[string]sign.Signer{"alice": alice, "bob": bob}, &calls))
	art := verify.Artifact{Name: "app/server", Digest: digestOf("artifact")}
	stmt := build{subject: "artifact"}.statement(t)
	byAlice, byBob, byKey := envelope(t, stmt, alice), envelope(t, stmt, bob), envelope(t, stmt, keyed)

	if _, err := verify.NewEngine(ctx, identityPolicy(t, "alice")); !errors.Is(err, verify.ErrUnsupported) {
		t.Fatalf("without an IdentityVerifier: err = %v, want ErrUnsupported", err)
	}
	var pe *verify.PolicyError
	if _, err := verify.NewEngine(ctx, identityPolicy(t, "carol"), idv); !errors.As(err, &pe) || !strings.Contains(err.Error(), "identities") {
		t.Fatalf("IdentityVerifier error: err = %v, want a PolicyError at identities", err)
	}

	eng, err := verify.NewEngine(ctx, identityPolicy(t, "alice"), idv)
	if err != nil {
		t.Fatal(err)
	}
	want := []verify.Identity{{Issuer: "https://issuer.example.com", Subject: "alice"}}
	if !reflect.DeepEqual(calls[len(calls)-1], want) {
		t.Errorf("IdentityVerifier got %+v, want %+v", calls[len(calls)-1], want)
	}
	if rep, err := eng.EvaluateAttestations(ctx, art, []verify.Attestation{{Envelope: byAlice, Bundle: bundleOf(t, byAlice)}}); err != nil {
		t.Fatalf("alice's bundle: %v\n%s", err, rep)
	}
	// Bob's bundle, an envelope without a bundle, and alice's bundle for
	// another artifact are not trusted.
	for name, atts := range map[string][]verify.Attestation{
		"other identity": {{Envelope: byBob, Bundle: bundleOf(t, byBob)}},
		"no bundle":      {{Envelope: byAlice}},
	} {
		rep, err := eng.EvaluateAttestations(ctx, art, atts)
		if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(rep.Attestations[0].Err(), verify.ErrSignature) {
			t.Errorf("%s: err = %v\n%s", name, err, rep)
		}
	}
	if _, err := eng.Evaluate(ctx, art, []*sign.Envelope{byAlice}); !errors.Is(err, verify.ErrNoAttestation) {
		t.Errorf("Evaluate with envelopes only: err = %v", err)
	}
	rep, err := eng.EvaluateAttestations(ctx, verify.Artifact{Name: "app/server", Digest: digestOf("other")}, []verify.Attestation{{Envelope: byAlice, Bundle: bundleOf(t, byAlice)}})
	if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(rep.Attestations[0].Err(), verify.ErrSubject) {
		t.Errorf("other artifact: err = %v\n%s", err, rep)
	}

	// A rule with keys and identities trusts either.
	both, err := verify.NewEngine(ctx, identityPolicy(t, "alice", keyed), idv)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]verify.Attestation{
		"key":             {Envelope: byKey},
		"key, bad bundle": {Envelope: byKey, Bundle: bundleOf(t, byKey)},
		"identity":        {Envelope: byAlice, Bundle: bundleOf(t, byAlice)},
	} {
		if rep, err := both.EvaluateAttestations(ctx, art, []verify.Attestation{a}); err != nil {
			t.Errorf("%s: %v\n%s", name, err, rep)
		}
	}
	rep, err = both.EvaluateAttestations(ctx, art, []verify.Attestation{{Envelope: byBob, Bundle: bundleOf(t, byBob)}})
	if !errors.Is(err, verify.ErrNoAttestation) {
		t.Fatalf("bob: err = %v", err)
	}
	r := rep.Attestations[0]
	if checkOf(r, "bundle.signature").Outcome != verify.Failed || checkOf(r, "signature").Outcome != verify.Failed ||
		!errors.Is(r.Err(), errFakeBundle) {
		t.Errorf("both failures should be reported:\n%s", r)
	}

	// A threshold counts keys: it makes no sense on a rule without any.
	_, err = verify.ParsePolicy([]byte(`{"version": 1, "signers": [{"artifacts": "**", "threshold": 1, "identities": [{"issuer": "https://i.example.com", "subject": "x"}]}]}`))
	if !errors.As(err, &pe) {
		t.Errorf("threshold without keys: err = %v", err)
	}
}

func TestEvaluateImageWithBundles(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	alice, bob := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256)
	var calls [][]verify.Identity
	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\nsigners:\n  - artifacts: \"" + reg.Host() + "/**\"\n" +
		"    identities:\n      - issuer: https://issuer.example.com\n        subject: alice\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithIdentityVerifier(identityKeys(map[string]sign.Signer{"alice": alice}, &calls)))
	if err != nil {
		t.Fatal(err)
	}
	good := reg.PushRandomImage(t, "good")
	attach(t, good, envelope(t, imageStatement(t, good), alice), oci.Referrers)
	if rep, err := eng.EvaluateImage(ctx, good, oci.WithInsecure()); err != nil {
		t.Fatalf("EvaluateImage: %v\n%s", err, rep)
	}
	bad := reg.PushRandomImage(t, "bad")
	attach(t, bad, envelope(t, imageStatement(t, bad), bob), oci.Referrers)
	// In the legacy layout alone, alice's attestation has no bundle.
	legacy := reg.PushRandomImage(t, "legacy")
	attach(t, legacy, envelope(t, imageStatement(t, legacy), alice), oci.Legacy)
	for _, ref := range []string{bad, legacy} {
		rep, err := eng.EvaluateImage(ctx, ref, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) || len(rep.Attestations) != 1 || !errors.Is(rep.Attestations[0].Err(), verify.ErrSignature) {
			t.Errorf("%s: err = %v\n%s", ref, err, rep)
		}
	}
}

// bundleFetcher serves attestations with bundles; as a plain Fetcher it
// serves only their envelopes.
type bundleFetcher map[string][]verify.Attestation

func (f bundleFetcher) Fetch(_ context.Context, image string) ([]*sign.Envelope, error) {
	var envs []*sign.Envelope
	for _, a := range f[image] {
		envs = append(envs, a.Envelope)
	}
	return envs, nil
}

func (f bundleFetcher) FetchAttestations(_ context.Context, image string) ([]verify.Attestation, error) {
	return f[image], nil
}

type envelopesOnly struct{ f verify.Fetcher }

func (e envelopesOnly) Fetch(ctx context.Context, image string) ([]*sign.Envelope, error) {
	return e.f.Fetch(ctx, image)
}

func TestDependencyBundles(t *testing.T) {
	ctx := context.Background()
	appKey, alice := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256)
	var calls [][]verify.Identity
	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\ndependencies:\n  maxDepth: 1\nsigners:\n" +
		"  - artifacts: registry.example.com/app\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, appKey)) + "\n" +
		"  - artifacts: registry.example.com/base\n    identities:\n      - issuer: https://issuer.example.com\n        subject: alice\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	base := envelope(t, imageBuild(t, "base", builderID), alice)
	f := bundleFetcher{"registry.example.com/base@sha256:" + imageDigest("base"): {{Envelope: base, Bundle: bundleOf(t, base)}}}
	app := []*sign.Envelope{envelope(t, imageBuild(t, "app", builderID, "base"), appKey)}
	art := verify.Artifact{Name: "registry.example.com/app", Digest: digestOf("app")}
	idv := verify.WithIdentityVerifier(identityKeys(map[string]sign.Signer{"alice": alice}, &calls))

	eng, err := verify.NewEngine(ctx, p, idv, verify.WithFetcher(f))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := eng.Evaluate(ctx, art, app); err != nil {
		t.Fatalf("with bundles: %v\n%s", err, rep)
	}
	// A Fetcher that cannot return bundles cannot satisfy the base's identity.
	eng, err = verify.NewEngine(ctx, p, idv, verify.WithFetcher(envelopesOnly{f}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.Evaluate(ctx, art, app)
	if !errors.Is(err, verify.ErrDependency) || !errors.Is(err, verify.ErrNoAttestation) || len(rep.Dependencies) != 1 {
		t.Fatalf("envelopes only: err = %v\n%s", err, rep)
	}
}
