package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

func TestAttachListRoundTrip(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl ocitest.Option) {
		testAttachListRoundTrip(t, impl)
	})
}

func testAttachListRoundTrip(t *testing.T, impl ocitest.Option) {
	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy, oci.Both} {
		for _, refOn := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/referrersAPI=%v", layout, refOn), func(t *testing.T) {
				reg := ocitest.NewRegistry(t, impl, ocitest.WithReferrers(refOn))
				image := reg.PushRandomImage(t, "app")
				env := envelope(t, image, slsaV1, 1)
				res := attach(t, image, env, oci.WithLayout(layout))
				if res.Image != image {
					t.Errorf("Image = %q, want %q", res.Image, image)
				}
				if (res.Referrer != nil) != (layout&oci.Referrers != 0) {
					t.Errorf("Referrer = %v for layout %v", res.Referrer, layout)
				}
				if (res.LegacyTag != "") != (layout&oci.Legacy != 0) {
					t.Errorf("LegacyTag = %q for layout %v", res.LegacyTag, layout)
				}
				atts := list(t, image)
				if len(atts) != 1 {
					t.Fatalf("List: %d attestations, want 1", len(atts))
				}
				a := atts[0]
				if a.Layout != layout {
					t.Errorf("Layout = %v, want %v", a.Layout, layout)
				}
				if a.PredicateType != slsaV1 {
					t.Errorf("PredicateType = %q", a.PredicateType)
				}
				if !bytes.Equal(a.Envelope.Payload, env.Payload) || !bytes.Equal(a.Envelope.Signatures[0].Sig, env.Signatures[0].Sig) {
					t.Error("listed envelope differs from the attached one")
				}
				if layout&oci.Referrers != 0 {
					checkReferrer(t, image, a, res.Referrer)
				} else if a.Bundle != nil {
					t.Error("legacy attestation has a Bundle")
				}
				if layout&oci.Legacy != 0 {
					checkLegacy(t, image, env)
				}
				checkBlobsExist(t, image, layout&oci.Legacy != 0)
				if !refOn && layout&oci.Referrers != 0 {
					// The referrers tag schema index must hold the referrer.
					h := mustDigest(t, image)
					tag := h.Context().Tag("sha256-" + strings.TrimPrefix(h.DigestStr(), "sha256:"))
					idx, err := remote.Index(tag)
					if err != nil {
						t.Fatalf("fallback tag: %v", err)
					}
					im, _ := idx.IndexManifest()
					if len(im.Manifests) != 1 || im.Manifests[0].Digest != res.Referrer.Digest {
						t.Errorf("fallback index = %+v", im.Manifests)
					}
				}
			})
		}
	}
}

// checkReferrer asserts the referrer manifest is what cosign v3 writes.
func checkReferrer(t *testing.T, image string, a oci.Attestation, d *v1.Descriptor) {
	t.Helper()
	if a.Bundle == nil {
		t.Fatal("referrer attestation without Bundle")
	}
	if a.Descriptor.Digest != d.Digest {
		t.Errorf("Descriptor %s, Attach said %s", a.Descriptor.Digest, d.Digest)
	}
	if b := a.Bundle; b.MediaType != sign.MediaTypeBundle || b.VerificationMaterial.PublicKey == nil || b.VerificationMaterial.PublicKey.Hint != "test-key" {
		t.Errorf("bundle = %+v", b)
	}
	ref := mustDigest(t, image).Context().Digest(d.Digest.String())
	raw, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		MediaType    string            `json:"mediaType"`
		ArtifactType string            `json:"artifactType"`
		Config       v1.Descriptor     `json:"config"`
		Layers       []v1.Descriptor   `json:"layers"`
		Subject      *v1.Descriptor    `json:"subject"`
		Annotations  map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	img := mustDigest(t, image)
	switch {
	case m.MediaType != "application/vnd.oci.image.manifest.v1+json":
		t.Errorf("mediaType %q", m.MediaType)
	case m.ArtifactType != sign.MediaTypeBundle:
		t.Errorf("artifactType %q", m.ArtifactType)
	case m.Config.MediaType != oci.MediaTypeEmpty || m.Config.Size != 2:
		t.Errorf("config %+v", m.Config)
	case len(m.Layers) != 1 || m.Layers[0].MediaType != sign.MediaTypeBundle:
		t.Errorf("layers %+v", m.Layers)
	case m.Subject == nil || m.Subject.Digest.String() != img.DigestStr() || m.Subject.Size == 0 || m.Subject.MediaType == "":
		t.Errorf("subject %+v", m.Subject)
	case m.Annotations[oci.AnnotationBundleContent] != "dsse-envelope" ||
		m.Annotations[oci.AnnotationBundlePredicateType] != slsaV1:
		t.Errorf("annotations %v", m.Annotations)
	}
	if _, err := time.Parse(time.RFC3339, m.Annotations[oci.AnnotationCreated]); err != nil {
		t.Errorf("created annotation: %v", err)
	}
}

