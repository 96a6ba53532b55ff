package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

const (
	builderID = "https://ci.example.com/builders/release@v1"
	buildType = "https://example.com/buildtypes/make@v1"
)

func digestOf(s string) intoto.DigestSet {
	h := sha256.Sum256([]byte(s))
	return intoto.DigestSet{"sha256": hex.EncodeToString(h[:])}
}

func statement(t *testing.T, subject string) []byte {
	t.Helper()
	r := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType,
		provenance.WithClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }))
	r.Start()
	if err := r.SetExternalParameter("target", "release"); err != nil {
		t.Fatal(err)
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: "app.tar.gz", Digest: digestOf(subject)}); err != nil {
		t.Fatal(err)
	}
	r.Finish()
	b, err := r.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func genKey(t *testing.T, alg sign.Algorithm) *sign.KeySigner {
	t.Helper()
	k, err := sign.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signed(t *testing.T, payload []byte, signers ...sign.Signer) []byte {
	t.Helper()
	return signedAs(t, sign.PayloadTypeInToto, payload, signers...)
}

// signedAs is signed with another payload type.
func signedAs(t *testing.T, payloadType string, payload []byte, signers ...sign.Signer) []byte {
	t.Helper()
	env, err := sign.SignEnvelope(context.Background(), payloadType, payload, signers...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedRaw signs any payload as an in-toto statement, as another tool or
// an attacker with a trusted key can: sign.SignStatement refuses payloads
// that are not statements, and the verifier must too.
func signedRaw(t *testing.T, payload []byte, s sign.Signer) []byte {
	t.Helper()
	sig, err := s.Sign(context.Background(), sign.PAE(sign.PayloadTypeInToto, payload))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&sign.Envelope{PayloadType: sign.PayloadTypeInToto, Payload: payload,
		Signatures: []sign.Signature{{KeyID: s.KeyID(), Sig: sig}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyVerifier verifies serialized or parsed envelopes with the key
// Authenticator, as a caller holding them would: parse, then Verify.
type keyVerifier struct{ auth *verify.KeyAuthenticator }

func newVerifier(t *testing.T, opts ...verify.KeyOption) keyVerifier {
	t.Helper()
	a, err := verify.Keys(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return keyVerifier{a}
}

func (k keyVerifier) Verify(ctx context.Context, raw []byte, want verify.Expectations) (*verify.Result, error) {
	att, err := verify.ParseAttestation(raw)
	if err != nil {
		// What verify.Verify would report had it been handed the bytes.
		ce := &verify.CheckError{Check: "envelope", Err: err}
		return &verify.Result{Checks: []verify.Check{{Name: "envelope", Outcome: verify.Failed, Err: ce}}}, ce
	}
	return verify.Verify(ctx, k.auth, att, want)
}

func (k keyVerifier) VerifyEnvelope(ctx context.Context, env *sign.Envelope, want verify.Expectations) (*verify.Result, error) {
	return verify.Verify(ctx, k.auth, &sign.Attestation{Envelope: env}, want)
}

func fullExpect() verify.Expectations {
	return verify.Expectations{
		SubjectDigest: digestOf("artifact"),
		PredicateType: provenance.PredicateSLSAProvenanceV1,
		BuilderID:     builderID,
		BuildType:     buildType,
	}
}

func TestVerifyPasses(t *testing.T) {
	key := genKey(t, sign.ECDSAP256SHA256)
	env := signed(t, statement(t, "artifact"), key)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	res, err := v.Verify(context.Background(), env, fullExpect())
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, res)
	}
	if res.Statement == nil || res.Statement.Provenance.BuilderID != builderID {
		t.Fatalf("statement not returned: %+v", res.Statement)
	}
	if len(res.Signers) != 1 || res.Signers[0].KeyID != key.KeyID() || res.Signers[0].Identity != nil || len(res.Times) != 0 {
		t.Fatalf("signers = %v, want [%s]", res.Signers, key.KeyID())
	}
	for _, c := range res.Checks {
		if c.Outcome != verify.Passed {
			t.Errorf("check %s: %s", c.Name, c.Outcome)
		}
	}
	if !strings.HasPrefix(res.String(), "verification: PASS") {
		t.Errorf("rendering: %s", res)
	}
}

// mutate re-signs nothing: it edits serialized envelopes the way an attacker
// between the build and the consumer would.
func mutateEnvelope(t *testing.T, env []byte, f func(e *sign.Envelope)) []byte {
	t.Helper()
	e, err := sign.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	f(e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyTamper(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	other := genKey(t, sign.ECDSAP256SHA256)
	good := signed(t, statement(t, "artifact"), key)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))

	swappedPredicate := bytes.Replace(statement(t, "artifact"), []byte(provenance.PredicateSLSAProvenanceV1), []byte("https://slsa.dev/provenance/v9"), 1)
	// A payload whose predicateType appears twice: a validly signed but
	// ambiguous document must be refused.
	dup := bytes.Replace(statement(t, "artifact"), []byte(`"predicateType"`),
		[]byte(`"predicateType":"https://evil.example/p","predicateType"`), 1)

	cases := []struct {
		name   string
		env    []byte
		expect verify.Expectations
		want   error
	}{
		{"flipped payload byte", mutateEnvelope(t, good, func(e *sign.Envelope) { e.Payload[len(e.Payload)/2] ^= 1 }), fullExpect(), verify.ErrSignature},
		{"flipped signature byte", mutateEnvelope(t, good, func(e *sign.Envelope) { e.Signatures[0].Sig[10] ^= 1 }), fullExpect(), verify.ErrSignature},
		{"wrong key", signed(t, statement(t, "artifact"), other), fullExpect(), verify.ErrSignature},
		// The payload type is signed (PAE): changing it breaks the
		// signature, and a trusted key's signature over another type is
		// refused after authentication.
		{"changed payloadType", mutateEnvelope(t, good, func(e *sign.Envelope) { e.PayloadType = "application/json" }), fullExpect(), verify.ErrSignature},
		{"signed payloadType other than in-toto", signedAs(t, "application/json", statement(t, "artifact"), key), fullExpect(), verify.ErrPayloadType},
		{"subject digest mismatch", signed(t, statement(t, "other artifact"), key), fullExpect(), verify.ErrSubject},
		{"swapped predicate type", signed(t, swappedPredicate, key), fullExpect(), verify.ErrPredicateType},
		{"duplicate JSON keys in payload", signedRaw(t, dup, key), fullExpect(), verify.ErrMalformed},
		{"builder near-miss (trailing slash)", good, func() verify.Expectations { e := fullExpect(); e.BuilderID += "/"; return e }(), verify.ErrBuilder},
		{"builder near-miss (case)", good, func() verify.Expectations {
			e := fullExpect()
			e.BuilderID = strings.ToUpper(builderID[:5]) + builderID[5:]
			return e
		}(), verify.ErrBuilder},
		{"build type mismatch", good, func() verify.Expectations { e := fullExpect(); e.BuildType += "x"; return e }(), verify.ErrBuildType},
		{"weak-only expected digest", good, verify.Expectations{SubjectDigest: intoto.DigestSet{"sha1": strings.Repeat("a", 40)}}, verify.ErrSubject},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.Verify(ctx, tc.env, tc.expect)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want errors.Is %v\n%s", err, tc.want, res)
			}
			var ce *verify.CheckError
			if !errors.As(err, &ce) || ce.Check == "" {
				t.Fatalf("err %v does not carry a CheckError naming the check", err)
			}
			if res == nil || res.Passed() {
				t.Fatalf("result passed despite error: %v", res)
			}
			if !strings.HasPrefix(res.String(), "verification: FAIL") {
				t.Errorf("rendering does not say FAIL:\n%s", res)
			}
			if errors.Is(err, verify.ErrSignature) && res.Statement != nil {
				t.Errorf("statement exposed although its signature failed")
			}
		})
	}
}

func TestUnauthenticatedPayloadIsNotRead(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	other := genKey(t, sign.Ed25519)
	env := signed(t, statement(t, "artifact"), other)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	res, err := v.Verify(context.Background(), env, fullExpect())
	if !errors.Is(err, verify.ErrSignature) {
		t.Fatalf("err = %v", err)
	}
	// Only the signature check fails; the statement checks were skipped, so
	// nothing an attacker wrote is reported as if it were evidence.
	if errors.Is(err, verify.ErrSubject) || errors.Is(err, verify.ErrBuilder) {
		t.Fatalf("statement checks ran on an unauthenticated payload: %v", err)
	}
	skipped := 0
	for _, c := range res.Checks {
		if c.Outcome == verify.Skipped {
			skipped++
		}
	}
	if skipped != 6 {
		t.Fatalf("want 6 skipped statement checks, got %d:\n%s", skipped, res)
	}
}

func TestThreshold(t *testing.T) {
	ctx := context.Background()
	a, b, c := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.Ed25519), genKey(t, sign.ECDSAP384SHA384)
	stmt := statement(t, "artifact")
	v := newVerifier(t, verify.WithPublicKeys(a.Public(), b.Public(), c.Public()), verify.WithThreshold(2))

	if _, err := v.Verify(ctx, signed(t, stmt, a, c), fullExpect()); err != nil {
		t.Fatalf("2 of 3: %v", err)
	}
	if _, err := v.Verify(ctx, signed(t, stmt, a), fullExpect()); !errors.Is(err, verify.ErrThreshold) {
		t.Fatalf("1 of 3: err = %v, want ErrThreshold", err)
	}
	// The same key signing twice is one signer, not two.
	if _, err := v.Verify(ctx, signed(t, stmt, a, a), fullExpect()); !errors.Is(err, verify.ErrThreshold) {
		t.Fatalf("a twice: err = %v, want ErrThreshold", err)
	}
	// An untrusted extra signature does not count either.
	stranger := genKey(t, sign.ECDSAP256SHA256)
	if _, err := v.Verify(ctx, signed(t, stmt, a, stranger), fullExpect()); !errors.Is(err, verify.ErrThreshold) {
		t.Fatalf("a + stranger: err = %v, want ErrThreshold", err)
	}
	// Trusting the same key twice does not let one signature meet 2.
	if _, err := verify.Keys(verify.WithPublicKeys(a.Public(), a.Public()), verify.WithThreshold(2)); err == nil {
		t.Fatal("threshold 2 over one distinct key was accepted")
	}
}

func TestTooManySignatures(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	signers := make([]sign.Signer, verify.DefaultMaxSignatures+1)
	for i := range signers {
		signers[i] = key
	}
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	_, err := v.Verify(context.Background(), signed(t, statement(t, "artifact"), signers...), fullExpect())
	if !errors.Is(err, verify.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

func TestKeysErrors(t *testing.T) {
	if _, err := verify.Keys(); !errors.Is(err, verify.ErrNoKeys) {
		t.Fatalf("no keys: %v", err)
	}
	if _, err := verify.Keys(verify.WithPublicKeyPEM([]byte("not pem"))); err == nil {
		t.Fatal("bad PEM accepted")
	}
	if _, err := verify.Keys(verify.WithKeys(nil)); err == nil {
		t.Fatal("nil key accepted")
	}
	key := genKey(t, sign.Ed25519)
	if _, err := verify.Keys(verify.WithPublicKeys(key.Public()), verify.WithThreshold(0)); err == nil {
		t.Fatal("threshold 0 accepted")
	}
}

func TestPEMAndRSAPSS(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.RSAPSSSHA256)
	pub, err := sign.MarshalPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	env := signed(t, statement(t, "artifact"), key)
	// The PEM carries no padding: the default for RSA is PKCS#1 v1.5, so a
	// PSS signature must not verify against it...
	v := newVerifier(t, verify.WithPublicKeyPEM(pub))
	if _, err := v.Verify(ctx, env, fullExpect()); !errors.Is(err, verify.ErrSignature) {
		t.Fatalf("PSS signature verified as PKCS#1 v1.5: %v", err)
	}
	// ...and does with the scheme stated.
	kv, err := sign.VerifierFor(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(t, verify.WithKeys(kv)).Verify(ctx, env, fullExpect()); err != nil {
		t.Fatal(err)
	}
}

func TestDigestHelpers(t *testing.T) {
	d, err := verify.DigestOfReader(strings.NewReader("artifact"))
	if err != nil || !d.Matches(digestOf("artifact")) {
		t.Fatalf("DigestOfReader = %v, %v", d, err)
	}
	if _, err := verify.DigestOfFile(context.Background(), "/nonexistent/file"); err == nil {
		t.Fatal("missing file hashed")
	}
}

func TestNonProvenancePredicate(t *testing.T) {
	key := genKey(t, sign.Ed25519)
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` +
		digestOf("artifact")["sha256"] + `"}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`)
	v := newVerifier(t, verify.WithPublicKeys(key.Public()))
	ctx := context.Background()
	if _, err := v.Verify(ctx, signed(t, stmt, key), verify.Expectations{SubjectDigest: digestOf("artifact"), PredicateType: "https://spdx.dev/Document"}); err != nil {
		t.Fatalf("SBOM statement: %v", err)
	}
	_, err := v.Verify(ctx, signed(t, stmt, key), fullExpect())
	for _, want := range []error{verify.ErrPredicateType, verify.ErrBuilder, verify.ErrBuildType} {
		if !errors.Is(err, want) {
			t.Errorf("err = %v, want it to include %v", err, want)
		}
	}
}

// TestParseAttestation: serialized attestations are read strictly, as an
// envelope or as a bundle, never as something in between; what is neither
// is ErrMalformed, what is over the limit ErrTooLarge.
func TestParseAttestation(t *testing.T) {
	key := genKey(t, sign.ECDSAP256SHA256)
	good := signed(t, statement(t, "artifact"), key)
	att, err := verify.ParseAttestation(good)
	if err != nil || att.Envelope == nil || att.Bundle != nil {
		t.Fatalf("envelope: %+v, %v", att, err)
	}
	env := att.Envelope
	b, err := json.Marshal(&sign.Bundle{MediaType: sign.MediaTypeBundle,
		VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: "k"}},
		DSSEEnvelope:         &sign.Envelope{PayloadType: env.PayloadType, Payload: env.Payload, Signatures: []sign.Signature{{Sig: env.Signatures[0].Sig}}}})
	if err != nil {
		t.Fatal(err)
	}
	att, err = verify.ParseAttestation(b)
	if err != nil || att.Bundle == nil || att.Envelope != att.Bundle.DSSEEnvelope || att.Validate() != nil {
		t.Fatalf("bundle: %+v, %v", att, err)
	}
	// The bundle's envelope verifies with the key like any envelope.
	if res, err := verify.Verify(context.Background(), newVerifier(t, verify.WithPublicKeys(key.Public())).auth, att, fullExpect()); err != nil {
		t.Fatalf("bundle with keys: %v\n%s", err, res)
	}
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"truncated envelope": {good[:len(good)-7], verify.ErrMalformed},
		"truncated bundle":   {b[:len(b)-3], verify.ErrMalformed},
		"both shapes":        {bytes.Replace(good, []byte(`{`), []byte(`{"mediaType":"`+sign.MediaTypeBundle+`",`), 1), verify.ErrMalformed},
		"oversize input":     {append(bytes.Repeat([]byte(" "), sign.DefaultMaxBundleSize), good...), verify.ErrTooLarge},
		"empty":              {nil, verify.ErrMalformed},
	} {
		if _, err := verify.ParseAttestation(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}
