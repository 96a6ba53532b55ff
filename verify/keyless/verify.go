package keyless

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// DefaultMaxBundleSize is the largest bundle Verify accepts unless told
// otherwise: 32 MiB.
const DefaultMaxBundleSize = 32 << 20

// Option configures NewVerifier.
type Option func(*config) error

type config struct {
	trusted    []root.TrustedMaterial
	hasRoot    bool
	pubKey     crypto.PublicKey
	identities []matcher
	tlog       int
	tlogSet    bool
	tsa        int
	sct        int // -1: default (1 if the root has CT logs)
	maxSize    int
	now        func() time.Time
}

// WithTrustedRootFile trusts the Sigstore trusted_root.json at path
// (offline).
func WithTrustedRootFile(path string) Option {
	return func(c *config) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w: trusted root: %v", ErrConfig, err)
		}
		return WithTrustedRootJSON(b)(c)
	}
}

// WithTrustedRootJSON trusts a trusted_root.json document (offline).
func WithTrustedRootJSON(data []byte) Option {
	return func(c *config) error {
		tr, err := root.NewTrustedRootFromJSON(data)
		if err != nil {
			return fmt.Errorf("%w: trusted root: %v", ErrConfig, err)
		}
		c.trusted = append(c.trusted, tr)
		c.hasRoot = true
		return nil
	}
}

// WithTrustedMaterial trusts sigstore-go trusted material (a TrustedRoot
// or a LiveTrustedRoot, for example).
func WithTrustedMaterial(tm root.TrustedMaterial) Option {
	return func(c *config) error {
		if tm == nil {
			return fmt.Errorf("%w: nil trusted material", ErrConfig)
		}
		c.trusted = append(c.trusted, tm)
		c.hasRoot = true
		return nil
	}
}

// WithTUF fetches the trusted root over TUF (online) when NewVerifier runs:
// nil options mean the Sigstore public-good TUF repository
// (tuf.DefaultOptions, cached under the user's home).
func WithTUF(opts *tuf.Options) Option {
	return func(c *config) error {
		if opts == nil {
			opts = tuf.DefaultOptions()
		}
		tr, err := root.FetchTrustedRootWithOptions(opts)
		if err != nil {
			return fmt.Errorf("%w: fetching trusted root over TUF: %v", ErrConfig, err)
		}
		c.trusted = append(c.trusted, tr)
		c.hasRoot = true
		return nil
	}
}

// WithIdentity adds an accepted signer identity; a certificate must match
// one of them. Required for certificate-signed bundles. Exactly one of
// Issuer and IssuerRegexp and one of Subject (the certificate's SAN) and
// SubjectRegexp must be set; regular expressions must match the whole
// value; every Fulcio extension field set must match exactly.
func WithIdentity(id verify.Identity) Option {
	return func(c *config) error {
		m, err := compileIdentity(id)
		if err != nil {
			return err
		}
		c.identities = append(c.identities, m)
		return nil
	}
}

// WithPublicKey trusts a public key for key-signed bundles (public-key
// hint as verification material). Such bundles need no trusted root unless
// they carry log entries or timestamps.
func WithPublicKey(pub crypto.PublicKey) Option {
	return func(c *config) error {
		if _, err := sign.DefaultAlgorithm(pub); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		c.pubKey = pub
		return nil
	}
}

// WithTlogThreshold sets how many verified transparency log entries a
// bundle needs, from distinct logs: 0 for none, for bundles with
// timestamps only. The default is 1 with a trusted root, 0 with only a
// public key (there is no log to trust). A Rekor v1 entry counts by its
// signed entry timestamp or its inclusion proof, a Rekor v2 entry by its
// inclusion proof and signed checkpoint; only v1 entries give a time.
func WithTlogThreshold(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative threshold", ErrConfig)
		}
		c.tlog, c.tlogSet = n, true
		return nil
	}
}

// WithSignedTimestampThreshold sets how many verified RFC 3161 timestamps a
// bundle needs (default 0). Independently of it, a certificate-signed
// bundle always needs at least one verified time — a log entry's
// integrated time or a signed timestamp — inside the certificate validity.
func WithSignedTimestampThreshold(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative threshold", ErrConfig)
		}
		c.tsa = n
		return nil
	}
}

// WithSCTThreshold sets how many verified signed certificate timestamps
// (embedded SCTs) a certificate needs. The default is 1 when the trusted
// root lists CT logs (as the public-good root does), else 0.
func WithSCTThreshold(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative threshold", ErrConfig)
		}
		c.sct = n
		return nil
	}
}

