package keyless_test

import (
	"context"
	"os"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// publicGood is a verifier of the npm bundle, and the bundle.
func publicGood(b *testing.B) (*keyless.Verifier, []byte) {
	v, err := keyless.NewVerifier(keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"),
		keyless.WithIdentity(verify.Identity{Issuer: npmIssuer, Subject: npmSAN}))
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := os.ReadFile("testdata/npm-sigstore-1.3.0-provenance.sigstore.json")
	if err != nil {
		b.Fatal(err)
	}
	return v, bundle
}

func BenchmarkVerifyPublicGood(b *testing.B) {
	v, bundle := publicGood(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), bundle, keyless.WithArtifactDigest("sha512", npmDigest)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLoopback(b *testing.B) {
	svc := keylesstest.New(b)
	bundle, d := signBundle(b, svc, emailToken(b, svc.Issuer, testEmail))
	v := newVerifier(b, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}), keyless.WithSignedTimestampThreshold(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), bundle, keyless.WithArtifactDigest("sha256", d)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticatePublicGood is BenchmarkVerifyPublicGood through the
// verify.Authenticator seam: the parsed bundle is written back to JSON for
// sigstore-go, and the result turned into signers and times.
func BenchmarkAuthenticatePublicGood(b *testing.B) {
	v, raw := publicGood(b)
	att, err := verify.ParseAttestation(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Authenticate(context.Background(), att, intoto.DigestSet{"sha512": npmDigest}); err != nil {
			b.Fatal(err)
		}
	}
}
