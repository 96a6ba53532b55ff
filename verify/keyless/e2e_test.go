package keyless_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

const testEmail = "builder@example.com"

func statement(t testing.TB, artifact string) ([]byte, string) {
	t.Helper()
	sum := sha256.Sum256([]byte(artifact))
	d := hex.EncodeToString(sum[:])
	b, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": d}}},
		"predicateType": "https://example.com/test-predicate/v1",
		"predicate":     map[string]any{"builder": "keylesstest"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, d
}

// signBundle signs a statement keyless against svc and returns the bundle
// and the artifact digest.
func signBundle(t testing.TB, svc *keylesstest.Services, tok string, opts ...signkeyless.Option) ([]byte, string) {
	t.Helper()
	ctx := context.Background()
	all := append([]signkeyless.Option{signkeyless.WithServices(svc.SigningServices()), signkeyless.WithToken(signkeyless.StaticToken(tok))}, opts...)
	s, err := signkeyless.NewSigner(ctx, all...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	st, d := statement(t, "artifact-bytes")
	att, err := sign.Attest(ctx, st, s)
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	return marshalBundle(t, att.Bundle, nil), d
}

// marshalBundle returns the JSON of a bundle made without error.
func marshalBundle(t testing.TB, b *sign.Bundle, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func emailToken(t testing.TB, iss *keylesstest.Issuer, email string) string {
	t.Helper()
	tok, err := iss.EmailToken(email)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newVerifier(t testing.TB, svc *keylesstest.Services, opts ...keyless.Option) *keyless.Verifier {
	t.Helper()
	tr, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	v, err := keyless.NewVerifier(append([]keyless.Option{keyless.WithTrustedRootJSON(tr)}, opts...)...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func TestEndToEndEmail(t *testing.T) {
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}),
		keyless.WithSignedTimestampThreshold(1))
	res, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Signer == nil || res.Signer.SAN != testEmail || res.Signer.Issuer != svc.Issuer.URL() {
		t.Fatalf("signer = %+v", res.Signer)
	}
	types := map[string]int{}
	for _, ts := range res.Timestamps {
		types[ts.Type]++
		if time.Since(ts.Time) > time.Hour || time.Until(ts.Time) > time.Hour {
			t.Errorf("timestamp %v is not about now", ts)
		}
	}
	if types["Tlog"] != 1 || types["TimestampAuthority"] != 1 {
		t.Errorf("timestamps = %+v, want one log time and one TSA time", res.Timestamps)
	}
	if res.Statement == nil || len(res.Statement.Subjects) != 1 || res.Statement.Subjects[0].Digest["sha256"] != d {
		t.Errorf("statement = %+v", res.Statement)
	}
	if !bytes.Contains(res.Envelope.Payload, []byte(d)) || res.Envelope.PayloadType != sign.PayloadTypeInToto {
		t.Errorf("envelope = %+v", res.Envelope)
	}
	if svc.Log.Size() != 1 {
		t.Errorf("log size = %d, want 1", svc.Log.Size())
	}
}

func TestEndToEndRegexpAndSeveralIdentities(t *testing.T) {
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	v := newVerifier(t, svc,
		keyless.WithIdentity(verify.Identity{Issuer: "https://accounts.example.com", Subject: testEmail}),
		keyless.WithIdentity(verify.Identity{IssuerRegexp: `http://127\.0\.0\.1:\d+/oidc/.*`, SubjectRegexp: `.*@example\.com`}))
	res, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Signer.Matched.SubjectRegexp == "" {
		t.Errorf("matched %+v, want the regexp identity", res.Signer.Matched)
	}
	// Regexps are anchored: a prefix match is not a match.
	v = newVerifier(t, svc, keyless.WithIdentity(verify.Identity{IssuerRegexp: `http://127\.0\.0\.1:\d+/oidc/.*`, SubjectRegexp: `builder`}))
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrIdentity) {
		t.Errorf("unanchored SAN regexp: err = %v, want ErrIdentity", err)
	}
}

func TestGitHubWorkflowIdentity(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.GitHubToken(keylesstest.GitHubWorkflow{
		Repository: "acme/app", Ref: "refs/heads/main", SHA: "0123456789abcdef0123456789abcdef01234567",
		WorkflowPath: ".github/workflows/release.yml",
	})
	if err != nil {
		t.Fatal(err)
	}
	b, d := signBundle(t, svc, tok)
	san := "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	good := verify.Identity{
		Issuer: svc.Issuer.URL(), Subject: san,
		SourceRepositoryURI: "https://github.com/acme/app", SourceRepositoryRef: "refs/heads/main",
		SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
		BuildSignerURI:         san, BuildConfigURI: san, BuildTrigger: "push", RunnerEnvironment: "github-hosted",
	}
	res, err := newVerifier(t, svc, keyless.WithIdentity(good)).Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Signer.Extensions.SourceRepositoryURI != "https://github.com/acme/app" || res.Signer.Extensions.GithubWorkflowRepository != "acme/app" {
		t.Errorf("extensions = %+v", res.Signer.Extensions)
	}
	for name, mut := range map[string]func(*verify.Identity){
		"ref":        func(i *verify.Identity) { i.SourceRepositoryRef = "refs/heads/dev" },
		"repository": func(i *verify.Identity) { i.SourceRepositoryURI = "https://github.com/evil/app" },
		"digest":     func(i *verify.Identity) { i.SourceRepositoryDigest = strings.Repeat("f", 40) },
		"workflow": func(i *verify.Identity) {
			i.BuildConfigURI = "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main"
		},
		"san": func(i *verify.Identity) {
			i.Subject = "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main"
		},
	} {
		id := good
		mut(&id)
		_, err := newVerifier(t, svc, keyless.WithIdentity(id)).Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
		if !errors.Is(err, keyless.ErrIdentity) {
			t.Errorf("%s: err = %v, want ErrIdentity", name, err)
		}
	}
}

func TestRejectsWrongIdentityAndIssuer(t *testing.T) {
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	ctx := context.Background()
	_, err := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: "mallory@example.com"})).
		Verify(ctx, b, keyless.WithArtifactDigest("sha256", d))
	if !errors.Is(err, keyless.ErrIdentity) || errors.Is(err, keyless.ErrIssuer) {
		t.Errorf("wrong SAN: err = %v, want ErrIdentity", err)
	}
	_, err = newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: "https://accounts.google.com", Subject: testEmail})).
		Verify(ctx, b, keyless.WithArtifactDigest("sha256", d))
	if !errors.Is(err, keyless.ErrIssuer) {
		t.Errorf("wrong issuer: err = %v, want ErrIssuer", err)
	}

	// The same email, certified on the word of another (also trusted by the
	// CA) issuer, is not the expected signer.
	other, err := svc.NewIssuer("other")
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := signBundle(t, svc, emailToken(t, other, testEmail))
	_, err = newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail})).
		Verify(ctx, b2, keyless.WithArtifactDigest("sha256", d))
	if !errors.Is(err, keyless.ErrIssuer) {
		t.Errorf("other issuer: err = %v, want ErrIssuer", err)
	}
}

