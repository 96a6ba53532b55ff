package keyless_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

const coreBuilder = "https://ci.example.com/builders/keyless@v1"

// attachKeyless signs a SLSA provenance for the image ref keyless (as
// email on svc's default issuer) and attaches it with its Sigstore bundle
// as an OCI referrer.
func attachKeyless(t *testing.T, svc *keylesstest.Services, ref, email string) {
	t.Helper()
	repo, hex, _ := strings.Cut(ref, "@sha256:")
	rec := provenance.NewRecorder(provenance.Builder{ID: coreBuilder}, "https://example.com/buildtypes/make@v1")
	rec.Start()
	if err := rec.SetExternalParameter("target", "release"); err != nil {
		t.Fatal(err)
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: repo, Digest: intoto.DigestSet{"sha256": hex}}); err != nil {
		t.Fatal(err)
	}
	rec.Finish()
	st, err := rec.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	attachKeylessStatement(t, svc, ref, email, st)
}

// attachKeylessStatement signs st keyless (as email on svc's default
// issuer) and attaches it to ref with its Sigstore bundle as a referrer.
func attachKeylessStatement(t *testing.T, svc *keylesstest.Services, ref, email string, st []byte) {
	t.Helper()
	ctx := context.Background()
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(svc.SigningServices()),
		signkeyless.WithToken(signkeyless.StaticToken(emailToken(t, svc.Issuer, email))))
	if err != nil {
		t.Fatal(err)
	}
	att, err := sign.Attest(ctx, st, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Attach(ctx, ref, att, oci.WithLayout(oci.Referrers), oci.WithInsecure()); err != nil {
		t.Fatalf("Attach: %v", err)
	}
}

// The core verify package checks keyless attestations of an image through
// the Authenticator seam, with the real keyless stack behind it, and the
// results say who signed and when.
func TestCoreVerifyImageKeyless(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.PushRandomImage(t, "app")
	attachKeyless(t, svc, ref, testEmail)
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: coreBuilder}

	good := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	res, err := verify.VerifyImage(ctx, good, reg.Host()+"/app:latest", want, oci.WithInsecure())
	if err != nil {
		t.Fatalf("VerifyImage: %v", err)
	}
	if len(res.Verified()) != 1 || res.Image != ref || res.Verified()[0].Statement.Provenance.BuilderID != coreBuilder {
		t.Fatalf("result: %+v", res)
	}
	// Who and when: the certificate's identity and the log's time.
	r := res.Verified()[0]
	if len(r.Signers) != 1 || r.Signers[0].Identity == nil || r.Signers[0].Identity.Subject != testEmail ||
		r.Signers[0].Identity.Issuer != svc.Issuer.URL() || r.Signers[0].KeyID == "" {
		t.Errorf("signers = %+v, want %s at %s with the certificate's key ID", r.Signers, testEmail, svc.Issuer.URL())
	}
	if len(r.Times) == 0 || time.Since(r.Times[0]) > time.Hour || time.Until(r.Times[0]) > verify.ClockSkew {
		t.Errorf("times = %v, want the log's integrated time", r.Times)
	}

	bad := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: "mallory@example.com"}))
	_, err = verify.VerifyImage(ctx, bad, ref, want, oci.WithInsecure())
	for _, target := range []error{verify.ErrNoAttestation, verify.ErrSignature, keyless.ErrIdentity} {
		if !errors.Is(err, target) {
			t.Errorf("wrong SAN: err = %v, want %v", err, target)
		}
	}

	// The statement checks still apply after the bundle verified.
	_, err = verify.VerifyImage(ctx, good, ref, verify.Expectations{BuilderID: "https://evil.example.com"}, oci.WithInsecure())
	if !errors.Is(err, verify.ErrBuilder) || !errors.Is(err, verify.ErrNoAttestation) {
		t.Errorf("wrong builder: err = %v", err)
	}
}

// A policy file with identities, evaluated on an image through
// keyless.Identities.
func TestCorePolicyIdentities(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	reg := ocitest.NewRegistry(t)
	ref := reg.PushRandomImage(t, "app")
	attachKeyless(t, svc, ref, testEmail)
	other, err := svc.NewIssuer("other")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	idv := verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootJSON(tr)))

	policy := func(issuer, subject string) *verify.Policy {
		t.Helper()
		doc := "version: 1\nbuilders:\n  - id: " + coreBuilder + "\nsigners:\n" +
			"  - artifacts: \"" + reg.Host() + "/**\"\n    identities:\n" +
			"      - issuer: " + issuer + "\n        " + subject + "\n"
		p, err := verify.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		return p
	}
	for name, p := range map[string]*verify.Policy{
		"subject":       policy(svc.Issuer.URL(), "subject: "+testEmail),
		"subjectRegexp": policy(svc.Issuer.URL(), `subjectRegexp: '.*@example\.com'`),
	} {
		eng, err := verify.NewEngine(ctx, p, idv)
		if err != nil {
			t.Fatalf("%s: NewEngine: %v", name, err)
		}
		if rep, err := eng.EvaluateImage(ctx, ref, oci.WithInsecure()); err != nil {
			t.Errorf("%s: EvaluateImage: %v\n%s", name, err, rep)
		}
	}

	for name, c := range map[string]struct {
		p    *verify.Policy
		want error
	}{
		"wrong issuer": {policy(other.URL(), "subject: "+testEmail), keyless.ErrIssuer},
		"wrong SAN":    {policy(svc.Issuer.URL(), "subject: mallory@example.com"), keyless.ErrIdentity},
		// Anchored: a prefix match is not a match.
		"partial regexp": {policy(svc.Issuer.URL(), `subjectRegexp: 'builder'`), keyless.ErrIdentity},
	} {
		eng, err := verify.NewEngine(ctx, c.p, idv)
		if err != nil {
			t.Fatalf("%s: NewEngine: %v", name, err)
		}
		rep, err := eng.EvaluateImage(ctx, ref, oci.WithInsecure())
		if !errors.Is(err, verify.ErrNoAttestation) || len(rep.Attestations) != 1 || !errors.Is(rep.Attestations[0].Err(), c.want) {
			t.Errorf("%s: err = %v, want ErrNoAttestation with %v\n%s", name, err, c.want, rep)
		}
	}

	// Without trust anchor the hook fails, and NewEngine with it.
	if _, err := verify.NewEngine(ctx, policy(svc.Issuer.URL(), "subject: "+testEmail),
		verify.WithIdentities(keyless.Identities())); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("no trusted root: err = %v, want ErrConfig", err)
	}
}

// A policy engine that checks signer rules with keyless identities
// (`identities:` in a policy file) against a Sigstore trusted root.
func ExampleIdentities() {
	ctx := context.Background()
	p, err := verify.LoadPolicyFile("policy.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(
		keyless.Identities(keyless.WithTrustedRootFile("trusted_root.json"))))
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := eng.EvaluateImage(ctx, "registry.example.com/app:v1")
	fmt.Print(rep, err)
}