// checkLegacy asserts the .att manifest is what cosign v2 writes.
func checkLegacy(t *testing.T, image string, env *sign.Envelope) {
	t.Helper()
	m := legacyManifest(t, image, "")
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("manifest media types %q / %q", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%d layers", len(m.Layers))
	}
	l := m.Layers[0]
	if l.MediaType != oci.MediaTypeDSSE {
		t.Errorf("layer media type %q", l.MediaType)
	}
	if v, ok := l.Annotations[oci.AnnotationSignature]; !ok || v != "" {
		t.Errorf("signature annotation %q present=%v", v, ok)
	}
	if l.Annotations[oci.AnnotationPredicateType] != slsaV1 {
		t.Errorf("predicateType annotation %q", l.Annotations[oci.AnnotationPredicateType])
	}
	// The config lists the layer as a diff ID, as mutate.Append writes it.
	img, err := remote.Image(mustDigest(t, image).Context().Tag(legacyTagOf(image)))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.RootFS.DiffIDs) != 1 || cf.RootFS.DiffIDs[0] != l.Digest {
		t.Errorf("config diff_ids %v", cf.RootFS.DiffIDs)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	got, err := sign.ParseEnvelope(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Payload, env.Payload) {
		t.Error("layer payload differs")
	}
}

func legacyTagOf(image string) string {
	_, h, _ := strings.Cut(image, "@sha256:")
	return "sha256-" + h + ".att"
}

func TestSameEnvelopeTwiceStoredOnce(t *testing.T) {
	forEachImpl(t, testSameEnvelopeTwiceStoredOnce)
}

func testSameEnvelopeTwiceStoredOnce(t *testing.T, impl ocitest.Option) {
	for _, refOn := range []bool{true, false} {
		t.Run(fmt.Sprint("referrersAPI=", refOn), func(t *testing.T) {
			reg := ocitest.NewRegistry(t, impl, ocitest.WithReferrers(refOn))
			image := reg.PushRandomImage(t, "app")
			env := envelope(t, image, slsaV1, 1)
			r1 := attach(t, image, env, oci.WithLayout(oci.Both))
			r2 := attach(t, image, env, oci.WithLayout(oci.Both))
			if r1.Referrer.Digest != r2.Referrer.Digest {
				t.Errorf("second attach wrote a new referrer %s (first %s)", r2.Referrer.Digest, r1.Referrer.Digest)
			}
			if n := len(referrers(t, image)); n != 1 {
				t.Errorf("%d referrers, want 1", n)
			}
			if n := len(legacyManifest(t, image, "").Layers); n != 1 {
				t.Errorf("%d legacy layers, want 1", n)
			}
			if atts := list(t, image); len(atts) != 1 || atts[0].Layout != oci.Both {
				t.Errorf("List = %d attestations (%+v)", len(atts), atts)
			}
		})
	}
}

func TestTwoAttestationsKeptAndFiltered(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(oci.Both))
	attach(t, image, envelope(t, image, spdx, 2), oci.WithLayout(oci.Both))
	if n := len(list(t, image)); n != 2 {
		t.Fatalf("List: %d, want 2", n)
	}
	if n := len(legacyManifest(t, image, "").Layers); n != 2 {
		t.Errorf("legacy layers %d, want 2", n)
	}
	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		ct := ocitest.NewCountingTransport(nil)
		atts := list(t, image, oci.WithLayout(layout), oci.WithPredicateType(spdx), oci.WithTransport(ct))
		if len(atts) != 1 || atts[0].PredicateType != spdx {
			t.Fatalf("%v: filtered List = %+v", layout, atts)
		}
		// Non-matching entries are skipped from their annotations: one
		// index/manifest GET plus the matching entry's downloads.
		want := 3 // referrers GET, manifest GET, blob GET
		if layout == oci.Legacy {
			want = 2 // .att manifest GET, layer GET
		}
		if ct.Count() != want {
			t.Errorf("%v: filtered List made %d requests, want %d", layout, ct.Count(), want)
		}
	}
	if atts := list(t, image, oci.WithPredicateType("https://example.com/none")); len(atts) != 0 {
		t.Errorf("List with unknown type = %d", len(atts))
	}
}

