package kms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"strings"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/sign"
)

// algorithm describes how a Cloud KMS signing algorithm is used.
type algorithm struct {
	kms  kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm
	alg  sign.Algorithm
	hash crypto.Hash // 0 for Ed25519: KMS signs the data itself
	// key constraints
	curve   elliptic.Curve // ECDSA
	rsaBits int            // RSA
	ed25519 bool
}

// lookupAlgorithm maps a Cloud KMS algorithm to its DSSE use. It returns
// ErrWrongPurpose for algorithms that do not sign and
// ErrUnsupportedAlgorithm for signing algorithms slsakit cannot use.
func lookupAlgorithm(a kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm) (algorithm, error) {
	r := algorithm{kms: a}
	switch a {
	case kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256:
		r.alg, r.hash, r.curve = sign.ECDSAP256SHA256, crypto.SHA256, elliptic.P256()
	case kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384:
		r.alg, r.hash, r.curve = sign.ECDSAP384SHA384, crypto.SHA384, elliptic.P384()
	case kmspb.CryptoKeyVersion_EC_SIGN_ED25519:
		r.alg, r.ed25519 = sign.Ed25519, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_2048_SHA256:
		r.alg, r.hash, r.rsaBits = sign.RSAPSSSHA256, crypto.SHA256, 2048
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_3072_SHA256:
		r.alg, r.hash, r.rsaBits = sign.RSAPSSSHA256, crypto.SHA256, 3072
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_4096_SHA256:
		r.alg, r.hash, r.rsaBits = sign.RSAPSSSHA256, crypto.SHA256, 4096
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_4096_SHA512:
		r.alg, r.hash, r.rsaBits = sign.RSAPSSSHA512, crypto.SHA512, 4096
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_2048_SHA256:
		r.alg, r.hash, r.rsaBits = sign.RSAPKCS1v15SHA256, crypto.SHA256, 2048
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_3072_SHA256:
		r.alg, r.hash, r.rsaBits = sign.RSAPKCS1v15SHA256, crypto.SHA256, 3072
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA256:
		r.alg, r.hash, r.rsaBits = sign.RSAPKCS1v15SHA256, crypto.SHA256, 4096
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA512:
		r.alg, r.hash, r.rsaBits = sign.RSAPKCS1v15SHA512, crypto.SHA512, 4096
	default:
		name := a.String()
		if strings.HasPrefix(name, "EC_SIGN_") || strings.HasPrefix(name, "RSA_SIGN_") || strings.HasPrefix(name, "PQ_SIGN_") {
			return algorithm{}, fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, name)
		}
		return algorithm{}, fmt.Errorf("%w: algorithm %s does not sign", ErrWrongPurpose, name)
	}
	return r, nil
}

// checkKey reports whether pub is a key of the kind the algorithm needs.
func (a algorithm) checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if a.curve != nil && k.Curve == a.curve {
			return nil
		}
	case *rsa.PublicKey:
		if a.rsaBits != 0 && k.N.BitLen() == a.rsaBits {
			return nil
		}
	case ed25519.PublicKey:
		if a.ed25519 && len(k) == ed25519.PublicKeySize {
			return nil
		}
	}
	return fmt.Errorf("a %T is not a key for %s", pub, a.kms)
}

// digest hashes data with the algorithm's hash and returns the sum and the
// form AsymmetricSign wants.
func (a algorithm) digest(data []byte) ([]byte, *kmspb.Digest) {
	h := a.hash.New()
	h.Write(data)
	sum := h.Sum(nil)
	switch a.hash {
	case crypto.SHA256:
		return sum, &kmspb.Digest{Digest: &kmspb.Digest_Sha256{Sha256: sum}}
	case crypto.SHA384:
		return sum, &kmspb.Digest{Digest: &kmspb.Digest_Sha384{Sha384: sum}}
	default:
		return sum, &kmspb.Digest{Digest: &kmspb.Digest_Sha512{Sha512: sum}}
	}
}
