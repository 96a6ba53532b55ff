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
// is what attestations are fetched and checked against.
func resolveImage(ctx context.Context, ref string, opts []oci.Option) (*ImageResult, error) {
	digest, err := oci.Resolve(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	repo := r.Context().Name()
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		return nil, fmt.Errorf("%w: image digest %q is not sha256", ErrMalformed, digest)
	}
	return &ImageResult{Image: repo + "@" + digest, Name: repo, Digest: intoto.DigestSet{intoto.AlgSHA256: hex}}, nil
}

// VerifyImage verifies the attestations of the image ref (a tag is
// resolved to its digest once, and only the digest is used from then on):
// each is verified with Verify, with auth, against want whose
// SubjectDigest is replaced by the image's digest. It fails with
// ErrNoAttestation, joined with each attestation's failure, when none
// passes. opts configure registry access (oci.WithInsecure, oci.WithAuth,
// oci.WithLayout, …); with want.PredicateType set, only attestations of
// that type are downloaded.
func VerifyImage(ctx context.Context, auth Authenticator, ref string, want Expectations, opts ...oci.Option) (*ImageResult, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	if want.PredicateType != "" {
		opts = append(opts[:len(opts):len(opts)], oci.WithPredicateType(want.PredicateType))
	}
	atts, err := listAttestations(ctx, img.Image, opts)
	if err != nil {
		return img, err
	}
	want.SubjectDigest = img.Digest
	var errs []error
	for _, a := range atts {
		r, err := Verify(ctx, auth, a, want)
		img.Attestations = append(img.Attestations, r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(img.Verified()) == 0 {
		return img, errors.Join(append([]error{&CheckError{Check: "attestations", Want: "at least 1 verified attestation",
			Got: fmt.Sprintf("0 of %d", len(atts)), Err: ErrNoAttestation}}, errs...)...)
	}
	return img, nil
}

// EvaluateImage resolves ref to a digest, lists its attestations (both
// layouts, with the Sigstore bundles of referrers) and evaluates them with
// Evaluate, with the image's repository as the artifact name.
func (e *Engine) EvaluateImage(ctx context.Context, ref string, opts ...oci.Option) (*Report, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	atts, err := listAttestations(ctx, img.Image, opts)
	if err != nil {
		return nil, err
	}
	return e.Evaluate(ctx, intoto.ResourceDescriptor{Name: img.Name, Digest: img.Digest}, atts)
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
