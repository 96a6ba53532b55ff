package oci_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// benchAttach measures one attach to an image that already has one
// attestation (the steady state); image setup is not timed.
func benchAttach(b *testing.B, layout oci.Layout, refOn bool) {
	reg := ocitest.NewRegistry(b, ocitest.WithReferrers(refOn))
	ctx := context.Background()
	reqs := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		image := reg.PushRandomImage(b, fmt.Sprint("app", i))
		if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: envelope(b, image, slsaV1, -1)}, oci.WithInsecure(), oci.WithLayout(layout)); err != nil {
			b.Fatal(err)
		}
		env := envelope(b, image, slsaV1, i)
		b.StartTimer()
		res, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithLayout(layout))
		if err != nil {
			b.Fatal(err)
		}
		reqs += res.Requests
	}
	b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
}

func BenchmarkAttachReferrers(b *testing.B)         { benchAttach(b, oci.Referrers, true) }
func BenchmarkAttachReferrersFallback(b *testing.B) { benchAttach(b, oci.Referrers, false) }
func BenchmarkAttachLegacy(b *testing.B)            { benchAttach(b, oci.Legacy, true) }
func BenchmarkAttachBoth(b *testing.B)              { benchAttach(b, oci.Both, true) }

func BenchmarkList(b *testing.B) {
	reg := ocitest.NewRegistry(b)
	image := reg.PushRandomImage(b, "app")
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: envelope(b, image, slsaV1, i)}, oci.WithInsecure(), oci.WithLayout(oci.Both)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		atts, err := oci.List(ctx, image, oci.WithInsecure())
		if err != nil || len(atts) != 10 {
			b.Fatal(len(atts), err)
		}
	}
}
