package verify_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

var errFakeBundle = errors.New("fake keyless authenticator: untrusted bundle")

// signedAt is the time the fake keyless authenticator vouches for.
var signedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// keyBundles is an Authenticator standing in for the keyless one: a
// bundle "verifies" when its DSSE envelope is signed by key, and is then
// reported as signed by the identity (issuer.example.com, name) at
// signedAt. Like the real one it authenticates the bundle's envelope and
// refuses attestations without a bundle; unlike it, it does not check the
// subject, so the core's own subject check shows.
type keyBundles struct {
	key  sign.Verifier
	name string

	mu       sync.Mutex
	subjects []intoto.DigestSet
}

func (k *keyBundles) Authenticate(ctx context.Context, att *sign.Attestation, subject intoto.DigestSet) (*verify.Authenticated, error) {
	k.mu.Lock()
	k.subjects = append(k.subjects, subject)
	k.mu.Unlock()
	if att == nil || att.Bundle == nil || att.Bundle.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: no bundle", errFakeBundle)
	}
	env := att.Bundle.DSSEEnvelope
	for _, s := range env.Signatures {
		if k.key.Verify(ctx, env.PAE(), s.Sig) == nil {
			return &verify.Authenticated{Envelope: env,
				Signers: []verify.Signer{{Identity: &verify.Identity{Issuer: "https://issuer.example.com", Subject: k.name}}},
				Times:   []time.Time{signedAt}}, nil
		}
	}
	return nil, errFakeBundle
}

func (k *keyBundles) seen() []intoto.DigestSet {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]intoto.DigestSet(nil), k.subjects...)
}

type authFunc func(ctx context.Context, att *sign.Attestation, subject intoto.DigestSet) (*verify.Authenticated, error)

func (f authFunc) Authenticate(ctx context.Context, att *sign.Attestation, subject intoto.DigestSet) (*verify.Authenticated, error) {
	return f(ctx, att, subject)
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
func bundleOf(t *testing.T, env *sign.Envelope) *sign.Bundle {
	t.Helper()
	be := &sign.Envelope{PayloadType: env.PayloadType, Payload: env.Payload}
	for _, s := range env.Signatures {
		be.Signatures = append(be.Signatures, sign.Signature{Sig: s.Sig})
	}
	return &sign.Bundle{MediaType: sign.MediaTypeBundle,
		VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: "test"}},
		DSSEEnvelope:         be}
}

// bundled is the attestation a keyless signer makes: env and its bundle.
func bundled(t *testing.T, env *sign.Envelope) *sign.Attestation {
	t.Helper()
	return &sign.Attestation{Envelope: env, Bundle: bundleOf(t, env)}
}

func checkOf(r *verify.Result, name string) verify.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return verify.Check{}
}

