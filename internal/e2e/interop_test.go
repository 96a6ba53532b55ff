package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
)

// cosignCase is a cosign version with the layout it writes by default and
// reads first.
type cosignCase struct {
	version string
	env     string
	layout  oci.Layout
}

var cosignCases = []cosignCase{
	{version: "v2.6.5", env: regproc.EnvCosignV2, layout: oci.Legacy},
	{version: "v3.1.3", env: regproc.EnvCosignV3, layout: oci.Referrers},
}

func layoutName(l oci.Layout) string {
	switch l {
	case oci.Legacy:
		return "legacy"
	case oci.Referrers:
		return "referrers"
	case oci.Both:
		return "both"
	}
	return fmt.Sprintf("layout(%d)", int(l))
}

// TestSlsakitToCosign: what slsakit attaches, cosign verifies, in the
// layout that cosign version reads.
func TestSlsakitToCosign(t *testing.T) {
	reg := regproc.Start(t)
	for _, tc := range cosignCases {
		t.Run(tc.version+"/"+layoutName(tc.layout), func(t *testing.T) {
			c := newCosign(t, tc.env, tc.version)
			ctx := testCtx(t, 2*time.Minute)
			img := reg.PushRandomImage(t, "interop/s2c-"+tc.version, 512)
			kp := newKeyPair(t)
			res := attach(t, ctx, img, kp.sign(t, statement(t, img, "s2c")), tc.layout)
			if res.Image != img.String() {
				t.Errorf("AttachResult.Image = %q, want %q", res.Image, img.String())
			}
			out := c.mustRun(t, ctx, t.TempDir(), verifyAttestationArgs(kp.pubPath, img)...)
			t.Logf("cosign %s verify-attestation: ok\n%s", tc.version, truncate(out, 600))

			// Control: another key must not verify, or exit 0 proves nothing.
			other := newKeyPair(t)
			if out, err := c.run(ctx, t.TempDir(), verifyAttestationArgs(other.pubPath, img)...); err == nil {
				t.Fatalf("cosign %s verified with a foreign key:\n%s", tc.version, out)
			}
		})
	}
	// cosign v3 also reads the legacy layout as a fallback, and both
	// layouts written at once.
	for _, layout := range []oci.Layout{oci.Legacy, oci.Both} {
		t.Run("v3.1.3/"+layoutName(layout), func(t *testing.T) {
			c := newCosign(t, regproc.EnvCosignV3, "v3.1.3")
			ctx := testCtx(t, 2*time.Minute)
			img := reg.PushRandomImage(t, "interop/s2c-v3-"+layoutName(layout), 512)
			kp := newKeyPair(t)
			attach(t, ctx, img, kp.sign(t, statement(t, img, "s2c")), layout)
			if got := storedLayouts(t, ctx, img); got != layout {
				t.Fatalf("stored layouts %s, want %s", layoutName(got), layoutName(layout))
			}
			c.mustRun(t, ctx, t.TempDir(), verifyAttestationArgs(kp.pubPath, img)...)
		})
	}
}

// TestCosignToSlsakit: what cosign attests, slsakit lists and verifies with
// cosign's public key.
func TestCosignToSlsakit(t *testing.T) {
	reg := regproc.Start(t)
	for _, tc := range cosignCases {
		t.Run(tc.version+"/"+layoutName(tc.layout), func(t *testing.T) {
			c := newCosign(t, tc.env, tc.version)
			ctx := testCtx(t, 2*time.Minute)
			img := reg.PushRandomImage(t, "interop/c2s-"+tc.version, 512)
			keys := c.generateKeyPair(t, ctx)
			c.mustRun(t, ctx, t.TempDir(), c.attestArgs(filepath.Join(keys, "cosign.key"), predicateFile(t, "c2s"), img)...)

			// cosign wrote the layout we expect it to, and only that one.
			got := storedLayouts(t, ctx, img)
			if got != tc.layout {
				t.Fatalf("cosign %s attest wrote layout %s, want %s", tc.version, layoutName(got), layoutName(tc.layout))
			}

			atts, err := oci.List(ctx, img.String(), ociOpts(oci.Both)...)
			if err != nil {
				t.Fatalf("oci.List: %v", err)
			}
			if len(atts) != 1 {
				t.Fatalf("oci.List found %d attestations, want 1", len(atts))
			}
			a := atts[0]
			if a.Layout != tc.layout {
				t.Errorf("attestation found in layout %s, want %s", layoutName(a.Layout), layoutName(tc.layout))
			}
			if a.PredicateType != slsaV1 {
				t.Errorf("PredicateType = %q, want %q", a.PredicateType, slsaV1)
			}
			if (a.Bundle != nil) != (tc.layout == oci.Referrers) {
				t.Errorf("Bundle present = %v for layout %s", a.Bundle != nil, layoutName(tc.layout))
			}
			pub := loadPub(t, filepath.Join(keys, "cosign.pub"))
			n, err := verifyImage(ctx, img, pub, oci.Both)
			if err != nil || n != 1 {
				t.Fatalf("verifyImage = %d, %v; want 1, nil", n, err)
			}
			// Control: a foreign key rejects it.
			if _, err := verifyImage(ctx, img, newKeyPair(t).signer.Public(), oci.Both); !errors.Is(err, errSignature) {
				t.Fatalf("verifyImage with a foreign key: %v, want errSignature", err)
			}
		})
	}
}

// storedLayouts reports which layouts hold attestations of d, read directly.
func storedLayouts(t testing.TB, ctx context.Context, d name.Digest) oci.Layout {
	t.Helper()
	var l oci.Layout
	if len(referrers(t, ctx, d)) > 0 {
		l |= oci.Referrers
	}
	if hasTag(t, ctx, legacyTag(d)) {
		l |= oci.Legacy
	}
	return l
}

// lastLine returns the last non-empty line of s: cosign's error message.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