func TestRejectsOtherArtifact(t *testing.T) {
	svc := keylesstest.New(t)
	b, _ := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	_, other := statement(t, "other-artifact")
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", other)); !errors.Is(err, keyless.ErrArtifact) {
		t.Errorf("err = %v, want ErrArtifact", err)
	}
	if _, err := v.Verify(context.Background(), b); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("no expectation: err = %v, want ErrConfig", err)
	}
	if _, err := v.Verify(context.Background(), b, keyless.WithAnyArtifact()); err != nil {
		t.Errorf("any artifact: %v", err)
	}
}

func TestRejectsExpiredCertificate(t *testing.T) {
	svc := keylesstest.New(t)
	// The CA issues a ten-minute certificate that expired 50 minutes ago;
	// the log and the TSA (honest) say the signature was made now.
	svc.CA.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
	// The signer's clock is as wrong as the CA's, or Bundle would refuse.
	signerClock := signkeyless.WithClock(func() time.Time { return time.Now().Add(-time.Hour + time.Minute) })
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signerClock)
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrCertificateExpired) {
		t.Errorf("err = %v, want ErrCertificateExpired", err)
	}
}

func TestTimestampOnlyAndNoTime(t *testing.T) {
	svc := keylesstest.New(t)
	id := keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail})
	ctx := context.Background()

	tsaOnly, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithRekorURLs())
	if svc.Log.Size() != 0 {
		t.Fatalf("log has %d entries, want none", svc.Log.Size())
	}
	if _, err := newVerifier(t, svc, id, keyless.WithTlogThreshold(0), keyless.WithSignedTimestampThreshold(1)).
		Verify(ctx, tsaOnly, keyless.WithArtifactDigest("sha256", d)); err != nil {
		t.Errorf("TSA-only bundle, no log required: %v", err)
	}
	if _, err := newVerifier(t, svc, id).Verify(ctx, tsaOnly, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTlog) {
		t.Errorf("TSA-only bundle, log required: err = %v, want ErrTlog", err)
	}

	logOnly, _ := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithTSAURLs())
	if _, err := newVerifier(t, svc, id, keyless.WithSignedTimestampThreshold(1)).
		Verify(ctx, logOnly, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("log-only bundle, TSA required: err = %v, want ErrTimestamp", err)
	}

	// The signer refuses to make a bundle without any time
	// (signkeyless.ErrNoSigningTime): strip the timestamp off one.
	none := mutate(t, tsaOnly, func(m map[string]any) {
		delete(m["verificationMaterial"].(map[string]any), "timestampVerificationData")
	})
	if _, err := newVerifier(t, svc, id, keyless.WithTlogThreshold(0)).
		Verify(ctx, none, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("bundle without any time: err = %v, want ErrTimestamp", err)
	}
}

