package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// Authenticator decides who signed an attestation, and only that: it is
// the one place where trust in keys, KMS keys or keyless certificate
// identities is applied. Verify and the Engine call it before anything of
// the statement is read.
//
// Authenticate returns the envelope it authenticated with who signed it
// and when, or an error wrapping ErrSignature, ErrThreshold or ErrMalformed
// (an error that wraps none of them is reported by Verify as ErrSignature).
// subject is the digest of the artifact the caller expects the attestation
// to be about: an authenticator that verifies a signature over an artifact
// (a Sigstore bundle) uses it; one that verifies an envelope's signatures
// may ignore it, since Verify checks the statement's subject afterwards.
// Implementations must be safe for concurrent use.
//
// This package provides Keys (public keys and KMS keys, with a threshold)
// and AnyOf; verify/keyless provides one for Sigstore bundles.
type Authenticator interface {
	Authenticate(ctx context.Context, att *sign.Attestation, subject intoto.DigestSet) (*Authenticated, error)
}

// Authenticated is what an Authenticator vouches for.
type Authenticated struct {
	// Envelope is the authenticated envelope: only now may its payload be
	// read. Nil for a blob signature (a message-signature bundle).
	Envelope *sign.Envelope
	// Artifact is, for a blob signature, the digest of the blob the
	// signature was verified over (one strong algorithm of the subject
	// Authenticate was given); nil for an envelope. An authenticator that
	// does not set it has not verified a blob signature, and VerifyBlob
	// refuses its word.
	Artifact intoto.DigestSet
	// Signers are who signed: each trusted key that did, or the
	// certificate identity of a keyless signature.
	Signers []Signer
	// Times are when, as verified (transparency log integrated times,
	// RFC 3161 timestamps), each no later than the clock plus ClockSkew;
	// empty for plain key signatures, which carry no trusted time.
	Times []time.Time
}

// Signer is one party whose signature was verified.
type Signer struct {
	// KeyID is the signing key's sign.PublicKeyID (for a KMS key, the
	// PublicKeyID of its public key; for a certificate, of the
	// certificate's key).
	KeyID string `json:"keyID,omitempty"`
	// Identity is the certificate identity of a keyless signature, as read
	// from the verified certificate (issuer, SAN and Fulcio's extensions;
	// the regular expression fields are empty); nil for a key.
	Identity *Identity `json:"identity,omitempty"`
}

// String names the signer for a report: the identity's subject and issuer,
// or the key ID.
func (s Signer) String() string {
	if s.Identity != nil {
		return fmt.Sprintf("%s (issuer %s)", s.Identity.Subject, s.Identity.Issuer)
	}
	return s.KeyID
}

