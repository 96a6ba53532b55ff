package keyless

import (
	"fmt"
	"time"

	"github.com/slsakit/slsakit/verify"
)

// Identities returns the verify.IdentityAuthenticator that lets a policy
// engine check signer rules with keyless identities
// (verify.WithIdentities). For each rule it builds a Verifier from opts
// (the trust anchor: WithTrustedRootFile, WithTrustedRootJSON, WithTUF, …,
// plus any thresholds), the rule's identities and the engine's clock: an
// identity's issuer and subject are matched exactly or, for the Regexp
// fields, in full (anchored), and its Fulcio extension fields exactly,
// against the certificate.
//
// Identities given in opts (WithIdentity) are accepted in addition to the
// rule's, for every rule: leave them out unless that is what you mean.
func Identities(opts ...Option) verify.IdentityAuthenticator {
	base := append([]Option(nil), opts...)
	return func(ids []verify.Identity, now func() time.Time) (verify.Authenticator, error) {
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: no identities", ErrConfig)
		}
		all := append(base[:len(base):len(base)], make([]Option, 0, len(ids)+1)...)
		for _, id := range ids {
			all = append(all, WithIdentity(id))
		}
		if now != nil {
			all = append(all, WithClock(now))
		}
		v, err := NewVerifier(all...)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return v, nil
	}
}
