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
// distinct trusted signers (a signer counts once however often it signed;
// keyid hints are ignored). A signer is one key, or every version of a
// rotated key (sign.VersionedVerifier); keys configured twice, also as a
// version of another, count once. Build it with Keys. It is safe for
// concurrent use.
type KeyAuthenticator struct {
	keys          []trustedKey
	threshold     int
	distinct      int // number of signers (groups)
	maxSignatures int
}

// trustedKey is one public key a signature is tried against.
type trustedKey struct {
	v     sign.Verifier
	id    string // sign.PublicKeyID of its public key
	group int    // the signer it belongs to, 0..distinct-1
}

// Keys returns the Authenticator of the keys given with WithKeys,
// WithPublicKeys or WithPublicKeyPEM (at least one, else ErrNoKeys), with
// WithThreshold's threshold (default 1, at most the number of distinct
// signers).
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
	k := &KeyAuthenticator{threshold: cfg.threshold, maxSignatures: cfg.maxSignatures}
	// Union the configured verifiers that share a public key: each group
	// is one signer. parent is indexed by configured verifier.
	parent := make([]int, len(cfg.keys))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{} // public key ID -> first configured verifier holding it
	type flat struct {
		v     sign.Verifier
		id    string
		owner int
	}
	var all []flat
	for i, v := range cfg.keys {
		versions := []sign.Verifier{v}
		if vv, ok := v.(sign.VersionedVerifier); ok {
			versions = vv.Versions()
		}
		for j, kv := range versions {
			id, err := sign.PublicKeyID(kv.Public())
			if err != nil {
				return nil, fmt.Errorf("verify: key %d version %d: %w", i, j, err)
			}
			if o, seen := owner[id]; seen {
				// The same public key (perhaps with another algorithm):
				// the same signer.
				parent[find(i)] = find(o)
			} else {
				owner[id] = i
			}
			all = append(all, flat{kv, id, i})
		}
	}
	groups := map[int]int{} // root -> group number
	for _, f := range all {
		r := find(f.owner)
		g, ok := groups[r]
		if !ok {
			g = len(groups)
			groups[r] = g
		}
		k.keys = append(k.keys, trustedKey{v: f.v, id: f.id, group: g})
	}
	k.distinct = len(groups)
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
	signed := map[int]bool{} // signers (groups) with a valid signature
	var signers []Signer
	for _, s := range env.Signatures {
		for _, tk := range k.keys {
			if signed[tk.group] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if tk.v.Verify(ctx, pae, s.Sig) == nil {
				signed[tk.group] = true
				signers = append(signers, Signer{KeyID: tk.id})
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
