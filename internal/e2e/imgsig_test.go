package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/verify"
)

// verifySignatureArgs are cosign's flags for a key-based image signature
// check without a transparency log.
func verifySignatureArgs(pubPath string, d name.Digest) []string {
	return []string{"verify", "--key", pubPath, "--insecure-ignore-tlog=true", "--allow-insecure-registry", d.String()}
}

// signArgs are cosign's flags for a key-based image signature without a
// log (v3 also without the public signing config).
func (c *cosign) signArgs(keyPath string, d name.Digest) []string {
	args := []string{"sign", "--key", keyPath, "--tlog-upload=false", "--allow-insecure-registry"}
	if strings.HasPrefix(c.version, "v3") {
		args = append(args, "--use-signing-config=false")
	}
	return append(args, d.String())
}

// slsakitVerifySignatures is a consumer's check with slsakit: the image's
// cosign signatures, with the public key at pubPath.
func slsakitVerifySignatures(t testing.TB, ctx context.Context, d name.Digest, pubPath string) error {
	t.Helper()
	auth, err := verify.Keys(verify.WithPublicKeys(loadPub(t, pubPath)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.VerifyImageSignatures(ctx, auth, d.String(), oci.WithInsecure())
	return err
}

// signatureLayout is where cosign's or slsakit's signature of d is stored,
// read directly from the registry.
func signatureLayout(t testing.TB, ctx context.Context, d name.Digest) oci.Layout {
	t.Helper()
	var l oci.Layout
	if len(referrers(t, ctx, d)) > 0 {
		l |= oci.Referrers
	}
	if hasTag(t, ctx, d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1)+".sig")) {
		l |= oci.Legacy
	}
	return l
}

// TestImageSignaturesSlsakitToCosign: cosign verify --key (v2.6.5, v3.1.3)
// accepts what oci.Sign wrote by default (the .sig tag), v3 also the
// referrer layout; a foreign key is refused, and so is the signature
// copied onto another image.
func TestImageSignaturesSlsakitToCosign(t *testing.T) {
	reg := regproc.Start(t)
	type tc struct {
		cosignCase
		layout oci.Layout // 0: oci.Sign's default
	}
	cases := []tc{{cosignCases[0], 0}, {cosignCases[1], 0}, {cosignCases[1], oci.Referrers}}
	for _, c := range cases {
		ln := "default"
		if c.layout != 0 {
			ln = layoutName(c.layout)
		}
		repo := "imgsig/s2c-" + c.version + "-" + ln
		t.Run(c.version+"/"+ln, func(t *testing.T) {
			cs := newCosign(t, c.env, c.version)
			ctx := testCtx(t, 2*time.Minute)
			img := reg.PushRandomImage(t, repo, 512)
			kp := newKeyPair(t)
			opts := []oci.Option{oci.WithInsecure()}
			if c.layout != 0 {
				opts = append(opts, oci.WithLayout(c.layout))
			}
			if _, err := oci.Sign(ctx, img.String(), kp.signer, opts...); err != nil {
				t.Fatalf("oci.Sign: %v", err)
			}
			want := c.layout
			if want == 0 {
				want = oci.Legacy
			}
			if got := signatureLayout(t, ctx, img); got != want {
				t.Fatalf("stored in %s, want %s", layoutName(got), layoutName(want))
			}
			out := cs.mustRun(t, ctx, t.TempDir(), verifySignatureArgs(kp.pubPath, img)...)
			t.Logf("cosign %s verify: ok\n%s", c.version, truncate(out, 400))
			if out, err := cs.run(ctx, t.TempDir(), verifySignatureArgs(newKeyPair(t).pubPath, img)...); err == nil {
				t.Fatalf("cosign %s verified with a foreign key:\n%s", c.version, out)
			}

			// The signature moved to another image: refused by both.
			other := reg.PushRandomImage(t, repo, 512)
			copyStoredSignature(t, ctx, img, other, want)
			if signatureLayout(t, ctx, other) != want {
				t.Fatal("the moved signature is not in front of the verifiers")
			}
			if out, err := cs.run(ctx, t.TempDir(), verifySignatureArgs(kp.pubPath, other)...); err == nil {
				t.Fatalf("cosign %s accepted a signature moved to another image:\n%s", c.version, out)
			} else {
				t.Logf("cosign %s refuses the moved signature: %s", c.version, lastLine(out))
			}
			if err := slsakitVerifySignatures(t, ctx, other, kp.pubPath); !errors.Is(err, verify.ErrSubject) {
				t.Fatalf("slsakit on the moved signature: %v, want ErrSubject", err)
			}
		})
	}
}

