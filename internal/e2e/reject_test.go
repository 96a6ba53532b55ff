package e2e

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// TestRejections: a modified layer, a swapped subject and an attestation
// copied from another image are rejected by slsakit and by cosign, in the
// layout each cosign version reads.
func TestRejections(t *testing.T) {
	reg := regproc.Start(t)
	for _, tc := range cosignCases {
		t.Run(tc.version+"/"+layoutName(tc.layout), func(t *testing.T) {
			c := newCosign(t, tc.env, tc.version)
			kp := newKeyPair(t)
			pub := kp.signer.Public()
			repo := "reject/" + tc.version

			// cosignRejects asserts that cosign verify-attestation exits
			// non-zero on d, and does so by running to completion.
			cosignRejects := func(t *testing.T, ctx context.Context, d name.Digest) {
				t.Helper()
				out, err := c.run(ctx, t.TempDir(), verifyAttestationArgs(kp.pubPath, d)...)
				var exit *exec.ExitError
				if !errors.As(err, &exit) || ctx.Err() != nil {
					t.Fatalf("cosign %s verify-attestation on %s: err %v, want a non-zero exit\n%s", tc.version, d, err, out)
				}
				t.Logf("cosign %s rejects (exit %d): %s", tc.version, exit.ExitCode(), lastLine(out))
			}

			t.Run("modified-layer", func(t *testing.T) {
				ctx := testCtx(t, 2*time.Minute)
				image, err := random.Image(256, 1)
				if err != nil {
					t.Fatal(err)
				}
				img := reg.PushImage(t, repo+"/tamper:latest", image)
				attach(t, ctx, img, kp.sign(t, statement(t, img, "tamper")), tc.layout)
				// Control: accepted before the modification.
				if _, err := verifyImage(ctx, img, pub, tc.layout); err != nil {
					t.Fatalf("control: verifyImage before tampering: %v", err)
				}
				c.mustRun(t, ctx, t.TempDir(), verifyAttestationArgs(kp.pubPath, img)...)

				target := img // the .att tag is overwritten in place
				if tc.layout == oci.Referrers {
					target = reg.PushImage(t, repo+"/tamper-target:latest", image)
				}
				tamperStored(t, ctx, img, target, tc.layout)
				if n := len(storedEnvelopes(t, ctx, target, tc.layout)); n != 1 {
					t.Fatalf("after tampering %d attestations are stored, want 1", n)
				}
				if _, err := verifyImage(ctx, target, pub, tc.layout); !errors.Is(err, errSignature) {
					t.Fatalf("slsakit on a modified layer: %v, want errSignature", err)
				}
				cosignRejects(t, ctx, target)
			})

			t.Run("swapped-subject", func(t *testing.T) {
				ctx := testCtx(t, 2*time.Minute)
				img := reg.PushRandomImage(t, repo+"/swap", 256)
				other := reg.PushRandomImage(t, repo+"/swap-other", 256)
				env := kp.sign(t, statement(t, other, "swap")) // about another image
				if _, err := oci.Attach(ctx, img.String(), &sign.Attestation{Envelope: env}, ociOpts(tc.layout)...); err != nil {
					// Refusing to attach is a fine answer too; then there is
					// nothing for a consumer to reject.
					t.Logf("oci.Attach refuses a statement about another image: %v", err)
					if n := storedLayouts(t, ctx, img); n != 0 {
						t.Fatalf("refused attach left attestations in layout %s", layoutName(n))
					}
					return
				}
				if _, err := verifyImage(ctx, img, pub, tc.layout); !errors.Is(err, errSubject) {
					t.Fatalf("slsakit on a swapped subject: %v, want errSubject", err)
				}
				cosignRejects(t, ctx, img)
			})

			t.Run("copied-from-another-image", func(t *testing.T) {
				ctx := testCtx(t, 2*time.Minute)
				src := reg.PushRandomImage(t, repo+"/copy-src", 256)
				dst := reg.PushRandomImage(t, repo+"/copy-src", 300) // same repo, new digest
				attach(t, ctx, src, kp.sign(t, statement(t, src, "copy")), tc.layout)
				// Control: valid on the image it is about.
				if _, err := verifyImage(ctx, src, pub, tc.layout); err != nil {
					t.Fatalf("control: verifyImage on the source image: %v", err)
				}
				c.mustRun(t, ctx, t.TempDir(), verifyAttestationArgs(kp.pubPath, src)...)

				copyStored(t, ctx, src, dst, tc.layout)
				if n := len(storedEnvelopes(t, ctx, dst, tc.layout)); n != 1 {
					t.Fatalf("after copying %d attestations are stored on the target, want 1", n)
				}
				if _, err := verifyImage(ctx, dst, pub, tc.layout); !errors.Is(err, errSubject) {
					t.Fatalf("slsakit on a copied attestation: %v, want errSubject", err)
				}
				cosignRejects(t, ctx, dst)
			})
		})
	}
}
