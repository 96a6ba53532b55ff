package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
)

// ErrNoSignature: no signature of the image verified.
var ErrNoSignature = errors.New("verify: no trusted signature of the image")

// MessageAuthenticator is the optional interface of an Authenticator that
// verifies a signature made directly over a message rather than over a
// DSSE envelope: cosign's .sig image signatures (a signature over the
// simple-signing payload). KeyAuthenticator and AnyOf implement it; an
// Authenticator without it cannot vouch for a .sig signature.
//
// AuthenticateMessage returns who signed m.Message (Authenticated.Envelope
// is nil: there is none) or an error wrapping ErrSignature, ErrThreshold
// or ErrMalformed.
type MessageAuthenticator interface {
	AuthenticateMessage(ctx context.Context, m *SignedMessage) (*Authenticated, error)
}

// SignedMessage is a message and a signature over it, with the keyless
// material cosign stores beside it (PEM certificate and chain), if any.
type SignedMessage struct {
	Message     []byte
	Signature   []byte
	Certificate []byte
	Chain       []byte
}

// AuthenticateMessage verifies m.Signature over m.Message with the trusted
// keys. A message carries one signature, so it meets a threshold of one
// only (ErrThreshold above). Certificates are not read: a key vouches.
func (k *KeyAuthenticator) AuthenticateMessage(ctx context.Context, m *SignedMessage) (*Authenticated, error) {
	if m == nil || len(m.Signature) == 0 {
		return nil, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	for _, tk := range k.keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if tk.v.Verify(ctx, m.Message, m.Signature) != nil {
			continue
		}
		if k.threshold > 1 {
			return nil, fmt.Errorf("%w: a single signature by %s, %d trusted signers required", ErrThreshold, tk.id, k.threshold)
		}
		return &Authenticated{Signers: []Signer{{KeyID: tk.id}}}, nil
	}
	return nil, fmt.Errorf("%w: the signature is by no trusted key", ErrSignature)
}

