package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
)

// DefaultMaxSignatures bounds how many signatures one envelope may carry;
// each is tried against every trusted key, so the bound caps the work an
// attacker-supplied envelope can cause.
const DefaultMaxSignatures = 16

// Option configures a Verifier.
type Option func(*config) error

type config struct {
	keys          []sign.Verifier
	threshold     int
	payloadType   string
	maxSize       int
	maxSignatures int
}

// WithKeys trusts signatures made by these verifiers' keys. Use
// sign.NewVerifier for a public key, or kms.NewVerifier for a KMS key.
func WithKeys(keys ...sign.Verifier) Option {
	return func(c *config) error {
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
func WithPublicKeys(pubs ...crypto.PublicKey) Option {
	return func(c *config) error {
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
func WithPublicKeyPEM(pems ...[]byte) Option {
	return func(c *config) error {
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
func WithThreshold(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("verify: threshold %d < 1", n)
		}
		c.threshold = n
		return nil
	}
}

// WithPayloadType sets the payload type the envelope must carry. The
// default is sign.PayloadTypeInToto.
func WithPayloadType(t string) Option {
	return func(c *config) error { c.payloadType = t; return nil }
}

// WithMaxSize sets the largest serialized envelope accepted, in bytes.
func WithMaxSize(n int) Option {
	return func(c *config) error { c.maxSize = n; return nil }
}

// Verifier checks DSSE envelopes against trusted keys and the statements
// inside them against expectations. It is safe for concurrent use.
type Verifier struct {
	cfg config
	ids []string // PublicKeyID of each key, parallel to cfg.keys
}

// New returns a Verifier. At least one key is required.
func New(opts ...Option) (*Verifier, error) {
	cfg := config{
		threshold:     1,
		payloadType:   sign.PayloadTypeInToto,
		maxSize:       sign.DefaultMaxEnvelopeSize,
		maxSignatures: DefaultMaxSignatures,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if len(cfg.keys) == 0 {
		return nil, ErrNoKeys
	}
	v := &Verifier{cfg: cfg, ids: make([]string, len(cfg.keys))}
	for i, k := range cfg.keys {
		id, err := sign.PublicKeyID(k.Public())
		if err != nil {
			return nil, fmt.Errorf("verify: key %d: %w", i, err)
		}
		v.ids[i] = id
	}
	if distinct(v.ids) < cfg.threshold {
		return nil, fmt.Errorf("verify: threshold %d is more than the %d distinct keys configured", cfg.threshold, distinct(v.ids))
	}
	return v, nil
}

func distinct(ids []string) int {
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	return len(seen)
}

// Expectations are what the statement must say. Empty fields are not
// checked (their checks are reported as skipped).
type Expectations struct {
	// SubjectDigest must match one subject of the statement: every algorithm
	// the two digest sets share must agree, and they must share a strong
	// one (intoto.DigestSet.MatchesStrong). It must validate and hold a
	// strong algorithm itself; hex values may be in either case.
	// Get it with provenance.HashFile or provenance.HashReader.
	SubjectDigest provenance.DigestSet
	// PredicateType is the exact predicate type URI, e.g.
	// provenance.PredicateSLSAProvenanceV1.
	PredicateType string
	// BuilderID is the exact builder.id of SLSA provenance.
	BuilderID string
	// BuildType is the exact buildType of SLSA provenance.
	BuildType string
}

// Verify parses a serialized DSSE envelope and verifies it; see
// VerifyEnvelope.
func (v *Verifier) Verify(ctx context.Context, envelope []byte, want Expectations) (*Result, error) {
	r := &Result{}
	if len(envelope) > v.cfg.maxSize {
		r.fail("envelope", "", "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(envelope), v.cfg.maxSize))
		return r, r.Err()
	}
	env, err := sign.ParseEnvelope(envelope, sign.WithMaxSize(v.cfg.maxSize))
	if err != nil {
		sentinel := ErrMalformed
		if errors.Is(err, sign.ErrTooLarge) {
			sentinel = ErrTooLarge
		}
		r.fail("envelope", "", "", fmt.Errorf("%w: %w", sentinel, err))
		return r, r.Err()
	}
	return v.VerifyEnvelope(ctx, env, want)
}

// VerifyEnvelope verifies env in this order, and trusts nothing it has not
// checked yet: payload type; signatures by at least the threshold of
// distinct trusted keys; only then the statement is parsed and its
// predicate type, subject digest, builder ID and build type are compared
// with want. The Result lists every check; the error joins a CheckError for
// each failure, so errors.Is works for each sentinel.
func (v *Verifier) VerifyEnvelope(ctx context.Context, env *sign.Envelope, want Expectations) (*Result, error) {
	r := &Result{Envelope: env}
	if env == nil {
		r.fail("envelope", "", "", fmt.Errorf("%w: nil envelope", ErrMalformed))
		return r, r.Err()
	}
	r.pass("envelope", "", "")

	if env.PayloadType != v.cfg.payloadType {
		r.fail("payloadType", v.cfg.payloadType, env.PayloadType, ErrPayloadType)
	} else {
		r.pass("payloadType", v.cfg.payloadType, env.PayloadType)
	}
	v.checkSignatures(ctx, r, env)
	if err := r.Err(); err != nil {
		// Never read an unauthenticated payload.
		for _, name := range statementChecks {
			r.skip(name, "signature not verified")
		}
		return r, err
	}
	checkStatement(r, env.Payload, want, v.cfg.maxSize)
	return r, r.Err()
}

var statementChecks = []string{"statement", "predicateType", "subject", "builder", "buildType"}

func (v *Verifier) checkSignatures(ctx context.Context, r *Result, env *sign.Envelope) {
	want := fmt.Sprintf("%d of %d trusted keys", v.cfg.threshold, distinct(v.ids))
	if len(env.Signatures) > v.cfg.maxSignatures {
		r.fail("signature", want, fmt.Sprintf("%d signatures", len(env.Signatures)),
			fmt.Errorf("%w: %d signatures, limit %d", ErrMalformed, len(env.Signatures), v.cfg.maxSignatures))
		return
	}
	pae := env.PAE()
	signed := map[string]bool{} // distinct trusted key IDs with a valid signature
	for _, s := range env.Signatures {
		for i, k := range v.cfg.keys {
			if signed[v.ids[i]] {
				continue
			}
			if err := ctx.Err(); err != nil {
				r.fail("signature", want, "", err)
				return
			}
			if k.Verify(ctx, pae, s.Sig) == nil {
				signed[v.ids[i]] = true
				r.Signers = append(r.Signers, v.ids[i])
				break
			}
		}
	}
	got := fmt.Sprintf("%d trusted signer(s)", len(signed))
	switch {
	case len(signed) == 0:
		r.fail("signature", want, got, ErrSignature)
	case len(signed) < v.cfg.threshold:
		r.fail("signature", want, got, ErrThreshold)
	default:
		r.pass("signature", want, got+": "+strings.Join(r.Signers, ", "))
	}
}
