package keyless_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// TestArtifactDigestStrong: the expected artifact digest must be strong
// and spelled canonically. On main, WithArtifactDigest("md5", ...) or an
// unknown algorithm matched a subject the signer wrote with it, and
// "SHA256" was folded to sha256.
func TestArtifactDigestStrong(t *testing.T) {
	svc := keylesstest.New(t)
	ctx := context.Background()
	_, d := statement(t, "artifact-bytes")
	m5 := strings.Repeat("5", 32)
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": d, "md5": m5, "crc32": "deadbeef"}}},
		"predicateType": "https://example.com/test-predicate/v1",
		"predicate":     map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(svc.SigningServices()),
		signkeyless.WithToken(signkeyless.StaticToken(emailToken(t, svc.Issuer, testEmail))))
	if err != nil {
		t.Fatal(err)
	}
	att, err := sign.Attest(ctx, st, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := att.Bundle.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	for _, c := range []struct{ alg, hex string }{
		{"md5", m5}, {"crc32", "deadbeef"}, {"SHA256", d}, {"sha-256", d}, {"sha256", d[:63]},
	} {
		if _, err := v.Verify(ctx, b, keyless.WithArtifactDigest(c.alg, c.hex)); !errors.Is(err, keyless.ErrConfig) {
			t.Errorf("%s:%s: err = %v, want ErrConfig", c.alg, c.hex, err)
		}
	}
	if _, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha256", strings.ToUpper(d))); err != nil {
		t.Fatalf("sha256: %v", err)
	}
}
