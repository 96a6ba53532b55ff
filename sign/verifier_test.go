package sign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/slsakit/slsakit/sign"
)

// hashOf is an independent digest computation for cross-checks.
func hashOf(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(data)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(data)
		return d[:]
	}
	d := sha512.Sum512(data)
	return d[:]
}

// TestSignVerifyEveryAlgorithm signs with KeySigner and checks the signature
// with our Verifier and, independently, with the standard library primitive
// the algorithm names (so the wire format is what other tools expect).
func TestSignVerifyEveryAlgorithm(t *testing.T) {
	ctx := context.Background()
	msg := sign.PAE(sign.PayloadTypeInToto, []byte(`{"hello":"world"}`))
	for _, alg := range sign.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			s := signerFor(t, alg)
			if s.Algorithm() != alg {
				t.Fatalf("Algorithm() = %s", s.Algorithm())
			}
			sig, err := s.Sign(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			v, err := sign.NewVerifier(s.Public(), alg)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(ctx, msg, sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.KeyID() != s.KeyID() {
				t.Errorf("verifier keyid %q != signer keyid %q", v.KeyID(), s.KeyID())
			}
			// Independent check of the wire format.
			switch pub := s.Public().(type) {
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, hashOf(alg.Hash(), msg), sig) {
					t.Error("signature is not an ASN.1 DER ECDSA signature over the hash")
				}
			case ed25519.PublicKey:
				if alg == sign.Ed25519ph {
					if err := ed25519.VerifyWithOptions(pub, hashOf(crypto.SHA512, msg), sig, &ed25519.Options{Hash: crypto.SHA512}); err != nil {
						t.Errorf("signature is not Ed25519ph over the SHA-512 digest: %v", err)
					}
				} else if !ed25519.Verify(pub, msg, sig) {
					t.Error("signature is not pure Ed25519 over the message")
				}
			case *rsa.PublicKey:
				var err error
				if strings.Contains(string(alg), "pss") {
					err = rsa.VerifyPSS(pub, alg.Hash(), hashOf(alg.Hash(), msg), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
				} else {
					err = rsa.VerifyPKCS1v15(pub, alg.Hash(), hashOf(alg.Hash(), msg), sig)
				}
				if err != nil {
					t.Errorf("independent RSA check: %v", err)
				}
			}
			// Tampering: every change must fail with ErrInvalidSignature.
			flipped := bytes.Clone(sig)
			flipped[len(flipped)/2] ^= 0x01
			other := bytes.Clone(msg)
			other[len(other)-3] ^= 0x01
			for name, c := range map[string]struct{ data, sig []byte }{
				"flipped sig":  {msg, flipped},
				"other data":   {other, sig},
				"empty sig":    {msg, nil},
				"sig appended": {msg, append(bytes.Clone(sig), 0)},
			} {
				if err := v.Verify(ctx, c.data, c.sig); !errors.Is(err, sign.ErrInvalidSignature) {
					t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
				}
			}
		})
	}
}

