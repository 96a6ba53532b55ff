package keyless_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

func sha256Set(b []byte) intoto.DigestSet {
	s := sha256.Sum256(b)
	return intoto.DigestSet{"sha256": hex.EncodeToString(s[:])}
}

// A keyless blob signature (Fulcio certificate, hashedrekord log entry,
// timestamp) verifies offline with the trusted root for the blob it
// signed, through verify.VerifyBlob, and for no other blob, identity or
// content kind.
func TestKeylessBlob(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(svc.SigningServices()),
		signkeyless.WithToken(signkeyless.StaticToken(emailToken(t, svc.Issuer, testEmail))))
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("kubernetes-client-linux-arm64.tar.gz")
	b, err := sign.SignBlob(ctx, bytes.NewReader(blob), s)
	if err != nil {
		t.Fatalf("SignBlob: %v", err)
	}
	if len(b.VerificationMaterial.TlogEntries) != 1 || len(b.VerificationMaterial.Certificate) == 0 {
		t.Fatalf("bundle has %d log entries, certificate %d bytes", len(b.VerificationMaterial.TlogEntries), len(b.VerificationMaterial.Certificate))
	}
	if !strings.Contains(string(b.VerificationMaterial.TlogEntries[0]), `"hashedrekord"`) {
		t.Errorf("log entry is not a hashedrekord: %s", b.VerificationMaterial.TlogEntries[0])
	}
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	au, err := verify.VerifyBlob(ctx, v, b, sha256Set(blob))
	if err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if len(au.Signers) != 1 || au.Signers[0].Identity == nil || au.Signers[0].Identity.Subject != testEmail || len(au.Times) == 0 || au.Envelope != nil {
		t.Errorf("authenticated = %+v", au)
	}
	if _, err := verify.VerifyBlob(ctx, v, b, sha256Set([]byte("another blob"))); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("another blob: %v, want ErrSignature", err)
	}
	other := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: "mallory@example.com"}))
	if _, err := verify.VerifyBlob(ctx, other, b, sha256Set(blob)); !errors.Is(err, keyless.ErrIdentity) {
		t.Errorf("another identity: %v, want ErrIdentity", err)
	}
	// A digest of another algorithm than the bundle's cannot be checked.
	s512 := sha512.Sum512(blob)
	if _, err := verify.VerifyBlob(ctx, v, b, intoto.DigestSet{"sha512": hex.EncodeToString(s512[:])}); !errors.Is(err, keyless.ErrArtifact) {
		t.Errorf("sha512 only: %v, want ErrArtifact", err)
	}
	// Through the raw bundle: WithAnyArtifact cannot stand for the blob.
	raw, _ := b.MarshalJSON()
	if _, err := v.Verify(ctx, raw, keyless.WithAnyArtifact()); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("message signature with WithAnyArtifact: %v, want ErrConfig", err)
	}
	// A blob signature is not an attestation.
	if _, err := verify.Verify(ctx, v, &sign.Attestation{Bundle: b}, verify.Expectations{SubjectDigest: sha256Set(blob)}); err == nil {
		t.Error("a blob signature verified as an attestation")
	}

	// The detached .sig/.cert pair carries no signing time: offline, the
	// short-lived certificate cannot be judged, and it is refused.
	cert, err := sign.ParseDetachedCertificate(sign.DetachedCertificate(b))
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(blob)
	db, err := sign.DetachedBundle(b.MessageSignature.Signature, cert, b.MessageSignature.MessageDigest.Algorithm, d[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyBlob(ctx, v, db, sha256Set(blob)); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("detached keyless pair without a log entry: %v, want ErrSignature", err)
	}
}

// A managed-key blob bundle (public-key hint) verifies with the given key,
// and with no other.
func TestManagedKeyBlob(t *testing.T) {
	ctx := context.Background()
	ks, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	blob := []byte("etcd-v3.6.0-linux-amd64.tar.gz")
	b, err := sign.SignBlob(ctx, bytes.NewReader(blob), ks)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := keyless.NewVerifier(keyless.WithPublicKey(ks.Public()))
	au, err := verify.VerifyBlob(ctx, v, b, sha256Set(blob))
	if err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if id, _ := sign.PublicKeyID(ks.Public()); len(au.Signers) != 1 || au.Signers[0].KeyID != id {
		t.Errorf("signers = %+v", au.Signers)
	}
	other, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	v2, _ := keyless.NewVerifier(keyless.WithPublicKey(other.Public()))
	if _, err := verify.VerifyBlob(ctx, v2, b, sha256Set(blob)); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("other key: %v, want ErrSignature", err)
	}
}

