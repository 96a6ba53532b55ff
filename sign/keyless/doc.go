// Package keyless signs with Sigstore keyless identities: an OIDC ID token
// (a CI workload's identity) buys a short-lived Fulcio certificate for an
// ephemeral key, and the DSSE envelope signed with it is wrapped into a
// Sigstore bundle v0.3 with a Rekor transparency-log entry and/or an RFC 3161
// timestamp, which prove the signature was made while the certificate was
// valid. Verifiers then check who signed (OIDC issuer and certificate
// subject), not which key: see package verify/keyless.
//
// The flow:
//
//	s, err := keyless.NewSigner(ctx, keyless.WithToken(keyless.GitHubActions()))
//	att, err := sign.Attest(ctx, statementJSON, s) // att.Bundle: the Sigstore bundle
//
// Signer implements sign.CertificateSigner, sign.AlgorithmSigner and
// sign.BundleSigner, so it plugs into everything that takes a sign.Signer,
// and sign.Attest fills the attestation's bundle with BundleEnvelope. Its
// key lives in memory only, for the life of the Signer.
//
// # Tokens
//
// A TokenSource yields the ID token: StaticToken, FromEnv
// (SIGSTORE_ID_TOKEN), FromFile (re-read on every use, for rotated
// Kubernetes projected service-account tokens), GitHubActions (the job
// needs "permissions: id-token: write") or FromFunc. There is no
// interactive browser flow: without a token NewSigner fails with
// ErrNoToken. Tokens are parsed (not verified: Fulcio does that) before any
// network call, so an expired or malformed token fails fast with
// ErrTokenExpired or ErrTokenMalformed.
//
// # Services
//
// The default services are Sigstore's public-good Fulcio and Rekor
// (PublicGood). WithServices, WithFulcioURL, WithRekorURLs (v1 logs),
// WithRekor (logs with their API version), WithTSAURLs and
// WithSigningConfig (a signing_config.json, read as cosign v3 reads it)
// choose others. Logs speak the Rekor v1 or the tile-based Rekor v2 API
// (RekorV1, RekorV2); a v2 entry has no integrated time, so services with a
// v2 log and no timestamp authority, or a certificate signer with neither
// a v1 log nor a timestamp authority, are refused with ErrNoSigningTime.
// The HTTP clients are sigstore-go's (pkg/sign) and rekor-tiles'.
//
// # Key bundles
//
// KeyBundle wraps the signature of any other sign.Signer (a key file, a KMS
// key) into a bundle with a public-key hint instead of a certificate, logged
// and timestamped by the services its options name, or offline with
// WithRekor() and no timestamp authority.
//
// # Testing
//
// Package keylesstest runs a loopback OIDC issuer, Fulcio-compatible CA,
// Rekor v1 and v2 compatible logs and timestamp authority, and writes the matching
// trusted root, so that the whole flow runs offline in tests.
//
// This package, keylesstest and verify/keyless are the only slsakit
// packages that import sigstore-go: programs that do not import them do
// not compile it.
package keyless
