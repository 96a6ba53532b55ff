package kmstest_test

import (
	"context"
	"fmt"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
)

// A test of release signing with a Cloud KMS key, run offline: the real
// Cloud KMS client talks to kmstest over loopback. This is how the test
// reads in your own _test.go file (as func TestReleaseSigning(t *testing.T)).
func ExampleNewServer() {
	TestReleaseSigning := func(t *testing.T) {
		ctx := context.Background()
		srv := kmstest.NewServer(t) // stopped when the test ends
		version := srv.CreateKey("projects/acme/locations/global/keyRings/release", "provenance",
			kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)

		signer, err := kms.NewSigner(ctx, srv.Ref(version), kms.WithClientOptions(srv.ClientOptions()...))
		if err != nil {
			t.Fatal(err)
		}
		defer signer.Close()

		env, err := sign.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://example.com/p"}`), signer)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sign.NewVerifier(srv.PublicKey(version), sign.ECDSAP256SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
			t.Fatal(err)
		}
		if n := srv.Calls(kmstest.AsymmetricSign); n != 1 {
			t.Errorf("%d AsymmetricSign calls, want 1", n)
		}

		// Your error paths, too: a corrupted response is retried once, then
		// reported.
		srv.InjectFault(kmstest.FaultSignatureCRC32C, 0)
		if _, err := signer.Sign(ctx, []byte("data")); err == nil {
			t.Error("a corrupted signature checksum went unnoticed")
		}
	}
	_ = TestReleaseSigning
}

// Start runs the server outside a test, for a demo or a local tool.
func ExampleStart() {
	srv, err := kmstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	version := srv.CreateKey("projects/acme/locations/global/keyRings/release", "provenance",
		kmspb.CryptoKeyVersion_EC_SIGN_ED25519)

	ctx := context.Background()
	signer, err := kms.NewSigner(ctx, srv.Ref(version), kms.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer signer.Close()
	env, err := sign.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://example.com/p"}`), signer)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := kms.NewVerifier(ctx, srv.Ref(version), kms.WithClientOptions(srv.ClientOptions()...))
	fmt.Println("signed by:", signer.Ref())
	fmt.Println("keyid is the key's fingerprint:", env.Signatures[0].KeyID == signer.KeyID())
	fmt.Println("verified:", v.Verify(ctx, env.PAE(), env.Signatures[0].Sig) == nil)
	// Output:
	// signed by: gcpkms://projects/acme/locations/global/keyRings/release/cryptoKeys/provenance/cryptoKeyVersions/1
	// keyid is the key's fingerprint: true
	// verified: true
}
