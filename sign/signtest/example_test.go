package signtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

// A test of code that signs: the signer's key is derived from a seed, so the
// key ID (and, with Ed25519, the signature) is the same on every run.
func ExampleNewSigner() {
	s := signtest.NewSigner("release-bot")
	env, err := sign.SignStatement(context.Background(), []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://example.com/p"}`), s)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = signtest.NewVerifier("release-bot").Verify(context.Background(), env.PAE(), env.Signatures[0].Sig)
	fmt.Println("verified:", err == nil)
	fmt.Println("stable key ID:", env.Signatures[0].KeyID == signtest.NewSigner("release-bot").KeyID())
	// Output:
	// verified: true
	// stable key ID: true
}

// mySigner stands for a signer a user writes, e.g. around an HSM.
type mySigner struct{ sign.Signer }

// A user's own signer is checked against the seam's contract in one line.
func ExampleConformance() {
	t := &testing.T{} // in a real test, the *testing.T of TestMySigner
	signtest.Conformance(t, mySigner{signtest.NewSigner("hsm-slot-1")})
	fmt.Println("conforms:", !t.Failed())
	// Output:
	// conforms: true
}