// TestVerifyImageKeyless: one VerifyImage serves keyless authenticators
// too, and its results say who signed and when.
func TestVerifyImageKeyless(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	key, other := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID}

	t.Run("verified", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key), name: "alice"}
		ref := reg.PushRandomImage(t, "bundled")
		env := envelope(t, imageStatement(t, ref), key)
		if _, err := oci.Attach(ctx, ref, bundled(t, env), oci.WithInsecure()); err != nil {
			t.Fatal(err)
		}
		res, err := verify.VerifyImage(ctx, bv, reg.Host()+"/bundled:latest", want, oci.WithInsecure(), oci.WithLayout(oci.Referrers))
		if err != nil {
			t.Fatalf("VerifyImage: %v", err)
		}
		if len(res.Verified()) != 1 || res.Image != ref {
			t.Fatalf("result: %+v", res)
		}
		r := res.Verified()[0]
		if c := checkOf(r, "signature"); c.Outcome != verify.Passed || !strings.Contains(c.Got, "alice (issuer https://issuer.example.com), signed at 2026-01-02T03:04:05Z") {
			t.Errorf("signature check = %+v", c)
		}
		if len(r.Signers) != 1 || r.Signers[0].Identity == nil || r.Signers[0].Identity.Subject != "alice" ||
			!reflect.DeepEqual(r.Times, []time.Time{signedAt}) {
			t.Errorf("signers %+v, times %v: want alice at %v", r.Signers, r.Times, signedAt)
		}
		if r.Statement == nil || r.Statement.Provenance.BuilderID != builderID {
			t.Errorf("statement = %+v", r.Statement)
		}
		_, digest, _ := strings.Cut(ref, "@sha256:")
		if got := bv.seen(); !reflect.DeepEqual(got, []intoto.DigestSet{{"sha256": digest}}) {
			t.Errorf("bundle authenticated for %v, want the image's digest %s", got, digest)
		}
		// The same attestation, expected to be of another type, is not listed.
		_, err = verify.VerifyImage(ctx, bv, ref, verify.Expectations{PredicateType: "https://spdx.dev/Document"}, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) {
			t.Errorf("other predicate type: err = %v", err)
		}
	})

	t.Run("bundle rejected", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key)}
		ref := reg.PushRandomImage(t, "untrusted")
		attach(t, ref, envelope(t, imageStatement(t, ref), other), oci.Referrers)
		res, err := verify.VerifyImage(ctx, bv, ref, want, oci.WithInsecure())
		for _, target := range []error{verify.ErrNoAttestation, verify.ErrSignature, errFakeBundle} {
			if !errors.Is(err, target) {
				t.Errorf("err = %v, want %v", err, target)
			}
		}
		if len(res.Attestations) != 1 {
			t.Fatalf("attestations = %d", len(res.Attestations))
		}
		r := res.Attestations[0]
		if r.Statement != nil || checkOf(r, "statement").Outcome != verify.Skipped || len(r.Signers) != 0 || len(r.Times) != 0 {
			t.Errorf("statement read or signers reported although the bundle failed: %s", r)
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
		_, err := verify.VerifyImage(ctx, bv, ref, want, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(err, verify.ErrSubject) || errors.Is(err, verify.ErrSignature) {
			t.Errorf("err = %v, want ErrNoAttestation and ErrSubject", err)
		}
	})

	t.Run("legacy layout has no bundle", func(t *testing.T) {
		bv := &keyBundles{key: verifierOf(t, key)}
		ref := reg.PushRandomImage(t, "legacyonly")
		attach(t, ref, envelope(t, imageStatement(t, ref), key), oci.Legacy)
		res, err := verify.VerifyImage(ctx, bv, ref, want, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(err, verify.ErrSignature) || len(res.Attestations) != 1 ||
			res.Attestations[0].Statement != nil {
			t.Errorf("err = %v, result %+v", err, res)
		}
	})

	t.Run("payload type", func(t *testing.T) {
		ref := reg.PushRandomImage(t, "payloadtype")
		env := envelope(t, imageStatement(t, ref), key)
		attach(t, ref, env, oci.Referrers)
		bv := authFunc(func(context.Context, *sign.Attestation, intoto.DigestSet) (*verify.Authenticated, error) {
			e := *env
			e.PayloadType = "text/plain"
			return &verify.Authenticated{Envelope: &e}, nil
		})
		_, err := verify.VerifyImage(ctx, bv, ref, want, oci.WithInsecure())
		if !errors.Is(err, verify.ErrPayloadType) || !errors.Is(err, verify.ErrNoAttestation) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("misbehaving authenticator", func(t *testing.T) {
		ref := reg.PushRandomImage(t, "nilenv")
		attach(t, ref, envelope(t, imageStatement(t, ref), key), oci.Referrers)
		for name, bv := range map[string]verify.Authenticator{
			"nil result": authFunc(func(context.Context, *sign.Attestation, intoto.DigestSet) (*verify.Authenticated, error) {
				return nil, nil
			}),
			"no envelope": authFunc(func(context.Context, *sign.Attestation, intoto.DigestSet) (*verify.Authenticated, error) {
				return &verify.Authenticated{}, nil
			}),
			"untyped error": authFunc(func(context.Context, *sign.Attestation, intoto.DigestSet) (*verify.Authenticated, error) {
				return nil, errors.New("no")
			}),
			"nil":              nil,
			"AnyOf of nothing": verify.AnyOf(),
		} {
			res, err := verify.VerifyImage(ctx, bv, ref, want, oci.WithInsecure())
			if !errors.Is(err, verify.ErrSignature) || res.Attestations[0].Statement != nil {
				t.Errorf("%s: err = %v", name, err)
			}
		}
	})
}

// TestAuthenticatorSubject: the authenticator is told the expected
// artifact, and whatever it does with it, the statement's subject is
// checked after it.
func TestAuthenticatorSubject(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	env := envelope(t, statement(t, "artifact"), key)
	var got intoto.DigestSet
	bv := authFunc(func(_ context.Context, att *sign.Attestation, subject intoto.DigestSet) (*verify.Authenticated, error) {
		got = subject
		return &verify.Authenticated{Envelope: att.Envelope}, nil
	})
	d := digestOf("artifact")
	if _, err := verify.Verify(ctx, bv, bundled(t, env), verify.Expectations{SubjectDigest: d}); err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("err = %v, subject %v", err, got)
	}
	for name, ds := range map[string]intoto.DigestSet{
		"weak":     {"sha1": strings.Repeat("a", 40)},
		"sha512":   {"sha512": strings.Repeat("b", 128)},
		"mismatch": digestOf("another artifact"),
	} {
		if _, err := verify.Verify(ctx, bv, bundled(t, env), verify.Expectations{SubjectDigest: ds}); !errors.Is(err, verify.ErrSubject) {
			t.Errorf("%s: err = %v, want ErrSubject", name, err)
		}
	}
	for name, att := range map[string]*sign.Attestation{"nil": nil, "empty": {}} {
		r, err := verify.Verify(ctx, bv, att, verify.Expectations{SubjectDigest: d})
		if !errors.Is(err, verify.ErrMalformed) || checkOf(r, "signature").Outcome != verify.Skipped {
			t.Errorf("%s attestation: err = %v\n%s", name, err, r)
		}
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

// identityKeys is an IdentityAuthenticator where an identity's subject
// names a key: a bundle verifies when signed by it. It records the
// identities and the clock reading it was given.
func identityKeys(keys map[string]sign.Signer, got *[][]verify.Identity, clock *time.Time) verify.IdentityAuthenticator {
	return func(ids []verify.Identity, now func() time.Time) (verify.Authenticator, error) {
		*got = append(*got, ids)
		if clock != nil && now != nil {
			*clock = now()
		}
		k, ok := keys[ids[0].Subject]
		if !ok {
			return nil, fmt.Errorf("no key for %q", ids[0].Subject)
		}
		v, err := sign.VerifierFor(k)
		if err != nil {
			return nil, err
		}
		return &keyBundles{key: v, name: ids[0].Subject}, nil
	}
}

func TestEngineIdentities(t *testing.T) {
	ctx := context.Background()
	alice, bob, keyed := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	var calls [][]verify.Identity
	var clock time.Time
	engineNow := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	idv := verify.WithIdentities(identityKeys(map[string]sign.Signer{"alice": alice, "bob": bob}, &calls, &clock))
	art := intoto.ResourceDescriptor{Name: "app/server", Digest: digestOf("artifact")}
	stmt := build{subject: "artifact"}.statement(t)
	byAlice, byBob, byKey := envelope(t, stmt, alice), envelope(t, stmt, bob), envelope(t, stmt, keyed)

	if _, err := verify.NewEngine(ctx, identityPolicy(t, "alice")); !errors.Is(err, verify.ErrUnsupported) {
		t.Fatalf("without an IdentityAuthenticator: err = %v, want ErrUnsupported", err)
	}
	var pe *verify.PolicyError
	if _, err := verify.NewEngine(ctx, identityPolicy(t, "carol"), idv); !errors.As(err, &pe) || !strings.Contains(err.Error(), "identities") {
		t.Fatalf("IdentityAuthenticator error: err = %v, want a PolicyError at identities", err)
	}

	eng, err := verify.NewEngine(ctx, identityPolicy(t, "alice"), idv, verify.WithClock(func() time.Time { return engineNow }))
	if err != nil {
		t.Fatal(err)
	}
	want := []verify.Identity{{Issuer: "https://issuer.example.com", Subject: "alice"}}
	if !reflect.DeepEqual(calls[len(calls)-1], want) {
		t.Errorf("IdentityAuthenticator got %+v, want %+v", calls[len(calls)-1], want)
	}
	if !clock.Equal(engineNow) {
		t.Errorf("IdentityAuthenticator was given a clock reading %v, not the engine's %v", clock, engineNow)
	}
	rep, err := eng.Evaluate(ctx, art, []*sign.Attestation{bundled(t, byAlice)})
	if err != nil {
		t.Fatalf("alice's bundle: %v\n%s", err, rep)
	}
	if r := rep.Attestations[0]; len(r.Signers) != 1 || r.Signers[0].Identity.Subject != "alice" || len(r.Times) != 1 {
		t.Errorf("report does not say who signed and when: %+v %v", r.Signers, r.Times)
	}
	// Bob's bundle, an envelope without a bundle, and alice's bundle for
	// another artifact are not trusted.
	for name, atts := range map[string][]*sign.Attestation{
		"other identity": {bundled(t, byBob)},
		"no bundle":      {{Envelope: byAlice}},
	} {
		rep, err := eng.Evaluate(ctx, art, atts)
		if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(rep.Attestations[0].Err(), verify.ErrSignature) {
			t.Errorf("%s: err = %v\n%s", name, err, rep)
		}
	}
	rep, err = eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app/server", Digest: digestOf("other")}, []*sign.Attestation{bundled(t, byAlice)})
	if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(rep.Attestations[0].Err(), verify.ErrSubject) {
		t.Errorf("other artifact: err = %v\n%s", err, rep)
	}

	// A rule with keys and identities trusts either.
	both, err := verify.NewEngine(ctx, identityPolicy(t, "alice", keyed), idv)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*sign.Attestation{
		"key":             {Envelope: byKey},
		"key, bad bundle": bundled(t, byKey),
		"identity":        bundled(t, byAlice),
	} {
		if rep, err := both.Evaluate(ctx, art, []*sign.Attestation{a}); err != nil {
			t.Errorf("%s: %v\n%s", name, err, rep)
		}
	}
	rep, err = both.Evaluate(ctx, art, []*sign.Attestation{bundled(t, byBob)})
	if !errors.Is(err, verify.ErrNoAttestation) {
		t.Fatalf("bob: err = %v", err)
	}
	// Both failures are reported: the bundle's and the keys'.
	r := rep.Attestations[0]
	if c := checkOf(r, "signature"); c.Outcome != verify.Failed || !errors.Is(r.Err(), errFakeBundle) ||
		!strings.Contains(c.Err.Error(), "trusted key") || !strings.Contains(c.Want, " or ") {
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
	eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(identityKeys(map[string]sign.Signer{"alice": alice}, &calls, nil)))
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

// bundleFetcher serves attestations with their bundles.
type bundleFetcher map[string][]*sign.Attestation

func (f bundleFetcher) Fetch(_ context.Context, image string) ([]*sign.Attestation, error) {
	return f[image], nil
}

// envelopesOnly serves f's attestations without their bundles, as a
// registry that only holds the legacy layout would.
type envelopesOnly struct{ f verify.Fetcher }

func (e envelopesOnly) Fetch(ctx context.Context, image string) ([]*sign.Attestation, error) {
	atts, err := e.f.Fetch(ctx, image)
	out := make([]*sign.Attestation, len(atts))
	for i, a := range atts {
		out[i] = &sign.Attestation{Envelope: a.Envelope}
	}
	return out, err
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
	f := bundleFetcher{"registry.example.com/base@sha256:" + imageDigest("base"): {bundled(t, base)}}
	app := attsOf(envelope(t, imageBuild(t, "app", builderID, "base"), appKey))
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("app")}
	idv := verify.WithIdentities(identityKeys(map[string]sign.Signer{"alice": alice}, &calls, nil))

	eng, err := verify.NewEngine(ctx, p, idv, verify.WithFetcher(f))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.Evaluate(ctx, art, app)
	if err != nil {
		t.Fatalf("with bundles: %v\n%s", err, rep)
	}
	if d := rep.Dependencies[0].Attestations[0]; len(d.Signers) != 1 || d.Signers[0].Identity == nil {
		t.Errorf("the dependency's report does not say who signed: %+v", d.Signers)
	}
	// Without bundles, nothing satisfies the base's identity.
	eng, err = verify.NewEngine(ctx, p, idv, verify.WithFetcher(envelopesOnly{f}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = eng.Evaluate(ctx, art, app)
	if !errors.Is(err, verify.ErrDependency) || !errors.Is(err, verify.ErrNoAttestation) || len(rep.Dependencies) != 1 {
		t.Fatalf("envelopes only: err = %v\n%s", err, rep)
	}
}

// atts makes envelopes into attestations without bundles.
func attsOf(envs ...*sign.Envelope) []*sign.Attestation {
	out := make([]*sign.Attestation, len(envs))
	for i, env := range envs {
		out[i] = &sign.Attestation{Envelope: env}
	}
	return out
}

// TestMismatchedPair: an attestation whose envelope and bundle disagree
// (an attacker swapped the envelope beside an authentic bundle) is judged
// by what the authenticator vouched for, and only that is read.
func TestMismatchedPair(t *testing.T) {
	ctx := context.Background()
	alice, stranger := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256)
	good := envelope(t, statement(t, "artifact"), alice)
	evil := envelope(t, statement(t, "evil"), stranger)
	att := &sign.Attestation{Envelope: evil, Bundle: bundleOf(t, good)}
	bv := &keyBundles{key: verifierOf(t, alice), name: "alice"}
	r, err := verify.Verify(ctx, bv, att, verify.Expectations{SubjectDigest: digestOf("artifact")})
	if err != nil || string(r.Envelope.Payload) != string(good.Payload) {
		t.Fatalf("the authentic bundle: err = %v, envelope read %q", err, r.Envelope.Payload)
	}
	if _, err := verify.Verify(ctx, bv, att, verify.Expectations{SubjectDigest: digestOf("evil")}); !errors.Is(err, verify.ErrSubject) {
		t.Fatalf("the swapped envelope's claim was believed: err = %v", err)
	}
	// Keys verify the envelope beside it, which the stranger signed.
	keys := newVerifier(t, verify.WithPublicKeys(alice.Public()))
	if _, err := verify.Verify(ctx, verify.AnyOf(keys.auth), att, verify.Expectations{SubjectDigest: digestOf("evil")}); !errors.Is(err, verify.ErrSignature) {
		t.Fatalf("keys: err = %v", err)
	}
}
