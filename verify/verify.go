package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// Expectations are what the statement must say. Empty fields are not
// checked (their checks are reported as skipped).
type Expectations struct {
	// SubjectDigest must match one subject of the statement: every algorithm
	// the two digest sets share must agree, and they must share a strong
	// one (intoto.DigestSet.MatchesStrong). It must validate and hold a
	// strong algorithm itself; hex values may be in either case. It is
	// also what the Authenticator is told the attestation is about (a
	// Sigstore bundle is verified for it). Get it with DigestOfFile.
	SubjectDigest intoto.DigestSet
	// PredicateType is the exact predicate type URI, e.g.
	// provenance.PredicateSLSAProvenanceV1.
	PredicateType string
	// BuilderID is the exact builder.id of SLSA provenance.
	BuilderID string
	// BuildType is the exact buildType of SLSA provenance.
	BuildType string
}

// statementChecks are the checks of what the payload says, skipped while
// it is not authenticated.
var statementChecks = []string{"payloadType", "statement", "predicateType", "subject", "builder", "buildType"}

// Verify authenticates att with auth and then, only then, reads its
// statement and checks it against want, in this order:
//
//  1. envelope: att is an attestation with a DSSE envelope (its own or
//     its bundle's);
//  2. signature: auth vouches for the envelope (who signed and when are
//     in Result.Signers and Result.Times);
//  3. payloadType: exactly sign.PayloadTypeInToto;
//  4. statement: the payload parses (in-toto Statement v1 or v0.1; SLSA
//     provenance v1 or v0.2), strictly;
//  5. predicateType, subject, builder, buildType: compared exactly with
//     want.
//
// The Result lists every check, passed, failed or skipped (the statement's
// checks are skipped when authentication failed: an unauthenticated
// payload is never read). The error joins a *CheckError per failed check,
// each unwrapping to a sentinel such as ErrSignature or ErrSubject.
func Verify(ctx context.Context, auth Authenticator, att *sign.Attestation, want Expectations) (*Result, error) {
	r := &Result{Envelope: presented(att)} // for the report until authenticated
	if r.Envelope == nil {
		r.fail("envelope", "a DSSE envelope", "none", fmt.Errorf("%w: no attestation envelope", ErrMalformed))
		return r, skipStatement(r, "signature")
	}
	r.pass("envelope", "", "")
	// An expected digest that weak or unknown algorithms could meet is a
	// caller's mistake: refuse it before any authenticator is asked to
	// verify a signature over it (a bundle is verified for the artifact).
	subject := want.SubjectDigest
	if len(subject) > 0 {
		norm, err := expectedDigest(subject)
		if err != nil {
			r.fail("subject", "a strong expected digest", subject.String(), err)
			for _, name := range append([]string{"signature"}, statementChecks...) {
				if name != "subject" {
					r.skip(name, "no usable expected digest")
				}
			}
			return r, r.Err()
		}
		subject = norm
	}
	au := authenticate(ctx, r, auth, att, subject)
	if au == nil {
		return r, skipStatement(r)
	}
	checkPayload(r, au.Envelope, want)
	return r, r.Err()
}

// skipStatement reports the statement checks (and the named others) as
// skipped and returns r's error: an unauthenticated payload is never read.
func skipStatement(r *Result, also ...string) error {
	for _, name := range append(also, statementChecks...) {
		r.skip(name, "signature not verified")
	}
	return r.Err()
}

// checkPayload checks an authenticated envelope's payload type, then its
// statement.
func checkPayload(r *Result, env *sign.Envelope, want Expectations) {
	if env.PayloadType != sign.PayloadTypeInToto {
		r.fail("payloadType", sign.PayloadTypeInToto, env.PayloadType, ErrPayloadType)
		for _, name := range statementChecks[1:] {
			r.skip(name, "not an in-toto statement")
		}
		return
	}
	r.pass("payloadType", sign.PayloadTypeInToto, env.PayloadType)
	checkStatement(r, env.Payload, want, sign.DefaultMaxEnvelopeSize)
}

// ParseAttestation reads one serialized attestation: a DSSE envelope's
// JSON, or a Sigstore bundle's JSON that holds one (the bundle's envelope
// is then also the attestation's Envelope). A document cannot be both:
// envelopes refuse unknown fields such as a bundle's mediaType. opts set
// the size limit of either (sign.WithMaxSize). Input that is neither fails
// with ErrMalformed, input over the limit with ErrTooLarge; nothing is
// verified.
func ParseAttestation(data []byte, opts ...sign.ParseOption) (*sign.Attestation, error) {
	env, eerr := sign.ParseEnvelope(data, opts...)
	if eerr == nil {
		return &sign.Attestation{Envelope: env}, nil
	}
	b, berr := sign.ParseBundle(data, opts...)
	if berr == nil {
		if b.DSSEEnvelope == nil {
			return nil, fmt.Errorf("%w: the bundle holds a message signature, not an attestation", ErrMalformed)
		}
		return &sign.Attestation{Envelope: b.DSSEEnvelope, Bundle: b}, nil
	}
	if errors.Is(eerr, sign.ErrTooLarge) || errors.Is(berr, sign.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, berr)
	}
	return nil, fmt.Errorf("%w: neither a DSSE envelope (%w) nor a Sigstore bundle (%w)", ErrMalformed, eerr, berr)
}
