package verify

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, one per check. Every error Verify returns wraps one or
// more of them (failures are joined), so callers match with errors.Is.
// Every error of this package starts with "verify: ".
var (
	// ErrMalformed: the input is not a DSSE envelope or the payload is not a
	// statement this package can read.
	ErrMalformed = errors.New("verify: malformed attestation")
	// ErrTooLarge: the input is over a size limit.
	ErrTooLarge = errors.New("verify: attestation too large")
	// ErrPayloadType: the envelope's payloadType is not the expected one.
	ErrPayloadType = errors.New("verify: unexpected payload type")
	// ErrSignature: no signature verified with any trusted key.
	ErrSignature = errors.New("verify: signature verification failed")
	// ErrThreshold: fewer distinct trusted keys signed than required.
	ErrThreshold = errors.New("verify: signature threshold not met")
	// ErrSubject: no subject of the statement matches the expected digest.
	ErrSubject = errors.New("verify: subject digest mismatch")
	// ErrPredicateType: the statement's predicate type is not the expected one.
	ErrPredicateType = errors.New("verify: unexpected predicate type")
	// ErrBuilder: the provenance names another builder.
	ErrBuilder = errors.New("verify: unexpected builder")
	// ErrBuildType: the provenance names another build type.
	ErrBuildType = errors.New("verify: unexpected build type")
	// ErrNoKeys: Keys was given no trusted keys.
	ErrNoKeys = errors.New("verify: no trusted keys configured")
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
	msg := fmt.Sprintf("verify: %s: %s", e.Check, unprefixed(e.Err))
	if e.Want != "" || e.Got != "" {
		msg += fmt.Sprintf(" (want %s, got %s)", quoteOrNone(e.Want), quoteOrNone(e.Got))
	}
	return msg
}

func (e *CheckError) Unwrap() error { return e.Err }

// unprefixed is err's message without the "verify: " every sentinel of
// this package starts with, for messages that say it once already.
func unprefixed(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "verify: ")
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("%q", s)
}