// Identity is a keyless signer identity, as a policy states it and as a
// verified certificate shows it. In a policy (and for an
// IdentityAuthenticator) exactly one of Issuer and IssuerRegexp and exactly
// one of Subject and SubjectRegexp are set; a regular expression must
// match the whole value (it is anchored). Every other field, when set, must
// equal the certificate's Fulcio extension of the same name exactly
// (names as sigstore-go's certificate.Extensions spells them). For a GitHub
// Actions workflow:
//
//	Issuer:              https://token.actions.githubusercontent.com
//	Subject:             https://github.com/OWNER/REPO/.github/workflows/build.yml@refs/heads/main
//	SourceRepositoryURI: https://github.com/OWNER/REPO
//	SourceRepositoryRef: refs/heads/main
type Identity struct {
	// Issuer is the OIDC issuer (Fulcio extension 1.8, or 1.1).
	Issuer       string `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	IssuerRegexp string `yaml:"issuerRegexp,omitempty" json:"issuerRegexp,omitempty"`
	// Subject is the certificate's subject alternative name: an email or
	// a URI (for a CI workflow, the workflow file with its ref).
	Subject       string `yaml:"subject,omitempty" json:"subject,omitempty"`
	SubjectRegexp string `yaml:"subjectRegexp,omitempty" json:"subjectRegexp,omitempty"`

	// BuildSignerURI is the build instructions that signed, with their ref
	// (1.9).
	BuildSignerURI string `yaml:"buildSignerURI,omitempty" json:"buildSignerURI,omitempty"`
	// BuildSignerDigest is the digest of those instructions (1.10).
	BuildSignerDigest string `yaml:"buildSignerDigest,omitempty" json:"buildSignerDigest,omitempty"`
	// RunnerEnvironment is github-hosted or self-hosted (1.11).
	RunnerEnvironment string `yaml:"runnerEnvironment,omitempty" json:"runnerEnvironment,omitempty"`
	// SourceRepositoryURI is the repository the build ran from (1.12).
	SourceRepositoryURI string `yaml:"sourceRepositoryURI,omitempty" json:"sourceRepositoryURI,omitempty"`
	// SourceRepositoryDigest is the commit built (1.13).
	SourceRepositoryDigest string `yaml:"sourceRepositoryDigest,omitempty" json:"sourceRepositoryDigest,omitempty"`
	// SourceRepositoryRef is the git ref built (1.14).
	SourceRepositoryRef string `yaml:"sourceRepositoryRef,omitempty" json:"sourceRepositoryRef,omitempty"`
	// SourceRepositoryIdentifier is the repository's immutable ID (1.15).
	SourceRepositoryIdentifier string `yaml:"sourceRepositoryIdentifier,omitempty" json:"sourceRepositoryIdentifier,omitempty"`
	// SourceRepositoryOwnerURI is the repository owner (1.16).
	SourceRepositoryOwnerURI string `yaml:"sourceRepositoryOwnerURI,omitempty" json:"sourceRepositoryOwnerURI,omitempty"`
	// SourceRepositoryOwnerIdentifier is the owner's immutable ID (1.17).
	SourceRepositoryOwnerIdentifier string `yaml:"sourceRepositoryOwnerIdentifier,omitempty" json:"sourceRepositoryOwnerIdentifier,omitempty"`
	// BuildConfigURI is the top-level build instructions, with their ref
	// (1.18).
	BuildConfigURI string `yaml:"buildConfigURI,omitempty" json:"buildConfigURI,omitempty"`
	// BuildConfigDigest is the digest of those instructions (1.19).
	BuildConfigDigest string `yaml:"buildConfigDigest,omitempty" json:"buildConfigDigest,omitempty"`
	// BuildTrigger is the event that started the build (1.20).
	BuildTrigger string `yaml:"buildTrigger,omitempty" json:"buildTrigger,omitempty"`
	// RunInvocationURI is the build run (1.21).
	RunInvocationURI string `yaml:"runInvocationURI,omitempty" json:"runInvocationURI,omitempty"`
	// SourceRepositoryVisibilityAtSigning is public or private (1.22).
	SourceRepositoryVisibilityAtSigning string `yaml:"sourceRepositoryVisibilityAtSigning,omitempty" json:"sourceRepositoryVisibilityAtSigning,omitempty"`
}

// Extensions lists the identity's Fulcio extension fields with their
// names, in OID order, so that a matcher compares every one of them and a
// field added to Identity cannot be forgotten by one matcher only.
func (id *Identity) Extensions() []IdentityField {
	return []IdentityField{
		{"buildSignerURI", id.BuildSignerURI},
		{"buildSignerDigest", id.BuildSignerDigest},
		{"runnerEnvironment", id.RunnerEnvironment},
		{"sourceRepositoryURI", id.SourceRepositoryURI},
		{"sourceRepositoryDigest", id.SourceRepositoryDigest},
		{"sourceRepositoryRef", id.SourceRepositoryRef},
		{"sourceRepositoryIdentifier", id.SourceRepositoryIdentifier},
		{"sourceRepositoryOwnerURI", id.SourceRepositoryOwnerURI},
		{"sourceRepositoryOwnerIdentifier", id.SourceRepositoryOwnerIdentifier},
		{"buildConfigURI", id.BuildConfigURI},
		{"buildConfigDigest", id.BuildConfigDigest},
		{"buildTrigger", id.BuildTrigger},
		{"runInvocationURI", id.RunInvocationURI},
		{"sourceRepositoryVisibilityAtSigning", id.SourceRepositoryVisibilityAtSigning},
	}
}

// IdentityField is one Fulcio extension of an Identity: its name (as in a
// policy file) and value.
type IdentityField struct {
	Name, Value string
}

// IdentityAuthenticator makes the Authenticator for the keyless identities
// of one signer rule: it must accept bundles signed by one of ids only, and
// judge the signing times it verifies against now (the engine's clock,
// WithClock). keyless.Identities returns one with its trusted root; give it
// to NewEngine with WithIdentities.
type IdentityAuthenticator func(ids []Identity, now func() time.Time) (Authenticator, error)

// AnyOf returns an Authenticator that accepts what any of auths accepts:
// it tries them in order and returns the first success (a signer rule with
// keys and identities trusts an attestation that either verifies). When all
// fail, the error joins theirs, so errors.Is finds each cause. Nil
// authenticators are skipped; with none left every attestation fails.
func AnyOf(auths ...Authenticator) Authenticator {
	var as anyOf
	for _, a := range auths {
		if a != nil {
			as = append(as, a)
		}
	}
	if len(as) == 1 {
		return as[0]
	}
	return as
}

type anyOf []Authenticator

func (as anyOf) Authenticate(ctx context.Context, att *sign.Attestation, subject intoto.DigestSet) (*Authenticated, error) {
	if len(as) == 0 {
		return nil, fmt.Errorf("%w: no authenticator trusts anyone", ErrSignature)
	}
	errs := make([]error, 0, len(as))
	for _, a := range as {
		au, err := a.Authenticate(ctx, att, subject)
		if err == nil {
			if au == nil || (au.Envelope == nil && au.Artifact == nil) {
				err = fmt.Errorf("%w: authenticator returned no envelope and no artifact", ErrSignature)
			} else {
				return au, nil
			}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (as anyOf) String() string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = describe(a)
	}
	return strings.Join(parts, " or ")
}

// describe says what an authenticator trusts, for the "want" of the
// signature check: its String method when it has one.
func describe(a Authenticator) string {
	if s, ok := a.(fmt.Stringer); ok {
		return s.String()
	}
	return "a trusted signer"
}

// authenticate runs auth on att and records the "signature" check: pass
// with the signers, or fail with an error that matches one of this
// package's sentinels (ErrSignature when auth's error matches none).
func authenticate(ctx context.Context, r *Result, auth Authenticator, att *sign.Attestation, subject intoto.DigestSet) *Authenticated {
	if auth == nil {
		r.fail("signature", "a trusted signer", "", fmt.Errorf("%w: no authenticator", ErrSignature))
		return nil
	}
	want := describe(auth)
	au, err := auth.Authenticate(ctx, att, subject)
	if err == nil && (au == nil || au.Envelope == nil) {
		err = errors.New("authenticator returned no envelope")
	}
	if err != nil {
		if !isSentinel(err) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrSignature, err)
		}
		r.fail("signature", want, "", err)
		return nil
	}
	names := make([]string, len(au.Signers))
	for i, s := range au.Signers {
		names[i] = s.String()
	}
	got := fmt.Sprintf("%d trusted signer(s)", len(au.Signers))
	if len(names) > 0 {
		got += ": " + strings.Join(names, ", ")
	}
	if len(au.Times) > 0 {
		got += ", signed at " + stamp(au.Times[0])
	}
	r.pass("signature", want, got)
	r.Envelope, r.Signers, r.Times = au.Envelope, au.Signers, au.Times
	return au
}

// isSentinel reports whether err already says, in this package's terms,
// why authentication failed.
func isSentinel(err error) bool {
	for _, s := range []error{ErrSignature, ErrThreshold, ErrMalformed, ErrTooLarge, ErrSubject} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// presented returns the envelope an attestation presents, authenticated or
// not: its Envelope, else its bundle's. It is for reports and for
// authenticators that verify the envelope's own signatures.
func presented(att *sign.Attestation) *sign.Envelope {
	switch {
	case att == nil:
		return nil
	case att.Envelope != nil:
		return att.Envelope
	case att.Bundle != nil:
		return att.Bundle.DSSEEnvelope
	}
	return nil
}

// presentedMessage returns the blob signature an attestation presents:
// its bundle's message signature when it has no envelope.
func presentedMessage(att *sign.Attestation) *sign.MessageSignature {
	if att == nil || att.Envelope != nil || att.Bundle == nil {
		return nil
	}
	return att.Bundle.MessageSignature
}
