package sign

import (
	"context"
	"crypto"
	"crypto/x509"
)

// Signer is the one seam every signing backend plugs into: a file key, a
// cloud KMS key, a Sigstore keyless identity, or anything a user writes.
//
// Sign receives the complete message (for DSSE, the pre-authentication
// encoding of the payload) and returns the raw signature bytes. A Signer that
// needs a digest computes it itself, with the hash its algorithm requires, so
// that callers never hash on its behalf.
//
// KeyID returns a stable hint that identifies the key; it is recorded in the
// envelope and may be empty. It is a hint for verifiers, never a proof.
//
// Public returns the public key that verifies this Signer's signatures.
//
// Implementations must be safe for concurrent use and must honour ctx.
type Signer interface {
	Sign(ctx context.Context, data []byte) ([]byte, error)
	KeyID() string
	Public() crypto.PublicKey
}

// CertificateSigner is the optional interface of a Signer whose key is bound
// to an identity by a certificate chain (Sigstore keyless, X.509, SPIFFE
// SVIDs). The chain is leaf first.
type CertificateSigner interface {
	Signer
	CertificateChain() []*x509.Certificate
}

// BundleSigner is the optional interface of a Signer that can prove more
// than its signature: a Sigstore keyless signer (certificate, log entry,
// timestamps). BundleEnvelope returns the bundle of the signature it made
// on env (env carries other signers' signatures too when it was signed
// with several); it fails if env holds none of its signatures. Attest
// calls it; implement it with CertificateSigner and AlgorithmSigner as
// they apply.
type BundleSigner interface {
	Signer
	BundleEnvelope(ctx context.Context, env *Envelope) (*Bundle, error)
}

// AlgorithmSigner is the optional interface of a Signer that can name its
// signature algorithm. Verifiers use it to pick the RSA padding and the hash
// without being told.
type AlgorithmSigner interface {
	Signer
	Algorithm() Algorithm
}

// Verifier checks signatures made by one key. Verify receives the same
// complete message that the Signer signed.
type Verifier interface {
	Verify(ctx context.Context, data, sig []byte) error
	KeyID() string
	Public() crypto.PublicKey
}

// Algorithm names a signature scheme: key type, curve or size, padding and
// hash. The names follow Sigstore's algorithm registry where one exists.
type Algorithm string

// The signature schemes slsakit signs and verifies.
const (
	ECDSAP256SHA256   Algorithm = "ecdsa-sha2-256-nistp256"
	ECDSAP384SHA384   Algorithm = "ecdsa-sha2-384-nistp384"
	ECDSAP521SHA512   Algorithm = "ecdsa-sha2-512-nistp521"
	Ed25519           Algorithm = "ed25519"
	RSAPKCS1v15SHA256 Algorithm = "rsa-sign-pkcs1-sha256"
	RSAPKCS1v15SHA512 Algorithm = "rsa-sign-pkcs1-sha512"
	RSAPSSSHA256      Algorithm = "rsa-sign-pss-sha256"
	RSAPSSSHA512      Algorithm = "rsa-sign-pss-sha512"
)
