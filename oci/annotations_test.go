package oci_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
)

// A referrer deleted from the registry but still listed (by the fallback
// tag here; distribution v3.1.2 does the same through its API) is skipped,
// and the other attestations are still returned.
func TestListSkipsDeletedReferrer(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.WithReferrers(false))
	img := reg.PushRandomImage(t, "stale")
	attach(t, img, envelope(t, img, "https://slsa.dev/provenance/v1", 1))
	gone := attach(t, img, envelope(t, img, "https://slsa.dev/provenance/v1", 2))
	d, err := name.NewDigest(mustDigest(t, img).Context().Name()+"@"+gone.Referrer.Digest.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(d); err != nil {
		t.Fatal(err)
	}
	if n := len(referrers(t, img)); n != 2 {
		t.Fatalf("the fallback index lists %d referrers, want the stale 2", n)
	}
	if atts := list(t, img); len(atts) != 1 {
		t.Fatalf("list returned %d attestations, want the 1 that still exists", len(atts))
	}
}

// A tag-only base image becomes a provenance material pinned by digest
// when an oci.Resolver is given; without one it is refused.
func TestResolverPinsImageMaterials(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	ref := reg.PushRandomImage(t, "base") // also tagged latest
	_, want, _ := strings.Cut(ref, "@sha256:")

	byTag := reg.Host() + "/base:latest"
	if _, err := provenance.ImageMaterial(ctx, byTag); !errors.Is(err, provenance.ErrUnpinnedImage) {
		t.Fatalf("unresolved tag: %v", err)
	}
	m, err := provenance.ImageMaterial(ctx, byTag, provenance.WithResolver(oci.NewResolver(oci.WithInsecure())))
	if err != nil {
		t.Fatal(err)
	}
	if m.URI != "oci://"+reg.Host()+"/base" || m.Digest["sha256"] != want || m.Annotations["tag"] != "latest" {
		t.Fatalf("material: %+v, want digest %s", m, want)
	}
}
