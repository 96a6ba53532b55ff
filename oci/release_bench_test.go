package oci_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// release is a Kubernetes-shaped set of multi-arch images and the jobs
// that attach a release to them: one provenance naming every index and
// platform image, attached to each index recursively, and one SBOM per
// platform image.
type release struct {
	indexes []*ocitest.Index
	jobs    []oci.Job
}

func newRelease(t testing.TB, reg *ocitest.Registry, prefix string, images, n int) *release {
	t.Helper()
	r := &release{}
	var all []string
	for i := range images {
		x := reg.PushRandomIndex(t, fmt.Sprintf("%s/img-%02d", prefix, i), k8sPlatforms...)
		r.indexes = append(r.indexes, x)
		all = append(all, allRefs(x)...)
	}
	prov := &sign.Attestation{Envelope: envelopeAbout(t, n, all...)}
	for _, x := range r.indexes {
		r.jobs = append(r.jobs, oci.Job{Image: x.Ref, Attestations: []*sign.Attestation{prov}, Options: []oci.Option{oci.WithRecursive()}})
		for _, p := range k8sPlatforms {
			r.jobs = append(r.jobs, oci.Job{Image: x.Platforms[p], Attestations: []*sign.Attestation{{Envelope: envelopeAbout(t, n, x.Platforms[p])}}})
		}
	}
	return r
}

// Registry requests of a release attach: an index job reads the index
// once, then per image (index and 5 platforms) reads the referrers list
// and writes the referrer manifest, and uploads the provenance's bundle
// once for all six (AttachAll uploads a blob to a repository once); a
// platform job resolves the image (HEAD), reads the referrers list and
// writes its SBOM's bundle and referrer manifest. The empty config is
// uploaded once per repository, by whichever job of it gets there first,
// so job counts are bounds and the total is exact: per repository
// 1 + 5 HEAD + 11 referrers + 11 manifests + 6 bundles + 1 config = 35.
func TestAttachReleaseRequests(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	const images = 4
	r := newRelease(t, reg, "rel", images, 1)
	results, err := oci.AttachAll(ctx, r.jobs, oci.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, res := range results {
		total += res.Requests
		lo, hi := 4, 5 // HEAD, referrers, [config], bundle, manifest
		if len(r.jobs[i].Options) > 0 {
			lo, hi = 1+6*2+1, 1+6*2+2 // index GET; per image referrers, manifest; bundle, [config]
		}
		if res.Requests < lo || res.Requests > hi {
			t.Errorf("job %d (%s): %d requests, want %d..%d", i, r.jobs[i].Image, res.Requests, lo, hi)
		}
	}
	if want := images * 35; total != want {
		t.Errorf("%d requests for %d indexes, want %d (35 per repository)", total, images, want)
	}
	t.Logf("%d requests for %d indexes and %d platform images: %.2f per image", total, images, images*5, float64(total)/float64(images*6))
	// Again: everything is there, nothing is written.
	results, err = oci.AttachAll(ctx, r.jobs, oci.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		want := 2 // HEAD, referrers
		if len(r.jobs[i].Options) > 0 {
			want = 1 + 6 // index GET, referrers per image
		}
		if res.Requests != want {
			t.Errorf("again, job %d: %d requests, want %d", i, res.Requests, want)
		}
	}
}

// BenchmarkAttachRelease attaches a whole Kubernetes-shaped release, 30
// indexes x 5 platforms (180 images), with one AttachAll: a provenance to
// every index recursively and an SBOM to every platform image. Image
// pushes are not timed.
func BenchmarkAttachRelease(b *testing.B) {
	reg := ocitest.NewRegistry(b)
	ctx := context.Background()
	reqs := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := newRelease(b, reg, fmt.Sprint("r", i), 30, i)
		b.StartTimer()
		results, err := oci.AttachAll(ctx, r.jobs, oci.WithInsecure())
		if err != nil {
			b.Fatal(err)
		}
		for _, res := range results {
			reqs += res.Requests
		}
	}
	b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
	b.ReportMetric(float64(reqs)/float64(b.N*180), "requests/image")
}
