package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
)

// MaxKeyVersions bounds how many versions one VersionedVerifier holds: each
// signature may be tried against every version, so the bound caps the work
// one signature can cause.
const MaxKeyVersions = 100

// VersionedVerifier is the Verifier of one signer whose key has several
// versions, such as a rotated KMS key: a signature by any version
// verifies, and the versions count as ONE signer wherever signers are
// counted (verify's thresholds), so that the owner of one rotated key
// cannot meet a threshold of two by signing with two of its versions.
//
// Public returns the newest version's key and KeyID its key ID, which is
// what a signer of that key writes into envelopes today.
type VersionedVerifier interface {
	Verifier
	// Versions returns the verifier of every version, newest first.
	Versions() []Verifier
}

// NewVersionedVerifier returns the VersionedVerifier of versions, given
// newest first: at least one and at most MaxKeyVersions, none nil.
func NewVersionedVerifier(versions ...Verifier) (VersionedVerifier, error) {
	switch {
	case len(versions) == 0:
		return nil, errors.New("sign: a versioned verifier needs at least one version")
	case len(versions) > MaxKeyVersions:
		return nil, fmt.Errorf("sign: %d key versions, at most %d", len(versions), MaxKeyVersions)
	}
	for i, v := range versions {
		if v == nil {
			return nil, fmt.Errorf("sign: key version %d is nil", i)
		}
	}
	return &versioned{vs: append([]Verifier(nil), versions...)}, nil
}

type versioned struct{ vs []Verifier }

func (v *versioned) KeyID() string            { return v.vs[0].KeyID() }
func (v *versioned) Public() crypto.PublicKey { return v.vs[0].Public() }
func (v *versioned) Versions() []Verifier     { return append([]Verifier(nil), v.vs...) }

// Verify accepts sig if any version verifies it. Failures wrap
// ErrInvalidSignature; a done ctx returns ctx.Err().
func (v *versioned) Verify(ctx context.Context, data, sig []byte) error {
	for _, k := range v.vs {
		err := k.Verify(ctx, data, sig)
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
	}
	return fmt.Errorf("%w: no version of key %s (%d versions) verifies the signature", ErrInvalidSignature, v.KeyID(), len(v.vs))
}

func (v *versioned) String() string {
	return fmt.Sprintf("sign.VersionedVerifier{keyid: %s, versions: %d}", v.KeyID(), len(v.vs))
}