// mutate decodes a bundle, lets f change it, and re-encodes it.
func mutate(t *testing.T, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tlogEntry(m map[string]any) map[string]any {
	return m["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
}

func flipB64(t *testing.T, s string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	return base64.StdEncoding.EncodeToString(raw)
}

func TestRejectsTamperedLogEntry(t *testing.T) {
	svc := keylesstest.New(t)
	// Two earlier entries make the inclusion proof non-trivial.
	for range 2 {
		signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	}
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	ctx := context.Background()
	if _, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha256", d)); err != nil {
		t.Fatalf("untampered: %v", err)
	}
	cases := map[string]func(m map[string]any){
		"inclusion proof root hash": func(m map[string]any) {
			p := tlogEntry(m)["inclusionProof"].(map[string]any)
			p["rootHash"] = flipB64(t, p["rootHash"].(string))
		},
		"inclusion proof path": func(m map[string]any) {
			p := tlogEntry(m)["inclusionProof"].(map[string]any)
			h := p["hashes"].([]any)
			h[0] = flipB64(t, h[0].(string))
		},
		"inclusion proof index": func(m map[string]any) {
			tlogEntry(m)["inclusionProof"].(map[string]any)["logIndex"] = "0"
		},
		"signed entry timestamp": func(m map[string]any) {
			p := tlogEntry(m)["inclusionPromise"].(map[string]any)
			p["signedEntryTimestamp"] = flipB64(t, p["signedEntryTimestamp"].(string))
		},
		"integrated time": func(m map[string]any) {
			tlogEntry(m)["integratedTime"] = "1700000000"
		},
		"entry body": func(m map[string]any) {
			e := tlogEntry(m)
			e["canonicalizedBody"] = flipB64(t, e["canonicalizedBody"].(string))
		},
		"payload": func(m map[string]any) {
			e := m["dsseEnvelope"].(map[string]any)
			e["payload"] = flipB64(t, e["payload"].(string))
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(ctx, mutate(t, b, f), keyless.WithArtifactDigest("sha256", d))
			if !errors.Is(err, keyless.ErrTlog) && !errors.Is(err, keyless.ErrBundle) {
				t.Errorf("err = %v, want ErrTlog", err)
			}
			if name != "entry body" && name != "payload" && !errors.Is(err, keyless.ErrTlog) {
				t.Errorf("err = %v, want ErrTlog", err)
			}
		})
	}
}

