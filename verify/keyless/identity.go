package keyless

import (
	"crypto/x509"
	"fmt"
	"regexp"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/slsakit/slsakit/verify"
)

type matcher struct {
	id       verify.Identity
	issuerRe *regexp.Regexp
	sanRe    *regexp.Regexp
}

func compileIdentity(id verify.Identity) (matcher, error) {
	m := matcher{id: id}
	if (id.Issuer == "") == (id.IssuerRegexp == "") {
		return m, fmt.Errorf("%w: identity needs exactly one of Issuer and IssuerRegexp", ErrConfig)
	}
	if (id.Subject == "") == (id.SubjectRegexp == "") {
		return m, fmt.Errorf("%w: identity needs exactly one of Subject and SubjectRegexp", ErrConfig)
	}
	var err error
	if id.IssuerRegexp != "" {
		if m.issuerRe, err = regexp.Compile("^(?:" + id.IssuerRegexp + ")$"); err != nil {
			return m, fmt.Errorf("%w: IssuerRegexp: %v", ErrConfig, err)
		}
	}
	if id.SubjectRegexp != "" {
		if m.sanRe, err = regexp.Compile("^(?:" + id.SubjectRegexp + ")$"); err != nil {
			return m, fmt.Errorf("%w: SubjectRegexp: %v", ErrConfig, err)
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

// subjectErr checks SAN and extensions; it returns nil on a match. The
// extensions are compared through verify.Identity.Extensions, the one list
// of them, so that every field a policy can set is checked.
func (m matcher) subjectErr(s certificate.Summary) error {
	if m.sanRe != nil && !m.sanRe.MatchString(s.SubjectAlternativeName) {
		return fmt.Errorf("SAN %q does not match %q", s.SubjectAlternativeName, m.id.SubjectRegexp)
	}
	if m.sanRe == nil && s.SubjectAlternativeName != m.id.Subject {
		return fmt.Errorf("SAN %q is not %q", s.SubjectAlternativeName, m.id.Subject)
	}
	got := certIdentity(s).Extensions()
	for i, want := range m.id.Extensions() {
		if want.Value != "" && want.Value != got[i].Value {
			return fmt.Errorf("%s %q is not %q", want.Name, got[i].Value, want.Value)
		}
	}
	return nil
}

// certIdentity is what the certificate says, as a verify.Identity.
func certIdentity(s certificate.Summary) *verify.Identity {
	e := s.Extensions
	return &verify.Identity{
		Issuer:                              e.Issuer,
		Subject:                             s.SubjectAlternativeName,
		BuildSignerURI:                      e.BuildSignerURI,
		BuildSignerDigest:                   e.BuildSignerDigest,
		RunnerEnvironment:                   e.RunnerEnvironment,
		SourceRepositoryURI:                 e.SourceRepositoryURI,
		SourceRepositoryDigest:              e.SourceRepositoryDigest,
		SourceRepositoryRef:                 e.SourceRepositoryRef,
		SourceRepositoryIdentifier:          e.SourceRepositoryIdentifier,
		SourceRepositoryOwnerURI:            e.SourceRepositoryOwnerURI,
		SourceRepositoryOwnerIdentifier:     e.SourceRepositoryOwnerIdentifier,
		BuildConfigURI:                      e.BuildConfigURI,
		BuildConfigDigest:                   e.BuildConfigDigest,
		BuildTrigger:                        e.BuildTrigger,
		RunInvocationURI:                    e.RunInvocationURI,
		SourceRepositoryVisibilityAtSigning: e.SourceRepositoryVisibilityAtSigning,
	}
}

// matchIdentities returns the first identity that matches s, or ErrIssuer
// when no identity accepts the issuer, or ErrIdentity.
func matchIdentities(ms []matcher, s certificate.Summary) (*verify.Identity, error) {
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
	Matched verify.Identity
}