func TestConcurrentAttach(t *testing.T) {
	forEachImpl(t, testConcurrentAttach)
}

func testConcurrentAttach(t *testing.T, impl ocitest.Option) {
	// Each of the n concurrent writers must merge every earlier one, so a
	// lost or doubled write shows in checkStoredOnce at any n > 2; 64 made
	// the same point as 16 at 16 times the (quadratic) list rewrites.
	const n = 16
	cases := []struct {
		name   string
		layout oci.Layout
		refOn  bool
	}{
		{"referrers", oci.Referrers, true},
		{"referrers-fallback-tag", oci.Referrers, false},
		{"legacy", oci.Legacy, true},
		{"both", oci.Both, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := ocitest.NewRegistry(t, impl, ocitest.WithReferrers(tc.refOn))
			image := reg.PushRandomImage(t, "app")
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					_, err := oci.Attach(context.Background(), image, &sign.Attestation{Envelope: envelope(t, image, slsaV1, i)},
						oci.WithInsecure(), oci.WithLayout(tc.layout))
					errs <- err
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			checkStoredOnce(t, image, tc.layout, n)
		})
	}
}

func TestWithRepository(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	store := reg.Host() + "/attestations"
	res := attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(oci.Both), oci.WithRepository(store))
	if res.Image != image {
		t.Errorf("Image = %q", res.Image)
	}
	if atts := list(t, image); len(atts) != 0 {
		t.Errorf("image repo holds %d attestations, want 0", len(atts))
	}
	atts := list(t, image, oci.WithRepository(store))
	if len(atts) != 1 || atts[0].Layout != oci.Both {
		t.Fatalf("store repo: %+v", atts)
	}
	if l := legacyManifest(t, image, store); len(l.Layers) != 1 {
		t.Errorf("store legacy layers %d", len(l.Layers))
	}
}

func TestTagResolvedOnce(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	tagRef := strings.Split(image, "@")[0] + ":latest"
	r := &rec{}
	res, err := oci.Attach(context.Background(), tagRef, &sign.Attestation{Envelope: envelope(t, image, slsaV1, 1)},
		oci.WithInsecure(), oci.WithLayout(oci.Both), oci.WithTransport(r))
	if err != nil {
		t.Fatal(err)
	}
	if res.Image != image {
		t.Errorf("Image = %q, want %q", res.Image, image)
	}
	tagHits := 0
	for _, l := range r.all() {
		if strings.HasSuffix(l, "/manifests/latest") {
			tagHits++
			if !strings.HasPrefix(l, "HEAD ") {
				t.Errorf("request on the tag: %s", l)
			}
		}
		if strings.HasPrefix(l, "PUT ") && strings.Contains(l, "/manifests/") {
			target := l[strings.LastIndex(l, "/")+1:]
			if !strings.HasPrefix(target, "sha256") {
				t.Errorf("write targets %q", target)
			}
		}
	}
	if tagHits != 1 {
		t.Errorf("tag resolved %d times, want 1", tagHits)
	}
	d, err := oci.Resolve(context.Background(), tagRef, oci.WithInsecure())
	if err != nil || "sha256:"+strings.Split(image, "@sha256:")[1] != d {
		t.Errorf("Resolve = %q, %v", d, err)
	}
}

