package kms_test

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/sign"
)

// Sign an in-toto statement with a Cloud KMS key. Here the key lives in an
// offline kmstest server; against Cloud KMS, drop WithClientOptions and the
// client uses Application Default Credentials.
func ExampleNewSigner() {
	srv, err := kmstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.CreateKey("projects/acme/locations/global/keyRings/release", "provenance",
		kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)

	ctx := context.Background()
	signer, err := kms.NewSigner(ctx,
		"gcpkms://projects/acme/locations/global/keyRings/release/cryptoKeys/provenance",
		kms.WithClientOptions(srv.ClientOptions()...))
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
	fmt.Println(signer.Algorithm())
	fmt.Println(signer.Ref())
	fmt.Println("envelope keyid is the key's fingerprint:", env.Signatures[0].KeyID == signer.KeyID())

	verifier, err := kms.NewVerifier(ctx, signer.Ref(), kms.WithClientOptions(srv.ClientOptions()...))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", verifier.Verify(ctx, env.PAE(), env.Signatures[0].Sig) == nil)
	// Output:
	// ecdsa-sha2-256-nistp256
	// gcpkms://projects/acme/locations/global/keyRings/release/cryptoKeys/provenance/cryptoKeyVersions/1
	// envelope keyid is the key's fingerprint: true
	// verified: true
}

func ExampleParseReference() {
	r, err := kms.ParseReference("gcpkms://projects/acme/locations/global/keyRings/release/cryptoKeys/provenance/versions/3")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Project, r.KeyRing, r.Key, r.Version)
	fmt.Println(r)

	_, err = kms.ParseReference("gcpkms://projects/acme/keyRings/release")
	fmt.Println(errors.Is(err, kms.ErrInvalidReference))
	// Output:
	// acme release provenance 3
	// gcpkms://projects/acme/locations/global/keyRings/release/cryptoKeys/provenance/cryptoKeyVersions/3
	// true
}
