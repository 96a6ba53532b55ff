package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// MaxPEMSize is the largest PEM input LoadPublicKey and LoadPrivateKey
// accept: far more than any key or certificate chain needs.
const MaxPEMSize = 256 << 10

// keyVerifier verifies signatures of one public key with one algorithm.
type keyVerifier struct {
	pub   crypto.PublicKey
	alg   Algorithm
	keyID string
}

// NewVerifier returns a Verifier for pub with the signature algorithm alg.
// An empty alg picks DefaultAlgorithm(pub): ECDSA by curve, Ed25519, and
// RSA PKCS#1 v1.5 with SHA-256. An algorithm that does not fit the key fails
// with ErrAlgorithmMismatch, an unsupported key with ErrUnsupportedKey, a
// short RSA key with ErrWeakKey.
//
// The Verifier's KeyID is PublicKeyID(pub). ECDSA signatures are ASN.1 DER;
// Ed25519 is pure Ed25519 over the message; RSA PSS accepts any salt length.
// The returned Verifier also has an Algorithm() Algorithm method.
func NewVerifier(pub crypto.PublicKey, alg Algorithm) (Verifier, error) {
	alg, err := checkAlgorithm(pub, alg)
	if err != nil {
		return nil, err
	}
	id, err := PublicKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &keyVerifier{pub: pub, alg: alg, keyID: id}, nil
}

// VerifierFor returns a Verifier for the signatures s makes: its public key,
// its algorithm when s is an AlgorithmSigner (the key's default otherwise),
// and s.KeyID() as the key ID, so that envelope key ID hints match.
func VerifierFor(s Signer) (Verifier, error) {
	if s == nil {
		return nil, errors.New("sign: VerifierFor: nil signer")
	}
	var alg Algorithm
	if as, ok := s.(AlgorithmSigner); ok {
		alg = as.Algorithm()
	}
	pub := s.Public()
	alg, err := checkAlgorithm(pub, alg)
	if err != nil {
		return nil, err
	}
	return &keyVerifier{pub: pub, alg: alg, keyID: s.KeyID()}, nil
}

func (v *keyVerifier) KeyID() string            { return v.keyID }
func (v *keyVerifier) Public() crypto.PublicKey { return v.pub }

// Algorithm returns the signature algorithm the verifier checks.
func (v *keyVerifier) Algorithm() Algorithm { return v.alg }

func (v *keyVerifier) String() string {
	return fmt.Sprintf("sign.Verifier{alg: %s, keyid: %s}", v.alg, v.keyID)
}

// Verify checks sig over data. Any failure wraps ErrInvalidSignature, except
// a done ctx, which returns ctx.Err().
func (v *keyVerifier) Verify(ctx context.Context, data, sig []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k, ok := v.pub.(ed25519.PublicKey); ok && v.alg == Ed25519 {
		// Pure Ed25519 signs the message itself, not a digest.
		if len(sig) == 0 || !ed25519.Verify(k, data, sig) {
			return fmt.Errorf("%w: %s signature does not verify with key %s", ErrInvalidSignature, v.alg, v.keyID)
		}
		return nil
	}
	return v.verifyDigest(v.alg.Hash(), digest(v.alg.Hash(), data), sig)
}

// VerifyDigest checks sig over a message of which only the digest d, made
// with h, is known: a blob verified without reading it twice. h must be
// the hash of the verifier's algorithm (ErrAlgorithmMismatch), and pure
// Ed25519, which signs the message itself, cannot verify a digest
// (ErrUnsupportedAlgorithm). A signature that does not verify wraps
// ErrInvalidSignature.
func (v *keyVerifier) VerifyDigest(ctx context.Context, h crypto.Hash, d, sig []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkDigest(v.alg, h, d); err != nil {
		return err
	}
	return v.verifyDigest(h, d, sig)
}

// verifyDigest checks sig over the digest d (made with h, the algorithm's
// hash; checked by the callers).
func (v *keyVerifier) verifyDigest(h crypto.Hash, d, sig []byte) error {
	if len(sig) == 0 {
		return fmt.Errorf("%w: empty signature", ErrInvalidSignature)
	}
	ok := false
	switch k := v.pub.(type) {
	case ed25519.PublicKey:
		ok = v.alg == Ed25519ph && ed25519.VerifyWithOptions(k, d, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, d, sig)
	case *rsa.PublicKey:
		if v.alg.isPSS() {
			ok = rsa.VerifyPSS(k, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h}) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(k, h, d, sig) == nil
		}
	}
	if !ok {
		return fmt.Errorf("%w: %s signature does not verify with key %s", ErrInvalidSignature, v.alg, v.keyID)
	}
	return nil
}

// digest hashes data with h (SHA-256, SHA-384 or SHA-512).
func digest(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(data)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(data)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(data)
		return d[:]
	}
	panic("sign: digest with unsupported hash " + h.String()) // unreachable: algorithms are validated
}

// PublicKeyID returns the stable key ID of pub: its SHA-256 SSH
// fingerprint, "SHA256:" followed by unpadded base64 of the SHA-256 of the
// key's SSH wire encoding — what `ssh-keygen -l` prints, and exactly what
// go-securesystemslib's dsse.SHA256KeyID computes. That equality matters:
// DSSE verifiers built on go-securesystemslib (cosign v3, sigstore-go)
// compute this ID for a key that has none and skip every signature whose
// keyid differs, so any other format would make slsakit's envelopes
// unverifiable there. The same key always yields the same ID, whatever
// file format or signer it came from.
func PublicKeyID(pub crypto.PublicKey) (string, error) {
	if _, err := DefaultAlgorithm(pub); err != nil {
		return "", err
	}
	id, err := dsse.SHA256KeyID(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return id, nil
}

func marshalPKIX(pub crypto.PublicKey) ([]byte, error) {
	if _, err := DefaultAlgorithm(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return der, nil
}

// MarshalPublicKey encodes pub as a PEM "PUBLIC KEY" block (PKIX), the format
// cosign writes to cosign.pub.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := marshalPKIX(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPublicKey reads the first PEM block of pemBytes: a "PUBLIC KEY" (PKIX),
// an "RSA PUBLIC KEY" (PKCS#1), or a "CERTIFICATE", whose subject public key
// is returned (the leaf, for a chain written leaf first). The certificate is
// not validated: that is the caller's policy. The key must be one slsakit
// verifies with (ErrUnsupportedKey, ErrWeakKey).
func LoadPublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	if len(pemBytes) > MaxPEMSize {
		return nil, fmt.Errorf("%w: PEM input is %d bytes, limit %d", ErrTooLarge, len(pemBytes), MaxPEMSize)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, ErrNoPEM
	}
	var (
		pub crypto.PublicKey
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a public key or certificate", ErrUnsupportedKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedKey, block.Type, err)
	}
	if _, err := DefaultAlgorithm(pub); err != nil {
		return nil, err
	}
	return pub, nil
}
