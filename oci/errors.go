package oci

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors returned by this package. Match them with errors.Is.
var (
	// ErrNotFound: the image (or a manifest/blob it needs) does not exist.
	ErrNotFound = errors.New("oci: not found")
	// ErrTooLarge: a manifest or blob is over the download cap.
	ErrTooLarge = errors.New("oci: object too large")
	// ErrInvalidReference: the image reference or repository does not parse.
	ErrInvalidReference = errors.New("oci: invalid reference")
	// ErrConflict: concurrent writers kept changing a tag and the bounded
	// read-modify-write retries were exhausted.
	ErrConflict = errors.New("oci: concurrent update conflict")
	// ErrInvalidManifest: the registry returned a manifest, index or blob that
	// does not parse or does not match its digest, or a referrers page
	// whose Link header does not parse or points off the registry.
	ErrInvalidManifest = errors.New("oci: invalid manifest or blob")
	// ErrTooMany: an image has more attestations in one layout than
	// WithMaxAttestations allows, or the registry pages its referrers list
	// beyond WithMaxReferrers or in a loop.
	ErrTooMany = errors.New("oci: too many entries")
	// ErrInvalidBundle: a Sigstore bundle does not parse or does not hold
	// a DSSE envelope.
	ErrInvalidBundle = errors.New("oci: invalid Sigstore bundle")
	// ErrInvalidArgument: a nil envelope, unknown layout or similar misuse;
	// every error of ErrNotAttestation and ErrSubjectMismatch matches it too.
	ErrInvalidArgument = errors.New("oci: invalid argument")
	// ErrNotAttestation: Attach was given an envelope that is not an
	// in-toto attestation List and verifiers read: unsigned, an empty
	// signature, over the size limit, another payload type, or a payload
	// that is not an in-toto statement (then it also matches
	// intoto.ErrInvalidStatement).
	ErrNotAttestation = errors.New("oci: not an in-toto attestation")
	// ErrSubjectMismatch: Attach was given a statement none of whose
	// subjects has the digest of the image it was to be attached to.
	ErrSubjectMismatch = errors.New("oci: statement is not about this image")
	// ErrUnauthorized: the registry refused our credentials (401/403).
	ErrUnauthorized = errors.New("oci: unauthorized")
)

// RegistryError is an unexpected HTTP status from the registry. It matches
// ErrNotFound for 404 and ErrUnauthorized for 401/403 with errors.Is.
type RegistryError struct {
	Method     string
	URL        string
	StatusCode int
	// Body is the start of the response body (registry error JSON).
	Body string
}

func (e *RegistryError) Error() string {
	s := fmt.Sprintf("oci: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Is reports whether the status maps to target.
func (e *RegistryError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	}
	return false
}
