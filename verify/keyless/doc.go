// Package keyless authenticates Sigstore bundles (v0.1 to v0.3) that hold
// a DSSE envelope, for the verify package: keyless bundles (a Fulcio
// certificate) against a trusted root and an identity policy, and key
// bundles (a public-key hint) against a public key.
//
// A Verifier is a verify.Authenticator: give it to verify.Verify or
// verify.VerifyImage, and the Result says who signed (the certificate
// identity) and when (the verified log and timestamp times).
//
//	auth, err := keyless.NewVerifier(
//		keyless.WithTrustedRootFile("trusted_root.json"),
//		keyless.WithIdentity(verify.Identity{
//			Issuer:              "https://token.actions.githubusercontent.com",
//			Subject:             "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
//			SourceRepositoryRef: "refs/heads/main",
//		}))
//	res, err := verify.VerifyImage(ctx, auth, "registry.example.com/app:v1", want)
//
// A policy engine checks signer rules with identities through Identities:
//
//	engine, err := verify.NewEngine(ctx, policy,
//		verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootFile("trusted_root.json"))))
//
// Verifier.Verify is the lower-level call on a bundle's bytes.
//
// Verification is sigstore-go's (pkg/verify): transparency-log entries
// (signed entry timestamp, inclusion proof, checkpoint, and the entry's
// agreement with the bundle), RFC 3161 timestamps, the certificate chain at
// a verified signing time, embedded SCTs (required by default when the
// trusted root lists CT logs) and the envelope signature. This package then
// matches the certificate against the identity policy and the statement
// against the expected artifact digests, and returns only verified data: the
// envelope, the parsed statement (provenance.Parse), the signer identity and
// the verified signing times. A verified time later than the verifier's
// clock (WithClock; a policy engine passes its own) plus verify.ClockSkew
// fails the bundle: sigstore-go checks the certificate at those times, not
// that they have happened.
//
// Failures wrap one sentinel each: ErrIdentity, ErrIssuer,
// ErrCertificateExpired (no verified time inside the certificate validity;
// it also matches ErrCertificate), ErrCertificate, ErrTlog, ErrTimestamp,
// ErrSCT, ErrSignature, ErrArtifact, ErrBundle, ErrConfig. A log or
// timestamp time in the future is ErrTlog or ErrTimestamp wrapping a
// *verify.TimeError (verify.ErrTime).
//
// Thresholds: one log entry by default (WithTlogThreshold), no RFC 3161
// timestamp by default (WithSignedTimestampThreshold); a certificate-signed
// bundle always needs one verified time. The trusted root comes from a file
// or bytes (offline) or TUF (WithTUF, online, opt-in).
//
// This package imports sigstore-go; the core verify package does not.
package keyless
