package kmstest_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	kmsapi "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
)

const ring = "projects/p/locations/global/keyRings/r"

func client(t *testing.T, srv *kmstest.Server) *kmsapi.KeyManagementClient {
	t.Helper()
	c, err := kmsapi.NewKeyManagementClient(context.Background(), srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func crc(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))))
}

// TestRealClient drives the server with the real client library: metadata,
// public key with a correct CRC32C, and a signature that verifies.
func TestRealClient(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	c := client(t, srv)
	version := srv.CreateKey(ring, "k", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	key := ring + "/cryptoKeys/k"

	ck, err := c.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: key})
	if err != nil || ck.GetPurpose() != kmspb.CryptoKey_ASYMMETRIC_SIGN || ck.GetName() != key {
		t.Fatalf("GetCryptoKey: %v %v", ck, err)
	}
	v, err := c.GetCryptoKeyVersion(ctx, &kmspb.GetCryptoKeyVersionRequest{Name: version})
	if err != nil || v.GetState() != kmspb.CryptoKeyVersion_ENABLED || v.GetAlgorithm() != kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256 {
		t.Fatalf("GetCryptoKeyVersion: %v %v", v, err)
	}
	pk, err := c.GetPublicKey(ctx, &kmspb.GetPublicKeyRequest{Name: version})
	if err != nil {
		t.Fatal(err)
	}
	if pk.GetName() != version || pk.GetPemCrc32C().GetValue() != crc([]byte(pk.GetPem())).GetValue() {
		t.Errorf("GetPublicKey: name %q crc %v", pk.GetName(), pk.GetPemCrc32C())
	}
	pub, err := sign.LoadPublicKey([]byte(pk.GetPem()))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("message")
	d := sha256.Sum256(msg)
	resp, err := c.AsymmetricSign(ctx, &kmspb.AsymmetricSignRequest{
		Name:         version,
		Digest:       &kmspb.Digest{Digest: &kmspb.Digest_Sha256{Sha256: d[:]}},
		DigestCrc32C: crc(d[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetVerifiedDigestCrc32C() || resp.GetName() != version || resp.GetSignatureCrc32C().GetValue() != crc(resp.GetSignature()).GetValue() {
		t.Errorf("AsymmetricSign response: %v", resp)
	}
	vf, _ := sign.NewVerifier(pub, sign.ECDSAP256SHA256)
	if err := vf.Verify(ctx, msg, resp.GetSignature()); err != nil {
		t.Error(err)
	}
	// Without a request checksum nothing is "verified".
	resp, err = c.AsymmetricSign(ctx, &kmspb.AsymmetricSignRequest{Name: version, Digest: &kmspb.Digest{Digest: &kmspb.Digest_Sha256{Sha256: d[:]}}})
	if err != nil || resp.GetVerifiedDigestCrc32C() {
		t.Errorf("unchecked request: verified=%v err=%v", resp.GetVerifiedDigestCrc32C(), err)
	}
	if got := srv.Calls(kmstest.AsymmetricSign); got != 2 {
		t.Errorf("Calls(AsymmetricSign) = %d", got)
	}
}

// TestRequestChecks: the server rejects what Cloud KMS rejects.
func TestRequestChecks(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	c := client(t, srv)
	p256 := srv.CreateKey(ring, "p256", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	ed := srv.CreateKey(ring, "ed", kmspb.CryptoKeyVersion_EC_SIGN_ED25519)
	d := sha256.Sum256([]byte("m"))
	sha256Digest := &kmspb.Digest{Digest: &kmspb.Digest_Sha256{Sha256: d[:]}}
	cases := []struct {
		name string
		req  *kmspb.AsymmetricSignRequest
		want codes.Code
	}{
		{"wrong digest crc", &kmspb.AsymmetricSignRequest{Name: p256, Digest: sha256Digest, DigestCrc32C: wrapperspb.Int64(1)}, codes.InvalidArgument},
		{"wrong digest type", &kmspb.AsymmetricSignRequest{Name: p256, Digest: &kmspb.Digest{Digest: &kmspb.Digest_Sha384{Sha384: make([]byte, 48)}}}, codes.InvalidArgument},
		{"short digest", &kmspb.AsymmetricSignRequest{Name: p256, Digest: &kmspb.Digest{Digest: &kmspb.Digest_Sha256{Sha256: d[:31]}}}, codes.InvalidArgument},
		{"data to a digest key", &kmspb.AsymmetricSignRequest{Name: p256, Data: []byte("m")}, codes.InvalidArgument},
		{"digest to Ed25519", &kmspb.AsymmetricSignRequest{Name: ed, Digest: sha256Digest}, codes.InvalidArgument},
		{"wrong data crc", &kmspb.AsymmetricSignRequest{Name: ed, Data: []byte("m"), DataCrc32C: crc([]byte("n"))}, codes.InvalidArgument},
		{"data too large", &kmspb.AsymmetricSignRequest{Name: ed, Data: make([]byte, kmstest.MaxSignData+1)}, codes.InvalidArgument},
		{"unknown version", &kmspb.AsymmetricSignRequest{Name: p256[:len(p256)-1] + "7", Digest: sha256Digest}, codes.NotFound},
		{"leading zero version", &kmspb.AsymmetricSignRequest{Name: p256[:len(p256)-1] + "01", Digest: sha256Digest}, codes.NotFound},
	}
	for _, tc := range cases {
		if _, err := c.AsymmetricSign(ctx, tc.req); status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	resp, err := c.AsymmetricSign(ctx, &kmspb.AsymmetricSignRequest{Name: ed, Data: []byte("m"), DataCrc32C: crc([]byte("m"))})
	if err != nil || !resp.GetVerifiedDataCrc32C() {
		t.Errorf("Ed25519 sign: %v %v", resp, err)
	}

	srv.SetVersionState(p256, kmspb.CryptoKeyVersion_DISABLED)
	if _, err := c.AsymmetricSign(ctx, &kmspb.AsymmetricSignRequest{Name: p256, Digest: sha256Digest}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("sign with a disabled version: %v", err)
	}
	if _, err := c.GetPublicKey(ctx, &kmspb.GetPublicKeyRequest{Name: p256}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("public key of a disabled version: %v", err)
	}
}

// TestListVersions: filtering and paging.
func TestListVersions(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	c := client(t, srv)
	key := ring + "/cryptoKeys/multi"
	v1 := srv.CreateKey(ring, "multi", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	v2 := srv.AddVersion(key)
	v3 := srv.AddVersion(key)
	srv.SetVersionState(v2, kmspb.CryptoKeyVersion_DESTROYED)

	list := func(filter string, pageSize int32) ([]string, error) {
		it := c.ListCryptoKeyVersions(ctx, &kmspb.ListCryptoKeyVersionsRequest{Parent: key, Filter: filter, PageSize: pageSize})
		var names []string
		for {
			v, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return names, nil
			}
			if err != nil {
				return nil, err
			}
			names = append(names, v.GetName())
		}
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{v1, v2, v3}},
		{"state=ENABLED", []string{v1, v3}},
		{"state = DESTROYED", []string{v2}},
	} {
		got, err := list(tc.filter, 1) // one per page: exercises page tokens
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("filter %q: %v %v, want %v", tc.filter, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("filter %q: %v, want %v", tc.filter, got, tc.want)
			}
		}
	}
	if _, err := list("algorithm=X", 0); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unsupported filter: %v", err)
	}
	if _, err := c.ListCryptoKeyVersions(ctx, &kmspb.ListCryptoKeyVersionsRequest{Parent: ring + "/cryptoKeys/none"}).Next(); status.Code(err) != codes.NotFound {
		t.Errorf("missing key: %v", err)
	}
}

// TestKnobs: injected errors and faults apply the given number of times.
func TestKnobs(t *testing.T) {
	ctx := context.Background()
	srv := kmstest.NewServer(t)
	c := client(t, srv)
	version := srv.CreateKey(ring, "k", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	get := func() (*kmspb.PublicKey, error) {
		return c.GetPublicKey(ctx, &kmspb.GetPublicKeyRequest{Name: version})
	}

	srv.InjectError(kmstest.GetPublicKey, codes.PermissionDenied, 2)
	for i := range 2 {
		if _, err := get(); status.Code(err) != codes.PermissionDenied {
			t.Errorf("call %d: %v, want PermissionDenied", i, err)
		}
	}
	if _, err := get(); err != nil {
		t.Errorf("after 2 injected errors: %v", err)
	}

	srv.InjectFault(kmstest.FaultPublicKeyCRC32C, 1)
	pk, _ := get()
	if pk.GetPemCrc32C().GetValue() == crc([]byte(pk.GetPem())).GetValue() {
		t.Error("FaultPublicKeyCRC32C: checksum still correct")
	}
	pk, _ = get()
	if pk.GetPemCrc32C().GetValue() != crc([]byte(pk.GetPem())).GetValue() {
		t.Error("FaultPublicKeyCRC32C applied twice")
	}
	srv.InjectFault(kmstest.FaultPublicKeyName, 0)
	for range 3 {
		if pk, _ := get(); pk.GetName() == version {
			t.Error("FaultPublicKeyName (until cleared) not applied")
		}
	}
	srv.ClearFaults()
	if pk, _ := get(); pk.GetName() != version {
		t.Error("ClearFaults left a fault")
	}

	// Latency honours the caller's deadline.
	srv.SetLatency(time.Hour)
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.GetCryptoKey(dctx, &kmspb.GetCryptoKeyRequest{Name: ring + "/cryptoKeys/k"}); !errors.Is(err, context.DeadlineExceeded) && status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("with an hour of latency: %v, want DeadlineExceeded", err)
	}
	srv.SetLatency(0)

	// Methods the server does not implement.
	if _, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: ring + "/cryptoKeys/k"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("Encrypt: %v, want Unimplemented", err)
	}
}

// TestClose: a closed server refuses calls.
func TestClose(t *testing.T) {
	srv, err := kmstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, srv)
	srv.CreateKey(ring, "k", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	srv.Close()
	srv.Close()
	// The client retries Unavailable until the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: ring + "/cryptoKeys/k"}); err == nil {
		t.Error("call to a closed server succeeded")
	}
}