// Verifying a DSSE bundle's signature does not depend on its predicate's
// schema: an SLSA v1 predicate without externalParameters (which
// provenance.Parse refuses) verifies here; it has no Provenance view.
func TestSignatureDoesNotReadPredicate(t *testing.T) {
	ctx := context.Background()
	ks, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	sum := sha256.Sum256([]byte("a"))
	d := hex.EncodeToString(sum[:])
	st, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "a", "digest": map[string]string{"sha256": d}}},
		"predicateType": "https://slsa.dev/provenance/v1",
		"predicate":     map[string]any{"buildDefinition": map[string]any{"buildType": "https://example.com/t"}, "runDetails": map[string]any{"builder": map[string]any{"id": "https://example.com/b"}}},
	})
	env, err := sign.SignStatement(ctx, st, ks)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := signkeyless.KeyBundle(ctx, env, ks, signkeyless.WithRekorURLs())
	raw := marshalBundle(t, kb, err)
	v, _ := keyless.NewVerifier(keyless.WithPublicKey(ks.Public()))
	res, err := v.Verify(ctx, raw, keyless.WithArtifactDigest("sha256", d))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Statement == nil || res.Statement.Provenance != nil || len(res.Statement.Normalized) == 0 {
		t.Errorf("statement = %+v", res.Statement)
	}
	// The subject is still checked.
	if _, err := v.Verify(ctx, raw, keyless.WithArtifactDigest("sha256", strings.Repeat("0", 64))); !errors.Is(err, keyless.ErrArtifact) {
		t.Errorf("other subject: %v, want ErrArtifact", err)
	}
}

// cosignLegacy writes a keyless blob bundle as cosign v2 sign-blob --bundle
// writes it without --new-bundle-format.
func cosignLegacy(t *testing.T, b *sign.Bundle, mutate func(payload map[string]any)) []byte {
	t.Helper()
	var e struct {
		LogIndex         string                 `json:"logIndex"`
		LogID            struct{ KeyID []byte } `json:"logId"`
		IntegratedTime   string                 `json:"integratedTime"`
		InclusionPromise struct {
			SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
		} `json:"inclusionPromise"`
		CanonicalizedBody []byte `json:"canonicalizedBody"`
	}
	if err := json.Unmarshal(b.VerificationMaterial.TlogEntries[0], &e); err != nil {
		t.Fatal(err)
	}
	if len(e.InclusionPromise.SignedEntryTimestamp) == 0 {
		t.Fatal("the log returned no signed entry timestamp")
	}
	idx, _ := strconv.ParseInt(e.LogIndex, 10, 64)
	it, _ := strconv.ParseInt(e.IntegratedTime, 10, 64)
	payload := map[string]any{"body": e.CanonicalizedBody, "integratedTime": it, "logIndex": idx, "logID": hex.EncodeToString(e.LogID.KeyID)}
	if mutate != nil {
		mutate(payload)
	}
	raw, err := json.Marshal(map[string]any{
		"base64Signature": b.MessageSignature.Signature,
		"cert":            sign.DetachedCertificate(b),
		"rekorBundle":     map[string]any{"SignedEntryTimestamp": e.InclusionPromise.SignedEntryTimestamp, "Payload": payload},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// cosign v2's own bundle format (signature, certificate, Rekor entry with
// its signed entry timestamp) verifies offline by identity; a changed
// entry, another blob or a bare signature does not.
func TestCosignLegacyBlobBundle(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(svc.SigningServices()), signkeyless.WithTSAURLs(),
		signkeyless.WithToken(signkeyless.StaticToken(emailToken(t, svc.Issuer, testEmail))))
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("kube-proxy.tar")
	b, err := sign.SignBlob(ctx, bytes.NewReader(blob), s)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, svc, keyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: testEmail}))
	d := sha256.Sum256(blob)
	lb, err := sign.ParseCosignBundle(cosignLegacy(t, b, nil), crypto.SHA256, d[:])
	if err != nil {
		t.Fatalf("ParseCosignBundle: %v", err)
	}
	if _, err := verify.VerifyBlob(ctx, v, lb, sha256Set(blob)); err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if _, err := verify.VerifyBlob(ctx, v, lb, sha256Set([]byte("other"))); err == nil {
		t.Error("legacy bundle verifies another blob")
	}
	moved, err := sign.ParseCosignBundle(cosignLegacy(t, b, func(p map[string]any) { p["integratedTime"] = p["integratedTime"].(int64) + 1 }), crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyBlob(ctx, v, moved, sha256Set(blob)); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("changed integrated time: %v, want ErrSignature", err)
	}
	for name, in := range map[string]string{
		"no signature":  `{"cert":""}`,
		"unknown field": `{"base64Signature":"AAAA","extra":1}`,
		"bad logID":     `{"base64Signature":"AAAA","rekorBundle":{"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"zz"}}}`,
		"not JSON":      `{`,
	} {
		if _, err := sign.ParseCosignBundle([]byte(in), crypto.SHA256, d[:]); !errors.Is(err, sign.ErrMalformedBundle) {
			t.Errorf("%s: %v, want ErrMalformedBundle", name, err)
		}
	}
}