// TestEd25519VariantIsBound: pure and pre-hashed Ed25519 signatures of one
// key are not interchangeable.
func TestEd25519VariantIsBound(t *testing.T) {
	ctx := context.Background()
	msg := []byte("message")
	for _, pair := range [][2]sign.Algorithm{{sign.Ed25519, sign.Ed25519ph}, {sign.Ed25519ph, sign.Ed25519}} {
		sig, err := signerFor(t, pair[0]).Sign(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sign.NewVerifier(keyFor(pair[1]).Public(), pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(ctx, msg, sig); !errors.Is(err, sign.ErrInvalidSignature) {
			t.Errorf("%s signature checked as %s: err = %v, want ErrInvalidSignature", pair[0], pair[1], err)
		}
	}
}

func TestRSAPaddingIsBound(t *testing.T) {
	ctx := context.Background()
	msg := []byte("message")
	pkcs1 := signerFor(t, sign.RSAPKCS1v15SHA256)
	sig, err := pkcs1.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []sign.Algorithm{sign.RSAPSSSHA256, sign.RSAPKCS1v15SHA512} {
		v, err := sign.NewVerifier(pkcs1.Public(), alg)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(ctx, msg, sig); !errors.Is(err, sign.ErrInvalidSignature) {
			t.Errorf("PKCS#1 v1.5 SHA-256 signature checked as %s: err = %v, want ErrInvalidSignature", alg, err)
		}
	}
}

// TestPSSAnySaltLength: PSS signatures from other tools (max salt, as Go's
// default and OpenSSL's) verify too.
func TestPSSAnySaltLength(t *testing.T) {
	priv := keyFor(sign.RSAPSSSHA256).(*rsa.PrivateKey)
	msg := []byte("pss")
	d := sha256.Sum256(msg)
	sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.NewVerifier(&priv.PublicKey, sign.RSAPSSSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), msg, sig); err != nil {
		t.Errorf("max-salt PSS signature: %v", err)
	}
}

func TestVerifyCanceledContext(t *testing.T) {
	s := signerFor(t, sign.Ed25519)
	sig, err := s.Sign(context.Background(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.VerifierFor(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Verify(ctx, []byte("x"), sig); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with canceled ctx: %v, want context.Canceled", err)
	}
	if _, err := s.Sign(ctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Sign with canceled ctx: %v, want context.Canceled", err)
	}
}

// algSigner is a Signer that names an algorithm, with its own key ID.
type algSigner struct {
	*sign.KeySigner
	id string
}

func (a algSigner) KeyID() string { return a.id }

// plainSigner hides the AlgorithmSigner method.
type plainSigner struct{ s sign.Signer }

func (p plainSigner) Sign(ctx context.Context, d []byte) ([]byte, error) { return p.s.Sign(ctx, d) }
func (p plainSigner) KeyID() string                                      { return p.s.KeyID() }
func (p plainSigner) Public() crypto.PublicKey                           { return p.s.Public() }

func TestVerifierFor(t *testing.T) {
	ctx := context.Background()
	pss := algSigner{signerFor(t, sign.RSAPSSSHA512), "projects/p/keys/k"}
	v, err := sign.VerifierFor(pss)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyID() != "projects/p/keys/k" {
		t.Errorf("VerifierFor keeps the signer's key ID: got %q", v.KeyID())
	}
	sig, err := pss.Sign(ctx, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, []byte("m"), sig); err != nil {
		t.Errorf("VerifierFor uses AlgorithmSigner (PSS SHA-512): %v", err)
	}
	// Without AlgorithmSigner, the key's default (PKCS#1 v1.5) is assumed
	// and a PSS signature does not verify.
	v2, err := sign.VerifierFor(plainSigner{pss})
	if err != nil {
		t.Fatal(err)
	}
	if err := v2.Verify(ctx, []byte("m"), sig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("default-algorithm verifier accepted a PSS signature: %v", err)
	}
	if _, err := sign.VerifierFor(nil); err == nil {
		t.Error("VerifierFor(nil) succeeded")
	}
	if a, ok := v.(interface{ Algorithm() sign.Algorithm }); !ok || a.Algorithm() != sign.RSAPSSSHA512 {
		t.Errorf("verifier does not report its algorithm")
	}
}

func TestPublicKeyIDGolden(t *testing.T) {
	for _, name := range []string{"cosign-p256", "cosign-ed25519", "cosign-legacy-p256"} {
		pubPEM, err := os.ReadFile("testdata/" + name + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/" + name + ".keyid")
		if err != nil {
			t.Fatal(err)
		}
		pub, err := sign.LoadPublicKey(pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sign.PublicKeyID(pub)
		if err != nil {
			t.Fatal(err)
		}
		if got != strings.TrimSpace(string(want)) {
			t.Errorf("%s: PublicKeyID = %s, ssh-keygen -l says %s", name, got, want)
		}
	}
}

func TestPublicKeyIDFormat(t *testing.T) {
	for name, k := range testKeys() {
		id, err := sign.PublicKeyID(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		sshKey, err := ssh.NewPublicKey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		if want := ssh.FingerprintSHA256(sshKey); id != want {
			t.Errorf("%s: PublicKeyID = %s, want the SSH fingerprint %s", name, id, want)
		}
	}
}

func selfSignedCert(t *testing.T, priv crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "slsakit test"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<31, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadPublicKey(t *testing.T) {
	for name, k := range testKeys() {
		pemBytes, err := sign.MarshalPublicKey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN PUBLIC KEY-----")) {
			t.Errorf("%s: MarshalPublicKey is not PKIX PEM: %s", name, pemBytes)
		}
		pub, err := sign.LoadPublicKey(pemBytes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
			t.Errorf("%s: PKIX round trip changed the key", name)
		}
		pub, err = sign.LoadPublicKey(selfSignedCert(t, k))
		if err != nil {
			t.Fatalf("%s: certificate: %v", name, err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
			t.Errorf("%s: certificate key differs", name)
		}
	}
	rsaPub := &keyFor(sign.RSAPSSSHA256).(*rsa.PrivateKey).PublicKey
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(rsaPub)})
	if pub, err := sign.LoadPublicKey(pkcs1); err != nil || !rsaPub.Equal(pub) {
		t.Errorf("PKCS#1 public key: %v", err)
	}

	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakDER, _ := x509.MarshalPKIXPublicKey(&weak.PublicKey)
	p256, _ := sign.MarshalPublicKey(testKeys()["p256"].Public())
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, sign.ErrNoPEM},
		{"not PEM", []byte("ssh-ed25519 AAAA"), sign.ErrNoPEM},
		{"private key block", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), sign.ErrUnsupportedKey},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), sign.ErrMalformedKey},
		{"garbage cert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}), sign.ErrMalformedKey},
		{"weak RSA", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: weakDER}), sign.ErrWeakKey},
		{"oversize", append(bytes.Repeat([]byte(" "), sign.MaxPEMSize), p256...), sign.ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := sign.LoadPublicKey(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := sign.MarshalPublicKey(nil); !errors.Is(err, sign.ErrUnsupportedKey) {
		t.Errorf("MarshalPublicKey(nil) err = %v", err)
	}
}