// WithMaxBundleSize sets the largest bundle accepted, in bytes.
func WithMaxBundleSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: size must be positive", ErrConfig)
		}
		c.maxSize = n
		return nil
	}
}

// WithClock sets the clock that verified signing times are judged against
// (default time.Now): a log entry's integrated time or a signed timestamp
// later than now + verify.ClockSkew fails the bundle. A policy engine
// passes its own clock (see Identities).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		c.now = now
		return nil
	}
}

// Verifier verifies Sigstore bundles (v0.1 to v0.3) holding a DSSE
// envelope (an attestation) or a message signature (a blob signature, as
// cosign sign-blob writes). It is safe for concurrent use.
type Verifier struct {
	cfg      config
	certV    *sgverify.Verifier // certificate-signed bundles
	keyV     *sgverify.Verifier // key-signed bundles
	hasCerts bool
}

// NewVerifier returns a Verifier. It needs a trust anchor (a trusted root or
// a public key) and, to accept certificate-signed bundles, at least one
// identity.
//
// What a bundle needs by default: with a trusted root, one verified
// transparency log entry (Rekor v1 or v2; WithTlogThreshold) and, when it
// is certificate-signed, at least one verified time of signing inside the
// certificate's validity — a Rekor v1 entry's integrated time or an RFC
// 3161 timestamp (WithSignedTimestampThreshold asks for timestamps
// specifically). So a bundle logged only in Rekor v2 needs a timestamp, and
// a bundle with timestamps only (no log entry) needs WithTlogThreshold(0).
// A key-signed bundle under a policy that asks for no log and no timestamp
// needs no time. A bundle without the time it needs fails with ErrNoTime.
func NewVerifier(opts ...Option) (*Verifier, error) {
	cfg := config{tlog: 1, sct: -1, maxSize: DefaultMaxBundleSize, now: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if !cfg.hasRoot && cfg.pubKey == nil {
		return nil, fmt.Errorf("%w: no trusted root and no public key", ErrConfig)
	}
	if cfg.hasRoot && cfg.pubKey == nil && len(cfg.identities) == 0 {
		return nil, fmt.Errorf("%w: no identity to expect (WithIdentity)", ErrConfig)
	}
	if !cfg.hasRoot && !cfg.tlogSet {
		cfg.tlog = 0
	}
	v := &Verifier{cfg: cfg}
	tms := append(root.TrustedMaterialCollection{}, cfg.trusted...)
	if cfg.pubKey != nil {
		kv, err := signature.LoadVerifier(cfg.pubKey, hashFor(cfg.pubKey))
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %v", ErrConfig, err)
		}
		key := root.NewExpiringKey(kv, time.Time{}, time.Time{})
		tms = append(tms, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return key, nil
		}))
	}

	base := []sgverify.VerifierOption{}
	if cfg.tlog > 0 {
		base = append(base, sgverify.WithTransparencyLog(cfg.tlog))
	}
	if cfg.tsa > 0 {
		base = append(base, sgverify.WithSignedTimestamps(cfg.tsa))
	}
	if cfg.hasRoot && len(cfg.identities) > 0 {
		sct := cfg.sct
		if sct < 0 {
			sct = 0
			if len(tms.CTLogs()) > 0 {
				sct = 1
			}
		}
		opts := append([]sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}, base...)
		if sct > 0 {
			opts = append(opts, sgverify.WithSignedCertificateTimestamps(sct))
		}
		cv, err := sgverify.NewVerifier(tms, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		v.certV, v.hasCerts = cv, true
	}
	if cfg.pubKey != nil {
		opts := append([]sgverify.VerifierOption{}, base...)
		if cfg.tlog == 0 && cfg.tsa == 0 {
			opts = append(opts, sgverify.WithNoObserverTimestamps())
		} else {
			opts = append(opts, sgverify.WithObserverTimestamps(1))
		}
		kv, err := sgverify.NewVerifier(tms, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		v.keyV = kv
	}
	return v, nil
}

// VerifyOption states what the caller expects of the bundle's content.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	digests []digest
	any     bool
}

type digest struct{ alg, hex string }

