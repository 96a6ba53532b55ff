package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
)

// GenerateRSABits is the modulus length GenerateKey uses for RSA algorithms.
const GenerateRSABits = 3072

// KeySigner signs with a private key held in memory: a key file, a freshly
// generated key, or any crypto.Signer (an HSM or a PKCS#11 token works too).
// It implements Signer and AlgorithmSigner and is safe for concurrent use.
//
// Printing a KeySigner with any fmt verb shows only its algorithm and key
// ID, never key material.
type KeySigner struct {
	priv  crypto.Signer
	pub   crypto.PublicKey
	alg   Algorithm
	keyID string
}

var (
	_ Signer          = (*KeySigner)(nil)
	_ AlgorithmSigner = (*KeySigner)(nil)
)

// NewKeySigner returns a KeySigner for priv, typically an *ecdsa.PrivateKey,
// ed25519.PrivateKey or *rsa.PrivateKey. The signature algorithm follows
// from the key (DefaultAlgorithm: ECDSA P-256 signs with SHA-256, and so
// on); only a key that allows several (RSA: PKCS #1 v1.5 or PSS; Ed25519
// or Ed25519ph) takes WithAlgorithm to pick another. Other KeyOptions are
// for key files and have no effect here. It fails with
// ErrAlgorithmMismatch, ErrUnsupportedKey or ErrWeakKey.
func NewKeySigner(priv crypto.Signer, opts ...KeyOption) (*KeySigner, error) {
	var cfg keyConfig
	for _, o := range opts {
		o(&cfg)
	}
	if priv == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrUnsupportedKey)
	}
	pub := priv.Public()
	alg, err := checkAlgorithm(pub, cfg.alg)
	if err != nil {
		return nil, err
	}
	id, err := PublicKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &KeySigner{priv: priv, pub: pub, alg: alg, keyID: id}, nil
}

// GenerateKey generates a new key for alg and returns its signer: ECDSA on
// the algorithm's curve, Ed25519, or RSA of GenerateRSABits bits. An empty
// alg means ECDSAP256SHA256, the key type cosign generates.
func GenerateKey(alg Algorithm) (*KeySigner, error) {
	if alg == "" {
		alg = ECDSAP256SHA256
	}
	if err := alg.Validate(); err != nil {
		return nil, err
	}
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case ECDSAP256SHA256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384SHA384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ECDSAP521SHA512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case Ed25519, Ed25519ph:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, GenerateRSABits)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: generating %s key: %w", alg, err)
	}
	return NewKeySigner(priv, WithAlgorithm(alg))
}

// Sign signs data: it hashes data with the algorithm's hash (Ed25519 signs
// data itself) and returns the raw signature (ASN.1 DER for ECDSA). It
// returns ctx.Err() when ctx is already done.
func (k *KeySigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if k == nil || k.priv == nil {
		return nil, errors.New("sign: KeySigner is not initialized; use NewKeySigner")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	msg := data
	if h := k.alg.Hash(); h != 0 {
		msg = digest(h, data)
	}
	sig, err := k.priv.Sign(rand.Reader, msg, k.alg.signerOpts())
	if err != nil {
		// Errors from crypto/* carry no key material; keep them for context.
		return nil, fmt.Errorf("sign: %s signing with key %s: %w", k.alg, k.keyID, err)
	}
	return sig, nil
}

// KeyID returns PublicKeyID of the signer's public key.
func (k *KeySigner) KeyID() string { return k.keyID }

// Public returns the signer's public key.
func (k *KeySigner) Public() crypto.PublicKey { return k.pub }

// Algorithm returns the signer's signature algorithm.
func (k *KeySigner) Algorithm() Algorithm { return k.alg }

// String describes the signer without key material.
func (k KeySigner) String() string {
	return fmt.Sprintf("sign.KeySigner{alg: %s, keyid: %s}", k.alg, k.keyID)
}

// GoString is String: %#v must not dump the private key either.
func (k KeySigner) GoString() string { return k.String() }

// Format prints String for every verb, so that no fmt verb (%v, %+v, %#v,
// %x, %d...) reaches the private key through reflection.
func (k KeySigner) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }
