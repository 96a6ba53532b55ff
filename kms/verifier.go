package kms

import (
	"context"
	"fmt"
	"hash/crc32"

	"github.com/slsakit/slsakit/sign"
)

// NewVerifier returns a sign.Verifier for the public key of the Cloud KMS
// key named by ref, fetched and checked the way NewSigner does
// (pem_crc32c, response name, algorithm, key type).
//
// With a version in ref it verifies that version; its KeyID is the public
// key's sign.PublicKeyID, the KeyID a Signer for the same version writes
// into envelopes, and it has an Algorithm() method.
//
// Without a version it verifies every ENABLED version (at most
// sign.MaxKeyVersions; name a version beyond that), so that rotating the
// key does not stop older signatures from verifying; disabling or
// destroying a version is how its signatures stop being trusted. It is then
// a sign.VersionedVerifier: its versions count as one signer in verify's
// thresholds, and its Public and KeyID are the newest version's.
//
// The client is closed before NewVerifier returns (unless given with
// WithClient); verification itself makes no RPC.
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
	if r.Version != "" {
		s, err := load(ctx, client, r)
		if err != nil {
			return nil, err
		}
		return s.verifier(), nil
	}
	listed, err := enabledVersions(ctx, client, r)
	if err != nil {
		return nil, err
	}
	if len(listed) > sign.MaxKeyVersions {
		return nil, fmt.Errorf("%w: %s has %d enabled versions, more than the %d one verifier tries; name a version in the reference",
			ErrTooManyVersions, r.KeyName(), len(listed), sign.MaxKeyVersions)
	}
	versions := make([]sign.Verifier, len(listed))
	for i, v := range listed {
		alg, err := lookupAlgorithm(v.GetAlgorithm())
		if err != nil {
			return nil, fmt.Errorf("%w (key version %s)", err, v.GetName())
		}
		s := &Signer{client: client, crc: crc32.MakeTable(crc32.Castagnoli), version: v.GetName(), alg: alg}
		if err := s.loadPublicKey(ctx); err != nil {
			return nil, err
		}
		versions[i] = s.verifier()
	}
	return sign.NewVersionedVerifier(versions...)
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

// verifier returns the verifier of s's key version.
func (s *Signer) verifier() sign.Verifier {
	return &verifier{Verifier: s.local, keyID: s.KeyID(), alg: s.alg.alg}
}
