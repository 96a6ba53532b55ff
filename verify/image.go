package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// ImageResult reports the verification of an image's attestations.
type ImageResult struct {
	// Image is the image verified, by digest: registry/repository@sha256:…
	Image string
	// Name is the image's repository (registry/repository), which policies
	// match signer rules against.
	Name   string
	Digest intoto.DigestSet
	// Index is the image index the image was resolved through
	// (registry/repository@sha256:…), "" unless oci.WithPlatform was given.
	Index string
	// Attestations holds the result of every attestation found.
	Attestations []*Result
}

// Verified returns the results of the attestations that passed.
func (r *ImageResult) Verified() []*Result {
	var out []*Result
	for _, a := range r.Attestations {
		if a.Passed() {
			out = append(out, a)
		}
	}
	return out
}

// resolveImage resolves ref to its digest once; the digest, never a tag,
// is what attestations are fetched and checked against. With
// oci.WithPlatform among opts, ref must name an index and the image is
// that platform's manifest in it.
func resolveImage(ctx context.Context, ref string, opts []oci.Option) (*ImageResult, error) {
	ri, err := oci.ResolveImage(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// The name selects the signer rule. Registry hosts are DNS names, case-
	// insensitive (REGISTRY.k8s.io is registry.k8s.io), and a repository
	// path is lowercase by the reference grammar: lowercase the host, or a
	// case variant of a host would fall past its own rule to a broader one.
	repo := strings.ToLower(r.Context().RegistryStr()) + "/" + r.Context().RepositoryStr()
	hex, ok := strings.CutPrefix(ri.Digest, "sha256:")
	if !ok {
		return nil, fmt.Errorf("%w: image digest %q is not sha256", ErrMalformed, ri.Digest)
	}
	img := &ImageResult{Image: repo + "@" + ri.Digest, Name: repo, Digest: intoto.DigestSet{intoto.AlgSHA256: hex}}
	if ri.Index != "" {
		img.Index = repo + "@" + ri.Index
	}
	return img, nil
}

// byDigest makes opts list an image named by digest: a platform was
// resolved already, and the digest names a manifest, not an index.
func byDigest(opts []oci.Option) []oci.Option {
	return append(opts[:len(opts):len(opts)], oci.WithPlatform(""))
}

// VerifyImage verifies the attestations of the image ref (a tag is
// resolved to its digest once, and only the digest is used from then on):
// each is verified with Verify, with auth, against want whose
// SubjectDigest is replaced by the image's digest. It fails with
// ErrNoAttestation, joined with each attestation's failure, when none
// passes. opts configure registry access (oci.WithInsecure, oci.WithAuth,
// oci.WithLayout, …); with want.PredicateType set, only attestations of
// that type are downloaded.
//
// With oci.WithPlatform("linux/arm64") ref names an image index and the
// image verified is that platform's manifest (ImageResult.Image; the
// index is ImageResult.Index). Its own attestations are read first; only
// when none passes are the index's read too (cosign attaches to the index
// alone unless --recursive). An attestation found on the index passes
// only if its signed statement names the platform manifest's digest as a
// subject, like any other: one about the index, or about another
// platform, proves nothing about the image a node on this platform runs.
func VerifyImage(ctx context.Context, auth Authenticator, ref string, want Expectations, opts ...oci.Option) (*ImageResult, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	if want.PredicateType != "" {
		opts = append(opts[:len(opts):len(opts)], oci.WithPredicateType(want.PredicateType))
	}
	opts = byDigest(opts)
	want.SubjectDigest = img.Digest
	var errs []error
	n := 0
	for _, where := range []string{img.Image, img.Index} {
		if where == "" || len(img.Verified()) > 0 {
			break
		}
		atts, err := listAttestations(ctx, where, opts)
		if err != nil {
			return img, err
		}
		n += len(atts)
		for _, a := range atts {
			r, err := Verify(ctx, auth, a, want)
			img.Attestations = append(img.Attestations, r)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(img.Verified()) == 0 {
		return img, errors.Join(append([]error{&CheckError{Check: "attestations", Want: "at least 1 verified attestation",
			Got: fmt.Sprintf("0 of %d", n), Err: ErrNoAttestation}}, errs...)...)
	}
	return img, nil
}

// EvaluateImage resolves ref to a digest, lists its attestations (both
// layouts, with the Sigstore bundles of referrers) and evaluates them with
// Evaluate, with the image's repository as the artifact name. With
// oci.WithPlatform it evaluates that platform's manifest in the index ref
// names, as VerifyImage does: when the platform image's own attestations
// do not pass, it evaluates them again together with the index's, where
// only those whose statements name the platform digest can count.
func (e *Engine) EvaluateImage(ctx context.Context, ref string, opts ...oci.Option) (*Report, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	opts = byDigest(opts)
	atts, err := listAttestations(ctx, img.Image, opts)
	if err != nil {
		return nil, err
	}
	art := intoto.ResourceDescriptor{Name: img.Name, Digest: img.Digest}
	rep, err := e.Evaluate(ctx, art, atts)
	if err == nil || img.Index == "" {
		return rep, err
	}
	more, lerr := listAttestations(ctx, img.Index, opts)
	if lerr != nil {
		return rep, errors.Join(err, lerr)
	}
	if len(more) == 0 {
		return rep, err
	}
	return e.Evaluate(ctx, art, append(atts[:len(atts):len(atts)], more...))
}

// listAttestations is this package's one use of oci: the attestations an
// image holds, in both layouts, as every verifier here takes them. oci.List
// has already read each bundle strictly (sign.ParseBundle) and skipped a
// referrer whose bundle does not parse.
func listAttestations(ctx context.Context, image string, opts []oci.Option) ([]*sign.Attestation, error) {
	return oci.Fetch(ctx, image, opts...)
}

// OCIFetcher returns a Fetcher that reads attestations (with their
// Sigstore bundles) from registries with the oci package, for policies
// that verify dependencies.
func OCIFetcher(opts ...oci.Option) Fetcher { return ociFetcher(opts) }

type ociFetcher []oci.Option

func (f ociFetcher) Fetch(ctx context.Context, image string) ([]*sign.Attestation, error) {
	return listAttestations(ctx, image, f)
}
