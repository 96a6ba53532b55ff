package verify_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
	"github.com/slsakit/slsakit/verify"
)

func keysFor(t testing.TB, signers ...sign.Signer) verify.Authenticator {
	t.Helper()
	var vs []sign.Verifier
	for _, s := range signers {
		vs = append(vs, signtest.Verifier(t, s))
	}
	k, err := verify.Keys(verify.WithKeys(vs...))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var layouts = []oci.Layout{oci.Legacy, oci.Referrers}

// TestVerifyImageSignatures: what oci.Sign writes verifies with the
// signer's key in each layout, and not with another key.
func TestVerifyImageSignatures(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	ctx := context.Background()
	for _, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			image := reg.PushRandomImage(t, "imgsig/ok-"+l.String())
			s := signtest.NewSigner("imgsig")
			if _, err := oci.Sign(ctx, image, s, oci.WithInsecure(), oci.WithLayout(l)); err != nil {
				t.Fatal(err)
			}
			res, err := verify.VerifyImageSignatures(ctx, keysFor(t, s), image, oci.WithInsecure())
			if err != nil {
				t.Fatalf("VerifyImageSignatures: %v", err)
			}
			if len(res.Verified()) != 1 || len(res.Verified()[0].Signers) != 1 {
				t.Fatalf("verified %d: %+v", len(res.Verified()), res.Signatures)
			}
			// By tag too: resolved once to the same digest.
			tag := strings.SplitN(image, "@", 2)[0] + ":latest"
			if _, err := verify.VerifyImageSignatures(ctx, keysFor(t, s), tag, oci.WithInsecure()); err != nil {
				t.Fatalf("by tag: %v", err)
			}
			_, err = verify.VerifyImageSignatures(ctx, keysFor(t, signtest.NewSigner("stranger")), image, oci.WithInsecure())
			if !errors.Is(err, verify.ErrNoSignature) || !errors.Is(err, verify.ErrSignature) {
				t.Fatalf("with a foreign key: %v, want ErrNoSignature and ErrSignature", err)
			}
		})
	}
}

// TestImageSignatureMovedToAnotherImage: a registry writer copies a valid
// signature of image A onto image B. It is signed by the trusted key, and
// about A: refused for B (ErrSubject), in both layouts.
func TestImageSignatureMovedToAnotherImage(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	ctx := context.Background()
	for _, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			a := reg.PushRandomImage(t, "imgsig/a-"+l.String())
			b := reg.PushRandomImage(t, "imgsig/b-"+l.String())
			s := signtest.NewSigner("mover")
			if _, err := oci.Sign(ctx, a, s, oci.WithInsecure(), oci.WithLayout(l)); err != nil {
				t.Fatal(err)
			}
			if n := reg.CopyAttestations(t, a, b); n != 1 {
				t.Fatalf("copied %d, want 1", n)
			}
			if got, err := oci.ListSignatures(ctx, b, oci.WithInsecure()); err != nil || len(got) != 1 {
				t.Fatalf("the copy is not in front of the verifier: %d, %v", len(got), err)
			}
			_, err := verify.VerifyImageSignatures(ctx, keysFor(t, s), b, oci.WithInsecure())
			if !errors.Is(err, verify.ErrNoSignature) || !errors.Is(err, verify.ErrSubject) {
				t.Fatalf("moved signature: %v, want ErrNoSignature and ErrSubject", err)
			}
		})
	}
}

// putSig writes a .sig manifest for image holding payload, signed by s,
// bypassing oci.Sign (which only writes cosign's own payload).
func putSig(t testing.TB, image string, s sign.Signer, payload []byte) {
	t.Helper()
	ctx := context.Background()
	sig, err := s.Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := v1.NewHash(d.DigestStr())
	layer := static.NewLayer(payload, oci.MediaTypeSimpleSigning)
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer: layer, MediaType: oci.MediaTypeSimpleSigning,
		Annotations: map[string]string{oci.AnnotationSignature: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Tag("sha256-"+h.Hex+".sig"), img); err != nil {
		t.Fatal(err)
	}
}