func TestRejectsTamperedSignatureWithoutLog(t *testing.T) {
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithRekorURLs())
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}), keyless.WithTlogThreshold(0))
	bad := mutate(t, b, func(m map[string]any) {
		e := m["dsseEnvelope"].(map[string]any)
		e["payloadType"] = "application/vnd.in-toto+jsoN"
	})
	if _, err := v.Verify(context.Background(), bad, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrSignature) {
		t.Errorf("err = %v, want ErrSignature", err)
	}
}

func TestRejectsUntrustedServices(t *testing.T) {
	svc, other := keylesstest.New(t), keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	v := newVerifier(t, other, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTlog) {
		t.Errorf("log of another instance: err = %v, want ErrTlog", err)
	}
	v = newVerifier(t, other, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}), keyless.WithTlogThreshold(0))
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("TSA of another instance: err = %v, want ErrTimestamp", err)
	}
}

func TestKeyBundle(t *testing.T) {
	ks, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	st, d := statement(t, "artifact-bytes")
	env, err := sign.SignStatement(context.Background(), st, ks)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := signkeyless.KeyBundle(context.Background(), env, ks, signkeyless.WithRekorURLs())
	b := marshalBundle(t, kb, err)
	v, err := keyless.NewVerifier(keyless.WithPublicKey(ks.Public())) // no root: no log required
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want, _ := sign.PublicKeyID(ks.Public()); res.KeyID != want || res.Signer != nil {
		t.Errorf("keyid = %q signer = %v", res.KeyID, res.Signer)
	}

	other, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	v2, _ := keyless.NewVerifier(keyless.WithPublicKey(other.Public()), keyless.WithTlogThreshold(0))
	if _, err := v2.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrSignature) {
		t.Errorf("other key: err = %v, want ErrSignature", err)
	}
	// An identity policy does not accept a key-signed bundle.
	svc := keylesstest.New(t)
	v3 := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	if _, err := v3.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrIdentity) {
		t.Errorf("identity policy: err = %v, want ErrIdentity", err)
	}
	if _, err := signkeyless.KeyBundle(context.Background(), env, other, signkeyless.WithRekorURLs()); !errors.Is(err, signkeyless.ErrEnvelope) {
		t.Errorf("KeyBundle with another key: err = %v, want ErrEnvelope", err)
	}
}

const (
	npmSAN    = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	npmIssuer = "https://token.actions.githubusercontent.com"
	npmDigest = "76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"
)

func TestPublicGoodBundles(t *testing.T) {
	ctx := context.Background()
	good := verify.Identity{Issuer: npmIssuer, Subject: npmSAN,
		SourceRepositoryURI: "https://github.com/sigstore/sigstore-js", SourceRepositoryRef: "refs/heads/main"}
	v, err := keyless.NewVerifier(keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"), keyless.WithIdentity(good))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/npm-sigstore-1.3.0-provenance.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha512", npmDigest))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Signer.SAN != npmSAN || res.Statement.Provenance == nil || res.Statement.Subjects[0].Name != "pkg:npm/sigstore@1.3.0" {
		t.Errorf("result: signer %+v statement %+v", res.Signer, res.Statement)
	}
	b2, err := os.ReadFile("testdata/npm-sigstore-2.0.0-provenance.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, b2, keyless.WithAnyArtifact()); err != nil {
		t.Errorf("sigstore-js 2.0.0: %v", err)
	}
	if _, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha512", strings.Repeat("0", 128))); !errors.Is(err, keyless.ErrArtifact) {
		t.Errorf("other artifact: err = %v, want ErrArtifact", err)
	}

	for name, c := range map[string]struct {
		id   verify.Identity
		want error
	}{
		"wrong SAN":    {verify.Identity{Issuer: npmIssuer, Subject: "https://github.com/evil/sigstore-js/.github/workflows/release.yml@refs/heads/main"}, keyless.ErrIdentity},
		"wrong ref":    {verify.Identity{Issuer: npmIssuer, Subject: npmSAN, SourceRepositoryRef: "refs/heads/dev"}, keyless.ErrIdentity},
		"wrong issuer": {verify.Identity{Issuer: "https://accounts.google.com", Subject: npmSAN}, keyless.ErrIssuer},
	} {
		v, err := keyless.NewVerifier(keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"), keyless.WithIdentity(c.id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha512", npmDigest)); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