// WithArtifactDigest requires a statement subject with this digest (for
// example "sha256" and the hex of an image digest). The algorithm must be
// a strong one spelled as in-toto does ("sha256", not "SHA256"; see
// intoto.Strong), else Verify fails with ErrConfig. Repeat it to require
// several artifacts.
func WithArtifactDigest(algorithm, hexDigest string) VerifyOption {
	return func(c *verifyConfig) {
		c.digests = append(c.digests, digest{algorithm, strings.ToLower(hexDigest)})
	}
}

// WithAnyArtifact accepts the statement whatever its subjects: the caller
// checks Result.Statement itself.
func WithAnyArtifact() VerifyOption { return func(c *verifyConfig) { c.any = true } }

// Result is what a verified bundle says. Every field comes from verified
// data.
type Result struct {
	// Envelope is the verified DSSE envelope, nil for a message
	// signature.
	Envelope *sign.Envelope
	// Statement is the envelope's in-toto statement, nil for a message
	// signature. Its Provenance is set when the predicate is SLSA
	// provenance that parses; Verify does not check the predicate.
	Statement *provenance.Statement
	// Artifact is, for a message signature (a blob), the digest the
	// signature was verified over: the WithArtifactDigest of the
	// bundle's digest algorithm. Nil for a DSSE envelope.
	Artifact intoto.DigestSet
	// Signer is the certificate identity; nil for key-signed bundles.
	Signer *SignerIdentity
	// KeyID is the public-key hint of a key-signed bundle.
	KeyID string
	// Timestamps are the verified times of signing: log integrated times
	// and RFC 3161 timestamps.
	Timestamps []Timestamp
}

// Timestamp is a verified time of signing.
type Timestamp struct {
	// Type is "Tlog" or "TimestampAuthority".
	Type string
	// URI names the log or authority.
	URI  string
	Time time.Time
}

