package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"
)

// Every algorithm signs a blob into a message-signature bundle whose
// digest is the blob's and whose signature verifies over it, through the
// codec and back.
func TestSignBlobAlgorithms(t *testing.T) {
	ctx := context.Background()
	blob := bytes.Repeat([]byte("kubernetes-server-linux-amd64.tar.gz "), 1000)
	// One RSA key for the four RSA algorithms: generating 3072-bit keys
	// was most of this package's -race time, and the schemes differ only
	// in how they sign.
	rsaKey, err := rsa.GenerateKey(rand.Reader, MinRSABits)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			var s *KeySigner
			var err error
			if alg.isRSA() {
				s, err = NewKeySigner(rsaKey, WithAlgorithm(alg))
			} else {
				s, err = GenerateKey(alg)
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := SignBlob(ctx, bytes.NewReader(blob), s)
			if err != nil {
				t.Fatalf("SignBlob: %v", err)
			}
			raw, err := b.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			b, err = ParseBundle(raw)
			if err != nil {
				t.Fatalf("ParseBundle: %v", err)
			}
			ms := b.MessageSignature
			if b.DSSEEnvelope != nil || ms == nil || ms.MessageDigest == nil || b.MediaType != MediaTypeBundle {
				t.Fatalf("not a v0.3 message-signature bundle: %s", raw)
			}
			h := alg.Hash()
			if h == 0 {
				h = crypto.SHA512
			}
			if ms.MessageDigest.Algorithm != h || !bytes.Equal(ms.MessageDigest.Digest, digest(h, blob)) {
				t.Errorf("digest %v %x, want the blob's %v", ms.MessageDigest.Algorithm, ms.MessageDigest.Digest, h)
			}
			if b.VerificationMaterial.PublicKey == nil || b.VerificationMaterial.PublicKey.Hint != s.KeyID() {
				t.Errorf("verification material %+v, want the key's hint", b.VerificationMaterial)
			}
			v, _ := NewVerifier(s.Public(), alg)
			if err := v.Verify(ctx, blob, ms.Signature); err != nil {
				t.Errorf("signature does not verify over the blob: %v", err)
			}
			tampered := append([]byte("x"), blob...)
			if err := v.Verify(ctx, tampered, ms.Signature); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("signature verifies over another blob: %v", err)
			}
			if alg.Hash() != 0 {
				if err := v.(DigestVerifier).VerifyDigest(ctx, h, ms.MessageDigest.Digest, ms.Signature); err != nil {
					t.Errorf("VerifyDigest: %v", err)
				}
			}
			// The detached .sig is the same signature.
			sigFile, err := DetachedSignature(b)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := ParseDetachedSignature(append(sigFile, '\n')); err != nil || !bytes.Equal(got, ms.Signature) {
				t.Errorf("detached signature round trip: %v", err)
			}
		})
	}
}

// nonDigestSigner hides a KeySigner's SignDigest: a Signer that must see
// the whole message (a custom or KMS signer).
type nonDigestSigner struct{ Signer }

// The blob is streamed to a DigestSigner: a limit on what may be held in
// memory applies only to signers that must see the whole message.
func TestSignBlobStreams(t *testing.T) {
	ctx := context.Background()
	s, _ := GenerateKey(ECDSAP256SHA256)
	blob := bytes.Repeat([]byte{7}, 4096)
	if _, err := SignBlob(ctx, bytes.NewReader(blob), s, WithMaxBlobInMemory(1024)); err != nil {
		t.Fatalf("a DigestSigner held the blob in memory: %v", err)
	}
	_, err := SignBlob(ctx, bytes.NewReader(blob), nonDigestSigner{s}, WithMaxBlobInMemory(1024))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("whole-message signer over the limit: %v, want ErrTooLarge", err)
	}
	b, err := SignBlob(ctx, bytes.NewReader(blob), nonDigestSigner{s}, WithMaxBlobInMemory(4096))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := NewVerifier(s.Public(), ""); v.Verify(ctx, blob, b.MessageSignature.Signature) != nil {
		t.Error("whole-message signature does not verify")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := SignBlob(cctx, bytes.NewReader(blob), s); !errors.Is(err, context.Canceled) {
		t.Errorf("done ctx: %v", err)
	}
	if _, err := SignBlob(ctx, iotestErrReader{}, s); err == nil {
		t.Error("a read error was ignored")
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// lyingSigner returns a signature over something else.
type lyingSigner struct{ *KeySigner }

func (l lyingSigner) SignDigest(ctx context.Context, h crypto.Hash, d []byte) ([]byte, error) {
	return l.KeySigner.SignDigest(ctx, h, digest(h, []byte("another blob")))
}

// otherBundleSigner bundles another signature than the one it made.
type otherBundleSigner struct{ *KeySigner }

func (o otherBundleSigner) BundleMessage(_ context.Context, ms *MessageSignature) (*Bundle, error) {
	c := *ms
	c.Signature = append([]byte{0}, ms.Signature...)
	return NewMessageBundle(o.KeySigner, &c)
}

// A faulty signer produces no bundle: its signature is checked, and so is
// the bundle a MessageBundleSigner returns.
func TestSignBlobFaultySigners(t *testing.T) {
	ctx := context.Background()
	s, _ := GenerateKey(ECDSAP256SHA256)
	if _, err := SignBlob(ctx, strings.NewReader("blob"), lyingSigner{s}); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("signature over another blob: %v, want ErrInvalidSignature", err)
	}
	if _, err := SignBlob(ctx, strings.NewReader("blob"), otherBundleSigner{s}); !errors.Is(err, ErrBundleMismatch) {
		t.Errorf("bundle of another signature: %v, want ErrBundleMismatch", err)
	}
	if _, err := SignBlob(ctx, nil, s); err == nil {
		t.Error("nil reader accepted")
	}
}

// A digest is signed only with the hash the algorithm signs with: a
// signature over a SHA-256 digest by a key that signs SHA-384 digests would
// verify nowhere, and pure Ed25519 signs messages.
func TestSignDigestHashes(t *testing.T) {
	ctx := context.Background()
	p384, _ := GenerateKey(ECDSAP384SHA384)
	d := digest(crypto.SHA256, []byte("x"))
	if _, err := p384.SignDigest(ctx, crypto.SHA256, d); !errors.Is(err, ErrAlgorithmMismatch) {
		t.Errorf("P-384 signing SHA-256: %v", err)
	}
	p256, _ := GenerateKey(ECDSAP256SHA256)
	if _, err := p256.SignDigest(ctx, crypto.SHA256, d[:31]); err == nil {
		t.Error("short digest signed")
	}
	ed, _ := GenerateKey(Ed25519)
	if _, err := ed.SignDigest(ctx, crypto.SHA512, digest(crypto.SHA512, []byte("x"))); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("pure Ed25519 signing a digest: %v", err)
	}
	v, _ := NewVerifier(ed.Public(), "")
	if err := v.(DigestVerifier).VerifyDigest(ctx, crypto.SHA512, digest(crypto.SHA512, []byte("x")), make([]byte, 64)); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("pure Ed25519 verifying a digest: %v", err)
	}
}