// TestImageSignaturesCosignToSlsakit: what cosign sign --key writes (v2:
// .sig, v3: a referrer bundle) verifies with slsakit and cosign's public
// key, not with another key, and not once moved to another image.
func TestImageSignaturesCosignToSlsakit(t *testing.T) {
	reg := regproc.Start(t)
	for _, c := range cosignCases {
		t.Run(c.version, func(t *testing.T) {
			cs := newCosign(t, c.env, c.version)
			ctx := testCtx(t, 2*time.Minute)
			img := reg.PushRandomImage(t, "imgsig/c2s-"+c.version, 512)
			keys := cs.generateKeyPair(t, ctx)
			cs.mustRun(t, ctx, t.TempDir(), cs.signArgs(filepath.Join(keys, "cosign.key"), img)...)
			if got := signatureLayout(t, ctx, img); got != c.layout {
				t.Fatalf("cosign %s sign wrote %s, want %s", c.version, layoutName(got), layoutName(c.layout))
			}
			sigs, err := oci.ListSignatures(ctx, img.String(), oci.WithInsecure())
			if err != nil || len(sigs) != 1 || sigs[0].Layout != c.layout {
				t.Fatalf("ListSignatures: %v, %+v", err, sigs)
			}
			pub := filepath.Join(keys, "cosign.pub")
			if err := slsakitVerifySignatures(t, ctx, img, pub); err != nil {
				t.Fatalf("slsakit verify of cosign's signature: %v", err)
			}
			if err := slsakitVerifySignatures(t, ctx, img, newKeyPair(t).pubPath); !errors.Is(err, verify.ErrSignature) {
				t.Fatalf("with a foreign key: %v, want ErrSignature", err)
			}
			other := reg.PushRandomImage(t, "imgsig/c2s-"+c.version, 512)
			copyStoredSignature(t, ctx, img, other, c.layout)
			if err := slsakitVerifySignatures(t, ctx, other, pub); !errors.Is(err, verify.ErrSubject) {
				t.Fatalf("cosign's signature moved to another image: %v, want ErrSubject", err)
			}
			if out, err := cs.run(ctx, t.TempDir(), verifySignatureArgs(pub, other)...); err == nil {
				t.Fatalf("cosign %s accepted its signature moved to another image:\n%s", c.version, out)
			}
		})
	}
}

// copyStoredSignature copies the signature of from onto to (same
// repository), as anyone with push rights could: the .sig manifest
// re-tagged, or the referrer re-pushed with its subject pointing at to and
// listed in to's referrers tag (the registry process has no referrers API).
func copyStoredSignature(t testing.TB, ctx context.Context, from, to name.Digest, layout oci.Layout) {
	t.Helper()
	if layout == oci.Legacy {
		tag := func(d name.Digest) name.Tag {
			return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
		}
		m, mt, _ := getManifest(t, ctx, tag(from))
		putManifest(t, ctx, tag(to), m, mt)
		return
	}
	refs := referrers(t, ctx, from)
	if len(refs) != 1 {
		t.Fatalf("%d referrers, want 1", len(refs))
	}
	_, mt, raw := getManifest(t, ctx, from.Context().Digest(refs[0].Digest.String()))
	toDesc, err := remote.Head(to, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// Edit as JSON, keeping fields v1.Manifest does not know (artifactType).
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["subject"], err = json.Marshal(v1.Descriptor{MediaType: toDesc.MediaType, Digest: toDesc.Digest, Size: toDesc.Size}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	if err := remote.Put(to.Context().Digest(h.String()), rawManifest{raw: b, mt: mt}, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	d := refs[0]
	d.Digest, d.Size = h, int64(len(b))
	idx, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}})
	tag := to.Context().Tag(strings.Replace(to.DigestStr(), ":", "-", 1))
	if err := remote.Put(tag, rawManifest{raw: idx, mt: types.OCIImageIndex}, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
}

// TestCosignV3TakesAnAttestationForASignature records a cosign v3.1.3
// weakness slsakit does not share: `cosign verify --key` accepts an image
// that has no signature at all, only an attestation (SLSA provenance) by
// that key in the referrer layout, since it verifies every bundle
// referrer whatever its predicate type. slsakit's VerifyImageSignatures
// requires the cosign sign predicate type and refuses it.
func TestCosignV3TakesAnAttestationForASignature(t *testing.T) {
	reg := regproc.Start(t)
	cs := newCosign(t, regproc.EnvCosignV3, "v3.1.3")
	ctx := testCtx(t, 2*time.Minute)
	img := reg.PushRandomImage(t, "imgsig/att-not-sig", 512)
	kp := newKeyPair(t)
	attach(t, ctx, img, kp.sign(t, statement(t, img, "att")), oci.Referrers)
	if out, err := cs.run(ctx, t.TempDir(), verifySignatureArgs(kp.pubPath, img)...); err == nil {
		t.Logf("cosign v3.1.3 verify accepted an image with only an attestation:\n%s", truncate(out, 300))
	} else {
		t.Logf("cosign v3.1.3 verify refused: %s", lastLine(out))
	}
	if err := slsakitVerifySignatures(t, ctx, img, kp.pubPath); !errors.Is(err, verify.ErrNoSignature) {
		t.Fatalf("slsakit took an attestation for a signature: %v", err)
	}
}