// Verify checks raw (a bundle's JSON) against the trust anchors, the
// thresholds and the identity policy, and the statement against the
// expected artifact digests (at least one WithArtifactDigest, or
// WithAnyArtifact, is required). A message-signature bundle is verified
// over the artifact's digest: it needs the WithArtifactDigest of the
// algorithm its messageDigest names (WithAnyArtifact does not do; the
// bundle's own digest is a hint, never trusted), and a signature that does
// not verify over it fails with ErrSignature. ctx is checked before the work starts;
// verification itself is offline.
func (v *Verifier) Verify(ctx context.Context, raw []byte, opts ...VerifyOption) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var vc verifyConfig
	for _, o := range opts {
		if o != nil {
			o(&vc)
		}
	}
	if len(vc.digests) == 0 && !vc.any {
		return nil, fmt.Errorf("%w: no expected artifact digest (WithArtifactDigest or WithAnyArtifact)", ErrConfig)
	}
	for _, d := range vc.digests {
		if !intoto.Strong(d.alg, d.hex) {
			return nil, fmt.Errorf("%w: expected artifact digest %s:%s is not a strong digest (sha256, sha384, sha512, ...)", ErrConfig, d.alg, d.hex)
		}
	}
	if len(raw) > v.cfg.maxSize {
		return nil, fmt.Errorf("%w: bundle is %d bytes, limit %d", ErrBundle, len(raw), v.cfg.maxSize)
	}
	if err := strictjson.Check(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	// A message signature (a blob) is verified for the artifact's digest;
	// a DSSE envelope for its payload, whose subject is checked below.
	artifact := sgverify.WithoutArtifactUnsafe()
	var dsse *dssepb.Envelope
	var blob intoto.DigestSet
	keyID := ""
	if ms := b.GetMessageSignature(); ms != nil {
		d, err := messageArtifact(ms, vc)
		if err != nil {
			return nil, err
		}
		raw, _ := hex.DecodeString(d.hex) // hex validated by intoto.Strong above
		artifact = sgverify.WithArtifactDigest(d.alg, raw)
		blob = intoto.DigestSet{d.alg: d.hex}
	} else {
		dsse = b.GetDsseEnvelope()
		if dsse == nil {
			return nil, fmt.Errorf("%w: neither a DSSE envelope nor a message signature", ErrBundle)
		}
		if len(dsse.Signatures) != 1 {
			return nil, fmt.Errorf("%w: envelope has %d signatures, want 1", ErrBundle, len(dsse.Signatures))
		}
		// The keyid is an unsigned hint. sigstore-go (through
		// go-securesystemslib) skips a signature whose keyid differs from
		// the SSH fingerprint it computes, so bundles written with another
		// keyid convention (sign.PublicKeyID) would never verify: clear it,
		// and report the original in the result.
		keyID = dsse.Signatures[0].Keyid
		dsse.Signatures[0].Keyid = ""
	}
	keySigned := b.VerificationMaterial.GetPublicKey() != nil
	var sv *sgverify.Verifier
	policy := []sgverify.PolicyOption{}
	switch {
	case keySigned && v.keyV == nil:
		return nil, fmt.Errorf("%w: bundle is signed by a key, not a certificate, and no public key is trusted", ErrIdentity)
	case keySigned:
		sv = v.keyV
		policy = append(policy, sgverify.WithKey())
	case !v.hasCerts:
		return nil, fmt.Errorf("%w: bundle is signed by a certificate and no trusted root and identity are configured", ErrIdentity)
	default:
		sv = v.certV
		policy = append(policy, sgverify.WithoutIdentitiesUnsafe()) // matched below, with typed errors
	}
	res, err := sv.Verify(&b, sgverify.NewPolicy(artifact, policy...))
	if err != nil {
		err = classify(err)
		if errors.Is(err, ErrCertificate) && certExpired(sv, &b) {
			err = fmt.Errorf("%w: %w", ErrCertificateExpired, err)
		}
		return nil, err
	}

	out := &Result{}
	seen := map[Timestamp]bool{}
	now := v.cfg.now()
	for _, ts := range res.VerifiedTimestamps {
		t := Timestamp{Type: ts.Type, URI: ts.URI, Time: ts.Timestamp}
		if seen[t] { // sigstore-go reports a signed timestamp once per check
			continue
		}
		seen[t] = true
		// sigstore-go checks the certificate at these times but not that
		// they have happened: a log or timestamp authority that signs a
		// future time (compromised, or with a wrong clock) would date the
		// signature inside a certificate's validity that has not begun.
		if err := verify.CheckTime(t.Type+" time", t.Time, now); err != nil {
			sentinel := ErrTimestamp
			if t.Type == "Tlog" {
				sentinel = ErrTlog
			}
			return nil, fmt.Errorf("%w: %w", sentinel, err)
		}
		out.Timestamps = append(out.Timestamps, t)
	}
	if keySigned {
		out.KeyID = b.VerificationMaterial.GetPublicKey().GetHint()
	} else {
		if res.Signature == nil || res.Signature.Certificate == nil {
			return nil, fmt.Errorf("%w: no verified certificate", ErrCertificate)
		}
		sum := *res.Signature.Certificate
		matched, err := matchIdentities(v.cfg.identities, sum)
		if err != nil {
			return nil, err
		}
		vc, err := b.VerificationContent()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBundle, err)
		}
		out.Signer = &SignerIdentity{Issuer: sum.Extensions.Issuer, SAN: sum.SubjectAlternativeName,
			Extensions: sum.Extensions, Certificate: vc.Certificate(), Matched: *matched}
	}

	if dsse == nil {
		out.Artifact = blob
		return out, nil
	}
	// The envelope is the one sigstore-go verified.
	env := &sign.Envelope{PayloadType: dsse.PayloadType, Payload: dsse.Payload,
		Signatures: []sign.Signature{{KeyID: keyID, Sig: dsse.Signatures[0].Sig}}}
	out.Envelope = env
	if env.PayloadType != sign.PayloadTypeInToto {
		return nil, fmt.Errorf("%w: payload type %q is not an in-toto statement", ErrArtifact, env.PayloadType)
	}
	// Only the statement layer decides: which artifacts the signature is
	// about. The predicate is read as SLSA provenance when it is one that
	// parses, for Result.Statement.Provenance; checking it is the caller's
	// step (verify.Verify's expectations, the policy engine), so a bundle
	// whose predicate does not follow a schema still verifies here.
	st, err := provenance.Parse(env.Payload)
	if err != nil {
		var serr error
		if st, serr = provenance.Parse(env.Payload, provenance.WithoutPredicate()); serr != nil {
			return nil, fmt.Errorf("%w: statement: %w", ErrArtifact, serr)
		}
		st.Normalized = append(st.Normalized, "predicate not read: "+err.Error())
	}
	out.Statement = st
	for _, d := range vc.digests {
		if !hasSubject(st, d) {
			return nil, fmt.Errorf("%w: no subject has %s:%s", ErrArtifact, d.alg, d.hex)
		}
	}
	return out, nil
}

