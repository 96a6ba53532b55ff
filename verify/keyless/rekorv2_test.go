package keyless_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// An attestation logged in Rekor v2 verifies offline with the default
// policy (one verified log entry, one verified time): the entry is proven
// by its inclusion proof and checkpoint, the time comes from the signed
// timestamp because a v2 entry has none. Every part an attacker can
// change breaks it (the signing half fails on main, which could not write
// to a v2 log).
func TestRekorV2Attestation(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	// A first entry, so that the bundle's has a non-empty proof path.
	signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithServices(svc.SigningServicesV2()))
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithServices(svc.SigningServicesV2()))
	if svc.LogV2.Size() != 2 || svc.Log.Size() != 0 {
		t.Fatalf("v2 log %d, v1 log %d entries", svc.LogV2.Size(), svc.Log.Size())
	}
	id := keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail})
	v := newVerifier(t, svc, id)
	res, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(res.Timestamps) != 1 || res.Timestamps[0].Type != "TimestampAuthority" {
		t.Errorf("timestamps = %+v, want the TSA's only (a v2 entry has no integrated time)", res.Timestamps)
	}

	entry := func(m map[string]any) map[string]any { return tlogEntry(m) }
	proof := func(m map[string]any) map[string]any { return entry(m)["inclusionProof"].(map[string]any) }
	for _, tc := range []struct {
		name string
		f    func(m map[string]any)
		want error
	}{
		{"timestamp removed", func(m map[string]any) {
			delete(m["verificationMaterial"].(map[string]any), "timestampVerificationData")
		}, keyless.ErrNoTime},
		{"proof hash changed", func(m map[string]any) {
			h := proof(m)["hashes"].([]any)
			h[0] = flipB64(t, h[0].(string))
		}, keyless.ErrTlog},
		{"checkpoint changed", func(m map[string]any) {
			cp := proof(m)["checkpoint"].(map[string]any)
			cp["envelope"] = strings.Replace(cp["envelope"].(string), "\n2\n", "\n3\n", 1)
		}, keyless.ErrTlog},
		{"log index changed", func(m map[string]any) {
			entry(m)["logIndex"] = "0"
			proof(m)["logIndex"] = "0"
		}, keyless.ErrTlog},
		{"unknown log", func(m map[string]any) {
			lid := entry(m)["logId"].(map[string]any)
			lid["keyId"] = flipB64(t, lid["keyId"].(string))
		}, keyless.ErrTlog},
		{"payload changed", func(m map[string]any) {
			env := m["dsseEnvelope"].(map[string]any)
			env["payload"] = flipB64(t, env["payload"].(string))
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := mutate(t, b, tc.f)
			if bytes.Equal(bad, mutate(t, b, func(map[string]any) {})) {
				t.Fatal("the mutation changed nothing")
			}
			_, err := v.Verify(ctx, bad, keyless.WithArtifactDigest("sha256", d))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// One entry in one log: a policy that asks for two logs is not met.
	if _, err := newVerifier(t, svc, id, keyless.WithTlogThreshold(2)).Verify(ctx, b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTlog) {
		t.Errorf("two logs required: err = %v, want ErrTlog", err)
	}
}

// A blob signature logged in Rekor v2 verifies for its blob and no other.
func TestRekorV2Blob(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(svc.SigningServicesV2()),
		signkeyless.WithToken(signkeyless.StaticToken(emailToken(t, svc.Issuer, testEmail))))
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("kubectl-linux-amd64")
	b, err := sign.SignBlob(ctx, bytes.NewReader(blob), s)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	au, err := verify.VerifyBlob(ctx, v, b, sha256Set(blob))
	if err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if len(au.Times) != 1 {
		t.Errorf("times = %v, want the TSA's", au.Times)
	}
	if _, err := verify.VerifyBlob(ctx, v, b, sha256Set([]byte("kubectl-linux-arm64"))); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("another blob: err = %v", err)
	}
}

// A bundle logged in both a v1 and a v2 log verifies with a policy that
// asks for both, and has two verified times: the v1 integrated time and
// the signed timestamp.
func TestRekorV1AndV2(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	both := signkeyless.WithRekor(
		signkeyless.RekorLog{URL: svc.RekorURL(), APIVersion: signkeyless.RekorV1},
		signkeyless.RekorLog{URL: svc.RekorV2URL(), APIVersion: signkeyless.RekorV2})
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), both)
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}),
		keyless.WithTlogThreshold(2), keyless.WithSignedTimestampThreshold(1))
	res, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	types := map[string]int{}
	for _, ts := range res.Timestamps {
		types[ts.Type]++
	}
	if types["Tlog"] != 1 || types["TimestampAuthority"] != 1 {
		t.Errorf("timestamps = %+v", res.Timestamps)
	}
}

// A key-signed bundle in a Rekor v2 log verifies with the trusted key and
// the log's trusted root.
func TestRekorV2KeySigned(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	key, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	st, d := statement(t, "artifact-bytes")
	env, err := sign.SignStatement(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := signkeyless.KeyBundle(ctx, env, key,
		signkeyless.WithRekor(signkeyless.RekorLog{URL: svc.RekorV2URL(), APIVersion: signkeyless.RekorV2}), signkeyless.WithTSAURLs(svc.TSAURL()))
	b := marshalBundle(t, kb, err)
	v := newVerifier(t, svc, keyless.WithPublicKey(key.Public()))
	if _, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha256", d)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	noTS := mutate(t, b, func(m map[string]any) {
		delete(m["verificationMaterial"].(map[string]any), "timestampVerificationData")
	})
	if _, err := v.Verify(ctx, noTS, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrNoTime) || !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("v2 entry without a timestamp: err = %v, want ErrNoTime", err)
	}
}
