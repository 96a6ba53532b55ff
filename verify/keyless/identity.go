package keyless

import (
	"crypto/x509"
	"fmt"
	"regexp"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Identity is an expected signer identity. Issuer (or IssuerRegexp) and SAN
// (or SANRegexp) are required; regular expressions must match the whole
// value (they are anchored). The other fields, when set, must equal
// Fulcio's certificate extensions exactly; for a GitHub Actions workflow:
//
//	SAN:                 https://github.com/OWNER/REPO/.github/workflows/build.yml@refs/heads/main
//	Issuer:              https://token.actions.githubusercontent.com
//	SourceRepositoryURI: https://github.com/OWNER/REPO
//	SourceRepositoryRef: refs/heads/main
type Identity struct {
	Issuer       string
	IssuerRegexp string
	SAN          string
	SANRegexp    string

	// SourceRepositoryURI is the repository the build ran from (OID 1.12).
	SourceRepositoryURI string
	// SourceRepositoryRef is the git ref built (OID 1.14).
	SourceRepositoryRef string
	// SourceRepositoryDigest is the commit built (OID 1.13).
	SourceRepositoryDigest string
	// BuildSignerURI is the workflow that signed, with its ref (OID 1.9).
	BuildSignerURI string
	// BuildConfigURI is the top-level workflow file, with its ref (OID 1.18).
	BuildConfigURI string
	// BuildTrigger is the event that started the build (OID 1.20).
	BuildTrigger string
	// RunnerEnvironment is github-hosted or self-hosted (OID 1.11).
	RunnerEnvironment string
}

type matcher struct {
	id       Identity
	issuerRe *regexp.Regexp
	sanRe    *regexp.Regexp
}

func compileIdentity(id Identity) (matcher, error) {
	m := matcher{id: id}
	if (id.Issuer == "") == (id.IssuerRegexp == "") {
		return m, fmt.Errorf("%w: identity needs exactly one of Issuer and IssuerRegexp", ErrConfig)
	}
	if (id.SAN == "") == (id.SANRegexp == "") {
		return m, fmt.Errorf("%w: identity needs exactly one of SAN and SANRegexp", ErrConfig)
	}
	var err error
	if id.IssuerRegexp != "" {
		if m.issuerRe, err = regexp.Compile("^(?:" + id.IssuerRegexp + ")$"); err != nil {
			return m, fmt.Errorf("%w: IssuerRegexp: %v", ErrConfig, err)
		}
	}
	if id.SANRegexp != "" {
		if m.sanRe, err = regexp.Compile("^(?:" + id.SANRegexp + ")$"); err != nil {
			return m, fmt.Errorf("%w: SANRegexp: %v", ErrConfig, err)
		}
	}
	return m, nil
}

func (m matcher) issuerOK(s certificate.Summary) bool {
	if m.issuerRe != nil {
		return m.issuerRe.MatchString(s.Extensions.Issuer)
	}
	return s.Extensions.Issuer == m.id.Issuer
}

// subjectErr checks SAN and extensions; it returns nil on a match.
func (m matcher) subjectErr(s certificate.Summary) error {
	if m.sanRe != nil && !m.sanRe.MatchString(s.SubjectAlternativeName) {
		return fmt.Errorf("SAN %q does not match %q", s.SubjectAlternativeName, m.id.SANRegexp)
	}
	if m.sanRe == nil && s.SubjectAlternativeName != m.id.SAN {
		return fmt.Errorf("SAN %q is not %q", s.SubjectAlternativeName, m.id.SAN)
	}
	for _, f := range []struct{ name, want, got string }{
		{"source repository URI", m.id.SourceRepositoryURI, s.Extensions.SourceRepositoryURI},
		{"source repository ref", m.id.SourceRepositoryRef, s.Extensions.SourceRepositoryRef},
		{"source repository digest", m.id.SourceRepositoryDigest, s.Extensions.SourceRepositoryDigest},
		{"build signer URI", m.id.BuildSignerURI, s.Extensions.BuildSignerURI},
		{"build config URI", m.id.BuildConfigURI, s.Extensions.BuildConfigURI},
		{"build trigger", m.id.BuildTrigger, s.Extensions.BuildTrigger},
		{"runner environment", m.id.RunnerEnvironment, s.Extensions.RunnerEnvironment},
	} {
		if f.want != "" && f.want != f.got {
			return fmt.Errorf("%s %q is not %q", f.name, f.got, f.want)
		}
	}
	return nil
}

// matchIdentities returns the first identity that matches s, or ErrIssuer
// when no identity accepts the issuer, or ErrIdentity.
func matchIdentities(ms []matcher, s certificate.Summary) (*Identity, error) {
	var subjErr error
	for i := range ms {
		if !ms[i].issuerOK(s) {
			continue
		}
		err := ms[i].subjectErr(s)
		if err == nil {
			return &ms[i].id, nil
		}
		if subjErr == nil {
			subjErr = err
		}
	}
	if subjErr != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, subjErr)
	}
	return nil, fmt.Errorf("%w: issuer %q is not expected", ErrIssuer, s.Extensions.Issuer)
}

// SignerIdentity is the verified identity of a certificate-signed bundle:
// what Fulcio certified.
type SignerIdentity struct {
	// Issuer is the OIDC issuer (Fulcio extension 1.8 or 1.1).
	Issuer string
	// SAN is the subject alternative name: an email or a URI.
	SAN string
	// Extensions are all of Fulcio's extensions, including the GitHub
	// workflow ones.
	Extensions certificate.Extensions
	// Certificate is the leaf certificate.
	Certificate *x509.Certificate
	// Matched is the policy identity that accepted it.
	Matched Identity
}
