// Package kms signs with keys held in Google Cloud KMS, which never leave it.
//
// NewSigner takes a key reference
//
//	gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]
//
// and returns a sign.Signer (and sign.AlgorithmSigner) for DSSE envelopes:
//
//	signer, err := kms.NewSigner(ctx, "gcpkms://projects/acme/locations/global/keyRings/release/cryptoKeys/provenance")
//	if err != nil { ... }
//	defer signer.Close()
//	env, err := sign.SignStatement(ctx, statement, signer)
//
// Without a version a Signer uses the newest ENABLED version of the
// ASYMMETRIC_SIGN key, and NewVerifier trusts every ENABLED version (a
// sign.VersionedVerifier, one signer in thresholds), so that rotating the
// key does not orphan older signatures: disabling a version revokes it.
// The public key is fetched once and checked (pem_crc32c, name,
// algorithm); every signature is one AsymmetricSign call whose request
// carries a CRC32C of the digest (or, for Ed25519, of the data) and whose
// response must confirm it, name the key version, carry a matching CRC32C of
// the signature, and verify with the public key. A response failing any check
// is retried once, then reported as an *IntegrityError (ErrIntegrity).
//
// Supported algorithms: EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384,
// EC_SIGN_ED25519, RSA_SIGN_PSS_{2048,3072,4096}_SHA256,
// RSA_SIGN_PSS_4096_SHA512, RSA_SIGN_PKCS1_{2048,3072,4096}_SHA256 and
// RSA_SIGN_PKCS1_4096_SHA512. Digests are computed locally; Ed25519 sends the
// message itself, so very large statements count against Cloud KMS request
// limits (kmstest enforces 64 KiB): prefer an ECDSA key for big SBOMs.
//
// Permissions: a reference with a version needs only
// roles/cloudkms.signerVerifier (useToSign, viewPublicKey); when the version
// metadata is not readable the algorithm comes from GetPublicKey. A reference
// without a version also lists the key's versions (cloudkms.cryptoKeys.get,
// cloudkms.cryptoKeyVersions.list, e.g. roles/cloudkms.viewer). Pin the
// version in CI.
//
// The client uses Application Default Credentials unless WithClientOptions
// gives others (or an endpoint); WithClient shares an existing client.
// NewVerifier fetches the public keys the same way, for
// verification without signing rights (cloudkms.cryptoKeyVersions.viewPublicKey);
// Resolver adapts it to verify.KeyResolver.
//
// Failures are typed: ErrInvalidReference, ErrKeyNotFound,
// ErrPermissionDenied, ErrKeyVersionNotEnabled, ErrWrongPurpose,
// ErrUnsupportedAlgorithm, ErrIntegrity, ErrClosed; the gRPC status stays in
// the error chain.
//
// Package kms/kmstest is an offline Cloud KMS for tests; kms/sigstorekms
// adapts any sigstore signature.SignerVerifier (AWS, Azure) and runs
// sigstore-kms-* plugin programs; kms/hashivault signs with Vault transit
// keys; none of them imports the GCP SDK. Importing this
// package brings in the Cloud KMS client library and gRPC; sign and verify do
// not.
package kms