func TestRequestCounts(t *testing.T) {
	cases := []struct {
		name                 string
		layout               oci.Layout
		refOn                bool
		first, steady, limit int
	}{
		// HEAD subject, GET referrers, POST {} config (first only), POST bundle, PUT manifest.
		{"referrers", oci.Referrers, true, 5, 4, 4},
		// POST layer, GET .att, POST config, PUT .att, GET read-back.
		{"legacy", oci.Legacy, true, 5, 5, 6},
		{"both", oci.Both, true, 10, 9, 10},
		// + GET fallback tag, PUT fallback index, GET read-back.
		{"referrers-fallback-tag", oci.Referrers, false, 8, 7, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := ocitest.NewRegistry(t, ocitest.WithReferrers(tc.refOn))
			image := reg.PushRandomImage(t, "app")
			for i, want := range []int{tc.first, tc.steady, tc.steady} {
				ct := ocitest.NewCountingTransport(nil)
				res := attach(t, image, envelope(t, image, slsaV1, i), oci.WithLayout(tc.layout), oci.WithTransport(ct))
				if res.Requests != ct.Count() {
					t.Errorf("Requests = %d, transport saw %d", res.Requests, ct.Count())
				}
				if ct.Count() != want {
					t.Errorf("attach %d: %d requests (%v), want %d", i, ct.Count(), ct.ByMethod(), want)
				}
				if i > 0 && ct.Count() > tc.limit {
					t.Errorf("steady-state attach %d requests > goal %d", ct.Count(), tc.limit)
				}
			}
			// Re-attaching an existing envelope writes nothing.
			ct := ocitest.NewCountingTransport(nil)
			attach(t, image, envelope(t, image, slsaV1, 0), oci.WithLayout(tc.layout), oci.WithTransport(ct))
			if m := ct.ByMethod(); m["PUT"] != 0 {
				t.Errorf("re-attach made %d PUTs", m["PUT"])
			}
		})
	}
}

func TestOversizeRefused(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	env := envelope(t, image, slsaV1, 1)
	env.Payload = append(env.Payload[:len(env.Payload)-1], []byte(`,"pad":"`+strings.Repeat("x", 8000)+`"}`)...)
	attach(t, image, env, oci.WithLayout(oci.Both))
	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		// The manifests are < 2 KiB, the blobs > 8 KiB: the blob is refused.
		_, err := oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(layout), oci.WithMaxBytes(4096))
		if !errors.Is(err, oci.ErrTooLarge) {
			t.Errorf("%v: blob over cap: err = %v, want ErrTooLarge", layout, err)
		}
		// A cap below the manifest size refuses the manifest.
		_, err = oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(layout), oci.WithMaxBytes(100))
		if !errors.Is(err, oci.ErrTooLarge) {
			t.Errorf("%v: manifest over cap: err = %v, want ErrTooLarge", layout, err)
		}
		if atts, err := oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(layout), oci.WithMaxBytes(1<<20)); err != nil || len(atts) != 1 {
			t.Errorf("%v: under cap: %d, %v", layout, len(atts), err)
		}
	}
}

func TestFaultInjection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout oci.Layout
		refOn  bool
		pad    int
	}{
		{"referrers", oci.Referrers, true, 0},
		{"referrers-fallback-tag", oci.Referrers, false, 0},
		{"legacy", oci.Legacy, true, 0},
		// Blobs over the single-POST size use an upload session (POST+PUT).
		{"both-large-blobs", oci.Both, true, 300 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := ocitest.NewRegistry(t, ocitest.WithReferrers(tc.refOn))
			image := reg.PushRandomImage(t, "app")
			ft := ocitest.NewFaultTransport(nil, 0.2, 42)
			n := 16
			if tc.pad > 0 {
				n = 6
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					env := envelope(t, image, slsaV1, i)
					if tc.pad > 0 {
						env.Payload = append(env.Payload[:len(env.Payload)-1], []byte(`,"pad":"`+strings.Repeat("x", tc.pad)+`"}`)...)
					}
					_, err := oci.Attach(context.Background(), image, &sign.Attestation{Envelope: env},
						oci.WithInsecure(), oci.WithLayout(tc.layout), oci.WithTransport(ft), oci.WithRetry(12))
					errs <- err
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if ft.Faults() == 0 {
				t.Fatal("no faults injected")
			}
			checkStoredOnce(t, image, tc.layout, n)
			checkBlobsExist(t, image, tc.layout&oci.Legacy != 0)
		})
	}
}

