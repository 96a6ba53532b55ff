package sigstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// services is what a keyless benchmark signs against: the real stack or
// keylesstest's doubles.
type services struct {
	issuer *keylesstest.Issuer
	sign   signkeyless.Services
	root   []byte
}

func realServices(b *testing.B) services {
	st := stack.Get(b)
	return services{issuer: st.Issuer, sign: st.KeylessServicesV2(), root: st.TrustedRoot()}
}

func doubleServices(b *testing.B) services {
	svc := keylesstest.New(b)
	root, err := svc.TrustedRootJSON()
	if err != nil {
		b.Fatal(err)
	}
	return services{issuer: svc.Issuer, sign: svc.SigningServices(), root: root}
}

func benchStatement(b *testing.B) ([]byte, string) {
	sum := sha256.Sum256([]byte("benchmark artifact"))
	d := hex.EncodeToString(sum[:])
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "artifact", "digest": map[string]string{"sha256": d}}},
		"predicateType": "https://example.com/bench/v1",
		"predicate":     map[string]any{},
	})
	if err != nil {
		b.Fatal(err)
	}
	return st, d
}

// keylessAttest is one whole keyless signature: token → certificate
// (Fulcio) → signature → log entry (Rekor v1) → timestamp (TSA).
func keylessAttest(b *testing.B, s services, stmt []byte) *sign.Attestation {
	ctx := context.Background()
	tok, err := s.issuer.EmailToken(signerEmail)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(s.sign), signkeyless.WithToken(signkeyless.StaticToken(tok)))
	if err != nil {
		b.Fatal(err)
	}
	att, err := sign.Attest(ctx, stmt, signer)
	if err != nil {
		b.Fatal(err)
	}
	return att
}

// BenchmarkKeylessSign: a keyless attestation against the real services
// and against the doubles.
func BenchmarkKeylessSign(b *testing.B) {
	eachServices(b, func(b *testing.B, s services) {
		stmt, _ := benchStatement(b)
		for b.Loop() {
			keylessAttest(b, s, stmt)
		}
	})
}

// eachServices runs f as sub-benchmarks "real" and "double".
func eachServices(b *testing.B, f func(*testing.B, services)) {
	for _, c := range []struct {
		name string
		svc  func(*testing.B) services
	}{{"real", realServices}, {"double", doubleServices}} {
		b.Run(c.name, func(b *testing.B) { f(b, c.svc(b)) })
	}
}

// BenchmarkKeylessVerify: verifying such an attestation (certificate chain,
// identity, log entry, timestamp) offline with the trusted root.
func BenchmarkKeylessVerify(b *testing.B) {
	eachServices(b, func(b *testing.B, s services) {
		stmt, d := benchStatement(b)
		raw, err := keylessAttest(b, s, stmt).Bundle.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		v, err := keyless.NewVerifier(keyless.WithTrustedRootJSON(s.root),
			keyless.WithIdentity(verify.Identity{Issuer: s.issuer.URL(), Subject: signerEmail}),
			keyless.WithTlogThreshold(1), keyless.WithSignedTimestampThreshold(1))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), raw, keyless.WithArtifactDigest("sha256", d)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
