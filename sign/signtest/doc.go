// Package signtest is a test kit for code that uses package sign and for
// people who write their own sign.Signer.
//
// NewSigner returns a deterministic in-memory Ed25519 signer derived from a
// seed string: the same seed gives the same key, the same key ID and, since
// Ed25519 signatures are deterministic, the same signatures, so tests can
// keep golden envelopes. Never use it outside tests: anyone who knows the
// seed has the private key. NewVerifier(seed) is its verifier, and
// NewFailingSigner(seed, err) has the same key but fails every Sign, for
// testing error paths.
//
// Conformance checks any Signer against the contract of the sign.Signer
// seam in one line:
//
//	func TestMySigner(t *testing.T) {
//		signtest.Conformance(t, newMySigner(t))
//	}
package signtest
