package kms

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors returned by this package. Match them with errors.Is; the gRPC
// status of a failed call stays in the chain (status.Code still works).
var (
	// ErrInvalidReference: the key reference is not a valid gcpkms:// URI.
	ErrInvalidReference = errors.New("kms: invalid key reference")
	// ErrKeyNotFound: the key, key version or key ring does not exist
	// (gRPC NotFound).
	ErrKeyNotFound = errors.New("kms: key not found")
	// ErrPermissionDenied: the caller may not use the key (gRPC
	// PermissionDenied or Unauthenticated).
	ErrPermissionDenied = errors.New("kms: permission denied")
	// ErrKeyVersionNotEnabled: the key version is disabled, destroyed,
	// scheduled for destruction or not yet generated, or the key has no
	// enabled version.
	ErrKeyVersionNotEnabled = errors.New("kms: key version not enabled")
	// ErrWrongPurpose: the key is not an ASYMMETRIC_SIGN key.
	ErrWrongPurpose = errors.New("kms: key purpose is not ASYMMETRIC_SIGN")
	// ErrUnsupportedAlgorithm: the key signs with an algorithm DSSE signing
	// here does not support (secp256k1, raw PKCS#1, post-quantum, ...).
	ErrUnsupportedAlgorithm = errors.New("kms: unsupported signing algorithm")
	// ErrIntegrity: a response failed an integrity check twice in a row
	// (see IntegrityError for which one).
	ErrIntegrity = errors.New("kms: integrity check failed")
	// ErrClosed: the Signer was used after Close.
	ErrClosed = errors.New("kms: signer closed")
	// ErrTooManyVersions: the key has more versions than this package
	// reads without being told which one (name a version in the reference).
	ErrTooManyVersions = errors.New("kms: too many key versions")
)

// Integrity checks named by IntegrityError.Check.
const (
	CheckPublicKeyName      = "public key name"
	CheckPublicKeyCRC32C    = "public key pem_crc32c"
	CheckPublicKeyAlgorithm = "public key algorithm"
	CheckPublicKeyMaterial  = "public key material"
	CheckResponseName       = "response name"
	CheckVerifiedDigest     = "verified_digest_crc32c"
	CheckVerifiedData       = "verified_data_crc32c"
	CheckSignatureCRC32C    = "signature_crc32c"
	CheckSignature          = "signature verification"
)

// IntegrityError reports which integrity check of a Cloud KMS response
// failed. It matches ErrIntegrity with errors.Is.
type IntegrityError struct {
	Op       string // "GetPublicKey" or "AsymmetricSign"
	Name     string // the key version
	Check    string // one of the Check* constants
	Detail   string
	Attempts int
}

func (e *IntegrityError) Error() string {
	s := fmt.Sprintf("kms: integrity check failed: %s: %s of %s", e.Op, e.Check, e.Name)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	return s
}

// Is reports whether target is ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

// mapRPCError classifies a failed Cloud KMS call.
func mapRPCError(op, name string, err error) error {
	var sentinel error
	switch status.Code(err) {
	case codes.NotFound:
		sentinel = ErrKeyNotFound
	case codes.PermissionDenied, codes.Unauthenticated:
		sentinel = ErrPermissionDenied
	case codes.FailedPrecondition:
		// Cloud KMS answers FailedPrecondition for a version that is not
		// enabled (and for a key without key material).
		sentinel = ErrKeyVersionNotEnabled
	default:
		return fmt.Errorf("kms: %s %s: %w", op, name, err)
	}
	return fmt.Errorf("%w: %s %s: %w", sentinel, op, name, err)
}
