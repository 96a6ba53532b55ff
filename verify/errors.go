package verify

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per check. Every error Verify returns wraps one or
// more of them (failures are joined), so callers match with errors.Is.
var (
	// ErrMalformed: the input is not a DSSE envelope or the payload is not a
	// statement this package can read.
	ErrMalformed = errors.New("malformed attestation")
	// ErrTooLarge: the input is over a size limit.
	ErrTooLarge = errors.New("attestation too large")
	// ErrPayloadType: the envelope's payloadType is not the expected one.
	ErrPayloadType = errors.New("unexpected payload type")
	// ErrSignature: no signature verified with any trusted key.
	ErrSignature = errors.New("signature verification failed")
	// ErrThreshold: fewer distinct trusted keys signed than required.
	ErrThreshold = errors.New("signature threshold not met")
	// ErrSubject: no subject of the statement matches the expected digest.
	ErrSubject = errors.New("subject digest mismatch")
	// ErrPredicateType: the statement's predicate type is not the expected one.
	ErrPredicateType = errors.New("unexpected predicate type")
	// ErrBuilder: the provenance names another builder.
	ErrBuilder = errors.New("unexpected builder")
	// ErrBuildType: the provenance names another build type.
	ErrBuildType = errors.New("unexpected build type")
	// ErrNoKeys: a Verifier was configured without trusted keys.
	ErrNoKeys = errors.New("no trusted keys configured")
)

// CheckError is the error of one failed check: which check, what was
// expected and what was found. It unwraps to the check's sentinel error.
type CheckError struct {
	Check string // short name of the check, e.g. "signature", "subject"
	Want  string // what the policy asked for (may be empty)
	Got   string // what the attestation holds (may be empty)
	Err   error  // the sentinel, possibly wrapping a cause
}

func (e *CheckError) Error() string {
	msg := fmt.Sprintf("verify: %s: %v", e.Check, e.Err)
	if e.Want != "" || e.Got != "" {
		msg += fmt.Sprintf(" (want %s, got %s)", quoteOrNone(e.Want), quoteOrNone(e.Got))
	}
	return msg
}

func (e *CheckError) Unwrap() error { return e.Err }

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("%q", s)
}
