package sigstack

import "github.com/slsakit/slsakit/sign/keyless"

// KeylessServicesV2 is KeylessServices with the Rekor v2 log (if running)
// instead of Rekor v1: a v2 entry has no integrated time, so the TSA
// (if running) dates the signature.
func (s *Stack) KeylessServicesV2() keyless.Services {
	ks := keyless.Services{FulcioURL: s.FulcioURL}
	if s.RekorV2URL != "" {
		ks.Rekor = []keyless.RekorLog{{URL: s.RekorV2URL, APIVersion: keyless.RekorV2}}
	}
	if s.TSAURL != "" {
		ks.TSAURLs = []string{s.TSAURL}
	}
	return ks
}
