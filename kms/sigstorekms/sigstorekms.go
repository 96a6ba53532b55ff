package sigstorekms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/slsakit/slsakit/sign"
)

// ErrNoSignerVerifier is returned by New for a nil SignerVerifier.
var ErrNoSignerVerifier = errors.New("sigstorekms: nil SignerVerifier")

// Option configures New.
type Option func(*config)

type config struct {
	keyID string
	alg   sign.Algorithm
}

// WithKeyID sets the key ID the Signer writes into envelopes. The default,
// sign.PublicKeyID of the public key, is what cosign and other
// go-securesystemslib DSSE verifiers compute and match against: another
// value (a KMS reference, say) makes them skip the signature.
func WithKeyID(id string) Option { return func(c *config) { c.keyID = id } }

// WithAlgorithm names the signature algorithm. It must fit the public key
// (sign.ErrAlgorithmMismatch otherwise); for ECDSA and RSA its hash is
// passed to SignMessage, so the SignerVerifier signs with it.
func WithAlgorithm(alg sign.Algorithm) Option { return func(c *config) { c.alg = alg } }

// cryptoSignerProvider is the part of sigstore's kms.SignerVerifier that
// tells the hash and the RSA padding of a KMS key.
type cryptoSignerProvider interface {
	CryptoSigner(ctx context.Context, errFunc func(error)) (crypto.Signer, crypto.SignerOpts, error)
}

// New adapts sv to sign.Signer. It reads the public key once, with ctx
// (for a KMS that is a network call).
//
// When the signature algorithm is known — from WithAlgorithm, from a KMS
// SignerVerifier's CryptoSigner options (hash and RSA padding), or because
// the key is Ed25519 — the returned Signer is also a sign.AlgorithmSigner
// and checks every signature against the public key before returning it
// (sign.ErrInvalidSignature otherwise). An in-memory ECDSA or RSA
// SignerVerifier does not reveal its hash: pass WithAlgorithm to make it an
// AlgorithmSigner.
func New(ctx context.Context, sv signature.SignerVerifier, opts ...Option) (sign.Signer, error) {
	if sv == nil {
		return nil, ErrNoSignerVerifier
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	pub, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sigstorekms: reading the public key: %w", err)
	}
	if _, err := sign.DefaultAlgorithm(pub); err != nil {
		return nil, fmt.Errorf("sigstorekms: %w", err)
	}
	s := &signer{sv: sv, pub: pub, keyID: cfg.keyID}
	if s.keyID == "" {
		if s.keyID, err = sign.PublicKeyID(pub); err != nil {
			return nil, fmt.Errorf("sigstorekms: %w", err)
		}
	}
	alg := cfg.alg
	if alg == "" {
		if alg, err = detectAlgorithm(ctx, sv, pub); err != nil {
			return nil, err
		}
	}
	if alg == "" {
		return s, nil
	}
	if s.verifier, err = sign.NewVerifier(pub, alg); err != nil {
		return nil, fmt.Errorf("sigstorekms: %w", err)
	}
	s.alg = alg
	return &algSigner{s}, nil
}

// detectAlgorithm returns the algorithm sv signs with, or "" when it
// cannot tell.
func detectAlgorithm(ctx context.Context, sv signature.SignerVerifier, pub crypto.PublicKey) (sign.Algorithm, error) {
	if _, ok := sv.(*signature.ED25519phSignerVerifier); ok {
		return "", nil // Ed25519ph, not the pure Ed25519 DSSE verifiers expect
	}
	if _, ok := pub.(ed25519.PublicKey); ok {
		if _, ok := sv.(*signature.ED25519SignerVerifier); ok {
			return sign.Ed25519, nil
		}
	}
	cp, ok := sv.(cryptoSignerProvider)
	if !ok {
		return "", nil
	}
	_, so, err := cp.CryptoSigner(ctx, func(error) {})
	if err != nil {
		return "", fmt.Errorf("sigstorekms: reading the signing options: %w", err)
	}
	if so == nil {
		return "", nil
	}
	h := so.HashFunc()
	switch pub.(type) {
	case *ecdsa.PublicKey:
		def, err := sign.DefaultAlgorithm(pub)
		if err == nil && def.Hash() == h {
			return def, nil
		}
	case *rsa.PublicKey:
		_, pss := so.(*rsa.PSSOptions)
		switch {
		case pss && h == crypto.SHA256:
			return sign.RSAPSSSHA256, nil
		case pss && h == crypto.SHA512:
			return sign.RSAPSSSHA512, nil
		case h == crypto.SHA256:
			return sign.RSAPKCS1v15SHA256, nil
		case h == crypto.SHA512:
			return sign.RSAPKCS1v15SHA512, nil
		}
	case ed25519.PublicKey:
		if h == 0 {
			return sign.Ed25519, nil
		}
	}
	return "", nil
}

type signer struct {
	sv       signature.SignerVerifier
	pub      crypto.PublicKey
	keyID    string
	alg      sign.Algorithm // "" when unknown
	verifier sign.Verifier  // nil when alg is unknown
}

// Sign passes data to SignMessage with ctx (options.WithContext) and, when
// the algorithm is known, its hash (options.WithCryptoSignerOpts).
func (s *signer) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := []signature.SignOption{options.WithContext(ctx)}
	if h := s.alg.Hash(); h != 0 {
		opts = append(opts, options.WithCryptoSignerOpts(h))
	}
	sig, err := s.sv.SignMessage(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, fmt.Errorf("sigstorekms: %w", err)
	}
	if s.verifier != nil {
		if err := s.verifier.Verify(ctx, data, sig); err != nil {
			return nil, fmt.Errorf("sigstorekms: the SignerVerifier returned a bad signature: %w", err)
		}
	}
	return sig, nil
}

func (s *signer) KeyID() string            { return s.keyID }
func (s *signer) Public() crypto.PublicKey { return s.pub }

// algSigner is a signer whose algorithm is known.
type algSigner struct{ *signer }

func (s *algSigner) Algorithm() sign.Algorithm { return s.alg }
