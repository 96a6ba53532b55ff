package sign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

func TestAlgorithmHash(t *testing.T) {
	want := map[sign.Algorithm]crypto.Hash{
		sign.ECDSAP256SHA256:   crypto.SHA256,
		sign.ECDSAP384SHA384:   crypto.SHA384,
		sign.ECDSAP521SHA512:   crypto.SHA512,
		sign.Ed25519:           0,
		sign.Ed25519ph:         crypto.SHA512,
		sign.RSAPKCS1v15SHA256: crypto.SHA256,
		sign.RSAPKCS1v15SHA512: crypto.SHA512,
		sign.RSAPSSSHA256:      crypto.SHA256,
		sign.RSAPSSSHA512:      crypto.SHA512,
	}
	if got := len(sign.Algorithms()); got != len(want) {
		t.Fatalf("Algorithms() has %d entries, want %d", got, len(want))
	}
	for _, a := range sign.Algorithms() {
		h, ok := want[a]
		if !ok {
			t.Errorf("Algorithms() lists unexpected %q", a)
			continue
		}
		if a.Hash() != h {
			t.Errorf("%s.Hash() = %v, want %v", a, a.Hash(), h)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s.Validate() = %v", a, err)
		}
	}
	for _, bad := range []sign.Algorithm{"", "ecdsa", "ED25519", "rsa-sign-pkcs1-sha1"} {
		if err := bad.Validate(); !errors.Is(err, sign.ErrUnsupportedAlgorithm) {
			t.Errorf("Algorithm(%q).Validate() = %v, want ErrUnsupportedAlgorithm", bad, err)
		}
		if bad.Hash() != 0 {
			t.Errorf("Algorithm(%q).Hash() = %v, want 0", bad, bad.Hash())
		}
	}
}

func TestDefaultAlgorithm(t *testing.T) {
	cases := []struct {
		key  string
		want sign.Algorithm
	}{
		{"p256", sign.ECDSAP256SHA256},
		{"p384", sign.ECDSAP384SHA384},
		{"p521", sign.ECDSAP521SHA512},
		{"ed25519", sign.Ed25519},
		{"rsa", sign.RSAPKCS1v15SHA256},
	}
	for _, c := range cases {
		got, err := sign.DefaultAlgorithm(testKeys()[c.key].Public())
		if err != nil || got != c.want {
			t.Errorf("DefaultAlgorithm(%s) = %q, %v; want %q", c.key, got, err, c.want)
		}
		// NewKeySigner infers the same algorithm without being told.
		s, err := sign.NewKeySigner(testKeys()[c.key])
		if err != nil || s.Algorithm() != c.want {
			t.Errorf("NewKeySigner(%s) algorithm = %v, %v; want %q", c.key, s, err, c.want)
		}
	}
	// A key that allows several algorithms takes the one asked for.
	s, err := sign.NewKeySigner(testKeys()["rsa"], sign.WithAlgorithm(sign.RSAPSSSHA256))
	if err != nil || s.Algorithm() != sign.RSAPSSSHA256 {
		t.Errorf("NewKeySigner(rsa, PSS) = %v, %v", s, err)
	}
}

func TestUnsupportedAndWeakKeys(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		pub  crypto.PublicKey
		want error
	}{
		{"P-224", &p224.PublicKey, sign.ErrUnsupportedKey},
		{"RSA-1024", &weak.PublicKey, sign.ErrWeakKey},
		{"nil", nil, sign.ErrUnsupportedKey},
		{"nil ecdsa", (*ecdsa.PublicKey)(nil), sign.ErrUnsupportedKey},
		{"short ed25519", []byte("not a key"), sign.ErrUnsupportedKey},
		{"ecdsa by value", p224.PublicKey, sign.ErrUnsupportedKey},
	}
	for _, c := range cases {
		if _, err := sign.DefaultAlgorithm(c.pub); !errors.Is(err, c.want) {
			t.Errorf("%s: DefaultAlgorithm err = %v, want %v", c.name, err, c.want)
		}
		if _, err := sign.NewVerifier(c.pub, ""); !errors.Is(err, c.want) {
			t.Errorf("%s: NewVerifier err = %v, want %v", c.name, err, c.want)
		}
		if _, err := sign.PublicKeyID(c.pub); !errors.Is(err, c.want) {
			t.Errorf("%s: PublicKeyID err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := sign.NewKeySigner(weak); !errors.Is(err, sign.ErrWeakKey) {
		t.Errorf("NewKeySigner(RSA-1024) err = %v, want ErrWeakKey", err)
	}
	if _, err := sign.NewKeySigner(p224); !errors.Is(err, sign.ErrUnsupportedKey) {
		t.Errorf("NewKeySigner(P-224) err = %v, want ErrUnsupportedKey", err)
	}
}

func TestAlgorithmMismatch(t *testing.T) {
	cases := []struct {
		key string
		alg sign.Algorithm
	}{
		{"p256", sign.ECDSAP384SHA384},
		{"p384", sign.ECDSAP256SHA256},
		{"p521", sign.ECDSAP256SHA256},
		{"p256", sign.Ed25519},
		{"p256", sign.RSAPSSSHA256},
		{"ed25519", sign.ECDSAP256SHA256},
		{"ed25519", sign.RSAPKCS1v15SHA256},
		{"p256", sign.Ed25519ph},
		{"rsa", sign.Ed25519ph},
		{"rsa", sign.ECDSAP256SHA256},
		{"rsa", sign.Ed25519},
	}
	for _, c := range cases {
		k := testKeys()[c.key]
		if _, err := sign.NewVerifier(k.Public(), c.alg); !errors.Is(err, sign.ErrAlgorithmMismatch) {
			t.Errorf("NewVerifier(%s key, %s) err = %v, want ErrAlgorithmMismatch", c.key, c.alg, err)
		}
		if _, err := sign.NewKeySigner(k, sign.WithAlgorithm(c.alg)); !errors.Is(err, sign.ErrAlgorithmMismatch) {
			t.Errorf("NewKeySigner(%s key, %s) err = %v, want ErrAlgorithmMismatch", c.key, c.alg, err)
		}
	}
	if _, err := sign.NewVerifier(testKeys()["p256"].Public(), "md5-rsa"); !errors.Is(err, sign.ErrUnsupportedAlgorithm) {
		t.Errorf("unknown algorithm: err = %v, want ErrUnsupportedAlgorithm", err)
	}
}