// messageArtifact picks the expected digest a message signature is
// verified over: the one of the algorithm its messageDigest names.
func messageArtifact(ms *protocommon.MessageSignature, vc verifyConfig) (digest, error) {
	md := ms.GetMessageDigest()
	if md == nil || len(md.GetDigest()) == 0 {
		return digest{}, fmt.Errorf("%w: message signature without its message digest", ErrBundle)
	}
	alg := messageDigestAlg(md.GetAlgorithm())
	if alg == "" {
		return digest{}, fmt.Errorf("%w: message digest algorithm %v", ErrBundle, md.GetAlgorithm())
	}
	for _, d := range vc.digests {
		if d.alg == alg {
			return d, nil
		}
	}
	if vc.any && len(vc.digests) == 0 {
		return digest{}, fmt.Errorf("%w: a message signature is verified over its artifact: give its %s digest (WithArtifactDigest), not WithAnyArtifact", ErrConfig, alg)
	}
	return digest{}, fmt.Errorf("%w: the message signature is over the %s digest of its artifact, and none was given", ErrArtifact, alg)
}

// messageDigestAlg names a bundle's digest algorithm as in-toto does, ""
// for one that is not verified here.
func messageDigestAlg(h protocommon.HashAlgorithm) string {
	switch h {
	case protocommon.HashAlgorithm_SHA2_256:
		return intoto.AlgSHA256
	case protocommon.HashAlgorithm_SHA2_384:
		return "sha384"
	case protocommon.HashAlgorithm_SHA2_512:
		return "sha512"
	}
	return ""
}

// hasSubject uses intoto's strict match: the subject's digest set is valid
// and agrees with the expected strong digest.
func hasSubject(st *provenance.Statement, d digest) bool {
	want := intoto.DigestSet{d.alg: d.hex}
	for _, s := range st.Subjects {
		if s.Digest.MatchesStrong(want) {
			return true
		}
	}
	return false
}

// classify maps sigstore-go's verification errors, which are untyped, onto
// this package's sentinels by the step that failed.
func classify(err error) error {
	msg := err.Error()
	var inv x509.CertificateInvalidError
	switch {
	case strings.Contains(msg, "outside certificate validity"):
		return fmt.Errorf("%w: %w", ErrCertificateExpired, err)
	case strings.HasPrefix(msg, "failed to verify log inclusion"):
		return fmt.Errorf("%w: %w", ErrTlog, err)
	case strings.Contains(msg, "threshold not met for verified signed & log entry integrated timestamps"):
		return fmt.Errorf("%w: %w: the bundle needs a Rekor v1 entry's integrated time or an RFC 3161 timestamp (Rekor v2 entries carry no time): %w",
			ErrTimestamp, ErrNoTime, err)
	case strings.HasPrefix(msg, "failed to verify timestamps"):
		return fmt.Errorf("%w: %w", ErrTimestamp, err)
	case strings.HasPrefix(msg, "failed to verify leaf certificate"):
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return fmt.Errorf("%w: %w", ErrCertificateExpired, err)
		}
		return fmt.Errorf("%w: %w", ErrCertificate, err)
	case strings.HasPrefix(msg, "failed to verify signed certificate timestamp"):
		return fmt.Errorf("%w: %w", ErrSCT, err)
	case strings.HasPrefix(msg, "failed to verify signature"),
		strings.HasPrefix(msg, "failed to get signature verifier"):
		return fmt.Errorf("%w: %w", ErrSignature, err)
	case strings.Contains(msg, "expected key signature"):
		return fmt.Errorf("%w: %w", ErrIdentity, err)
	case strings.Contains(msg, "public key validity window"):
		return fmt.Errorf("%w: %w", ErrSignature, err)
	default:
		return fmt.Errorf("%w: %w", ErrBundle, err)
	}
}

// certExpired reports whether the bundle's verified times (which sigstore-go
// does not return when the certificate check fails) all fall outside the
// leaf certificate's validity.
func certExpired(sv *sgverify.Verifier, b *bundle.Bundle) bool {
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return false
	}
	logTimes, err := sv.VerifyTransparencyLogInclusion(b)
	if err != nil {
		return false
	}
	times, err := sv.VerifyObserverTimestamps(b, logTimes)
	if err != nil || len(times) == 0 {
		return false
	}
	leaf := vc.Certificate()
	for _, t := range times {
		if !t.Timestamp.Before(leaf.NotBefore) && !t.Timestamp.After(leaf.NotAfter) {
			return false
		}
	}
	return true
}

