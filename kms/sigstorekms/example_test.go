package sigstorekms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/slsakit/slsakit/kms/sigstorekms"
	"github.com/slsakit/slsakit/sign"
)

// Sign with an AWS KMS key through sigstore's KMS providers. The AWS
// provider registers itself when your program imports its module:
//
//	import _ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
//
// (likewise .../kms/azure, .../kms/hashivault, .../kms/gcp), and any other
// scheme runs a sigstore-kms-<name> plugin program from $PATH.
func ExampleNew() {
	ctx := context.Background()
	const ref = "awskms:///arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := sigstorekms.New(ctx, sv, sigstorekms.WithKeyID(ref))
	if err != nil {
		log.Fatal(err)
	}
	env, err := sign.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://example.com/p"}`), signer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(env.Signatures[0].KeyID)
}

// Any sigstore SignerVerifier works, in-memory ones too.
func ExampleNew_inMemory() {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	signer, err := sigstorekms.New(ctx, sv, sigstorekms.WithAlgorithm(sign.ECDSAP256SHA256))
	if err != nil {
		log.Fatal(err)
	}
	env, err := sign.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://example.com/p"}`), signer)
	if err != nil {
		log.Fatal(err)
	}
	v, err := sign.VerifierFor(signer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", v.Verify(ctx, env.PAE(), env.Signatures[0].Sig) == nil)
	// Output:
	// verified: true
}
