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
	digest, _ := provenance.HashReader(strings.NewReader(artifact))
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
		PredicateType: provenance.PredicateSLSAProvenanceV1,
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

// trustKey is a stand-in BundleVerifier for the example: the keyless
// package's Verifier is the real one (certificate chain, identity,
// transparency log). It reads the DSSE envelope out of the bundle and
// accepts it when key signed it.
type trustKey struct{ key sign.Verifier }

func (k trustKey) VerifyBundle(ctx context.Context, bundle []byte, digest string) (*sign.Envelope, error) {
	var b struct {
		DSSEEnvelope json.RawMessage `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, err
	}
	env, err := sign.ParseEnvelope(b.DSSEEnvelope)
	if err != nil {
		return nil, err
	}
	for _, s := range env.Signatures {
		if k.key.Verify(ctx, env.PAE(), s.Sig) == nil {
			return env, nil
		}
	}
	return nil, errors.New("untrusted bundle")
}

// A bundle is verified by a BundleVerifier for the artifact's digest; only
// then is its statement read and checked.
func ExampleVerifyBundle() {
	ctx := context.Background()
	key, _ := sign.GenerateKey(sign.Ed25519)
	digest, _ := provenance.HashReader(strings.NewReader("artifact bytes"))
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/builder@v1"}, "https://example.com/make@v1")
	_ = rec.SetExternalParameter("target", "release")
	_ = rec.AddSubject(provenance.Subject{Name: "app", Digest: digest})
	stmt, _ := rec.MarshalStatement()
	env, _ := sign.SignStatement(ctx, stmt, key)
	envJSON, _ := json.Marshal(env)
	bundle, _ := json.Marshal(map[string]any{"dsseEnvelope": json.RawMessage(envJSON)})

	kv, _ := sign.VerifierFor(key)
	res, err := verify.VerifyBundle(ctx, trustKey{kv}, bundle, verify.Expectations{
		SubjectDigest: digest,
		BuilderID:     "https://ci.example.com/builder@v1",
	})
	fmt.Println("error:", err)
	for _, c := range res.Checks[:2] {
		fmt.Println(c.Name, c.Outcome)
	}
	// Output:
	// error: <nil>
	// signature passed
	// payloadType passed
}
