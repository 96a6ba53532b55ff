package sign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// secretsOf returns textual forms of the private parts of a key, as fmt
// could render them (decimal and hex big integers, hex and raw bytes).
func secretsOf(t *testing.T, k any) []string {
	t.Helper()
	switch p := k.(type) {
	case *ecdsa.PrivateKey:
		raw, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return []string{p.D.String(), p.D.Text(16), hex.EncodeToString(raw), string(raw), fmt.Sprint(raw)}
	case ed25519.PrivateKey:
		seed := p.Seed()
		return []string{hex.EncodeToString(seed), string(seed), fmt.Sprint(seed), fmt.Sprint([]byte(p))}
	case *rsa.PrivateKey:
		return []string{p.D.String(), p.D.Text(16), p.Primes[0].String(), p.Primes[0].Text(16)}
	}
	t.Fatalf("unknown key %T", k)
	return nil
}

func TestKeySignerRedacts(t *testing.T) {
	for _, alg := range []sign.Algorithm{sign.ECDSAP256SHA256, sign.Ed25519, sign.RSAPSSSHA256} {
		s := signerFor(t, alg)
		secrets := secretsOf(t, keyFor(alg))
		var out strings.Builder
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			fmt.Fprintf(&out, f+"\n", s)
			fmt.Fprintf(&out, f+"\n", *s)
			fmt.Fprintf(&out, f+"\n", []any{s})
			fmt.Fprintf(&out, f+"\n", struct{ S sign.KeySigner }{*s})
		}
		text := out.String()
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Fatalf("%s: fmt output leaks private key material:\n%s", alg, text)
			}
		}
		if !strings.Contains(text, s.KeyID()) || !strings.Contains(text, string(alg)) {
			t.Errorf("%s: fmt output should name the algorithm and key ID:\n%s", alg, text)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	// RSA generation is slow and shares one code path: one RSA algorithm
	// stands for all four.
	algs := []sign.Algorithm{sign.ECDSAP256SHA256, sign.ECDSAP384SHA384, sign.ECDSAP521SHA512, sign.Ed25519, sign.Ed25519ph, sign.RSAPSSSHA512}
	if testing.Short() {
		algs = algs[:5]
	}
	ctx := context.Background()
	for _, alg := range algs {
		s, err := sign.GenerateKey(alg)
		if err != nil {
			t.Fatalf("GenerateKey(%s): %v", alg, err)
		}
		if s.Algorithm() != alg {
			t.Errorf("GenerateKey(%s).Algorithm() = %s", alg, s.Algorithm())
		}
		if rk, ok := s.Public().(*rsa.PublicKey); ok && rk.N.BitLen() != sign.GenerateRSABits {
			t.Errorf("RSA key of %d bits", rk.N.BitLen())
		}
		sig, err := s.Sign(ctx, []byte("data"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := sign.NewVerifier(s.Public(), alg)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(ctx, []byte("data"), sig); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	def, err := sign.GenerateKey("")
	if err != nil || def.Algorithm() != sign.ECDSAP256SHA256 {
		t.Errorf("GenerateKey(\"\") = %v, %v; want ECDSA P-256", def, err)
	}
	if _, err := sign.GenerateKey("dsa"); !errors.Is(err, sign.ErrUnsupportedAlgorithm) {
		t.Errorf("GenerateKey(dsa) err = %v", err)
	}
	a, _ := sign.GenerateKey(sign.Ed25519)
	b, _ := sign.GenerateKey(sign.Ed25519)
	if a.KeyID() == b.KeyID() {
		t.Error("two generated keys share a key ID")
	}
}

func TestKeySignerErrors(t *testing.T) {
	if _, err := sign.NewKeySigner(nil); !errors.Is(err, sign.ErrUnsupportedKey) {
		t.Errorf("NewKeySigner(nil) err = %v", err)
	}
	var zero sign.KeySigner
	if _, err := zero.Sign(context.Background(), []byte("x")); err == nil {
		t.Error("zero KeySigner signed")
	}
}

func TestKeySignerWrapsSignerError(t *testing.T) {
	k := keyFor(sign.ECDSAP256SHA256).(*ecdsa.PrivateKey)
	s, err := sign.NewKeySigner(failing{k})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Sign(context.Background(), []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "hsm offline") || !strings.Contains(err.Error(), s.KeyID()) {
		t.Errorf("Sign error = %v; want the cause and the key ID", err)
	}
}

// failing wraps a key whose Sign always fails, like an unplugged token.
type failing struct{ k *ecdsa.PrivateKey }

func (f failing) Public() crypto.PublicKey { return f.k.Public() }
func (f failing) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("hsm offline")
}
