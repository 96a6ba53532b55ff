package keyless_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// FuzzVerify: no input makes Verify panic or succeed, and every failure
// is typed.
func FuzzVerify(f *testing.F) {
	for _, p := range []string{"testdata/npm-sigstore-1.3.0-provenance.sigstore.json", "testdata/npm-sigstore-2.0.0-provenance.sigstore.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	// A fixed clock: the same input takes the same path on any day.
	clock := keyless.WithClock(func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
	v, err := keyless.NewVerifier(clock, keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"),
		keyless.WithIdentity(verify.Identity{Issuer: npmIssuer, Subject: "https://github.com/nobody/none/.github/workflows/x.yml@refs/heads/main"}))
	if err != nil {
		f.Fatal(err)
	}
	typed := []error{keyless.ErrBundle, keyless.ErrTlog, keyless.ErrTimestamp, keyless.ErrCertificate, keyless.ErrSCT,
		keyless.ErrSignature, keyless.ErrIdentity, keyless.ErrIssuer, keyless.ErrArtifact}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := v.Verify(context.Background(), b, keyless.WithAnyArtifact())
		if err == nil {
			t.Fatal("a bundle verified for an identity that signed nothing")
		}
		for _, e := range typed {
			if errors.Is(err, e) {
				return
			}
		}
		t.Errorf("untyped error: %v", err)
	})
}
