package keyless

import (
	"fmt"

	"github.com/slsakit/slsakit/verify"
)

// The engine hands its clock to the verifiers this package makes.
var _ verify.ClockedBundleVerifier = (*Verifier)(nil)

// IdentityVerifier returns the hook that lets a policy engine check signer
// rules with keyless identities (verify.WithIdentityVerifier). For each
// rule it builds a Verifier from opts (the trust anchor: WithTrustedRootFile,
// WithTrustedRootJSON, WithTUF, …, plus any thresholds) and the rule's
// identities: a policy identity's issuer is matched exactly, its subject
// exactly or its subjectRegexp in full (anchored), against the
// certificate's OIDC issuer and SAN.
//
// Identities given in opts (WithIdentity) are accepted in addition to the
// rule's, for every rule: leave them out unless that is what you mean.
func IdentityVerifier(opts ...Option) verify.IdentityVerifier {
	base := append([]Option(nil), opts...)
	return func(ids []verify.Identity) (verify.BundleVerifier, error) {
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: no identities", ErrConfig)
		}
		all := append(base[:len(base):len(base)], make([]Option, 0, len(ids))...)
		for _, id := range ids {
			all = append(all, WithIdentity(Identity{Issuer: id.Issuer, SAN: id.Subject, SANRegexp: id.SubjectRegexp}))
		}
		v, err := NewVerifier(all...)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return v, nil
	}
}