func testCert(t testing.TB) (*x509.Certificate, []byte) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// Detached files are read one way each: a .sig is base64, a .cert is one
// PEM certificate or that PEM in base64 (cosign's default output); every
// other shape is refused, and so is input over the size limit.
func TestParseDetached(t *testing.T) {
	c, certPEM := testCert(t)
	for name, in := range map[string][]byte{
		"PEM":             certPEM,
		"base64 PEM":      []byte(base64.StdEncoding.EncodeToString(certPEM)),
		"base64 PEM + NL": []byte(base64.StdEncoding.EncodeToString(certPEM) + "\n"),
	} {
		got, err := ParseDetachedCertificate(in)
		if err != nil || !got.Equal(c) {
			t.Errorf("%s: %v", name, err)
		}
	}
	keyPEM, _ := MarshalPublicKey(c.PublicKey)
	for name, in := range map[string][]byte{
		"empty":          nil,
		"DER":            c.Raw,
		"two certs":      append(append([]byte(nil), certPEM...), certPEM...),
		"trailing data":  append(append([]byte(nil), certPEM...), "junk"...),
		"public key":     keyPEM,
		"not base64":     []byte("%%%"),
		"base64 garbage": []byte(base64.StdEncoding.EncodeToString([]byte("hello"))),
		"too large":      bytes.Repeat([]byte(" "), MaxDetachedSize+1),
	} {
		if _, err := ParseDetachedCertificate(in); !errors.Is(err, ErrMalformedDetached) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("certificate %s: %v, want ErrMalformedDetached", name, err)
		}
	}
	for name, in := range map[string][]byte{
		"empty":     nil,
		"raw DER":   {0x30, 0x45, 0x02, 0x20, 0xff},
		"URL-safe":  []byte("ab-_"),
		"unpadded":  []byte("YWJj\x00"),
		"too large": bytes.Repeat([]byte("A"), MaxDetachedSize+4),
	} {
		if _, err := ParseDetachedSignature(in); !errors.Is(err, ErrMalformedDetached) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("signature %s: %v, want ErrMalformedDetached", name, err)
		}
	}
	// A detached pair becomes a bundle a verifier reads; DetachedCertificate
	// gives the PEM back.
	d := digest(crypto.SHA256, []byte("blob"))
	b, err := DetachedBundle([]byte{1, 2, 3}, c, crypto.SHA256, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(DetachedCertificate(b), certPEM) {
		t.Error("DetachedCertificate does not give the PEM back")
	}
	if _, err := DetachedBundle([]byte{1}, nil, crypto.SHA256, d[:5]); !errors.Is(err, ErrMalformedBundle) {
		t.Errorf("short digest: %v", err)
	}
	if _, err := DetachedBundle(nil, nil, crypto.SHA256, d); !errors.Is(err, ErrMalformedBundle) {
		t.Errorf("empty signature: %v", err)
	}
	if _, err := DetachedSignature(&Bundle{DSSEEnvelope: &Envelope{}}); !errors.Is(err, ErrMalformedBundle) {
		t.Errorf("DetachedSignature of a DSSE bundle: %v", err)
	}
}

var _ io.Reader = iotestErrReader{}

// HashBlob hashes once with every hash asked, and only with hashes a
// signature here is made over.
func TestHashBlob(t *testing.T) {
	ctx := context.Background()
	sums, err := HashBlob(ctx, strings.NewReader("abc"), crypto.SHA256, crypto.SHA512)
	if err != nil || !bytes.Equal(sums[0], digest(crypto.SHA256, []byte("abc"))) || !bytes.Equal(sums[1], digest(crypto.SHA512, []byte("abc"))) {
		t.Fatalf("HashBlob: %v", err)
	}
	if _, err := HashBlob(ctx, strings.NewReader("abc"), crypto.SHA1); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("SHA-1: %v", err)
	}
}

// Detached files are attacker input: any bytes are refused with a typed
// error or read, never a panic, and what is read is what was written.
func FuzzParseDetached(f *testing.F) {
	_, certPEM := testCert(f)
	f.Add(certPEM)
	f.Add([]byte(base64.StdEncoding.EncodeToString(certPEM)))
	f.Add([]byte("MEUCIQCuYNgu52XVEN9qy0OhZYa9ovjoYNc6qbCTAiR2dTQI8QIgL3suyDF7n5H9XF88xAT6Fx6+aAkv7UqAE4DLhjC4vrM="))
	f.Fuzz(func(t *testing.T, data []byte) {
		if sig, err := ParseDetachedSignature(data); err == nil {
			if !bytes.Equal(bytes.TrimSpace(data), base64.StdEncoding.AppendEncode(nil, sig)) {
				t.Fatalf("signature %q read as %x", data, sig)
			}
		} else if !errors.Is(err, ErrMalformedDetached) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("untyped error %v", err)
		}
		if c, err := ParseDetachedCertificate(data); err == nil && c == nil {
			t.Fatal("nil certificate without error")
		} else if err != nil && !errors.Is(err, ErrMalformedDetached) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// BenchmarkSignBlob signs a 64 MiB blob streamed from a reader: the
// allocations per operation stay those of one hash and one signature,
// whatever the blob's size (compare -benchmem with the size changed).
func BenchmarkSignBlob(b *testing.B) {
	s, _ := GenerateKey(ECDSAP256SHA256)
	const size = 64 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := SignBlob(context.Background(), io.LimitReader(zeroReader{}, size), s); err != nil {
			b.Fatal(err)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
