package kms_test

import (
	"context"
	"errors"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// TestRotation: a verifier for a key without a version trusts every ENABLED
// version, not only the newest, so rotating the key does not orphan what
// was signed before; disabling a version is what revokes it. The versions
// are one signer: two of them cannot meet a threshold of two.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	v1 := srv.CreateKey(keyRing, "rotating", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	key := keyOf(v1)
	old := newSigner(t, srv, key) // signs with v1, the only version
	v2 := srv.AddVersion(key)
	v3 := srv.AddVersion(key)
	newest := newSigner(t, srv, key)
	if newest.VersionName() != v3 {
		t.Fatalf("newest signer uses %s, want %s", newest.VersionName(), v3)
	}
	middle := newSigner(t, srv, v2)
	opts := kms.WithClientOptions(srv.ClientOptions()...)

	msg := []byte("release")
	sigOf := func(s *kms.Signer) []byte {
		t.Helper()
		sig, err := s.Sign(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	oldSig, midSig, newSig := sigOf(old), sigOf(middle), sigOf(newest)

	v, err := kms.NewVerifier(ctx, srv.Ref(key), opts)
	if err != nil {
		t.Fatal(err)
	}
	vv, ok := v.(sign.VersionedVerifier)
	if !ok || len(vv.Versions()) != 3 {
		t.Fatalf("verifier %v: want a VersionedVerifier of 3 versions", v)
	}
	if v.KeyID() != newest.KeyID() {
		t.Errorf("KeyID %s, want the newest version's %s", v.KeyID(), newest.KeyID())
	}
	for name, sig := range map[string][]byte{"v1": oldSig, "v2": midSig, "v3": newSig} {
		if err := v.Verify(ctx, msg, sig); err != nil {
			t.Errorf("signature by %s: %v", name, err)
		}
		if err := v.Verify(ctx, []byte("other"), sig); !errors.Is(err, sign.ErrInvalidSignature) {
			t.Errorf("signature by %s over another message: %v", name, err)
		}
	}
	// A version named in the reference trusts that version only.
	only2, err := kms.NewVerifier(ctx, srv.Ref(v2), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := only2.Verify(ctx, msg, oldSig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("v2 verifier accepted v1's signature: %v", err)
	}

	// In a policy: a threshold of 2 over one rotated KMS key and a
	// second key is met by the rotated key plus the second, never by two
	// versions of the rotated key.
	other := srv.CreateKey(keyRing, "second", kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384)
	second := newSigner(t, srv, other)
	auth, err := verify.Keys(verify.WithKeys(v, mustVerifier(t, srv, other)), verify.WithThreshold(2))
	if err != nil {
		t.Fatal(err)
	}
	stmt := []byte(statement)
	attOf := func(signers ...sign.Signer) *sign.Attestation {
		t.Helper()
		env, err := sign.SignStatement(ctx, stmt, signers...)
		if err != nil {
			t.Fatal(err)
		}
		return &sign.Attestation{Envelope: env}
	}
	if _, err := auth.Authenticate(ctx, attOf(old, second), nil); err != nil {
		t.Errorf("v1 + second key: %v", err)
	}
	if _, err := auth.Authenticate(ctx, attOf(old, middle, newest), nil); !errors.Is(err, verify.ErrThreshold) {
		t.Errorf("three versions of one key: err = %v, want ErrThreshold", err)
	}

	// Disabling v1 revokes it for verifiers made after.
	srv.SetVersionState(v1, kmspb.CryptoKeyVersion_DISABLED)
	after, err := kms.NewVerifier(ctx, srv.Ref(key), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := after.Verify(ctx, msg, oldSig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("disabled v1 still verifies: %v", err)
	}
	if err := after.Verify(ctx, msg, midSig); err != nil {
		t.Errorf("v2 after disabling v1: %v", err)
	}
}

func mustVerifier(t *testing.T, srv *kmstest.Server, ref string) sign.Verifier {
	t.Helper()
	v, err := kms.NewVerifier(context.Background(), srv.Ref(ref), kms.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
