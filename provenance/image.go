package provenance

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/intoto"
)

// MaxImagePlatforms bounds the platform manifests ImageSubjects records
// for one index (an index with more fails with ErrTooLarge): each becomes
// a subject every verifier of the statement reads.
const MaxImagePlatforms = 256

// IndexResolver resolves an image reference to its digest and, when it
// names an image index, to the digest of each platform's manifest, keyed
// "os/arch[/variant]" ("linux/arm64"); platforms is empty for an image
// manifest. oci.Resolver implements it, reading the index within its size
// and entry bounds.
type IndexResolver interface {
	ResolvePlatforms(ctx context.Context, ref string) (digest string, platforms map[string]string, err error)
}

// ImageSubjects returns the subjects of the image ref: one named by its
// repository ("registry/repository", as verify names images) with its
// digest, and, when ref names an image index, one per platform manifest,
// so that a verifier of the image a node actually pulls finds its digest
// in the statement. Platform subjects are named the way BuildKit names
// the subjects of its provenance (docs.docker.com, "Provenance
// attestations"): a package URL with the platform qualifier,
// "pkg:docker/<registry>/<repository>@sha256:<index hex>?platform=linux%2Farm64".
//
// What the resolver answers is checked, since it comes from a registry:
// sha256 digests of the right form (and, for a reference by digest, that
// digest), platforms of the form os/arch[/variant], no platform with the
// index's own digest, at most MaxImagePlatforms (ErrTooLarge); anything
// else fails with ErrInvalidImageRef.
func ImageSubjects(ctx context.Context, ref string, res IndexResolver) ([]intoto.ResourceDescriptor, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidImageRef, ref, err)
	}
	if res == nil {
		return nil, fmt.Errorf("%w: %q: no resolver", ErrInvalidImageRef, ref)
	}
	digest, platforms, err := res.ResolvePlatforms(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", ref, err)
	}
	hex, err := sha256Hex(digest)
	if err != nil {
		return nil, fmt.Errorf("%w: %q resolved to %v", ErrInvalidImageRef, ref, err)
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != digest {
		return nil, fmt.Errorf("%w: %q resolved to %s", ErrInvalidImageRef, ref, digest)
	}
	if len(platforms) > MaxImagePlatforms {
		return nil, fmt.Errorf("%w: index %s has %d platforms, limit %d", ErrTooLarge, ref, len(platforms), MaxImagePlatforms)
	}
	repo := r.Context().Name()
	out := []intoto.ResourceDescriptor{{Name: repo, Digest: intoto.DigestSet{intoto.AlgSHA256: hex}}}
	keys := make([]string, 0, len(platforms))
	for p := range platforms {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		if err := checkPlatform(p); err != nil {
			return nil, fmt.Errorf("%w: index %s: %v", ErrInvalidImageRef, ref, err)
		}
		ph, err := sha256Hex(platforms[p])
		if err != nil {
			return nil, fmt.Errorf("%w: index %s, platform %s: %v", ErrInvalidImageRef, ref, p, err)
		}
		if ph == hex {
			return nil, fmt.Errorf("%w: index %s lists itself for %s", ErrInvalidImageRef, ref, p)
		}
		out = append(out, intoto.ResourceDescriptor{
			Name:   PlatformSubjectName(repo, digest, p),
			Digest: intoto.DigestSet{intoto.AlgSHA256: ph},
		})
	}
	return out, nil
}

// PlatformSubjectName is the subject name ImageSubjects gives the
// platform manifest of index (repo@digest): BuildKit's package URL form.
func PlatformSubjectName(repo, indexDigest, platform string) string {
	return "pkg:docker/" + repo + "@" + indexDigest + "?platform=" + url.QueryEscape(platform)
}

// AddSubjectImage adds ImageSubjects(ctx, ref, res) as subjects.
func (r *Recorder) AddSubjectImage(ctx context.Context, ref string, res IndexResolver) error {
	subjects, err := ImageSubjects(ctx, ref, res)
	if err != nil {
		return err
	}
	return r.AddSubject(subjects...)
}

func sha256Hex(digest string) (string, error) {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || alg != intoto.AlgSHA256 || !intoto.Strong(alg, hex) {
		return "", fmt.Errorf("digest %q is not sha256:<64 lowercase hex>", digest)
	}
	return hex, nil
}

// checkPlatform accepts os/arch[/variant] of lowercase letters, digits,
// '.', '_' and '-' (what OCI platforms use), nothing that would change the
// meaning of the subject name.
func checkPlatform(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("platform %q: want os/arch[/variant]", p)
	}
	for _, s := range parts {
		if s == "" || len(s) > 64 {
			return fmt.Errorf("platform %q: want os/arch[/variant]", p)
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("platform %q: character %q", p, c)
			}
		}
	}
	return nil
}
