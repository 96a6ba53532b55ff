package keyless

import "errors"

// Errors returned by verification. Every failure wraps exactly one of them
// (ErrNoTime comes with ErrTimestamp); match with errors.Is.
var (
	// ErrConfig is returned for an invalid option or a missing trust
	// anchor or identity policy.
	ErrConfig = errors.New("keyless verify: invalid configuration")
	// ErrBundle is returned for input that is not a Sigstore bundle with a
	// DSSE envelope, or is over the size limit.
	ErrBundle = errors.New("keyless verify: malformed bundle")
	// ErrTlog is returned when the transparency log entries do not verify
	// (signed entry timestamp, inclusion proof, checkpoint, entry contents)
	// or fewer than the required number do.
	ErrTlog = errors.New("keyless verify: transparency log verification failed")
	// ErrTimestamp is returned when signed timestamps do not verify or
	// fewer than the required number do.
	ErrTimestamp = errors.New("keyless verify: timestamp verification failed")
	// ErrNoTime is returned (with ErrTimestamp) when the policy needs a
	// verified time of signing and the bundle has none: no Rekor v1 entry
	// with an integrated time and no RFC 3161 timestamp. Rekor v2 entries
	// carry no time, so a bundle logged only there needs a timestamp.
	ErrNoTime = errors.New("keyless verify: no verified signing time")
	// ErrCertificate is returned when the signing certificate does not
	// chain to a trusted certificate authority.
	ErrCertificate = errors.New("keyless verify: untrusted certificate")
	// ErrCertificateExpired is returned when no verified time (log entry or
	// signed timestamp) falls inside the certificate's validity.
	ErrCertificateExpired = errors.New("keyless verify: certificate not valid at signing time")
	// ErrSCT is returned when the certificate's signed certificate
	// timestamps do not verify.
	ErrSCT = errors.New("keyless verify: certificate transparency verification failed")
	// ErrSignature is returned when the envelope signature does not verify.
	ErrSignature = errors.New("keyless verify: signature verification failed")
	// ErrIdentity is returned when the certificate's subject (SAN) or its
	// workflow extensions match no expected identity, or a bundle signed by
	// a key meets an identity policy.
	ErrIdentity = errors.New("keyless verify: certificate identity mismatch")
	// ErrIssuer is returned when the certificate's OIDC issuer matches no
	// expected identity.
	ErrIssuer = errors.New("keyless verify: certificate issuer mismatch")
	// ErrArtifact is returned when the statement is about other artifacts
	// than the expected digest, or its payload is not an in-toto statement.
	ErrArtifact = errors.New("keyless verify: bundle is for another artifact")
)
