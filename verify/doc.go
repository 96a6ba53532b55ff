// Package verify checks attestations before anyone trusts them: first who
// signed, then what the statement says.
//
// An Authenticator decides who signed a sign.Attestation (an envelope, a
// Sigstore bundle, or both): Keys trusts public keys and KMS keys (any
// sign.Verifier) with a threshold of distinct keys; verify/keyless trusts
// Sigstore bundles by certificate identity against a trusted root; AnyOf
// accepts what any of several accepts. It returns the authenticated
// envelope with its Signers (key IDs or certificate Identities) and the
// verified signing Times.
//
// Verify takes an Authenticator, an attestation and Expectations, and
// checks in this order:
//
//  1. envelope: the attestation has a DSSE envelope (its own or its
//     bundle's);
//  2. signature: the Authenticator vouches for it (for Keys: signatures by
//     at least the threshold of distinct trusted keys, a key counting once
//     however often it signed, keyid hints ignored);
//  3. payloadType: exactly application/vnd.in-toto+json;
//  4. statement: only now is the payload parsed (in-toto Statement v1 or
//     v0.1; SLSA provenance v1 or v0.2), rejecting JSON that two readers
//     could read differently (internal/strictjson: duplicate or
//     case-variant keys such as subject/Subject, lone surrogates, numbers
//     beyond float64 or 2^53);
//  5. predicateType, subject digest, builder ID and build type, compared
//     exactly: no case folding, no prefix matching.
//
// Every check is recorded in the Result with the values compared, as
// passed, failed or skipped (an expectation left empty is skipped, and so is
// every statement check when authentication failed: an unauthenticated
// payload is never read). The returned error joins a *CheckError per failed
// check; each unwraps to a sentinel such as ErrSignature or ErrSubject, so
// errors.Is and errors.As work on each. Every error of this package starts
// with "verify: ". Result.String renders the report for a terminal.
//
// Blobs: VerifyBlob verifies a blob signature (a Sigstore bundle holding a
// message signature, as sign.SignBlob and cosign sign-blob write, or a
// detached .sig/.cert pair) over the blob's digest with the same
// Authenticators: no statement, no predicate is read. Authenticated.Artifact
// says which digest the signature was verified over; an Authenticator that
// leaves it empty has verified no blob.
//
// Images: VerifyImage resolves a reference to its digest once, lists the
// image's attestations with the oci package (both layouts, bundles
// included) and verifies each against that digest with one Authenticator.
// VerifyImageSignatures does the same for the image's cosign signatures
// (oci.ListSignatures): a .sig signature is authenticated by a
// MessageAuthenticator (Keys, AnyOf) before its simple-signing payload is
// read, which must then be of cosign's type (ErrPayloadType) and name the
// image's digest (ErrSubject); a cosign v3 signature referrer is verified
// like an attestation whose predicate type is
// https://sigstore.dev/cosign/sign/v1 (keys or keyless identities).
//
// Policies: a Policy (a Go value, or a versioned YAML/JSON file read by
// LoadPolicyFile with errors that name line and field; see
// docs/policy.md) says which builders, build types, sources, materials,
// parameters, predicate types and ages are acceptable, and whom to trust
// for which artifacts (keys, KMS keys resolved by a KeyResolver, keyless
// Identities made into an Authenticator by an IdentityAuthenticator such as
// keyless.Identities): the most specific signer rule for an artifact's name
// alone applies, so a subproject's keys cannot sign for its siblings. An
// Engine applies it (Evaluate, EvaluateImage) and returns a Report of
// every check; with WithFetcher it also verifies base images' own
// provenance, recursively. Engine.VSA summarizes a report as a SLSA
// Verification Summary Attestation, and WithTrustedVSA accepts a trusted
// verifier's VSA in place of a full evaluation, only when it names the
// engine's policy (Engine.PolicyDigest: every policy has one, from a file
// or from Go). NewEngine keeps a deep copy of the policy: changing the
// Policy afterwards changes no verdict. A policy that loads
// enforces what it shows: a field written null or empty is a load error,
// never a rule that checks nothing.
//
// Time: one clock, the engine's (WithClock), judges every time an
// evaluation relies on (maxAge's finishedOn, a VSA's timeVerified and the
// timeVerified of the VSAs it writes, a keyless bundle's signing times),
// and a time that is missing or later than the clock plus ClockSkew never
// satisfies a rule (ErrTime, *TimeError).
//
// This package itself never links Sigstore's libraries: verify/keyless
// does, behind the Authenticator seam.
package verify
