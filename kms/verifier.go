package kms

import (
	"context"

	"github.com/slsakit/slsakit/sign"
)

// NewVerifier returns a sign.Verifier for the public key of the Cloud KMS
// key version named by ref, fetched and checked the way NewSigner does
// (pem_crc32c, response name, algorithm, key type). Its KeyID is the
// public key's sign.PublicKeyID, the KeyID a Signer for the same
// version writes into envelopes, and it has an Algorithm() method.
//
// Name the version in ref: a reference without one resolves to the newest
// ENABLED version, which stops verifying older signatures once the key is
// rotated. The client is closed before NewVerifier returns (unless given
// with WithClient); verification itself makes no RPC.
func NewVerifier(ctx context.Context, ref string, opts ...Option) (sign.Verifier, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	client, owned, err := newClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	if owned {
		defer client.Close()
	}
	s, err := load(ctx, client, r)
	if err != nil {
		return nil, err
	}
	return &verifier{Verifier: s.local, keyID: s.KeyID(), alg: s.alg.alg}, nil
}

// verifier is a sign.Verifier for a KMS key version.
type verifier struct {
	sign.Verifier
	keyID string
	alg   sign.Algorithm
}

func (v *verifier) KeyID() string             { return v.keyID }
func (v *verifier) Algorithm() sign.Algorithm { return v.alg }

// Resolver returns a function that resolves gcpkms:// references with
// NewVerifier and opts. Its type fits verify.KeyResolver:
//
//	engine, err := verify.NewEngine(ctx, policy, verify.WithKeyResolver(kms.Resolver()))
//
// so that the verify package accepts KMS keys without importing this one.
func Resolver(opts ...Option) func(ctx context.Context, ref string) (sign.Verifier, error) {
	return func(ctx context.Context, ref string) (sign.Verifier, error) {
		return NewVerifier(ctx, ref, opts...)
	}
}