func TestConfigAndMalformedInput(t *testing.T) {
	if _, err := keyless.NewVerifier(); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("no trust: err = %v", err)
	}
	if _, err := keyless.NewVerifier(keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json")); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("no identity: err = %v", err)
	}
	for _, id := range []verify.Identity{
		{Subject: "a"}, {Issuer: "i"}, {Issuer: "i", IssuerRegexp: "i", Subject: "a"}, {Issuer: "i", SubjectRegexp: "("},
	} {
		if _, err := keyless.NewVerifier(keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"), keyless.WithIdentity(id)); !errors.Is(err, keyless.ErrConfig) {
			t.Errorf("identity %+v: err = %v, want ErrConfig", id, err)
		}
	}
	if _, err := keyless.NewVerifier(keyless.WithTrustedRootJSON([]byte(`{}`))); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("bad root: err = %v", err)
	}
	v, err := keyless.NewVerifier(keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"),
		keyless.WithIdentity(verify.Identity{Issuer: npmIssuer, Subject: npmSAN}), keyless.WithMaxBundleSize(20000))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile("testdata/npm-sigstore-1.3.0-provenance.sigstore.json")
	dup := bytes.Replace(good, []byte(`"mediaType"`), []byte(`"mediaType": "x", "mediaType"`), 1)
	for name, in := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not json"),
		"duplicate": dup,
		"too large": bytes.Repeat([]byte(" "), 20001),
		"no dsse":   []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`),
	} {
		if _, err := v.Verify(context.Background(), in, keyless.WithAnyArtifact()); !errors.Is(err, keyless.ErrBundle) {
			t.Errorf("%s: err = %v, want ErrBundle", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Verify(ctx, good, keyless.WithAnyArtifact()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestRejectsExpiredCertificateTimestampOnly(t *testing.T) {
	svc := keylesstest.New(t)
	svc.CA.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
	signerClock := signkeyless.WithClock(func() time.Time { return time.Now().Add(-time.Hour + time.Minute) })
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithRekorURLs(), signerClock)
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}), keyless.WithTlogThreshold(0))
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrCertificateExpired) {
		t.Errorf("err = %v, want ErrCertificateExpired", err)
	}
	// A timestamp inside the validity makes the same kind of certificate good.
	svc.TSA.SetClock(func() time.Time { return time.Now().Add(-time.Hour + time.Minute) })
	b, d = signBundle(t, svc, emailToken(t, svc.Issuer, testEmail), signkeyless.WithRekorURLs(), signerClock)
	if _, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d)); err != nil {
		t.Errorf("timestamp inside validity: %v", err)
	}
}

// A file-key envelope bundled with a log entry and a timestamp verifies with
// the key plus the trusted root of the log and the TSA.
func TestKeyBundleWithLogAndTimestamp(t *testing.T) {
	svc := keylesstest.New(t)
	ks, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, d := statement(t, "artifact-bytes")
	env, err := sign.SignStatement(ctx, st, ks)
	if err != nil {
		t.Fatal(err)
	}
	srv := svc.SigningServices()
	kb, err := signkeyless.KeyBundle(ctx, env, ks, signkeyless.WithRekor(srv.Rekor...), signkeyless.WithTSAURLs(srv.TSAURLs...))
	b := marshalBundle(t, kb, err)
	v := newVerifier(t, svc, keyless.WithPublicKey(ks.Public()), keyless.WithSignedTimestampThreshold(1))
	res, err := v.Verify(ctx, b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(res.Timestamps) != 2 || res.Signer != nil {
		t.Errorf("result = %+v", res)
	}
	tampered := mutate(t, b, func(m map[string]any) {
		p := tlogEntry(m)["inclusionProof"].(map[string]any)
		p["rootHash"] = flipB64(t, p["rootHash"].(string))
	})
	if _, err := v.Verify(ctx, tampered, keyless.WithArtifactDigest("sha256", d)); !errors.Is(err, keyless.ErrTlog) {
		t.Errorf("tampered: err = %v, want ErrTlog", err)
	}
}

// The DSSE keyid is an unsigned hint: a bundle whose signature carries one
// in slsakit's convention (sign.PublicKeyID, as the oci package writes)
// verifies, and the result reports it.
func TestKeyIDHintIsIgnored(t *testing.T) {
	ks, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	st, d := statement(t, "a")
	env, _ := sign.SignStatement(context.Background(), st, ks)
	kb, err := signkeyless.KeyBundle(context.Background(), env, ks, signkeyless.WithRekorURLs())
	b := mutate(t, marshalBundle(t, kb, err), func(m map[string]any) {
		m["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)["keyid"] = ks.KeyID()
	})
	v, _ := keyless.NewVerifier(keyless.WithPublicKey(ks.Public()), keyless.WithTlogThreshold(0))
	res, err := v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Envelope.Signatures[0].KeyID != ks.KeyID() {
		t.Errorf("keyid = %q, want %q", res.Envelope.Signatures[0].KeyID, ks.KeyID())
	}
}

// TestAuthenticate: the Authenticator seam verifies the bundle for the
// expected artifact (sha256 first, else the first strong algorithm; any,
// when none is expected) and says who signed and when.
func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	b, d := signBundle(t, svc, emailToken(t, svc.Issuer, testEmail))
	att, err := verify.ParseAttestation(b)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	for name, subject := range map[string]intoto.DigestSet{
		"sha256":         {"sha256": d},
		"uppercase hex":  {"sha256": strings.ToUpper(d)},
		"and a weak one": {"sha256": d, "md5": strings.Repeat("0", 32)},
		"any artifact":   nil,
	} {
		au, err := v.Authenticate(ctx, att, subject)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if au.Envelope.PayloadType != sign.PayloadTypeInToto || len(au.Signers) != 1 || au.Signers[0].Identity == nil ||
			au.Signers[0].Identity.Subject != testEmail || au.Signers[0].Identity.Issuer != svc.Issuer.URL() || len(au.Times) == 0 {
			t.Errorf("%s: authenticated %+v, signers %+v", name, au, au.Signers)
		}
	}
	for name, c := range map[string]struct {
		subject intoto.DigestSet
		want    []error
	}{
		"other digest": {intoto.DigestSet{"sha256": strings.Repeat("0", 64)}, []error{verify.ErrSignature, keyless.ErrArtifact}},
		"sha512 only":  {intoto.DigestSet{"sha512": strings.Repeat("0", 128)}, []error{verify.ErrSignature, keyless.ErrArtifact}},
		"weak only":    {intoto.DigestSet{"md5": strings.Repeat("0", 32)}, []error{verify.ErrSubject}},
		"misspelled":   {intoto.DigestSet{"SHA256": d}, []error{verify.ErrSubject}},
	} {
		_, err := v.Authenticate(ctx, att, c.subject)
		for _, want := range c.want {
			if !errors.Is(err, want) {
				t.Errorf("%s: err = %v, want %v", name, err, want)
			}
		}
	}
	// An envelope without its bundle carries no certificate.
	if _, err := v.Authenticate(ctx, &sign.Attestation{Envelope: att.Envelope}, intoto.DigestSet{"sha256": d}); !errors.Is(err, verify.ErrSignature) || !errors.Is(err, keyless.ErrBundle) {
		t.Errorf("no bundle: err = %v", err)
	}
	if _, err := v.Authenticate(ctx, nil, nil); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("nil attestation: err = %v", err)
	}
}
