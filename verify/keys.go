package verify

import (
	"context"
	"crypto"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// DefaultMaxSignatures bounds how many signatures one envelope may carry;
// each is tried against every trusted key, so the bound caps the work an
// attacker-supplied envelope can cause.
const DefaultMaxSignatures = 16

// KeyOption configures Keys.
type KeyOption func(*keyConfig) error

type keyConfig struct {
	keys          []sign.Verifier
	threshold     int
	maxSignatures int
}

// WithKeys trusts signatures made by these verifiers' keys. Use
// sign.NewVerifier for a public key, or kms.NewVerifier for a KMS key.
func WithKeys(keys ...sign.Verifier) KeyOption {
	return func(c *keyConfig) error {
		for i, k := range keys {
			if k == nil {
				return fmt.Errorf("verify: key %d is nil", i)
			}
		}
		c.keys = append(c.keys, keys...)
		return nil
	}
}

// WithPublicKeys trusts these public keys with their default algorithm
// (ECDSA by curve, Ed25519, RSA PKCS#1 v1.5 SHA-256). For RSA-PSS build the
// verifier with sign.NewVerifier and pass it to WithKeys.
func WithPublicKeys(pubs ...crypto.PublicKey) KeyOption {
	return func(c *keyConfig) error {
		for i, p := range pubs {
			v, err := sign.NewVerifier(p, "")
			if err != nil {
				return fmt.Errorf("verify: public key %d: %w", i, err)
			}
			c.keys = append(c.keys, v)
		}
		return nil
	}
}

// WithPublicKeyPEM trusts the PEM-encoded public keys (PKIX "PUBLIC KEY" or
// a certificate), as written by cosign generate-key-pair or quickstart.
func WithPublicKeyPEM(pems ...[]byte) KeyOption {
	return func(c *keyConfig) error {
		for i, p := range pems {
			pub, err := sign.LoadPublicKey(p)
			if err != nil {
				return fmt.Errorf("verify: PEM key %d: %w", i, err)
			}
			if err := WithPublicKeys(pub)(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// WithThreshold requires signatures by at least n distinct trusted keys.
// The default is 1.
func WithThreshold(n int) KeyOption {
	return func(c *keyConfig) error {
		if n < 1 {
			return fmt.Errorf("verify: threshold %d < 1", n)
		}
		c.threshold = n
		return nil
	}
}

// KeyAuthenticator is the Authenticator of trusted keys: an attestation's
// DSSE envelope must carry valid signatures by at least a threshold of
// distinct trusted keys (a key counts once however often it signed; keyid
// hints are ignored). Build it with Keys. It is safe for concurrent use.
type KeyAuthenticator struct {
	keys          []sign.Verifier
	ids           []string // PublicKeyID of each key, parallel to keys
	threshold     int
	distinct      int
	maxSignatures int
}

// Keys returns the Authenticator of the keys given with WithKeys,
// WithPublicKeys or WithPublicKeyPEM (at least one, else ErrNoKeys), with
// WithThreshold's threshold (default 1, at most the number of distinct
// keys).
func Keys(opts ...KeyOption) (*KeyAuthenticator, error) {
	cfg := keyConfig{threshold: 1, maxSignatures: DefaultMaxSignatures}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if len(cfg.keys) == 0 {
		return nil, ErrNoKeys
	}
	k := &KeyAuthenticator{keys: cfg.keys, ids: make([]string, len(cfg.keys)),
		threshold: cfg.threshold, maxSignatures: cfg.maxSignatures}
	seen := map[string]bool{}
	for i, v := range cfg.keys {
		id, err := sign.PublicKeyID(v.Public())
		if err != nil {
			return nil, fmt.Errorf("verify: key %d: %w", i, err)
		}
		k.ids[i] = id
		seen[id] = true
	}
	k.distinct = len(seen)
	if k.distinct < k.threshold {
		return nil, fmt.Errorf("verify: threshold %d is more than the %d distinct keys configured", k.threshold, k.distinct)
	}
	return k, nil
}

// String says what the authenticator asks for, e.g. "2 of 3 trusted keys".
func (k *KeyAuthenticator) String() string {
	return fmt.Sprintf("%d of %d trusted keys", k.threshold, k.distinct)
}

// Authenticate verifies the signatures of att's envelope (of its bundle's
// envelope when it has no other, which verifies the bundle's signature and
// nothing else of it: no log entry, no timestamp) with the trusted keys.
// It fails with ErrMalformed when there is no envelope or it carries more
// than DefaultMaxSignatures signatures, ErrSignature when no trusted key
// signed, ErrThreshold when fewer than the threshold did, and ctx's error
// when ctx is done. subject is not used: Verify checks the statement's.
func (k *KeyAuthenticator) Authenticate(ctx context.Context, att *sign.Attestation, _ intoto.DigestSet) (*Authenticated, error) {
	env := presented(att)
	if env == nil {
		return nil, fmt.Errorf("%w: no DSSE envelope to verify with keys", ErrMalformed)
	}
	if len(env.Signatures) > k.maxSignatures {
		return nil, fmt.Errorf("%w: %d signatures, limit %d", ErrMalformed, len(env.Signatures), k.maxSignatures)
	}
	pae := env.PAE()
	signed := map[string]bool{} // distinct trusted key IDs with a valid signature
	var signers []Signer
	for _, s := range env.Signatures {
		for i, v := range k.keys {
			if signed[k.ids[i]] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if v.Verify(ctx, pae, s.Sig) == nil {
				signed[k.ids[i]] = true
				signers = append(signers, Signer{KeyID: k.ids[i]})
				break
			}
		}
	}
	switch {
	case len(signed) == 0:
		return nil, fmt.Errorf("%w: none of %d signature(s) is by a trusted key", ErrSignature, len(env.Signatures))
	case len(signed) < k.threshold:
		ids := make([]string, len(signers))
		for i, s := range signers {
			ids[i] = s.KeyID
		}
		return nil, fmt.Errorf("%w: %d trusted signer(s) (%s), %d required", ErrThreshold, len(signed), strings.Join(ids, ", "), k.threshold)
	}
	return &Authenticated{Envelope: env, Signers: signers}, nil
}
