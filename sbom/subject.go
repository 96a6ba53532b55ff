package sbom

import (
	"errors"

	"github.com/slsakit/slsakit/intoto"
)

// checkSubject applies the digest rules every slsakit statement follows
// (intoto's one table): canonical algorithm names, lowercase hex of the
// right length for known algorithms.
func checkSubject(sub Subject) error {
	if sub.Name == "" {
		return errors.New("no name")
	}
	if len(sub.Digest) == 0 {
		return errors.New("no digest")
	}
	return intoto.DigestSet(sub.Digest).Validate()
}
