package signtest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// seedDomain separates signtest keys from any other use of the same seed.
const seedDomain = "slsakit/signtest/v1:"

// NewSigner returns a deterministic Ed25519 signer whose key is derived from
// seed (SHA-256 of a domain prefix and seed). The same seed yields the same
// key ID and the same signatures. The signer is a *sign.KeySigner, so it is
// also a sign.AlgorithmSigner.
func NewSigner(seed string) sign.Signer {
	return newKeySigner(seed)
}

// NewVerifier returns the verifier of the key NewSigner(seed) signs with.
func NewVerifier(seed string) sign.Verifier {
	v, err := sign.VerifierFor(newKeySigner(seed))
	if err != nil {
		panic("signtest: " + err.Error()) // unreachable: Ed25519 keys are always supported
	}
	return v
}

// Verifier returns the verifier of s (sign.VerifierFor), failing the test
// if there is none.
func Verifier(tb testing.TB, s sign.Signer) sign.Verifier {
	tb.Helper()
	v, err := sign.VerifierFor(s)
	if err != nil {
		tb.Fatalf("signtest: no verifier for signer: %v", err)
	}
	return v
}

func newKeySigner(seed string) *sign.KeySigner {
	sum := sha256.Sum256([]byte(seedDomain + seed))
	ks, err := sign.NewKeySigner(ed25519.NewKeyFromSeed(sum[:]))
	if err != nil {
		panic("signtest: " + err.Error()) // unreachable: Ed25519 keys are always supported
	}
	return ks
}

// NewFailingSigner returns a signer with the key of NewSigner(seed) whose
// Sign always returns err (a canceled context's error first), for testing
// how code handles a signing backend that fails: a KMS outage, a revoked
// token.
func NewFailingSigner(seed string, err error) sign.Signer {
	return failingSigner{newKeySigner(seed), err}
}

type failingSigner struct {
	*sign.KeySigner
	err error
}

func (f failingSigner) Sign(ctx context.Context, _ []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, f.err
}
