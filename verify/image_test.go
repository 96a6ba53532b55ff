package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// imageStatement is a provenance whose subject is the image ref's digest.
func imageStatement(t *testing.T, ref string, materials ...intoto.ResourceDescriptor) []byte {
	t.Helper()
	repo, digest, _ := strings.Cut(ref, "@sha256:")
	r := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	r.Start()
	if err := r.SetExternalParameter("target", "image"); err != nil {
		t.Fatal(err)
	}
	if len(materials) > 0 {
		if err := r.AddMaterial(materials...); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: repo, Digest: intoto.DigestSet{"sha256": digest}}); err != nil {
		t.Fatal(err)
	}
	r.Finish()
	b, err := r.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attach(t *testing.T, ref string, env *sign.Envelope, layout oci.Layout) {
	t.Helper()
	if _, err := oci.Attach(context.Background(), ref, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithLayout(layout)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyImage(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	key := genKey(t, sign.ECDSAP256SHA256)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID}

	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		t.Run(layout.String(), func(t *testing.T) {
			repo := "app-" + strings.ToLower(layout.String())
			ref := reg.PushRandomImage(t, repo)
			attach(t, ref, envelope(t, imageStatement(t, ref), key), layout)

			res, err := verify.VerifyImage(ctx, v.auth, ref, want, oci.WithInsecure())
			if err != nil {
				t.Fatalf("VerifyImage: %v", err)
			}
			if len(res.Verified()) != 1 || res.Image != ref || res.Name != reg.Host()+"/"+repo {
				t.Fatalf("result: %+v", res)
			}
			// By tag: resolved to the same digest.
			byTag, err := verify.VerifyImage(ctx, v.auth, reg.Host()+"/"+repo+":latest", want, oci.WithInsecure())
			if err != nil || byTag.Image != ref {
				t.Fatalf("by tag: %v %+v", err, byTag)
			}
		})
	}

	t.Run("unsigned image", func(t *testing.T) {
		ref := reg.PushRandomImage(t, "unsigned")
		if _, err := verify.VerifyImage(ctx, v.auth, ref, want, oci.WithInsecure()); !errors.Is(err, verify.ErrNoAttestation) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("attestation copied from another image", func(t *testing.T) {
		a := reg.PushRandomImage(t, "a")
		b := reg.PushRandomImage(t, "b")
		// A valid, signed attestation about image a, copied to b (oci.Attach
		// refuses to attach it there).
		attach(t, a, envelope(t, imageStatement(t, a), key), oci.Legacy)
		if n := reg.CopyAttestations(t, a, b); n != 1 {
			t.Fatalf("copied %d attestations, want 1", n)
		}
		_, err := verify.VerifyImage(ctx, v.auth, b, want, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) || !errors.Is(err, verify.ErrSubject) {
			t.Fatalf("err = %v, want ErrNoAttestation and ErrSubject", err)
		}
	})
	t.Run("signed by another key", func(t *testing.T) {
		ref := reg.PushRandomImage(t, "stranger")
		attach(t, ref, envelope(t, imageStatement(t, ref), genKey(t, sign.Ed25519)), oci.Referrers)
		if _, err := verify.VerifyImage(ctx, v.auth, ref, want, oci.WithInsecure()); !errors.Is(err, verify.ErrSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEvaluateImageWithDependencies(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	key := genKey(t, sign.ECDSAP256SHA256)
	base := reg.PushRandomImage(t, "base")
	app := reg.PushRandomImage(t, "app")
	baseRepo, baseDigest, _ := strings.Cut(base, "@sha256:")
	baseMat := intoto.ResourceDescriptor{URI: "oci://" + baseRepo, Digest: intoto.DigestSet{"sha256": baseDigest}}
	attach(t, app, envelope(t, imageStatement(t, app, baseMat), key), oci.Referrers)

	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\ndependencies:\n  maxDepth: 1\nsigners:\n  - artifacts: \"" + reg.Host() + "/**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithFetcher(verify.OCIFetcher(oci.WithInsecure())), verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	// The base image has no provenance yet: the app fails on its dependency.
	rep, err := eng.EvaluateImage(ctx, app, oci.WithInsecure())
	if !errors.Is(err, verify.ErrDependency) || !errors.Is(err, verify.ErrNoAttestation) {
		t.Fatalf("err = %v\n%s", err, rep)
	}
	// Attest the base image: now both pass.
	attach(t, base, envelope(t, imageStatement(t, base), key), oci.Legacy)
	if rep, err := eng.EvaluateImage(ctx, app, oci.WithInsecure()); err != nil || len(rep.Dependencies) != 1 {
		t.Fatalf("err = %v\n%s", err, rep)
	}
}

// A verifier evaluates an image, attaches a signed VSA to it, and a second
// consumer that trusts that verifier admits the image by the VSA alone.
func TestVSAAttachedToImage(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	builderKey := genKey(t, sign.ECDSAP256SHA256)
	verifierKey := genKey(t, sign.Ed25519)
	app := reg.PushRandomImage(t, "app")
	attach(t, app, envelope(t, imageStatement(t, app), builderKey), oci.Referrers)

	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\nsigners:\n  - artifacts: \"" + reg.Host() + "/**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, builderKey)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.EvaluateImage(ctx, app, oci.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	vsa, err := eng.VSA(rep, verify.VSAOptions{VerifierID: "https://verifier.example.com/v1"})
	if err != nil {
		t.Fatal(err)
	}
	attach(t, app, envelope(t, vsa, verifierKey), oci.Referrers)

	// A consumer applying the same policy file trusts the verifier: the VSA
	// read back from the registry admits the image without re-evaluating
	// the provenance.
	cp, _ := verify.ParsePolicy([]byte(doc))
	vk, _ := sign.VerifierFor(verifierKey)
	consumer, err := verify.NewEngine(ctx, cp, verify.WithTrustedVSA("https://verifier.example.com/v1", time.Hour, vk))
	if err != nil {
		t.Fatal(err)
	}
	got, err := consumer.EvaluateImage(ctx, app, oci.WithInsecure())
	if err != nil || !strings.Contains(got.String(), "passed  vsa") || len(got.Attestations) != 0 {
		t.Fatalf("fast path through the registry: %v\n%s", err, got)
	}
	// With another policy, the VSA does not apply.
	otherPolicy, _ := verify.ParsePolicy([]byte(doc + "maxAge: 24h\n"))
	strict, _ := verify.NewEngine(ctx, otherPolicy, verify.WithTrustedVSA("https://verifier.example.com/v1", time.Hour, vk))
	if got, _ := strict.EvaluateImage(ctx, app, oci.WithInsecure()); !strings.Contains(got.String(), "VSA is for another policy") {
		t.Fatalf("VSA for another policy accepted:\n%s", got)
	}
	// Another image carrying no VSA is not admitted by it.
	other := reg.PushRandomImage(t, "other")
	if _, err := consumer.EvaluateImage(ctx, other, oci.WithInsecure()); !errors.Is(err, verify.ErrNoAttestation) {
		t.Fatalf("other image: %v", err)
	}
}

// A registry host is a DNS name: a case variant of it names the same
// registry, so it must select the same signer rule, never fall past it to
// a broader one (a "**" rule trusting another key).
func TestEvaluateImageHostCaseSelectsItsRule(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	specific, broad := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256)
	_, port, _ := strings.Cut(reg.Host(), ":")
	host := "localhost:" + port
	app := strings.Replace(reg.PushRandomImage(t, "app"), reg.Host(), host, 1)
	attach(t, app, envelope(t, imageStatement(t, app), broad), oci.Referrers)

	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\nsigners:\n" +
		"  - artifacts: \"" + host + "/**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, specific)) + "\n" +
		"  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, broad)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{host, "LOCALHOST:" + port, "LocalHost:" + port} {
		ref := strings.Replace(app, host, h, 1)
		rep, err := eng.EvaluateImage(ctx, ref, oci.WithInsecure())
		if err == nil {
			t.Errorf("%s: signed only by the broad rule's key, yet admitted (rule %q)", h, rep.Rule)
			continue
		}
		if rep == nil || rep.Rule != host+"/**" {
			t.Errorf("%s: judged by rule %v, want %q (err %v)", h, rep, host+"/**", err)
		}
	}
	// Signed by the specific key, every spelling passes under its rule.
	attach(t, app, envelope(t, imageStatement(t, app), specific), oci.Referrers)
	for _, h := range []string{host, "LOCALHOST:" + port} {
		if rep, err := eng.EvaluateImage(ctx, strings.Replace(app, host, h, 1), oci.WithInsecure()); err != nil || rep.Rule != host+"/**" {
			t.Errorf("%s: err = %v, rule %v", h, err, rep)
		}
	}
}
