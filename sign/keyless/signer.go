package keyless

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/slsakit/slsakit/sign"
)

// Signer is a Sigstore keyless signer: an ephemeral ECDSA P-256 key, made
// when the Signer is created and never written anywhere, bound to an OIDC
// identity by a short-lived Fulcio certificate. It implements
// sign.CertificateSigner, sign.AlgorithmSigner, sign.BundleSigner (so
// sign.Attest returns its bundle), sign.DigestSigner and
// sign.MessageBundleSigner (so sign.SignBlob returns a keyless blob
// bundle, the blob never held in memory). Use it for one build or one
// batch of signatures; the certificate usually lives ten minutes, and bundles carry
// a log entry or a timestamp proving the signature was made while it was
// valid.
type Signer struct {
	priv   *ecdsa.PrivateKey
	chain  []*x509.Certificate
	claims Claims
	cfg    config
}

var (
	_ sign.CertificateSigner   = (*Signer)(nil)
	_ sign.AlgorithmSigner     = (*Signer)(nil)
	_ sign.BundleSigner        = (*Signer)(nil)
	_ sign.DigestSigner        = (*Signer)(nil)
	_ sign.MessageBundleSigner = (*Signer)(nil)
)

// NewSigner makes an ephemeral key and obtains a certificate for it from
// Fulcio with the ID token from WithToken (required). The token is checked
// (well formed, not expired) before any network call. Other options set the
// services BundleEnvelope uses; the default services are Sigstore's
// public-good instance.
func NewSigner(ctx context.Context, opts ...Option) (*Signer, error) {
	cfg, err := defaultConfig().apply(opts)
	if err != nil {
		return nil, err
	}
	if cfg.token == nil {
		return nil, fmt.Errorf("%w: no token source (use WithToken; slsakit never opens a browser)", ErrNoToken)
	}
	if cfg.services.FulcioURL == "" {
		return nil, fmt.Errorf("%w: no certificate authority URL", ErrConfig)
	}
	// Refuse services whose bundles could never verify before the token is
	// spent on a certificate.
	if err := cfg.services.check(true); err != nil {
		return nil, err
	}
	tok, err := cfg.token.Token(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := ParseToken(tok, cfg.now())
	if err != nil {
		return nil, err
	}
	if claims.Email != "" && !claims.EmailVerified {
		return nil, fmt.Errorf("%w: email %q is not verified by the identity provider", ErrTokenMalformed, claims.Email)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s := &Signer{priv: priv, claims: claims, cfg: cfg}

	fulcio := sgsign.NewFulcio(&sgsign.FulcioOptions{
		BaseURL: cfg.services.FulcioURL, Timeout: cfg.timeout, Retries: cfg.retries, Transport: cfg.transport,
	})
	der, err := fulcio.GetCertificate(ctx, keypair{s}, &sgsign.CertificateProviderOptions{IDToken: tok})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrFulcio, cfg.services.FulcioURL, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	if !publicKeysEqual(leaf.PublicKey, &priv.PublicKey) {
		return nil, fmt.Errorf("%w: certificate is for another key", ErrCertificate)
	}
	s.chain = []*x509.Certificate{leaf}
	return s, nil
}

// Sign signs data (for DSSE, the complete PAE) with ECDSA P-256 over its
// SHA-256 digest and returns an ASN.1 DER signature.
func (s *Signer) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := sha256.Sum256(data)
	return ecdsa.SignASN1(rand.Reader, s.priv, d[:])
}

// SignDigest signs digest, the SHA-256 of a message, as Sign signs the
// message (sign.DigestSigner): sign.SignBlob uses it to sign a blob it
// hashed while reading. Another hash fails with sign.ErrAlgorithmMismatch.
func (s *Signer) SignDigest(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h != crypto.SHA256 || len(digest) != sha256.Size {
		return nil, fmt.Errorf("%w: %s signs a SHA-256 digest, not %v", sign.ErrAlgorithmMismatch, sign.ECDSAP256SHA256, h)
	}
	return ecdsa.SignASN1(rand.Reader, s.priv, digest)
}

// KeyID returns "": an ephemeral key has no name worth recording, and
// Sigstore verifiers skip signatures whose keyid differs from the one they
// compute, so keyless envelopes (as cosign's) carry none.
func (s *Signer) KeyID() string { return "" }

// Public returns the ephemeral public key.
func (s *Signer) Public() crypto.PublicKey { return &s.priv.PublicKey }

// Algorithm returns sign.ECDSAP256SHA256.
func (s *Signer) Algorithm() sign.Algorithm { return sign.ECDSAP256SHA256 }

// CertificateChain returns the Fulcio certificate (leaf first). Fulcio's
// intermediates and root come from the verifier's trusted root, not the
// signer.
func (s *Signer) CertificateChain() []*x509.Certificate {
	return append([]*x509.Certificate(nil), s.chain...)
}

// Certificate returns the leaf certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// Claims returns the (unverified) claims of the token the certificate was
// requested with.
func (s *Signer) Claims() Claims { return s.claims }

// keypair adapts the signer to sigstore-go's sign.Keypair for the Fulcio
// client's proof of possession.
type keypair struct{ s *Signer }

func (k keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}
func (k keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (k keypair) GetHint() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&k.s.priv.PublicKey)
	h := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(h[:]))
}
func (k keypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (k keypair) GetPublicKey() crypto.PublicKey { return &k.s.priv.PublicKey }
func (k keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(&k.s.priv.PublicKey)
	return string(b), err
}
func (k keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	d := sha256.Sum256(data)
	sig, err := k.s.Sign(ctx, data)
	return sig, d[:], err
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	da, err1 := x509.MarshalPKIXPublicKey(a)
	db, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(da, db)
}
