package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
)

// A referrer listed under another image (copied into its referrers tag
// index) is not returned for that image: the manifest's subject decides.
func TestListIgnoresSwappedSubject(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.WithReferrers(false))
	a := reg.PushRandomImage(t, "app")
	b := reg.PushRandomImage(t, "app")
	attach(t, a, envelope(t, a, slsaV1, 1))
	// Copy a's referrers tag index to b's referrers tag.
	da, db := mustDigest(t, a), mustDigest(t, b)
	idx, err := remote.Index(da.Context().Tag("sha256-" + strings.TrimPrefix(da.DigestStr(), "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(db.Context().Tag("sha256-"+strings.TrimPrefix(db.DigestStr(), "sha256:")), idx); err != nil {
		t.Fatal(err)
	}
	if atts := list(t, b); len(atts) != 0 {
		t.Errorf("image b lists %d attestations copied from a", len(atts))
	}
	if atts := list(t, a); len(atts) != 1 {
		t.Errorf("image a lists %d", len(atts))
	}
}

// A registry (or proxy) that alters a blob is caught by the digest check.
func TestListDetectsModifiedBlob(t *testing.T) {
	var armed atomic.Bool
	flip := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !armed.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.Replace(rec.Body.Bytes(), []byte(`"payloadType"`), []byte(`"payloadTypf"`), 1)
			body = bytes.Replace(body, []byte(`"n":1`), []byte(`"n":2`), 1)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			io.Copy(w, bytes.NewReader(body))
		})
	}
	reg := ocitest.NewRegistry(t, ocitest.WithHandler(flip))
	image := reg.PushRandomImage(t, "app")
	attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(oci.Both))
	armed.Store(true)
	for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
		_, err := oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(layout))
		if !errors.Is(err, oci.ErrInvalidManifest) {
			t.Errorf("%v: err = %v, want ErrInvalidManifest", layout, err)
		}
	}
}

func TestListCanceled(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(oci.Both))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := oci.List(ctx, image, oci.WithInsecure()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// An .att manifest written by another tool keeps its layers, their
// annotations and its manifest annotations when we add ours.
func TestLegacyKeepsForeignLayers(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	image := reg.PushRandomImage(t, "app")
	foreign := envelope(t, image, spdx, 9)
	fb, _ := json.Marshal(foreign)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(fb, oci.MediaTypeDSSE),
		Annotations: map[string]string{oci.AnnotationSignature: "", oci.AnnotationPredicateType: spdx, "dev.sigstore.cosign/certificate": "PEM"},
	})
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{"tool": "other"}).(v1.Image)
	if err := remote.Write(mustDigest(t, image).Context().Tag(legacyTagOf(image)), img); err != nil {
		t.Fatal(err)
	}
	attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(oci.Legacy))
	m := legacyManifest(t, image, "")
	if len(m.Layers) != 2 || m.Layers[0].Annotations["dev.sigstore.cosign/certificate"] != "PEM" || m.Annotations["tool"] != "other" {
		t.Fatalf("foreign content not kept: %+v", m)
	}
	if atts := list(t, image); len(atts) != 2 {
		t.Errorf("List %d, want 2", len(atts))
	}
	checkBlobsExist(t, image, true)
}
