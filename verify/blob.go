package verify

import (
	"context"
	"fmt"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// VerifyBlob authenticates a blob signature: b is a Sigstore bundle
// holding a message signature (what sign.SignBlob and cosign sign-blob
// write, or a detached .sig/.cert pair read with sign.DetachedBundle), and
// digest is the blob's digest, computed by the caller from the blob itself
// (DigestOfFile), never taken from the bundle. auth is the same
// Authenticator attestations are verified with: Keys for public and KMS
// keys, verify/keyless for certificate identities and managed keys against
// a trusted root.
//
// It returns who signed and when (Authenticated.Signers, Times) and the
// digest the signature was verified over (Artifact). It fails with
// ErrMalformed when b is not a message-signature bundle, ErrSubject when
// digest is not a strong digest set, when the authenticator verified
// another artifact or none (an authenticator that knows only envelopes
// vouches for no blob), and otherwise with the authenticator's error,
// wrapped in ErrSignature unless it already wraps one of this package's
// sentinels. Nothing of a predicate or statement is read: a blob has none.
func VerifyBlob(ctx context.Context, auth Authenticator, b *sign.Bundle, digest intoto.DigestSet) (*Authenticated, error) {
	if b == nil || b.MessageSignature == nil || b.DSSEEnvelope != nil {
		return nil, fmt.Errorf("%w: not a blob signature (a bundle with a message signature)", ErrMalformed)
	}
	if auth == nil {
		return nil, fmt.Errorf("%w: no authenticator", ErrSignature)
	}
	want, err := expectedDigest(digest)
	if err != nil {
		return nil, err
	}
	au, err := auth.Authenticate(ctx, &sign.Attestation{Bundle: b}, want)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !isSentinel(err) {
			err = fmt.Errorf("%w: %w", ErrSignature, err)
		}
		return nil, err
	}
	switch {
	case au == nil || len(au.Artifact) == 0:
		return nil, fmt.Errorf("%w: %w: the authenticator (%s) verified no blob signature", ErrSignature, ErrSubject, describe(auth))
	case !au.Artifact.HasStrong() || !want.MatchesStrong(au.Artifact):
		return nil, fmt.Errorf("%w: the signature was verified over %v, the blob is %v", ErrSubject, au.Artifact, want)
	}
	return au, nil
}
