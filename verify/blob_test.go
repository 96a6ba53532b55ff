package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

func blobDigests(b []byte) intoto.DigestSet {
	s256 := sha256.Sum256(b)
	s384 := sha512.Sum384(b)
	s512 := sha512.Sum512(b)
	return intoto.DigestSet{"sha256": hex.EncodeToString(s256[:]), "sha384": hex.EncodeToString(s384[:]), "sha512": hex.EncodeToString(s512[:])}
}

func signBlob(t *testing.T, s sign.Signer, blob []byte) *sign.Bundle {
	t.Helper()
	b, err := sign.SignBlob(context.Background(), bytes.NewReader(blob), s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A blob signature verifies with the key that made it, for the blob it
// signed; every hashed algorithm, as a bundle or as a detached .sig.
func TestVerifyBlobKeys(t *testing.T) {
	ctx := context.Background()
	blob := []byte("kube-apiserver.tar")
	for _, alg := range []sign.Algorithm{sign.ECDSAP256SHA256, sign.ECDSAP384SHA384, sign.ECDSAP521SHA512, sign.Ed25519ph, sign.RSAPSSSHA256} {
		t.Run(string(alg), func(t *testing.T) {
			ks, _ := sign.GenerateKey(alg)
			b := signBlob(t, ks, blob)
			v, _ := sign.NewVerifier(ks.Public(), alg)
			auth, _ := verify.Keys(verify.WithKeys(v))
			au, err := verify.VerifyBlob(ctx, auth, b, blobDigests(blob))
			if err != nil {
				t.Fatalf("VerifyBlob: %v", err)
			}
			if len(au.Signers) != 1 || au.Signers[0].KeyID != ks.KeyID() || len(au.Artifact) != 1 {
				t.Errorf("authenticated = %+v", au)
			}
			// The detached .sig of the same signature.
			sigFile, _ := sign.DetachedSignature(b)
			sig, err := sign.ParseDetachedSignature(sigFile)
			if err != nil {
				t.Fatal(err)
			}
			h := b.MessageSignature.MessageDigest.Algorithm
			db, err := sign.DetachedBundle(sig, nil, h, b.MessageSignature.MessageDigest.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verify.VerifyBlob(ctx, auth, db, blobDigests(blob)); err != nil {
				t.Errorf("detached: %v", err)
			}
		})
	}
}

// An envelopeAuth vouches for any attestation's envelope and knows nothing
// of blobs: the Authenticators written before blob signatures.
type envelopeAuth struct{}

func (envelopeAuth) Authenticate(_ context.Context, att *sign.Attestation, _ intoto.DigestSet) (*verify.Authenticated, error) {
	return &verify.Authenticated{Envelope: &sign.Envelope{PayloadType: "x"}}, nil
}

// artifactAuth claims to have verified a fixed artifact.
type artifactAuth struct{ d intoto.DigestSet }

func (a artifactAuth) Authenticate(context.Context, *sign.Attestation, intoto.DigestSet) (*verify.Authenticated, error) {
	return &verify.Authenticated{Artifact: a.d}, nil
}

// Every way a blob signature could pass for the wrong blob, key or input
// is refused with a typed error.
func TestVerifyBlobRejects(t *testing.T) {
	ctx := context.Background()
	blob := []byte("kubelet")
	ks, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	b := signBlob(t, ks, blob)
	auth, _ := verify.Keys(verify.WithPublicKeys(ks.Public()))
	other, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	otherAuth, _ := verify.Keys(verify.WithPublicKeys(other.Public()))
	two, _ := verify.Keys(verify.WithPublicKeys(ks.Public(), other.Public()), verify.WithThreshold(2))
	p384, _ := sign.GenerateKey(sign.ECDSAP384SHA384)
	b384 := signBlob(t, p384, blob)
	auth384, _ := verify.Keys(verify.WithPublicKeys(p384.Public()))
	ed, _ := sign.GenerateKey(sign.Ed25519)
	edAuth, _ := verify.Keys(verify.WithPublicKeys(ed.Public()))
	edBundle := signBlob(t, ed, blob)

	// The bundle's own digest rewritten to the other blob's: the signature
	// still does not verify over it.
	forged := *b
	ms := *b.MessageSignature
	d := sha256.Sum256([]byte("evil"))
	ms.MessageDigest = &sign.MessageDigest{Algorithm: crypto.SHA256, Digest: d[:]}
	forged.MessageSignature = &ms

	env, _ := sign.SignStatement(ctx, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"`+blobDigests(blob)["sha256"]+`"}}],"predicateType":"x","predicate":{}}`), ks)
	dsse := &sign.Bundle{MediaType: sign.MediaTypeBundle, DSSEEnvelope: env, VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{}}}

	for _, c := range []struct {
		name   string
		auth   verify.Authenticator
		b      *sign.Bundle
		digest intoto.DigestSet
		want   error
	}{
		{"another blob", auth, b, blobDigests([]byte("evil")), verify.ErrSubject},
		{"forged message digest", auth, &forged, blobDigests([]byte("evil")), verify.ErrSignature},
		{"another key", otherAuth, b, blobDigests(blob), verify.ErrSignature},
		{"threshold 2", two, b, blobDigests(blob), verify.ErrThreshold},
		{"no digest of the key's hash", auth384, b384, intoto.DigestSet{"sha256": blobDigests(blob)["sha256"]}, verify.ErrSignature},
		{"pure Ed25519 cannot verify a digest", edAuth, edBundle, blobDigests(blob), verify.ErrSignature},
		{"weak digest", auth, b, intoto.DigestSet{"sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}, verify.ErrSubject},
		{"no digest", auth, b, nil, verify.ErrSubject},
		{"DSSE bundle", auth, dsse, blobDigests(blob), verify.ErrMalformed},
		{"nil bundle", auth, nil, blobDigests(blob), verify.ErrMalformed},
		{"envelope-only authenticator", envelopeAuth{}, b, blobDigests(blob), verify.ErrSubject},
		{"authenticator verified another artifact", artifactAuth{blobDigests([]byte("evil"))}, b, blobDigests(blob), verify.ErrSubject},
		{"authenticator verified a weak digest", artifactAuth{intoto.DigestSet{"md5": "d41d8cd98f00b204e9800998ecf8427e"}}, b, blobDigests(blob), verify.ErrSubject},
		{"nil authenticator", nil, b, blobDigests(blob), verify.ErrSignature},
	} {
		_, err := verify.VerifyBlob(ctx, c.auth, c.b, c.digest)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A blob signature is no attestation, for Keys either.
	r, err := verify.Verify(ctx, auth, &sign.Attestation{Bundle: b}, verify.Expectations{SubjectDigest: blobDigests(blob)})
	if err == nil || r.Envelope != nil {
		t.Errorf("blob signature verified as an attestation: %v", err)
	}
	// AnyOf passes a blob verification through.
	if _, err := verify.VerifyBlob(ctx, verify.AnyOf(otherAuth, auth), b, blobDigests(blob)); err != nil {
		t.Errorf("AnyOf: %v", err)
	}
}
