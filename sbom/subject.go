package sbom

import (
	"errors"

	"github.com/slsakit/slsakit/intoto"
)

// checkSubject applies the rules every slsakit statement follows: a name
// and a digest set, valid as intoto.ResourceDescriptor.Validate says
// (canonical algorithm names, lowercase hex of the right length for known
// algorithms). Only the name and digest are written: a subject's other
// fields are refused rather than dropped.
func checkSubject(sub intoto.ResourceDescriptor) error {
	if sub.Name == "" {
		return errors.New("no name")
	}
	if len(sub.Digest) == 0 {
		return errors.New("no digest")
	}
	if sub.URI != "" || sub.MediaType != "" || sub.DownloadLocation != "" || len(sub.Annotations) > 0 || len(sub.Content) > 0 {
		return errors.New("only a name and a digest set are written for a subject")
	}
	return sub.Validate()
}
