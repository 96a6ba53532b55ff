package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// A consumer checks a release artifact against its signed provenance.
func Example() {
	ctx := context.Background()

	// The builder's side: record, sign.
	key, _ := sign.GenerateKey(sign.Ed25519)
	artifact := "release tarball bytes"
	digest, _ := provenance.HashReader(strings.NewReader(artifact))
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/builder@v1"}, "https://example.com/make@v1")
	_ = rec.SetExternalParameter("target", "release")
	_ = rec.AddSubject(intoto.ResourceDescriptor{Name: "app.tar.gz", Digest: digest})
	stmt, _ := rec.MarshalStatement()
	env, _ := sign.SignStatement(ctx, stmt, key)
	envJSON, _ := json.Marshal(env)

	// The consumer's side: whom to trust, what to expect, verify.
	auth, err := verify.Keys(verify.WithPublicKeys(key.Public()))
	if err != nil {
		panic(err)
	}
	att, err := verify.ParseAttestation(envJSON)
	if err != nil {
		panic(err)
	}
	want, _ := verify.DigestOfReader(strings.NewReader(artifact))
	res, err := verify.Verify(ctx, auth, att, verify.Expectations{
		SubjectDigest: want,
		PredicateType: provenance.PredicateSLSAProvenanceV1,
		BuilderID:     "https://ci.example.com/builder@v1",
	})
	fmt.Println("error:", err)
	fmt.Println("builder:", res.Statement.Provenance.BuilderID)
	fmt.Println("signed by the trusted key:", res.Signers[0].KeyID == key.KeyID())

	// A tampered artifact fails the subject check, and says so.
	bad, _ := verify.DigestOfReader(strings.NewReader("tampered bytes"))
	_, err = verify.Verify(ctx, auth, att, verify.Expectations{SubjectDigest: bad})
	var ce *verify.CheckError
	if errors.As(err, &ce) {
		fmt.Println("failed check:", ce.Check)
	}
	// Output:
	// error: <nil>
	// builder: https://ci.example.com/builder@v1
	// signed by the trusted key: true
	// failed check: subject
}

// A release is trusted when both release managers signed it, or the CI
// key did: AnyOf combines the two rules.
func ExampleAnyOf() {
	ctx := context.Background()
	alice, _ := sign.GenerateKey(sign.Ed25519)
	bob, _ := sign.GenerateKey(sign.Ed25519)
	ci, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	managers, _ := verify.Keys(verify.WithPublicKeys(alice.Public(), bob.Public()), verify.WithThreshold(2))
	robot, _ := verify.Keys(verify.WithPublicKeys(ci.Public()))
	auth := verify.AnyOf(managers, robot)

	digest, _ := provenance.HashReader(strings.NewReader("artifact bytes"))
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/builder@v1"}, "https://example.com/make@v1")
	_ = rec.SetExternalParameter("target", "release")
	_ = rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: digest})
	stmt, _ := rec.MarshalStatement()
	want := verify.Expectations{SubjectDigest: digest}
	for _, signers := range [][]sign.Signer{{alice}, {alice, bob}, {ci}} {
		att, err := sign.Attest(ctx, stmt, signers...)
		if err != nil {
			panic(err)
		}
		_, err = verify.Verify(ctx, auth, att, want)
		fmt.Printf("%d signer(s): trusted %v\n", len(signers), err == nil)
	}
	// Output:
	// 1 signer(s): trusted false
	// 2 signer(s): trusted true
	// 1 signer(s): trusted true
}
