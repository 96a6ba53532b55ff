package kms_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"
	"testing"

	kmsapi "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
	"github.com/slsakit/slsakit/verify"
)

const (
	keyRing   = "projects/test-project/locations/global/keyRings/release"
	statement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"c0ffee"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`
)

func newSigner(t testing.TB, srv *kmstest.Server, name string) *kms.Signer {
	t.Helper()
	s, err := kms.NewSigner(context.Background(), srv.Ref(name), kms.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func keyOf(version string) string {
	r, err := kms.ParseReference("gcpkms://" + version)
	if err != nil {
		panic(err)
	}
	return r.KeyName()
}

func equalKeys(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// TestEveryAlgorithm signs a statement through sign.SignStatement with each
// supported Cloud KMS algorithm and verifies it with the key the server
// holds, independently of the public key the signer fetched.
func TestEveryAlgorithm(t *testing.T) {
	algs := []struct {
		kms  kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm
		want sign.Algorithm
	}{
		{kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256, sign.ECDSAP256SHA256},
		{kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384, sign.ECDSAP384SHA384},
		{kmspb.CryptoKeyVersion_EC_SIGN_ED25519, sign.Ed25519},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PSS_2048_SHA256, sign.RSAPSSSHA256},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PSS_3072_SHA256, sign.RSAPSSSHA256},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PSS_4096_SHA256, sign.RSAPSSSHA256},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PSS_4096_SHA512, sign.RSAPSSSHA512},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_2048_SHA256, sign.RSAPKCS1v15SHA256},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_3072_SHA256, sign.RSAPKCS1v15SHA256},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA256, sign.RSAPKCS1v15SHA256},
		{kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA512, sign.RSAPKCS1v15SHA512},
	}
	srv := kmstest.NewServer(t)
	ctx := context.Background()
	for i, a := range algs {
		t.Run(a.kms.String(), func(t *testing.T) {
			version := srv.CreateKey(keyRing, fmt.Sprintf("key-%d", i), a.kms)
			// A key reference without a version resolves to the enabled one.
			s := newSigner(t, srv, keyOf(version))
			wantID, _ := sign.PublicKeyID(s.Public())
			if s.VersionName() != version || s.Ref() != "gcpkms://"+version || s.KeyID() != wantID {
				t.Errorf("version %q ref %q keyid %q, want %q and %s", s.VersionName(), s.Ref(), s.KeyID(), version, wantID)
			}
			if s.Algorithm() != a.want {
				t.Errorf("Algorithm() = %q, want %q", s.Algorithm(), a.want)
			}
			if !equalKeys(s.Public(), srv.PublicKey(version)) {
				t.Errorf("Public() differs from the server's key")
			}

			env, err := sign.SignStatement(ctx, []byte(statement), s)
			if err != nil {
				t.Fatalf("SignStatement: %v", err)
			}
			if env.Signatures[0].KeyID != s.KeyID() {
				t.Errorf("envelope keyid %q", env.Signatures[0].KeyID)
			}
			v, err := sign.NewVerifier(srv.PublicKey(version), a.want)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
			// The signature binds the payload.
			if err := v.Verify(ctx, sign.PAE(sign.PayloadTypeInToto, []byte(statement+" ")), env.Signatures[0].Sig); !errors.Is(err, sign.ErrInvalidSignature) {
				t.Errorf("signature verifies over another payload: %v", err)
			}

			// Ed25519 sends the message, the others only a digest, each with
			// its CRC32C.
			req := srv.LastSignRequest()
			if a.want == sign.Ed25519 {
				if string(req.GetData()) != string(env.PAE()) || req.GetDigest() != nil || req.GetDataCrc32C() == nil {
					t.Errorf("Ed25519 request: data %d bytes, digest %v, crc %v", len(req.GetData()), req.GetDigest(), req.GetDataCrc32C())
				}
			} else if len(req.GetData()) != 0 || req.GetDigest() == nil || req.GetDigestCrc32C() == nil {
				t.Errorf("digest request: data %d bytes, digest %v, crc %v", len(req.GetData()), req.GetDigest(), req.GetDigestCrc32C())
			}

			// The slsakit signer conformance suite: round trip, binding,
			// cancellation, concurrency.
			signtest.Conformance(t, s, signtest.WithGoroutines(4))

			// kms.NewVerifier fetches the same key.
			kv, err := kms.NewVerifier(ctx, srv.Ref(version), kms.WithClientOptions(srv.ClientOptions()...))
			if err != nil {
				t.Fatalf("kms.NewVerifier: %v", err)
			}
			if kv.KeyID() != s.KeyID() || !equalKeys(kv.Public(), s.Public()) {
				t.Errorf("kms.NewVerifier: keyid %q, key differs: %v", kv.KeyID(), !equalKeys(kv.Public(), s.Public()))
			}
			if err := kv.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
				t.Errorf("kms.NewVerifier: %v", err)
			}
		})
	}
}

// TestOneSignRPCPerSignature: after NewSigner, each signature costs exactly
// one AsymmetricSign call and no other RPC.
func TestOneSignRPCPerSignature(t *testing.T) {
	srv := kmstest.NewServer(t)
	version := srv.CreateKey(keyRing, "count", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	s := newSigner(t, srv, keyOf(version))
	if got := srv.Calls(kmstest.GetPublicKey); got != 1 {
		t.Errorf("warm-up made %d GetPublicKey calls, want 1", got)
	}
	srv.ResetCalls()
	const n = 25
	for i := range n {
		if _, err := s.Sign(context.Background(), []byte(fmt.Sprint("message ", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Calls(kmstest.AsymmetricSign); got != n {
		t.Errorf("%d signatures made %d AsymmetricSign calls", n, got)
	}
	for _, m := range []kmstest.Method{kmstest.GetCryptoKey, kmstest.GetCryptoKeyVersion, kmstest.ListCryptoKeyVersions, kmstest.GetPublicKey} {
		if got := srv.Calls(m); got != 0 {
			t.Errorf("%d signatures made %d %s calls", n, got, m)
		}
	}
}

// TestConcurrentSigning: 32 goroutines share one Signer (run with -race).
func TestConcurrentSigning(t *testing.T) {
	srv := kmstest.NewServer(t)
	version := srv.CreateKey(keyRing, "concurrent", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	s := newSigner(t, srv, version)
	v, err := sign.NewVerifier(srv.PublicKey(version), sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	const goroutines, each = 32, 8
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				msg := []byte(fmt.Sprintf("goroutine %d message %d", g, i))
				sig, err := s.Sign(context.Background(), msg)
				if err == nil {
					err = v.Verify(context.Background(), msg, sig)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := srv.Calls(kmstest.AsymmetricSign); got != goroutines*each {
		t.Errorf("AsymmetricSign calls = %d, want %d", got, goroutines*each)
	}
}

// TestNewestEnabledVersion: without a version the signer takes the
// highest-numbered ENABLED version.
func TestNewestEnabledVersion(t *testing.T) {
	srv := kmstest.NewServer(t)
	v1 := srv.CreateKey(keyRing, "rotated", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	key := keyOf(v1)
	v2 := srv.AddVersion(key)
	v3 := srv.AddVersion(key)
	srv.SetVersionState(v3, kmspb.CryptoKeyVersion_DISABLED)
	s := newSigner(t, srv, key)
	if s.VersionName() != v2 {
		t.Errorf("resolved %s, want %s", s.VersionName(), v2)
	}
	if !equalKeys(s.Public(), srv.PublicKey(v2)) {
		t.Error("public key is not v2's")
	}
	// An explicit version wins, even an older one.
	if s1 := newSigner(t, srv, v1); s1.VersionName() != v1 || !equalKeys(s1.Public(), srv.PublicKey(v1)) {
		t.Errorf("explicit v1 resolved to %s", s1.VersionName())
	}
}

// TestIntegrityFaults: every corrupted response is caught; a transient fault
// is retried once and succeeds, a persistent one fails with the named check.
func TestIntegrityFaults(t *testing.T) {
	ctx := context.Background()
	signFaults := []struct {
		fault kmstest.Fault
		check string
		alg   kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm
	}{
		{kmstest.FaultSignatureCRC32C, kms.CheckSignatureCRC32C, kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256},
		{kmstest.FaultSignName, kms.CheckResponseName, kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256},
		{kmstest.FaultUnverifiedChecksum, kms.CheckVerifiedDigest, kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256},
		{kmstest.FaultUnverifiedChecksum, kms.CheckVerifiedData, kmspb.CryptoKeyVersion_EC_SIGN_ED25519},
		{kmstest.FaultSignatureBytes, kms.CheckSignature, kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256},
		{kmstest.FaultSignatureBytes, kms.CheckSignature, kmspb.CryptoKeyVersion_RSA_SIGN_PSS_2048_SHA256},
	}
	srv := kmstest.NewServer(t)
	for i, tc := range signFaults {
		t.Run(fmt.Sprintf("%s/%s", tc.fault, tc.alg), func(t *testing.T) {
			version := srv.CreateKey(keyRing, fmt.Sprintf("sign-fault-%d", i), tc.alg)
			s := newSigner(t, srv, version)
			msg := []byte("message")

			// Transient: the first response is corrupt, the retry is not.
			srv.ResetCalls()
			srv.InjectFault(tc.fault, 1)
			sig, err := s.Sign(ctx, msg)
			if err != nil {
				t.Fatalf("transient fault: %v", err)
			}
			if got := srv.Calls(kmstest.AsymmetricSign); got != 2 {
				t.Errorf("transient fault: %d AsymmetricSign calls, want 2", got)
			}
			v, _ := sign.NewVerifier(srv.PublicKey(version), s.Algorithm())
			if err := v.Verify(ctx, msg, sig); err != nil {
				t.Errorf("signature after retry: %v", err)
			}

			// Persistent: two corrupt responses, then a typed error.
			srv.ResetCalls()
			srv.InjectFault(tc.fault, 0)
			defer srv.ClearFaults()
			sig, err = s.Sign(ctx, msg)
			var ie *kms.IntegrityError
			if !errors.Is(err, kms.ErrIntegrity) || !errors.As(err, &ie) || sig != nil {
				t.Fatalf("persistent fault: sig %x, err %v; want ErrIntegrity", sig, err)
			}
			if ie.Check != tc.check || ie.Op != "AsymmetricSign" || ie.Attempts != 2 || ie.Name != version {
				t.Errorf("IntegrityError %+v, want check %q after 2 attempts", ie, tc.check)
			}
			if got := srv.Calls(kmstest.AsymmetricSign); got != 2 {
				t.Errorf("persistent fault: %d AsymmetricSign calls, want 2", got)
			}
		})
	}

	keyFaults := []struct {
		fault kmstest.Fault
		check string
	}{
		{kmstest.FaultPublicKeyCRC32C, kms.CheckPublicKeyCRC32C},
		{kmstest.FaultPublicKeyName, kms.CheckPublicKeyName},
		{kmstest.FaultPublicKeyAlgorithm, kms.CheckPublicKeyAlgorithm},
		{kmstest.FaultPublicKeyMaterial, kms.CheckPublicKeyMaterial},
	}
	for i, tc := range keyFaults {
		t.Run(tc.fault.String(), func(t *testing.T) {
			version := srv.CreateKey(keyRing, fmt.Sprintf("key-fault-%d", i), kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
			opts := kms.WithClientOptions(srv.ClientOptions()...)

			srv.ResetCalls()
			srv.InjectFault(tc.fault, 1)
			s, err := kms.NewSigner(ctx, srv.Ref(version), opts)
			if err != nil {
				t.Fatalf("transient fault: %v", err)
			}
			s.Close()
			if got := srv.Calls(kmstest.GetPublicKey); got != 2 {
				t.Errorf("transient fault: %d GetPublicKey calls, want 2", got)
			}

			srv.InjectFault(tc.fault, 0)
			defer srv.ClearFaults()
			_, err = kms.NewSigner(ctx, srv.Ref(version), opts)
			var ie *kms.IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, kms.ErrIntegrity) || ie.Check != tc.check || ie.Op != "GetPublicKey" {
				t.Fatalf("persistent fault: %v (%+v), want ErrIntegrity %q", err, ie, tc.check)
			}
			if _, err := kms.NewVerifier(ctx, srv.Ref(version), opts); !errors.Is(err, kms.ErrIntegrity) {
				t.Errorf("NewVerifier with persistent fault: %v, want ErrIntegrity", err)
			}
		})
	}
}

// TestErrors: each failure has its typed error.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	opts := kms.WithClientOptions(srv.ClientOptions()...)

	enabled := srv.CreateKey(keyRing, "enabled", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	disabled := srv.CreateKey(keyRing, "disabled", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	srv.SetVersionState(disabled, kmspb.CryptoKeyVersion_DISABLED)
	destroyed := srv.CreateKey(keyRing, "destroyed", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	srv.SetVersionState(destroyed, kmspb.CryptoKeyVersion_DESTROYED)
	symmetric := srv.CreateKey(keyRing, "symmetric", kmspb.CryptoKeyVersion_GOOGLE_SYMMETRIC_ENCRYPTION)
	decrypt := srv.CreateKey(keyRing, "decrypt", kmspb.CryptoKeyVersion_RSA_DECRYPT_OAEP_2048_SHA256)
	secp256k1 := srv.CreateKey(keyRing, "secp256k1", kmspb.CryptoKeyVersion_EC_SIGN_SECP256K1_SHA256)
	raw := srv.CreateKey(keyRing, "raw", kmspb.CryptoKeyVersion_RSA_SIGN_RAW_PKCS1_2048)
	mldsa := srv.CreateKey(keyRing, "mldsa", kmspb.CryptoKeyVersion_PQ_SIGN_ML_DSA_65)

	cases := []struct {
		name   string
		ref    string
		inject func()
		want   error
		noCall kmstest.Method // the error is found before this call
	}{
		{"invalid reference", "gcpkms://projects/p/keyRings/r", nil, kms.ErrInvalidReference, ""},
		{"missing key", srv.Ref(keyRing + "/cryptoKeys/nope"), nil, kms.ErrKeyNotFound, ""},
		{"missing version", srv.Ref(keyOf(enabled) + "/cryptoKeyVersions/9"), nil, kms.ErrKeyNotFound, ""},
		{"disabled version", srv.Ref(disabled), nil, kms.ErrKeyVersionNotEnabled, kmstest.GetPublicKey},
		{"destroyed version", srv.Ref(destroyed), nil, kms.ErrKeyVersionNotEnabled, kmstest.GetPublicKey},
		{"no enabled version", srv.Ref(keyOf(disabled)), nil, kms.ErrKeyVersionNotEnabled, ""},
		{"symmetric key", srv.Ref(keyOf(symmetric)), nil, kms.ErrWrongPurpose, kmstest.ListCryptoKeyVersions},
		{"symmetric version", srv.Ref(symmetric), nil, kms.ErrWrongPurpose, ""},
		{"decrypt key", srv.Ref(keyOf(decrypt)), nil, kms.ErrWrongPurpose, kmstest.ListCryptoKeyVersions},
		{"decrypt version", srv.Ref(decrypt), nil, kms.ErrWrongPurpose, ""},
		{"secp256k1", srv.Ref(keyOf(secp256k1)), nil, kms.ErrUnsupportedAlgorithm, ""},
		{"raw PKCS#1", srv.Ref(raw), nil, kms.ErrUnsupportedAlgorithm, ""},
		{"ML-DSA", srv.Ref(mldsa), nil, kms.ErrUnsupportedAlgorithm, ""},
		{"permission denied on key", srv.Ref(keyOf(enabled)), func() { srv.InjectError(kmstest.GetCryptoKey, codes.PermissionDenied, 1) }, kms.ErrPermissionDenied, ""},
		{"permission denied on version and public key", srv.Ref(enabled), func() {
			srv.InjectError(kmstest.GetCryptoKeyVersion, codes.PermissionDenied, 1)
			srv.InjectError(kmstest.GetPublicKey, codes.PermissionDenied, 1)
		}, kms.ErrPermissionDenied, ""},
		{"unauthenticated", srv.Ref(enabled), func() { srv.InjectError(kmstest.GetCryptoKeyVersion, codes.Unauthenticated, 1) }, kms.ErrPermissionDenied, ""},
		{"permission denied on list", srv.Ref(keyOf(enabled)), func() { srv.InjectError(kmstest.ListCryptoKeyVersions, codes.PermissionDenied, 1) }, kms.ErrPermissionDenied, ""},
		{"permission denied on public key", srv.Ref(enabled), func() { srv.InjectError(kmstest.GetPublicKey, codes.PermissionDenied, 1) }, kms.ErrPermissionDenied, ""},
		{"not found on public key", srv.Ref(enabled), func() { srv.InjectError(kmstest.GetPublicKey, codes.NotFound, 1) }, kms.ErrKeyNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer srv.ClearFaults()
			if tc.inject != nil {
				tc.inject()
			}
			srv.ResetCalls()
			s, err := kms.NewSigner(ctx, tc.ref, opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("NewSigner: %v, want %v", err, tc.want)
			}
			if tc.noCall != "" && srv.Calls(tc.noCall) != 0 {
				t.Errorf("%s was called: the error should be found before", tc.noCall)
			}
			if s != nil {
				t.Error("NewSigner returned a signer with an error")
			}
		})
	}

	t.Run("sign errors", func(t *testing.T) {
		s := newSigner(t, srv, enabled)
		srv.InjectError(kmstest.AsymmetricSign, codes.PermissionDenied, 1)
		_, err := s.Sign(ctx, []byte("m"))
		if !errors.Is(err, kms.ErrPermissionDenied) || status.Code(err) != codes.PermissionDenied {
			t.Errorf("Sign: %v (code %s), want ErrPermissionDenied", err, status.Code(err))
		}
		// Unavailable is transient: the client library retries it.
		srv.ResetCalls()
		srv.InjectError(kmstest.AsymmetricSign, codes.Unavailable, 1)
		if _, err := s.Sign(ctx, []byte("m")); err != nil {
			t.Errorf("Sign after one Unavailable: %v", err)
		}
		if got := srv.Calls(kmstest.AsymmetricSign); got != 2 {
			t.Errorf("AsymmetricSign calls = %d, want 2 (one retry)", got)
		}
		// A version disabled after warm-up.
		srv.SetVersionState(enabled, kmspb.CryptoKeyVersion_DISABLED)
		defer srv.SetVersionState(enabled, kmspb.CryptoKeyVersion_ENABLED)
		if _, err := s.Sign(ctx, []byte("m")); !errors.Is(err, kms.ErrKeyVersionNotEnabled) {
			t.Errorf("Sign with a disabled version: %v, want ErrKeyVersionNotEnabled", err)
		}
		// A canceled context.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Sign(cctx, []byte("m")); !errors.Is(err, context.Canceled) {
			t.Errorf("Sign with a canceled context: %v", err)
		}
	})

	t.Run("closed", func(t *testing.T) {
		s := newSigner(t, srv, enabled)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sign(ctx, []byte("m")); !errors.Is(err, kms.ErrClosed) {
			t.Errorf("Sign after Close: %v, want ErrClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// TestWithClient: a caller's client is used and not closed by Close.
func TestWithClient(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	version := srv.CreateKey(keyRing, "shared", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	client, err := kmsapi.NewKeyManagementClient(ctx, srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for range 2 {
		s, err := kms.NewSigner(ctx, srv.Ref(version), kms.WithClient(client))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sign(ctx, []byte("m")); err != nil {
			t.Fatal(err)
		}
		s.Close() // must leave client usable for the next round
	}
	if _, err := kms.NewVerifier(ctx, srv.Ref(version), kms.WithClient(client)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetPublicKey(ctx, &kmspb.GetPublicKeyRequest{Name: version}); err != nil {
		t.Errorf("client closed by the signer: %v", err)
	}
}

// TestResolver: kms.Resolver fits verify.KeyResolver and resolves a
// reference to a verifier for the signer's signatures.
func TestResolver(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	version := srv.CreateKey(keyRing, "resolved", kmspb.CryptoKeyVersion_RSA_SIGN_PSS_2048_SHA256)
	s := newSigner(t, srv, version)
	var resolve verify.KeyResolver = kms.Resolver(kms.WithClientOptions(srv.ClientOptions()...))
	v, err := resolve(ctx, s.Ref())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(ctx, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, []byte("m"), sig); err != nil {
		t.Error(err)
	}
	if err := v.Verify(ctx, []byte("n"), sig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("wrong message: %v", err)
	}
	if _, err := resolve(ctx, "awskms:///alias/x"); !errors.Is(err, kms.ErrInvalidReference) {
		t.Errorf("non-GCP reference: %v", err)
	}
}

// TestLeastPrivilege: with only roles/cloudkms.signerVerifier a caller
// cannot read version metadata; a reference with a version still works,
// the algorithm coming from GetPublicKey.
func TestLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	srv.InjectError(kmstest.GetCryptoKeyVersion, codes.PermissionDenied, 0)
	srv.InjectError(kmstest.GetCryptoKey, codes.PermissionDenied, 0)
	srv.InjectError(kmstest.ListCryptoKeyVersions, codes.PermissionDenied, 0)
	opts := kms.WithClientOptions(srv.ClientOptions()...)

	version := srv.CreateKey(keyRing, "pss", kmspb.CryptoKeyVersion_RSA_SIGN_PSS_2048_SHA256)
	s, err := kms.NewSigner(ctx, srv.Ref(version), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Algorithm() != sign.RSAPSSSHA256 {
		t.Errorf("Algorithm() = %s", s.Algorithm())
	}
	signtest.Conformance(t, s, signtest.WithGoroutines(2))

	// Without a version the key must be listed: that needs more rights.
	if _, err := kms.NewSigner(ctx, srv.Ref(keyOf(version)), opts); !errors.Is(err, kms.ErrPermissionDenied) {
		t.Errorf("key reference without list rights: %v", err)
	}
	disabled := srv.CreateKey(keyRing, "off", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	srv.SetVersionState(disabled, kmspb.CryptoKeyVersion_DISABLED)
	if _, err := kms.NewSigner(ctx, srv.Ref(disabled), opts); !errors.Is(err, kms.ErrKeyVersionNotEnabled) {
		t.Errorf("disabled version: %v", err)
	}
	// The algorithm then comes from the public key response alone.
	srv.InjectFault(kmstest.FaultPublicKeyAlgorithm, 1)
	defer srv.ClearFaults()
	if _, err := kms.NewSigner(ctx, srv.Ref(version), opts); !errors.Is(err, kms.ErrUnsupportedAlgorithm) {
		t.Errorf("public key labelled secp256k1: %v", err)
	}
}
