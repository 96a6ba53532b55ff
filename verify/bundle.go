package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
)

// BundleVerifier verifies a Sigstore bundle (keyless: certificate chain,
// signer identity, transparency log, timestamps) that holds a DSSE
// envelope about the artifact with digest "algorithm:hex" (for an image
// "sha256:<hex>"), and returns the authenticated envelope. The keyless
// package's Verifier is one; this package does not depend on Sigstore
// itself.
type BundleVerifier interface {
	VerifyBundle(ctx context.Context, bundle []byte, digest string) (*sign.Envelope, error)
}

// ClockedBundleVerifier is a BundleVerifier whose checks read a clock
// (keyless.Verifier refuses signing times later than its clock plus
// ClockSkew). NewEngine hands each one the engine's clock (WithClock)
// through WithClock, which returns a verifier using it, so that one clock
// judges every time in an evaluation.
type ClockedBundleVerifier interface {
	BundleVerifier
	WithClock(now func() time.Time) BundleVerifier
}

// bundleDigest picks the digest a bundle is verified for: sha256 if the
// expected set has it, else its lexically first strong algorithm; none
// when the expectation is malformed or has no strong algorithm.
func bundleDigest(d provenance.DigestSet) (string, bool) {
	norm, err := expectedDigest(d)
	if err != nil {
		return "", false
	}
	strong := norm.Strong()
	if h, ok := strong[provenance.AlgSHA256]; ok {
		return provenance.AlgSHA256 + ":" + h, true
	}
	algs := make([]string, 0, len(strong))
	for alg := range strong {
		algs = append(algs, alg)
	}
	sort.Strings(algs)
	return algs[0] + ":" + strong[algs[0]], true
}

// VerifyBundle verifies a Sigstore bundle with bv for the artifact of
// want.SubjectDigest (required), then, trusting only what bv
// authenticated, checks the envelope's payload type (in-toto) and the
// statement against want exactly as Verifier.VerifyEnvelope does. A bundle
// that does not verify fails the "signature" check with ErrSignature
// wrapping bv's error (so errors.Is also finds the keyless sentinel), and
// the statement is not read.
func VerifyBundle(ctx context.Context, bv BundleVerifier, bundle []byte, want Expectations) (*Result, error) {
	r := &Result{}
	const wantSig = "a Sigstore bundle by a trusted identity"
	digest, ok := bundleDigest(want.SubjectDigest)
	switch {
	case bv == nil:
		r.fail("signature", wantSig, "", fmt.Errorf("%w: no bundle verifier", ErrSignature))
	case !ok:
		r.fail("subject", "a strong artifact digest", want.SubjectDigest.String(),
			fmt.Errorf("%w: a bundle is verified for the artifact's digest, and none is given", ErrSubject))
	case len(bundle) == 0:
		r.fail("signature", wantSig, "no bundle", fmt.Errorf("%w: no Sigstore bundle", ErrSignature))
	}
	if r.Err() != nil {
		return r, skipStatement(r)
	}
	env, err := bv.VerifyBundle(ctx, bundle, digest)
	if err == nil && env == nil {
		err = errors.New("bundle verifier returned no envelope")
	}
	if err != nil {
		r.fail("signature", wantSig, "", fmt.Errorf("%w: %w", ErrSignature, err))
		return r, skipStatement(r)
	}
	r.Envelope = env
	r.pass("signature", wantSig, "Sigstore bundle verified for "+digest)
	if env.PayloadType != sign.PayloadTypeInToto {
		r.fail("payloadType", sign.PayloadTypeInToto, env.PayloadType, ErrPayloadType)
		return r, skipStatement(r)
	}
	r.pass("payloadType", sign.PayloadTypeInToto, env.PayloadType)
	checkStatement(r, env.Payload, want, sign.DefaultMaxEnvelopeSize)
	return r, r.Err()
}

// skipStatement reports the statement checks as skipped and returns r's
// error: an unauthenticated payload is never read.
func skipStatement(r *Result) error {
	for _, name := range statementChecks {
		r.skip(name, "signature not verified")
	}
	return r.Err()
}

// VerifyImageBundles is VerifyImage for keyless attestations: it resolves
// ref to its digest once, lists the image's OCI referrers (only those of
// want.PredicateType when set) and verifies the Sigstore bundle of each
// with bv for the image's digest, then its statement against want, whose
// SubjectDigest is replaced by the image's digest. A referrer without a
// bundle is reported as failed. It fails with ErrNoAttestation, joined
// with each attestation's failure, when none passes. opts configure
// registry access; the layout is always oci.Referrers, where bundles live.
func VerifyImageBundles(ctx context.Context, ref string, bv BundleVerifier, want Expectations, opts ...oci.Option) (*ImageResult, error) {
	if bv == nil {
		return nil, fmt.Errorf("%w: no bundle verifier", ErrSignature)
	}
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	opts = append(opts[:len(opts):len(opts)], oci.WithLayout(oci.Referrers))
	if want.PredicateType != "" {
		opts = append(opts, oci.WithPredicateType(want.PredicateType))
	}
	atts, err := oci.List(ctx, img.Image, opts...)
	if err != nil {
		return img, err
	}
	want.SubjectDigest = img.Digest
	var errs []error
	for _, a := range atts {
		r, err := VerifyBundle(ctx, bv, rawBundle(a.Bundle), want)
		if r.Envelope == nil {
			r.Envelope = a.Envelope // for the report; not authenticated
		}
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
