package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types of the key files slsakit reads and writes.
const (
	// PEMTypeEncryptedSigstore is what `cosign generate-key-pair` writes: an
	// scrypt + NaCl secretbox envelope (go-securesystemslib "encrypted")
	// around a PKCS#8 DER private key.
	PEMTypeEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// PEMTypeEncryptedCosign is the same format under its older name.
	PEMTypeEncryptedCosign = "ENCRYPTED COSIGN PRIVATE KEY"
	pemTypePKCS8           = "PRIVATE KEY"
	pemTypeSEC1            = "EC PRIVATE KEY"
	pemTypePKCS1           = "RSA PRIVATE KEY"
)

// KeyOption tunes NewKeySigner, LoadPrivateKey and LoadPrivateKeyFile.
type KeyOption func(*keyConfig)

type keyConfig struct {
	password func() ([]byte, error)
	alg      Algorithm
}

// WithPassword gives the password of an encrypted key through a callback,
// called only when the key is encrypted. LoadPrivateKey takes ownership of
// the returned slice and zeroes it after use: return a fresh copy.
func WithPassword(fn func() ([]byte, error)) KeyOption {
	return func(c *keyConfig) { c.password = fn }
}

// WithPasswordEnv reads the password of an encrypted key from the
// environment variable name (cosign uses COSIGN_PASSWORD). A set but empty
// variable is the empty password, as in cosign; an unset one fails with
// ErrPasswordRequired.
func WithPasswordEnv(name string) KeyOption {
	return WithPassword(func() ([]byte, error) {
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil, fmt.Errorf("%w: environment variable %s is not set", ErrPasswordRequired, name)
		}
		return []byte(v), nil
	})
}

// WithAlgorithm picks the signature algorithm for the loaded key, e.g.
// RSAPSSSHA256 for an RSA key; the default is DefaultAlgorithm of the key.
func WithAlgorithm(alg Algorithm) KeyOption {
	return func(c *keyConfig) { c.alg = alg }
}

// LoadPrivateKeyFile reads a PEM private key file; see LoadPrivateKey.
func LoadPrivateKeyFile(path string, opts ...KeyOption) (*KeySigner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxPEMSize+1))
	if err != nil {
		return nil, fmt.Errorf("sign: reading %s: %w", path, err)
	}
	defer clear(b)
	ks, err := LoadPrivateKey(b, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// LoadPrivateKey parses a PEM private key and returns its signer. It reads
// the first PEM block that is not "EC PARAMETERS" (which OpenSSL writes
// before SEC1 keys):
//
//   - "PRIVATE KEY": PKCS#8 (RSA, ECDSA or Ed25519);
//   - "EC PRIVATE KEY": SEC1;
//   - "RSA PRIVATE KEY": PKCS#1;
//   - "ENCRYPTED SIGSTORE PRIVATE KEY" and "ENCRYPTED COSIGN PRIVATE KEY":
//     the files `cosign generate-key-pair` writes, decrypted with the
//     password from WithPassword or WithPasswordEnv (ErrPasswordRequired
//     without one, ErrWrongPassword when it does not decrypt).
//
// Legacy OpenSSL-encrypted PEM ("Proc-Type: 4,ENCRYPTED") and PKCS#8
// "ENCRYPTED PRIVATE KEY" are refused with ErrUnsupportedKey. Errors never
// include key bytes.
func LoadPrivateKey(pemBytes []byte, opts ...KeyOption) (*KeySigner, error) {
	var cfg keyConfig
	for _, o := range opts {
		o(&cfg)
	}
	if len(pemBytes) > MaxPEMSize {
		return nil, fmt.Errorf("%w: key file is over %d bytes", ErrTooLarge, MaxPEMSize)
	}
	block, rest := pem.Decode(pemBytes)
	for block != nil && block.Type == "EC PARAMETERS" {
		block, rest = pem.Decode(rest)
	}
	if block == nil {
		return nil, ErrNoPEM
	}
	defer clear(block.Bytes)
	if _, encryptedPEM := block.Headers["Proc-Type"]; encryptedPEM {
		return nil, fmt.Errorf("%w: legacy encrypted PEM (Proc-Type header) is insecure; re-encrypt the key with cosign or store it unencrypted in a secret store", ErrUnsupportedKey)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case pemTypePKCS8:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case pemTypeSEC1:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case pemTypePKCS1:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case PEMTypeEncryptedSigstore, PEMTypeEncryptedCosign:
		key, err = decryptSigstoreKey(block.Bytes, cfg.password)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: PKCS#8 encrypted keys are not supported; use a cosign key file", ErrUnsupportedKey)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrUnsupportedKey, block.Type)
	}
	if err != nil {
		if errors.Is(err, ErrPasswordRequired) || errors.Is(err, ErrWrongPassword) || errors.Is(err, ErrMalformedKey) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformedKey, block.Type, err)
	}
	priv, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupportedKey, key)
	}
	switch priv.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupportedKey, key)
	}
	return NewKeySigner(priv, WithAlgorithm(cfg.alg))
}

