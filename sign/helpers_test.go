package sign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// testKeys generates one key of each type once per test binary: RSA key
// generation is slow, and the tests only need distinct, valid keys.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	must := func(k crypto.Signer, err error) crypto.Signer {
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{
		"p256":    must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		"p384":    must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		"p521":    must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)),
		"ed25519": ed,
		"rsa":     must(rsa.GenerateKey(rand.Reader, 2048)),
	}
})

// keyFor returns the test key an algorithm signs with.
func keyFor(alg sign.Algorithm) crypto.Signer {
	k := testKeys()
	switch alg {
	case sign.ECDSAP256SHA256:
		return k["p256"]
	case sign.ECDSAP384SHA384:
		return k["p384"]
	case sign.ECDSAP521SHA512:
		return k["p521"]
	case sign.Ed25519, sign.Ed25519ph:
		return k["ed25519"]
	}
	return k["rsa"]
}

// signerFor returns a KeySigner for alg over the shared test key.
func signerFor(tb testing.TB, alg sign.Algorithm) *sign.KeySigner {
	tb.Helper()
	s, err := sign.NewKeySigner(keyFor(alg), sign.WithAlgorithm(alg))
	if err != nil {
		tb.Fatalf("NewKeySigner(%s): %v", alg, err)
	}
	return s
}
