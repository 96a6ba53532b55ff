package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/slsakit/slsakit/sign"
)

// ErrSVID: an SVID cannot sign (no key, not ECDSA P-256, no leaf, or a leaf
// that certifies another key or does not carry exactly one spiffe:// URI).
var ErrSVID = errors.New("unusable X.509-SVID")

// SVID is one X.509-SVID as the SPIFFE Workload API hands it out: the
// workload's private key and its certificate chain, leaf first.
type SVID struct {
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate
}

// SVIDSigner signs with one X.509-SVID. It is immutable, so its KeyID,
// Public and CertificateChain always describe the key that made its
// signatures, and it is safe for concurrent use. Rotation hands out a new
// SVIDSigner (see Source); it never changes an existing one under a caller
// that is between Sign and CertificateChain.
type SVIDSigner struct {
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate
	id    string // the leaf's SPIFFE ID
	keyID string
}

// Compile-time checks: the seam and both optional interfaces.
var (
	_ sign.CertificateSigner = (*SVIDSigner)(nil)
	_ sign.AlgorithmSigner   = (*SVIDSigner)(nil)
)

// NewSVIDSigner checks that svid can sign and returns its signer.
func NewSVIDSigner(svid *SVID) (*SVIDSigner, error) {
	if svid == nil || svid.Key == nil || len(svid.Chain) == 0 || svid.Chain[0] == nil {
		return nil, fmt.Errorf("%w: key or leaf certificate missing", ErrSVID)
	}
	if svid.Key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: key is not ECDSA P-256", ErrSVID)
	}
	leaf := svid.Chain[0]
	if !svid.Key.PublicKey.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("%w: the leaf certificate certifies another key", ErrSVID)
	}
	id, err := spiffeID(leaf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSVID, err)
	}
	keyID, err := sign.PublicKeyID(&svid.Key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSVID, err)
	}
	return &SVIDSigner{key: svid.Key, chain: slices.Clone(svid.Chain), id: id, keyID: keyID}, nil
}

// Sign signs data (the DSSE PAE) with ECDSA P-256 over its SHA-256 digest,
// ASN.1 DER encoded.
func (s *SVIDSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	digest := sha256.Sum256(data)
	return ecdsa.SignASN1(rand.Reader, s.key, digest[:])
}

// KeyID is the key's SHA-256 SSH fingerprint, as for every slsakit key.
func (s *SVIDSigner) KeyID() string { return s.keyID }

// Public returns the SVID's public key.
func (s *SVIDSigner) Public() crypto.PublicKey { return &s.key.PublicKey }

// Algorithm names the signature scheme.
func (s *SVIDSigner) Algorithm() sign.Algorithm { return sign.ECDSAP256SHA256 }

// CertificateChain returns a copy of the SVID's chain, leaf first.
func (s *SVIDSigner) CertificateChain() []*x509.Certificate { return slices.Clone(s.chain) }

// SPIFFEID returns the identity the leaf certifies.
func (s *SVIDSigner) SPIFFEID() string { return s.id }

// FetchFunc returns the workload's current X.509-SVID. With SPIRE it wraps
// the Workload API; here it is the in-memory test CA.
type FetchFunc func(ctx context.Context) (*SVID, error)

// Source holds the current SVIDSigner and swaps it atomically on Rotate.
// Callers take a snapshot with Signer() and use that one signer for a whole
// envelope, so the signature, the key ID and the chain that travel together
// always belong to the same key, even while another goroutine rotates.
type Source struct {
	fetch   FetchFunc
	current atomic.Pointer[SVIDSigner]
}

// NewSource fetches the first SVID.
func NewSource(ctx context.Context, fetch FetchFunc) (*Source, error) {
	s := &Source{fetch: fetch}
	if err := s.Rotate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Rotate fetches a fresh SVID and makes it current. On error the previous
// SVID stays current. Safe to call from any goroutine, e.g. on every update
// the Workload API streams.
func (s *Source) Rotate(ctx context.Context) error {
	svid, err := s.fetch(ctx)
	if err != nil {
		return fmt.Errorf("fetch SVID: %w", err)
	}
	signer, err := NewSVIDSigner(svid)
	if err != nil {
		return err
	}
	s.current.Store(signer)
	return nil
}

// Signer returns the current SVID's signer.
func (s *Source) Signer() *SVIDSigner { return s.current.Load() }