// decryptSigstoreKey opens cosign's encrypted key body and parses the PKCS#8
// DER inside. The password and the plaintext DER are zeroed after use.
func decryptSigstoreKey(body []byte, password func() ([]byte, error)) (any, error) {
	if password == nil {
		return nil, ErrPasswordRequired
	}
	pw, err := password()
	if err != nil {
		if errors.Is(err, ErrPasswordRequired) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: password callback: %w", ErrPasswordRequired, err)
	}
	defer clear(pw)
	der, err := encrypted.Decrypt(body, pw)
	if err != nil {
		// encrypted.Decrypt reports a failed secretbox Open (wrong password
		// or tampered ciphertext) with this message; anything else is a
		// malformed container (bad JSON, unknown KDF or cipher, bad params).
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("%w: encrypted key container: %v", ErrMalformedKey, err)
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypted key is not PKCS#8: %v", ErrMalformedKey, err)
	}
	return key, nil
}

// MarshalPrivateKey encodes priv as PEM. With a nil password it writes an
// unencrypted PKCS#8 "PRIVATE KEY"; otherwise a cosign-compatible
// "ENCRYPTED SIGSTORE PRIVATE KEY" (scrypt + NaCl secretbox around PKCS#8),
// which `cosign sign --key` reads. An empty, non-nil password encrypts with
// the empty password, as cosign does.
func MarshalPrivateKey(priv crypto.Signer, password []byte) ([]byte, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrUnsupportedKey)
	}
	if _, err := DefaultAlgorithm(priv.Public()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %T cannot be written as PKCS#8", ErrUnsupportedKey, priv)
	}
	defer clear(der)
	if password == nil {
		return pem.EncodeToMemory(&pem.Block{Type: pemTypePKCS8, Bytes: der}), nil
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("sign: encrypting private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMTypeEncryptedSigstore, Bytes: enc}), nil
}

// KeyPairFiles names the files WriteKeyPair wrote.
type KeyPairFiles struct {
	PrivateKey string // dir/name.key, mode 0600
	PublicKey  string // dir/name.pub, mode 0644
}

// WriteKeyPair writes the key of s to dir/name.key (mode 0600; encrypted as
// by MarshalPrivateKey when password is non-nil) and its public key to
// dir/name.pub (PEM PKIX), the layout of `cosign generate-key-pair` with
// name "cosign". It never overwrites: an existing file fails with an error
// matching fs.ErrExist. name must be a plain file name.
func WriteKeyPair(dir, name string, s *KeySigner, password []byte) (KeyPairFiles, error) {
	if s == nil || s.priv == nil {
		return KeyPairFiles{}, errors.New("sign: WriteKeyPair: nil signer")
	}
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return KeyPairFiles{}, fmt.Errorf("sign: WriteKeyPair: invalid key name %q: %w", name, os.ErrInvalid)
	}
	privPEM, err := MarshalPrivateKey(s.priv, password)
	if err != nil {
		return KeyPairFiles{}, err
	}
	defer clear(privPEM)
	pubPEM, err := MarshalPublicKey(s.pub)
	if err != nil {
		return KeyPairFiles{}, err
	}
	files := KeyPairFiles{PrivateKey: filepath.Join(dir, name+".key"), PublicKey: filepath.Join(dir, name+".pub")}
	if err := writeNew(files.PrivateKey, privPEM, 0o600); err != nil {
		return KeyPairFiles{}, err
	}
	if err := writeNew(files.PublicKey, pubPEM, 0o644); err != nil {
		os.Remove(files.PrivateKey)
		return KeyPairFiles{}, err
	}
	return files, nil
}

// writeNew creates path (failing if it exists), writes data and syncs it.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("sign: writing %s: %w", path, err)
	}
	return nil
}
