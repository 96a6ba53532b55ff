// Package sign signs and verifies DSSE envelopes
// (https://github.com/secure-systems-lab/dsse) behind one small seam, and
// makes the Attestation (envelope and Sigstore bundle) that oci and verify
// take.
//
// # The seam
//
// Signer is the interface every signing backend implements: a file key
// (KeySigner), a cloud KMS key, a Sigstore keyless identity, or a user's own
// code. It has three methods, context first:
//
//	Sign(ctx, data) ([]byte, error) // data is the complete message (the PAE)
//	KeyID() string                  // a stable hint, never a proof
//	Public() crypto.PublicKey
//
// A Signer computes any digest itself, with the hash its algorithm requires.
// Three optional interfaces widen it without widening the seam:
// AlgorithmSigner names the signature algorithm (so a verifier picks the RSA
// padding and hash without being told), CertificateSigner returns a
// certificate chain, leaf first, that binds the key to an identity, and
// BundleSigner returns the Sigstore bundle of a signature it made.
// Verifier is the other side: Verify(ctx, data, sig) for one key.
//
// # Attestations
//
// Attest signs an in-toto statement with one or more Signers and returns an
// Attestation, the one value that flows on to oci (attach) and verify: the
// DSSE Envelope with every signature, and the Sigstore Bundle of the
// signature of a BundleSigner among them (a keyless signer: certificate,
// transparency log entries, timestamps). A bundle holds exactly one
// signature, as Sigstore verifiers require, so with other signers beside it
// the Envelope carries theirs; two BundleSigners fail with ErrBundleSigners.
// Validate checks that an Attestation's bundle carries its envelope.
//
// Bundle is a Sigstore bundle (v0.1 to v0.3) modeled by hand: ParseBundle
// reads it strictly (size limit, duplicate keys, exact protobuf JSON field
// names, one content, one verification material) and MarshalJSON writes
// what protobuf's JSON mapping writes, so sigstore-go and cosign read it;
// neither needs Sigstore's libraries. MediaTypeBundle is the v0.3 media
// type.
//
// SignBlob signs any file (a blob) into a bundle holding a message
// signature, what cosign sign-blob --bundle writes: the blob is hashed as
// it is read and, with a DigestSigner (key files, keyless), never held in
// memory; a MessageBundleSigner (keyless) adds its certificate, log entry
// and timestamps. DetachedSignature and DetachedCertificate give the .sig
// and .cert files Kubernetes publishes; ParseDetachedSignature,
// ParseDetachedCertificate, DetachedBundle and ParseCosignBundle (cosign
// v2's own bundle JSON) read them back for verify.VerifyBlob.
//
// SignEnvelope signs a payload with one or more Signers over the DSSE
// pre-authentication encoding (PAE); SignStatement does so for an in-toto
// Statement after intoto.CheckStatement found it readable (intoto.ErrInvalidStatement
// otherwise: nothing is signed that no verifier can read); ParseEnvelope
// reads an envelope strictly (size limit, duplicate keys and keys that
// differ only in case, exact field names, strict base64)
// without trusting it; verification is the caller's next step, with a
// Verifier from NewVerifier or VerifierFor. WriteJSONL and ReadJSONL handle
// the .intoto.jsonl format. FromDSSESigner, ToDSSESigner, FromDSSEVerifier
// and ToDSSEVerifier adapt to and from go-securesystemslib's dsse package.
// Package signtest holds a deterministic test signer and Conformance, which
// checks a custom Signer against the contract in one line.
//
// # Algorithms
//
// ECDSA P-256/SHA-256, P-384/SHA-384 and P-521/SHA-512 with ASN.1 DER
// signatures (what cosign and DSSE tooling expect); pure Ed25519 over the
// message itself, and Ed25519ph (over its SHA-512 digest, what cosign signs
// with when given an Ed25519 key file) when asked for; RSA PKCS#1 v1.5 and PSS with SHA-256 or
// SHA-512 and keys of at least MinRSABits (2048) bits, shorter ones fail
// with ErrWeakKey. Without an explicit algorithm a key gets
// DefaultAlgorithm: ECDSA by curve, Ed25519, and RSA PKCS#1 v1.5 SHA-256,
// cosign's default. PSS signatures use a salt as long as the hash; PSS
// verification accepts any salt length.
//
// # Key IDs
//
// PublicKeyID is the documented, stable key ID of a public key: its SHA-256
// SSH fingerprint,
//
//	"SHA256:" + unpadded base64(SHA-256(SSH wire encoding of the key))
//
// the string `ssh-keygen -l -E sha256` prints and go-securesystemslib's
// dsse.SHA256KeyID computes. It depends only on the public key, not on the
// file format or the signer it came from. It is this format, not another,
// because DSSE verifiers built on go-securesystemslib (cosign v3,
// sigstore-go) compute it for keys given without an ID and skip signatures
// whose keyid differs. KeySigner uses it as its KeyID. A key ID in
// an envelope is a hint for choosing a key, never evidence: only a signature
// that verifies is.
//
// # Key files
//
// LoadPrivateKey and LoadPrivateKeyFile read PEM "PRIVATE KEY" (PKCS#8),
// "EC PRIVATE KEY" (SEC1), "RSA PRIVATE KEY" (PKCS#1) and the encrypted files
// `cosign generate-key-pair` writes: PEM "ENCRYPTED SIGSTORE PRIVATE KEY"
// (or the older "ENCRYPTED COSIGN PRIVATE KEY") whose body is
// go-securesystemslib's "encrypted" JSON (scrypt key derivation, NaCl
// secretbox) around PKCS#8 DER. The password comes from a callback
// (WithPassword) or an environment variable (WithPasswordEnv, e.g.
// COSIGN_PASSWORD) and is zeroed after use. MarshalPrivateKey and
// WriteKeyPair write the same formats, encrypted when given a password, so
// cosign reads keys generated here and the other way round. LoadPublicKey
// reads PEM "PUBLIC KEY" (PKIX) or a certificate; MarshalPublicKey writes
// PKIX PEM, cosign's .pub format.
//
// No error, log line or fmt verb on a KeySigner ever contains key material.
package sign
