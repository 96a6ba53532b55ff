package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	digest, _, _ := provenance.HashReader(strings.NewReader(artifact))
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/builder@v1"}, "https://example.com/make@v1")
	_ = rec.SetExternalParameter("target", "release")
	_ = rec.AddSubject(provenance.Subject{Name: "app.tar.gz", Digest: digest})
	stmt, _ := rec.MarshalStatement()
	env, _ := sign.SignStatement(ctx, stmt, key)
	envJSON, _ := json.Marshal(env)

	// The consumer's side: trusted key, expectations, verify.
	v, err := verify.New(verify.WithPublicKeys(key.Public()))
	if err != nil {
		panic(err)
	}
	want, _ := verify.DigestOfReader(strings.NewReader(artifact))
	res, err := v.Verify(ctx, envJSON, verify.Expectations{
		SubjectDigest: want,
		PredicateType: provenance.PredicateSLSAProvenance1,
		BuilderID:     "https://ci.example.com/builder@v1",
	})
	fmt.Println("error:", err)
	fmt.Println("builder:", res.Statement.Provenance.BuilderID)

	// A tampered artifact fails the subject check, and says so.
	bad, _ := verify.DigestOfReader(strings.NewReader("tampered bytes"))
	_, err = v.Verify(ctx, envJSON, verify.Expectations{SubjectDigest: bad})
	var ce *verify.CheckError
	if errors.As(err, &ce) {
		fmt.Println("failed check:", ce.Check)
	}
	// Output:
	// error: <nil>
	// builder: https://ci.example.com/builder@v1
	// failed check: subject
}
