package sigstack

import "github.com/slsakit/slsakit/sign/keyless"

// KeylessServicesV2 is KeylessServices with the Rekor v2 log (if running)
// instead of Rekor v1: a v2 entry has no integrated time, so the TSA
// (if running) dates the signature.
func (s *Stack) KeylessServicesV2() keyless.Services {
	return s.keylessServices(s.RekorV2URL, keyless.RekorV2)
}

// keylessServices is Fulcio, the log at logURL (if running) speaking
// version, and the TSA (if running).
func (s *Stack) keylessServices(logURL string, version uint32) keyless.Services {
	ks := keyless.Services{FulcioURL: s.FulcioURL}
	if logURL != "" {
		ks.Rekor = []keyless.RekorLog{{URL: logURL, APIVersion: version}}
	}
	if s.TSAURL != "" {
		ks.TSAURLs = []string{s.TSAURL}
	}
	return ks
}