func TestErrors(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	ctx := context.Background()
	env := envelope(t, image, slsaV1, 1)
	if _, err := oci.Attach(ctx, "not a ref!", &sign.Attestation{Envelope: env}, oci.WithInsecure()); !errors.Is(err, oci.ErrInvalidReference) {
		t.Errorf("bad ref: %v", err)
	}
	if _, err := oci.Attach(ctx, image, nil, oci.WithInsecure()); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Errorf("nil envelope: %v", err)
	}
	if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: &sign.Envelope{PayloadType: "x", Payload: []byte("y")}}, oci.WithInsecure()); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Errorf("unsigned envelope: %v", err)
	}
	if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithLayout(8)); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Errorf("bad layout: %v", err)
	}
	missing := reg.Host() + "/app:nope"
	if _, err := oci.Attach(ctx, missing, &sign.Attestation{Envelope: env}, oci.WithInsecure()); !errors.Is(err, oci.ErrNotFound) {
		t.Errorf("missing image: %v", err)
	}
	if _, err := oci.Resolve(ctx, missing, oci.WithInsecure()); !errors.Is(err, oci.ErrNotFound) {
		t.Errorf("Resolve missing: %v", err)
	}
	other := envelope(t, image, slsaV1, 2)
	b := &sign.Bundle{MediaType: sign.MediaTypeBundle, VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{}}, DSSEEnvelope: other}
	if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env, Bundle: b}, oci.WithInsecure()); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Errorf("mismatched bundle: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := oci.Attach(cctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure()); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	// Without WithInsecure the client speaks HTTPS to the plain-HTTP registry.
	if _, err := oci.List(ctx, image, oci.WithRetry(1)); err == nil {
		t.Error("plain HTTP used without WithInsecure")
	}
}

// The referrer layer is the attestation's bundle, as sign.Bundle encodes
// it, and List returns it.
func TestAttachStoresTheBundle(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	env := envelope(t, image, slsaV1, 1)
	b, _ := json.Marshal(map[string]any{
		"mediaType":            sign.MediaTypeBundle,
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "custom"}},
		"dsseEnvelope":         env,
	})
	want, err := sign.ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	attachAtt(t, image, &sign.Attestation{Envelope: env, Bundle: want})
	atts := list(t, image)
	canonical, _ := want.MarshalJSON()
	if len(atts) != 1 || atts[0].Bundle == nil {
		t.Fatalf("no bundle listed: %+v", atts)
	}
	if got, _ := atts[0].Bundle.MarshalJSON(); !bytes.Equal(got, canonical) {
		t.Fatalf("bundle not stored as sign.Bundle encodes it: %+v", atts)
	}
	if want.VerificationMaterial.PublicKey.Hint != "custom" {
		t.Errorf("hint = %q", want.VerificationMaterial.PublicKey.Hint)
	}
}

func TestResolverCaches(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	tagRef := strings.Split(image, "@")[0] + ":latest"
	ct := ocitest.NewCountingTransport(nil)
	r := oci.NewResolver(oci.WithInsecure(), oci.WithTransport(ct))
	for i := 0; i < 3; i++ {
		d, err := r.ResolveDigest(context.Background(), tagRef)
		if err != nil || !strings.HasSuffix(image, d) {
			t.Fatalf("ResolveDigest = %q, %v", d, err)
		}
	}
	if ct.Count() != 1 {
		t.Errorf("%d requests, want 1", ct.Count())
	}
}

func TestLargeEnvelope(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	env := envelope(t, image, slsaV1, 1)
	// Over the single-POST threshold: POST then PUT.
	env.Payload = append(env.Payload[:len(env.Payload)-1], []byte(`,"pad":"`+strings.Repeat("x", 600<<10)+`"}`)...)
	ct := ocitest.NewCountingTransport(nil)
	attach(t, image, env, oci.WithLayout(oci.Both), oci.WithTransport(ct))
	if m := ct.ByMethod(); m["PUT"] != 4 { // bundle + layer uploads, referrer + .att manifests
		t.Errorf("PUTs %d (%v), want 4", m["PUT"], m)
	}
	atts := list(t, image)
	if len(atts) != 1 || atts[0].Layout != oci.Both || !bytes.Equal(atts[0].Envelope.Payload, env.Payload) {
		t.Fatalf("List: %d", len(atts))
	}
	checkBlobsExist(t, image, true)
}
