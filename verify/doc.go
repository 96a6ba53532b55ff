// Package verify checks attestations before anyone trusts them.
//
// A Verifier holds trusted keys (public keys, or any sign.Verifier such as a
// KMS key) and a signature threshold. Verify takes a serialized DSSE
// envelope and Expectations, and checks in this order:
//
//  1. envelope: size limit, well-formed DSSE JSON, no duplicate keys nor
//     keys that differ only in case, '_' or '-';
//  2. payloadType: exactly application/vnd.in-toto+json (configurable);
//  3. signature: signatures by at least Threshold distinct trusted keys (a
//     key counts once however often it signed; keyid hints are ignored);
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
// every statement check when the signatures did not verify: an
// unauthenticated payload is never read). The returned error joins a
// *CheckError per failed check; each unwraps to a sentinel such as
// ErrSignature or ErrSubject, so errors.Is and errors.As work on each.
// Result.String renders the report for a terminal.
//
// Images: VerifyImage resolves a reference to its digest once, fetches the
// image's attestations with the oci package (both layouts) and verifies
// each against that digest.
//
// Policies: a Policy (a Go value, or a versioned YAML/JSON file read by
// LoadPolicyFile with errors that name line and field; see
// docs/policy.md) says which builders, build types, sources, materials,
// parameters, predicate types and ages are acceptable, and whom to trust
// for which artifacts: the most specific signer rule for an artifact's
// name alone applies, so a subproject's keys cannot sign for its siblings.
// An Engine applies it (Evaluate, EvaluateImage) and returns a Report of
// every check; with WithFetcher it also verifies base images' own
// provenance, recursively. Engine.VSA summarizes a report as a SLSA
// Verification Summary Attestation, and WithTrustedVSA accepts a trusted
// verifier's VSA in place of a full evaluation. A policy that loads
// enforces what it shows: a field written null or empty is a load error,
// never a rule that checks nothing.
//
// Time: one clock, the engine's (WithClock), judges every time an
// evaluation relies on (maxAge's finishedOn, a VSA's timeVerified, a
// keyless bundle's signing times), and a time that is missing or later than
// the clock plus ClockSkew never satisfies a rule (ErrTime, *TimeError).
//
// Keyless (Sigstore) attestations are verified through the small
// BundleVerifier interface, which the verify/keyless package implements:
// VerifyBundle and VerifyImageBundles check a bundle with it (certificate,
// identity, transparency log) for the artifact's digest, then the
// authenticated statement exactly as above. A policy Engine checks signer
// rules with keyless identities when given WithIdentityVerifier; this
// package itself never links Sigstore's libraries.
package verify
