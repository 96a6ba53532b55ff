package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
)

// Ed25519ph is HashEdDSA (RFC 8032 Ed25519ph): Ed25519 over the SHA-512
// digest of the message. Cosign signs with it by default when given an
// Ed25519 key file, so verifying such attestations needs it; pure Ed25519
// stays the default for Ed25519 keys.
const Ed25519ph Algorithm = "ed25519-ph"

// MinRSABits is the shortest RSA modulus slsakit signs or verifies with.
const MinRSABits = 2048

// MaxRSABits is the longest RSA modulus accepted; longer keys only make
// verification a denial-of-service vector.
const MaxRSABits = 16384

// Algorithms returns every supported Algorithm, in a stable order.
func Algorithms() []Algorithm {
	return []Algorithm{
		ECDSAP256SHA256, ECDSAP384SHA384, ECDSAP521SHA512, Ed25519, Ed25519ph,
		RSAPKCS1v15SHA256, RSAPKCS1v15SHA512, RSAPSSSHA256, RSAPSSSHA512,
	}
}

// Hash returns the digest a signature with a computes over the message.
// Ed25519 (pure) signs the message itself: its Hash is 0. So is the Hash of
// an unknown algorithm; call Validate to tell the two apart.
func (a Algorithm) Hash() crypto.Hash {
	switch a {
	case ECDSAP256SHA256, RSAPKCS1v15SHA256, RSAPSSSHA256:
		return crypto.SHA256
	case ECDSAP384SHA384:
		return crypto.SHA384
	case ECDSAP521SHA512, Ed25519ph, RSAPKCS1v15SHA512, RSAPSSSHA512:
		return crypto.SHA512
	}
	return 0
}

// Validate returns nil for a supported algorithm and an error wrapping
// ErrUnsupportedAlgorithm otherwise.
func (a Algorithm) Validate() error {
	switch a {
	case ECDSAP256SHA256, ECDSAP384SHA384, ECDSAP521SHA512, Ed25519, Ed25519ph,
		RSAPKCS1v15SHA256, RSAPKCS1v15SHA512, RSAPSSSHA256, RSAPSSSHA512:
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, string(a))
}

func (a Algorithm) isRSA() bool {
	switch a {
	case RSAPKCS1v15SHA256, RSAPKCS1v15SHA512, RSAPSSSHA256, RSAPSSSHA512:
		return true
	}
	return false
}

func (a Algorithm) isPSS() bool { return a == RSAPSSSHA256 || a == RSAPSSSHA512 }

// signerOpts returns the crypto.SignerOpts for a: PSS signs with a salt as
// long as the hash, which every verifier (and cloud KMS) accepts.
func (a Algorithm) signerOpts() crypto.SignerOpts {
	switch {
	case a.isPSS():
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.Hash()}
	case a == Ed25519ph:
		return &ed25519.Options{Hash: crypto.SHA512}
	}
	return a.Hash()
}

// DefaultAlgorithm returns the algorithm used for pub when none is named:
// ECDSA with the hash that matches the curve, Ed25519, and for RSA
// PKCS#1 v1.5 with SHA-256 (cosign's default). It rejects unsupported key
// types and curves (ErrUnsupportedKey) and short RSA keys (ErrWeakKey).
func DefaultAlgorithm(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "", fmt.Errorf("%w: nil ECDSA key", ErrUnsupportedKey)
		}
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256SHA256, nil
		case elliptic.P384():
			return ECDSAP384SHA384, nil
		case elliptic.P521():
			return ECDSAP521SHA512, nil
		}
		return "", fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 key of %d bytes", ErrUnsupportedKey, len(k))
		}
		return Ed25519, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("%w: nil RSA key", ErrUnsupportedKey)
		}
		if n := k.N.BitLen(); n < MinRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits, need at least %d", ErrWeakKey, n, MinRSABits)
		} else if n > MaxRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits, at most %d", ErrUnsupportedKey, n, MaxRSABits)
		}
		return RSAPKCS1v15SHA256, nil
	case nil:
		return "", fmt.Errorf("%w: nil public key", ErrUnsupportedKey)
	}
	return "", fmt.Errorf("%w: key type %T", ErrUnsupportedKey, pub)
}

// checkAlgorithm resolves alg for pub: "" picks DefaultAlgorithm, anything
// else must be supported and fit the key (ErrAlgorithmMismatch otherwise).
func checkAlgorithm(pub crypto.PublicKey, alg Algorithm) (Algorithm, error) {
	def, err := DefaultAlgorithm(pub)
	if err != nil {
		return "", err
	}
	if alg == "" {
		return def, nil
	}
	if err := alg.Validate(); err != nil {
		return "", err
	}
	ok := alg == def || (def.isRSA() && alg.isRSA()) || (def == Ed25519 && alg == Ed25519ph)
	if !ok {
		return "", fmt.Errorf("%w: %s with a %s key", ErrAlgorithmMismatch, alg, keyKind(def))
	}
	return alg, nil
}

func keyKind(def Algorithm) string {
	switch def {
	case ECDSAP256SHA256:
		return "ECDSA P-256"
	case ECDSAP384SHA384:
		return "ECDSA P-384"
	case ECDSAP521SHA512:
		return "ECDSA P-521"
	case Ed25519:
		return "Ed25519"
	}
	return "RSA"
}
