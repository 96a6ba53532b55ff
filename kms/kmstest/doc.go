// Package kmstest is an in-process, offline Cloud KMS for tests.
//
// NewServer starts a gRPC KeyManagementService on a free 127.0.0.1 port,
// stopped when the test ends. It implements the calls a signer needs —
// GetCryptoKey, GetCryptoKeyVersion, ListCryptoKeyVersions, GetPublicKey
// and AsymmetricSign — with real keys (ECDSA P-256/P-384, Ed25519, RSA PSS
// and PKCS#1 v1.5 at 2048/3072/4096 bits) and real CRC32C checksums, and it
// checks requests the way Cloud KMS does (digest type and length, request
// checksums, version state). ClientOptions points the real client library
// (cloud.google.com/go/kms/apiv1) at it, so code under test runs unchanged:
//
//	srv := kmstest.NewServer(t)
//	version := srv.CreateKey("projects/p/locations/global/keyRings/r", "release",
//		kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
//	signer, err := kms.NewSigner(ctx, srv.Ref(version), kms.WithClientOptions(srv.ClientOptions()...))
//
// Fault knobs exercise a client's error paths: InjectError fails the next
// calls of a method with a gRPC code, InjectFault corrupts responses
// (checksums, names, signatures), SetVersionState disables or destroys a
// version, WithLatency and SetLatency slow every call. Calls counts the
// requests per method.
package kmstest