// AuthenticateMessage tries the authenticators that can verify messages,
// in order; the first success wins.
func (as anyOf) AuthenticateMessage(ctx context.Context, m *SignedMessage) (*Authenticated, error) {
	var errs []error
	for _, a := range as {
		ma, ok := a.(MessageAuthenticator)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s cannot verify a signature over a message", ErrSignature, describe(a)))
			continue
		}
		au, err := ma.AuthenticateMessage(ctx, m)
		if err == nil && au != nil {
			return au, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil {
			err = fmt.Errorf("%w: authenticator returned nothing", ErrSignature)
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%w: no authenticator trusts anyone", ErrSignature)
	}
	return nil, errors.Join(errs...)
}

// ImageSignatureResult reports the verification of an image's signatures.
type ImageSignatureResult struct {
	// Image is the image verified, by digest; Name its repository.
	Image  string
	Name   string
	Digest intoto.DigestSet
	// Signatures holds the result of every signature found, in the order
	// oci.ListSignatures found them.
	Signatures []*Result
}

// Verified returns the results of the signatures that passed.
func (r *ImageSignatureResult) Verified() []*Result {
	var out []*Result
	for _, s := range r.Signatures {
		if s.Passed() {
			out = append(out, s)
		}
	}
	return out
}

// VerifyImageSignatures verifies the cosign signatures of the image ref
// (a tag is resolved to its digest once): those of the .sig tag and the
// cosign v3 signature referrers (oci.ListSignatures; oci.WithLayout picks
// one layout). Each is authenticated with auth before its payload is read,
// and must then be about this image:
//
//   - a .sig signature: auth must implement MessageAuthenticator; the
//     payload must be a simple-signing payload of type
//     oci.CosignSignatureType (ErrPayloadType for any other: its meaning
//     is unknown) whose docker-manifest-digest is the image's digest
//     (ErrSubject: a signature copied from another image);
//   - a referrer: Verify with the image's digest as subject and
//     oci.PredicateCosignSign as predicate type.
//
// It fails with ErrNoSignature, joined with each signature's failure, when
// none passes. The docker-reference a .sig payload claims is reported,
// not checked, as cosign does: the digest is what was signed.
func VerifyImageSignatures(ctx context.Context, auth Authenticator, ref string, opts ...oci.Option) (*ImageSignatureResult, error) {
	img, err := resolveImage(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	out := &ImageSignatureResult{Image: img.Image, Name: img.Name, Digest: img.Digest}
	sigs, err := oci.ListSignatures(ctx, img.Image, opts...)
	if err != nil {
		return out, err
	}
	var errs []error
	for i := range sigs {
		var r *Result
		if s := &sigs[i]; s.Attestation != nil {
			r, _ = Verify(ctx, auth, &s.Attestation.Attestation, Expectations{SubjectDigest: img.Digest, PredicateType: oci.PredicateCosignSign})
		} else {
			r = verifyLegacySignature(ctx, auth, s, img.Digest)
		}
		out.Signatures = append(out.Signatures, r)
		if err := r.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(out.Verified()) == 0 {
		return out, errors.Join(append([]error{&CheckError{Check: "signatures", Want: "at least 1 verified signature",
			Got: fmt.Sprintf("0 of %d", len(sigs)), Err: ErrNoSignature}}, errs...)...)
	}
	return out, nil
}

// legacyChecks are the checks of a .sig payload, skipped while it is not
// authenticated.
var legacyChecks = []string{"payloadType", "subject"}

// verifyLegacySignature authenticates a .sig signature, then reads its
// payload.
func verifyLegacySignature(ctx context.Context, auth Authenticator, s *oci.Signature, digest intoto.DigestSet) *Result {
	r := &Result{}
	ma, ok := auth.(MessageAuthenticator)
	if !ok || auth == nil {
		r.fail("signature", describeAuth(auth), "", fmt.Errorf("%w: %s cannot verify a cosign .sig signature (a signature over a message)", ErrSignature, describeAuth(auth)))
		return skipLegacy(r)
	}
	au, err := ma.AuthenticateMessage(ctx, &SignedMessage{Message: s.Payload, Signature: s.Signature, Certificate: s.Certificate, Chain: s.Chain})
	if err == nil && au == nil {
		err = errors.New("authenticator returned nothing")
	}
	if err != nil {
		if !isSentinel(err) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrSignature, err)
		}
		r.fail("signature", describe(auth), "", err)
		return skipLegacy(r)
	}
	names := make([]string, len(au.Signers))
	for i, sg := range au.Signers {
		names[i] = sg.String()
	}
	r.pass("signature", describe(auth), fmt.Sprintf("%d trusted signer(s): %s", len(au.Signers), strings.Join(names, ", ")))
	r.Signers, r.Times = au.Signers, au.Times

	p, err := oci.ParseSimpleSigning(s.Payload)
	if err != nil {
		sentinel := ErrMalformed
		if errors.Is(err, oci.ErrUnknownSignatureType) {
			sentinel = ErrPayloadType
		}
		r.fail("payloadType", oci.CosignSignatureType, "", fmt.Errorf("%w: %w", sentinel, err))
		r.skip("subject", "payload not readable")
		return r
	}
	r.pass("payloadType", oci.CosignSignatureType, p.Critical.Type)
	want := "sha256:" + digest[intoto.AlgSHA256]
	got := p.Critical.Image.DockerManifestDigest
	if got != want { // exactly, as cosign compares
		r.fail("subject", want, got, fmt.Errorf("%w: the signature is of image %s (%s)", ErrSubject, got, p.Critical.Identity.DockerReference))
		return r
	}
	r.pass("subject", want, p.Critical.Identity.DockerReference+"@"+got)
	return r
}

func skipLegacy(r *Result) *Result {
	for _, name := range legacyChecks {
		r.skip(name, "signature not verified")
	}
	return r
}

// describeAuth is describe that tolerates a nil authenticator.
func describeAuth(a Authenticator) string {
	if a == nil {
		return "no authenticator"
	}
	return describe(a)
}

var _ MessageAuthenticator = (*KeyAuthenticator)(nil)
var _ MessageAuthenticator = anyOf(nil)
