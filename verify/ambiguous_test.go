package verify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// TestVerifyAmbiguousKeys: a builder's key signs a statement, or a whole
// envelope is handed over, that says one thing to a case-sensitive reader
// and another to a reader that folds case (encoding/json into structs, as
// in-toto-golang does). Signed with a real key and verified through
// sign and verify.New, each must fail naming the key. At main 0a75f45 the
// three statements verified (slsakit read "subject" where a struct reader
// reads "Subject"); the envelope was refused, as an unknown field.
func TestVerifyAmbiguousKeys(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	stmt := statement(t, "artifact")
	evil := `[{"name":"evil.tar.gz","digest":{"sha256":"` + digestOf("evil")["sha256"] + `"}}]`

	cases := []struct {
		name string
		env  []byte
		path string
	}{
		{"subject and Subject, different digests", signed(t, bytes.Replace(stmt, []byte(`"subject":`), []byte(`"Subject":`+evil+`,"subject":`), 1), key), "subject"},
		{"Subject after subject", signed(t, bytes.Replace(stmt, []byte(`"predicateType":`), []byte(`"Subject":`+evil+`,"predicateType":`), 1), key), "Subject"},
		{"predicate_type beside predicateType", signed(t, bytes.Replace(stmt, []byte(`"predicate":`), []byte(`"predicate_type":"https://evil.example/p","predicate":`), 1), key), "predicate_type"},
		{"payload and Payload in the envelope", func() []byte {
			good := signed(t, stmt, key)
			other := base64.StdEncoding.EncodeToString(bytes.Replace(stmt, []byte(digestOf("artifact")["sha256"]), []byte(digestOf("evil")["sha256"]), 1))
			return bytes.Replace(good, []byte(`"payload":`), []byte(`"Payload":"`+other+`","payload":`), 1)
		}(), "payload"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, want := range []verify.Expectations{fullExpect(), {SubjectDigest: digestOf("evil")}} {
				res, err := v.Verify(ctx, tc.env, want)
				if err == nil || res.Passed() {
					t.Fatalf("verified an ambiguous document for %v\n%s", want.SubjectDigest, res)
				}
				if !errors.Is(err, verify.ErrMalformed) || !errors.Is(err, strictjson.ErrAmbiguousKey) {
					t.Fatalf("err = %v, want ErrMalformed and strictjson.ErrAmbiguousKey", err)
				}
				if res.Statement != nil {
					t.Fatal("an ambiguous statement was returned")
				}
				var se *strictjson.Error
				if !errors.As(err, &se) || se.Path != tc.path {
					t.Fatalf("err %v does not name the key %q", err, tc.path)
				}
			}
		})
	}
}

// TestVSAAmbiguousVerdict: a VSA signed by the trusted verifier whose
// verdict reads FAILED to a case-sensitive reader (and to the VSA spec)
// but PASSED to encoding/json's folding must not open the fast path. At
// main 0a75f45 the first two opened it; the third, protojson's spelling,
// was refused only because nothing read it.
func TestVSAAmbiguousVerdict(t *testing.T) {
	ctx := context.Background()
	builderKey := genKey(t, sign.ECDSAP256SHA256)
	verifierKey := genKey(t, sign.Ed25519)
	const verifierID = "https://verifier.example.com/admission@v1"
	pol, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, builderKey)) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	clock := verify.WithClock(func() time.Time { return now })
	full, err := verify.NewEngine(ctx, pol, clock)
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}
	rep, err := full.Evaluate(ctx, art, attsOf(envelope(t, build{}.statement(t), builderKey)))
	if err != nil {
		t.Fatal(err)
	}
	passed, err := full.VSA(rep, verify.VSAOptions{VerifierID: verifierID})
	if err != nil {
		t.Fatal(err)
	}
	const verdict = `"verificationResult":"PASSED"`
	if !bytes.Contains(passed, []byte(verdict)) {
		t.Fatalf("VSA without %s: %s", verdict, passed)
	}
	vk, _ := sign.VerifierFor(verifierKey)
	fast, err := verify.NewEngine(ctx, pol, clock, verify.WithTrustedVSA(verifierID, time.Hour, vk))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fast.Evaluate(ctx, art, attsOf(envelope(t, passed, verifierKey))); err != nil {
		t.Fatalf("the unaltered VSA: %v", err)
	}
	for name, with := range map[string]string{
		"FAILED then VerificationResult PASSED": `"verificationResult":"FAILED","VerificationResult":"PASSED"`,
		"VerificationResult alone":              `"VerificationResult":"PASSED"`,
		"verification_result alone":             `"verification_result":"PASSED"`,
	} {
		t.Run(name, func(t *testing.T) {
			stmt := bytes.Replace(passed, []byte(verdict), []byte(with), 1)
			r, err := fast.Evaluate(ctx, art, attsOf(envelope(t, stmt, verifierKey)))
			if !errors.Is(err, verify.ErrNoAttestation) {
				t.Fatalf("err = %v, want the full evaluation's ErrNoAttestation\n%s", err, r)
			}
			if !strings.Contains(r.String(), "skipped vsa") {
				t.Fatalf("report does not explain the VSA was not used:\n%s", r)
			}
		})
	}
}