// TestImageSignaturePayloadClass: signed by the trusted key, about this
// image's digest, but not a payload whose meaning we know: refused after
// authentication, each with its typed error.
func TestImageSignaturePayloadClass(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	ctx := context.Background()
	s := signtest.NewSigner("payloads")
	for i, tc := range []struct {
		name    string
		payload func(repo, digest string) string
		want    error
	}{
		{"unknown critical type", func(r, d string) string {
			return fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"atomic container signature"},"optional":null}`, r, d)
		}, verify.ErrPayloadType},
		{"duplicate digest key", func(r, d string) string {
			return fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":"sha256:%s","docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, r, strings.Repeat("0", 64), d)
		}, verify.ErrMalformed},
		{"case variant digest key", func(r, d string) string {
			return fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"Docker-Manifest-Digest":"sha256:%s","docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, r, strings.Repeat("0", 64), d)
		}, verify.ErrMalformed},
		{"digest upper case", func(r, d string) string {
			return fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, r, strings.ToUpper(d))
		}, verify.ErrSubject},
		{"not JSON", func(r, d string) string { return "cosign container image signature " + d }, verify.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			image := reg.PushRandomImage(t, fmt.Sprintf("imgsig/payload-%d", i))
			d, _ := name.NewDigest(image, name.Insecure)
			putSig(t, image, s, []byte(tc.payload(d.Context().Name(), d.DigestStr())))
			res, err := verify.VerifyImageSignatures(ctx, keysFor(t, s), image, oci.WithInsecure())
			if !errors.Is(err, verify.ErrNoSignature) || !errors.Is(err, tc.want) {
				t.Fatalf("%v, want ErrNoSignature and %v", err, tc.want)
			}
			// Authenticated first: the signature check passed.
			if len(res.Signatures) != 1 || res.Signatures[0].Checks[0].Name != "signature" || res.Signatures[0].Checks[0].Outcome != verify.Passed {
				t.Fatalf("checks %+v", res.Signatures[0].Checks)
			}
		})
	}
}

// TestImageSignatureNotAnAttestation: cosign v3 `verify` counts any
// attestation bundle about the image as a signature; here an attestation
// of another predicate type by the trusted key is not a signature.
func TestImageSignatureNotAnAttestation(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	ctx := context.Background()
	image := reg.PushRandomImage(t, "imgsig/att-only")
	s := signtest.NewSigner("att")
	env, err := sign.SignStatement(ctx, imageStatement(t, image), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure()); err != nil {
		t.Fatal(err)
	}
	_, err = verify.VerifyImageSignatures(ctx, keysFor(t, s), image, oci.WithInsecure())
	if !errors.Is(err, verify.ErrNoSignature) {
		t.Fatalf("an attestation taken for a signature: %v", err)
	}
}

// noMessages is an Authenticator that cannot verify messages.
type noMessages struct{ verify.Authenticator }

// TestImageSignatureAuthenticatorKinds: thresholds above one cannot be met
// by a .sig signature; AnyOf verifies with the member that can; an
// authenticator without message support refuses .sig signatures with
// ErrSignature instead of passing them.
func TestImageSignatureAuthenticatorKinds(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	ctx := context.Background()
	image := reg.PushRandomImage(t, "imgsig/kinds")
	s1, s2 := signtest.NewSigner("one"), signtest.NewSigner("two")
	if _, err := oci.Sign(ctx, image, s1, oci.WithInsecure()); err != nil {
		t.Fatal(err)
	}
	two, err := verify.Keys(verify.WithKeys(signtest.Verifier(t, s1), signtest.Verifier(t, s2)), verify.WithThreshold(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyImageSignatures(ctx, two, image, oci.WithInsecure()); !errors.Is(err, verify.ErrThreshold) {
		t.Fatalf("threshold 2: %v, want ErrThreshold", err)
	}
	any := verify.AnyOf(noMessages{keysFor(t, s2)}, keysFor(t, s1))
	if _, err := verify.VerifyImageSignatures(ctx, any, image, oci.WithInsecure()); err != nil {
		t.Fatalf("AnyOf: %v", err)
	}
	if _, err := verify.VerifyImageSignatures(ctx, noMessages{keysFor(t, s1)}, image, oci.WithInsecure()); !errors.Is(err, verify.ErrSignature) {
		t.Fatalf("no message support: %v, want ErrSignature", err)
	}
	if _, err := verify.VerifyImageSignatures(ctx, nil, image, oci.WithInsecure()); !errors.Is(err, verify.ErrSignature) {
		t.Fatalf("nil authenticator: %v, want ErrSignature", err)
	}
}
