package verify_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// versionsOf is the VersionedVerifier of a rotated key, newest first.
func versionsOf(t *testing.T, keys ...sign.Signer) sign.VersionedVerifier {
	t.Helper()
	vs := make([]sign.Verifier, len(keys))
	for i, k := range keys {
		vs[i] = verifierOf(t, k)
	}
	v, err := sign.NewVersionedVerifier(vs...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A rotated key verifies what every version signed, and its versions count
// as one signer: the owner of one key cannot meet a threshold of two by
// signing with two of its versions.
func TestRotatedKeyIsOneSigner(t *testing.T) {
	ctx := context.Background()
	a1, a2, a3 := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519)
	b := genKey(t, sign.ECDSAP384SHA384)
	stmt := statement(t, "artifact")
	rotated := versionsOf(t, a3, a2, a1)

	one := newVerifier(t, verify.WithKeys(rotated))
	for i, k := range []sign.Signer{a1, a2, a3} {
		if _, err := one.Verify(ctx, signed(t, stmt, k), fullExpect()); err != nil {
			t.Errorf("signed by version %d: %v", i+1, err)
		}
	}
	if _, err := one.Verify(ctx, signed(t, stmt, b), fullExpect()); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("signed by another key: err = %v, want ErrSignature", err)
	}

	two := newVerifier(t, verify.WithKeys(rotated, verifierOf(t, b)), verify.WithThreshold(2))
	if _, err := two.Verify(ctx, signed(t, stmt, a1, b), fullExpect()); err != nil {
		t.Errorf("old version + other key: %v", err)
	}
	if _, err := two.Verify(ctx, signed(t, stmt, a1, a3), fullExpect()); !errors.Is(err, verify.ErrThreshold) {
		t.Errorf("two versions of one key: err = %v, want ErrThreshold", err)
	}
	if _, err := two.Verify(ctx, signed(t, stmt, a1, a2, a3), fullExpect()); !errors.Is(err, verify.ErrThreshold) {
		t.Errorf("three versions of one key: err = %v, want ErrThreshold", err)
	}

	// One key can't be made two by configuring it again, alone or as a
	// version of another: both ways a threshold of 2 is refused.
	for name, opts := range map[string][]verify.KeyOption{
		"rotated key alone":             {verify.WithKeys(rotated)},
		"rotated key and its version":   {verify.WithKeys(rotated, verifierOf(t, a1))},
		"version, then the rotated key": {verify.WithKeys(verifierOf(t, a2), rotated)},
		"two rotations sharing a key":   {verify.WithKeys(versionsOf(t, a2, a1), versionsOf(t, a3, a2))},
	} {
		if _, err := verify.Keys(append(opts, verify.WithThreshold(2))...); err == nil {
			t.Errorf("%s: threshold 2 over one signer was accepted", name)
		}
	}
}

func TestVersionedVerifierLimits(t *testing.T) {
	if _, err := sign.NewVersionedVerifier(); err == nil {
		t.Error("no versions accepted")
	}
	k := verifierOf(t, genKey(t, sign.Ed25519))
	if _, err := sign.NewVersionedVerifier(k, nil); err == nil {
		t.Error("nil version accepted")
	}
	many := make([]sign.Verifier, sign.MaxKeyVersions+1)
	for i := range many {
		many[i] = k
	}
	if _, err := sign.NewVersionedVerifier(many...); err == nil {
		t.Errorf("%d versions accepted", len(many))
	}
	if _, err := sign.NewVersionedVerifier(many[:sign.MaxKeyVersions]...); err != nil {
		t.Errorf("%d versions: %v", sign.MaxKeyVersions, err)
	}
}

// A policy trusting a rotated KMS key is identified by every version it
// trusts: adding or disabling a version changes its PolicyDigest, so a VSA
// issued under the old set is not taken for the new one.
func TestRotatedKeyPolicyDigest(t *testing.T) {
	ctx := context.Background()
	a1, a2 := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256)
	digestWith := func(v sign.Verifier) string {
		t.Helper()
		p, err := verify.ParsePolicy([]byte(`{"version": 1, "signers": [{"artifacts": "**", "keys": [{"kms": "test://k"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		eng, err := verify.NewEngine(ctx, p, verify.WithKeyResolver(func(context.Context, string) (sign.Verifier, error) { return v, nil }))
		if err != nil {
			t.Fatal(err)
		}
		return eng.PolicyDigest()["sha256"]
	}
	both, again, newOnly := digestWith(versionsOf(t, a2, a1)), digestWith(versionsOf(t, a2, a1)), digestWith(versionsOf(t, a2))
	if both != again {
		t.Error("the same versions give two policy digests")
	}
	if both == newOnly {
		t.Error("disabling a version left the policy digest unchanged")
	}
}
