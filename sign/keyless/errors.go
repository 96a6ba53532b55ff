package keyless

import "errors"

// Errors returned by the keyless signer. Match them with errors.Is.
var (
	// ErrNoToken is returned when no ID token is available: none was
	// configured, the variable or file is missing or empty. slsakit never
	// falls back to an interactive browser flow.
	ErrNoToken = errors.New("keyless: no OIDC ID token")
	// ErrTokenMalformed is returned for a token that is not a JWT with the
	// claims Fulcio needs (iss, exp, sub or email).
	ErrTokenMalformed = errors.New("keyless: malformed OIDC ID token")
	// ErrTokenExpired is returned for a token whose exp is in the past.
	ErrTokenExpired = errors.New("keyless: OIDC ID token expired")
	// ErrFulcio is returned when the certificate authority refuses or fails.
	ErrFulcio = errors.New("keyless: certificate request failed")
	// ErrCertificate is returned when the issued certificate does not
	// certify the signer's key or cannot be parsed.
	ErrCertificate = errors.New("keyless: bad certificate")
	// ErrRekor is returned when the transparency log refuses or fails.
	ErrRekor = errors.New("keyless: transparency log upload failed")
	// ErrTimestamp is returned when the timestamp authority refuses or fails.
	ErrTimestamp = errors.New("keyless: timestamp request failed")
	// ErrConfig is returned for an invalid option or signing config.
	ErrConfig = errors.New("keyless: invalid configuration")
	// ErrNoSigningTime is returned (with ErrConfig) for services whose
	// bundles could never verify because nothing in them dates the
	// signature: a Rekor v2 log without a timestamp authority, or a
	// certificate signature with neither a Rekor v1 log nor a timestamp
	// authority.
	ErrNoSigningTime = errors.New("keyless: services give no verifiable signing time")
	// ErrInsecureService is returned (with ErrConfig) for a service URL
	// that is not https: the certificate authority is sent the ID token,
	// which anyone on the path of a plain-http request could take and
	// exchange for a certificate of the signer's identity. Plain http is
	// accepted for loopback hosts only (tests, local services).
	ErrInsecureService = errors.New("keyless: service URL is not https")
	// ErrEnvelope is returned when the envelope cannot go into a bundle:
	// no signature made by the signer's key.
	ErrEnvelope = errors.New("keyless: envelope not signed by this signer")
)