func hashFor(pub crypto.PublicKey) crypto.Hash {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		switch k.Curve {
		case elliptic.P384():
			return crypto.SHA384
		case elliptic.P521():
			return crypto.SHA512
		}
	}
	return crypto.SHA256
}

// The verifier is the verify package's Authenticator of Sigstore bundles.
var _ verify.Authenticator = (*Verifier)(nil)

// String says what the verifier trusts, for verify's reports.
func (v *Verifier) String() string {
	return "a Sigstore bundle by a trusted identity"
}

// Authenticate is Verify for verify.Verify, the policy engine and every
// other caller of the verify.Authenticator seam: it verifies att's
// Sigstore bundle for the artifact subject (its sha256 when it has one,
// else its lexically first strong algorithm; any artifact when subject is
// empty, for callers that check the statement's subject themselves, as
// verify.Verify does) and returns the envelope, the signer (the
// certificate identity and key ID, or the trusted key's ID for a
// key-signed bundle) and the verified signing times. A message-signature
// bundle (a blob signature, for verify.VerifyBlob) is verified over
// subject's digest of the algorithm the bundle names, and returns no
// envelope but the Artifact it verified. An attestation without a bundle
// fails: the envelope alone carries no certificate.
// Errors wrap verify.ErrSignature (verify.ErrSubject for an unusable
// subject) and this package's sentinel, except ctx's own error.
func (v *Verifier) Authenticate(ctx context.Context, att *sign.Attestation, subject intoto.DigestSet) (*verify.Authenticated, error) {
	if att == nil || att.Bundle == nil {
		return nil, fmt.Errorf("%w: %w: the attestation has no Sigstore bundle", verify.ErrSignature, ErrBundle)
	}
	var opts []VerifyOption
	switch ms := att.Bundle.MessageSignature; {
	case ms != nil:
		// A blob signature is verified over the artifact's digest of the
		// algorithm the bundle names: the caller must know it.
		if len(subject) == 0 {
			return nil, fmt.Errorf("%w: a blob signature is verified for the blob's digest, and none was given", verify.ErrSubject)
		}
		for a, h := range subject {
			if intoto.Strong(a, strings.ToLower(h)) {
				opts = append(opts, WithArtifactDigest(a, h))
			}
		}
	case len(subject) == 0:
		opts = append(opts, WithAnyArtifact())
	default:
		alg, hex, ok := pickDigest(subject)
		if !ok {
			return nil, fmt.Errorf("%w: a bundle is verified for the artifact's digest, and %v has no strong algorithm", verify.ErrSubject, subject)
		}
		opts = append(opts, WithArtifactDigest(alg, hex))
	}
	raw, err := att.Bundle.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", verify.ErrSignature, ErrBundle, err)
	}
	res, err := v.Verify(ctx, raw, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", verify.ErrSignature, err)
	}
	au := &verify.Authenticated{Envelope: res.Envelope, Artifact: res.Artifact}
	for _, t := range res.Timestamps {
		au.Times = append(au.Times, t.Time)
	}
	if res.Signer != nil {
		s := verify.Signer{Identity: certIdentity(certificate.Summary{
			SubjectAlternativeName: res.Signer.SAN, Extensions: res.Signer.Extensions})}
		if res.Signer.Certificate != nil {
			s.KeyID, _ = sign.PublicKeyID(res.Signer.Certificate.PublicKey)
		}
		au.Signers = []verify.Signer{s}
	} else {
		// The trusted key verified the signature: name it by its ID, not
		// by the bundle's unsigned hint.
		id, err := sign.PublicKeyID(v.cfg.pubKey)
		if err != nil {
			id = res.KeyID
		}
		au.Signers = []verify.Signer{{KeyID: id}}
	}
	return au, nil
}

// pickDigest chooses the digest of subject a bundle is verified for:
// sha256 when present, else the lexically first strong algorithm, hex in
// lowercase. None when no entry is strong.
func pickDigest(subject intoto.DigestSet) (alg, hex string, ok bool) {
	for a, h := range subject {
		if !intoto.Strong(a, strings.ToLower(h)) {
			continue
		}
		if !ok || a == intoto.AlgSHA256 || (alg != intoto.AlgSHA256 && a < alg) {
			alg, hex, ok = a, strings.ToLower(h), true
		}
	}
	return alg, hex, ok
}
