package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
)

// ImageResult reports the verification of an image's attestations.
type ImageResult struct {
	// Image is the image verified, by digest: registry/repository@sha256:…
	Image string
	// Name is the image's repository (registry/repository), which policies
	// match signer rules against.
	Name   string
	Digest provenance.DigestSet
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
	return &ImageResult{Image: repo + "@" + digest, Name: repo, Digest: provenance.DigestSet{provenance.AlgSHA256: hex}}, nil
}

// VerifyImage fetches the attestations of the image ref (a tag is resolved
// to its digest once) and verifies each: signature first, then the
// statement, whose subject must be the image's digest (want.SubjectDigest
// is replaced by it). It fails with ErrNoAttestation, joined with each
// attestation's failure, when none passes. opts configure registry access
// (oci.WithInsecure, oci.WithAuth, …); with want.PredicateType set, only
// attestations of that type are downloaded.
func (v *Verifier) VerifyImage(ctx context.Context, ref string, want Expectations, opts ...oci.Option) (*ImageResult, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	if want.PredicateType != "" {
		opts = append(opts[:len(opts):len(opts)], oci.WithPredicateType(want.PredicateType))
	}
	envs, err := oci.Fetch(ctx, img.Image, opts...)
	if err != nil {
		return img, err
	}
	want.SubjectDigest = img.Digest
	var errs []error
	for _, att := range envs {
		r, err := v.VerifyEnvelope(ctx, att.Envelope, want)
		img.Attestations = append(img.Attestations, r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(img.Verified()) == 0 {
		return img, errors.Join(append([]error{&CheckError{Check: "attestations", Want: "at least 1 verified attestation",
			Got: fmt.Sprintf("0 of %d", len(envs)), Err: ErrNoAttestation}}, errs...)...)
	}
	return img, nil
}

// EvaluateImage resolves ref to a digest, lists its attestations (both
// layouts, with the Sigstore bundles of referrers) and evaluates them with
// EvaluateAttestations, with the image's repository as the artifact name.
func (e *Engine) EvaluateImage(ctx context.Context, ref string, opts ...oci.Option) (*Report, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	atts, err := listAttestations(ctx, img.Image, opts)
	if err != nil {
		return nil, err
	}
	return e.EvaluateAttestations(ctx, Artifact{Name: img.Name, Digest: img.Digest}, atts)
}

func listAttestations(ctx context.Context, image string, opts []oci.Option) ([]Attestation, error) {
	list, err := oci.List(ctx, image, opts...)
	if err != nil {
		return nil, err
	}
	atts := make([]Attestation, len(list))
	for i, a := range list {
		atts[i] = Attestation{Envelope: a.Envelope, Bundle: rawBundle(a.Bundle)}
	}
	return atts, nil
}

// OCIFetcher returns a Fetcher that reads attestations from registries
// with the oci package, for policies that verify dependencies. It is an
// AttestationFetcher: dependencies are evaluated with their bundles.
func OCIFetcher(opts ...oci.Option) Fetcher { return ociFetcher(opts) }

type ociFetcher []oci.Option

func (f ociFetcher) Fetch(ctx context.Context, image string) ([]*sign.Envelope, error) {
	atts, err := oci.Fetch(ctx, image, f...)
	if err != nil {
		return nil, err
	}
	envs := make([]*sign.Envelope, len(atts))
	for i, a := range atts {
		envs[i] = a.Envelope
	}
	return envs, nil
}

// rawBundle is b's JSON, nil for none.
func rawBundle(b *sign.Bundle) []byte {
	if b == nil {
		return nil
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		return nil
	}
	return raw
}

func (f ociFetcher) FetchAttestations(ctx context.Context, image string) ([]Attestation, error) {
	return listAttestations(ctx, image, f)
}
