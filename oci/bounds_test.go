package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// downloads counts the registry's GETs of blobs and of manifests by digest:
// what List would download for each attestation.
type downloads struct{ blobs, manifests atomic.Int64 }

func (d *downloads) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			d.blobs.Add(1)
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			d.manifests.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// put uploads body as a manifest of repo at ref, as any writer to the
// repository can.
func put(t *testing.T, reg *ocitest.Registry, repo, ref, mediaType string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, reg.URL()+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s: %d", ref, resp.StatusCode)
	}
}

// fakeDesc is a made-up descriptor, distinct for each n.
func fakeDesc(mediaType string, n int) v1.Descriptor {
	return v1.Descriptor{MediaType: types.MediaType("application/" + mediaType), Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", n+1)}, Size: 100}
}

// referrerManifests are n distinct bundle referrer manifests about image,
// naming made-up blobs.
func referrerManifests(t *testing.T, image string, n int) [][]byte {
	h, _ := v1.NewHash(mustDigest(t, image).DigestStr())
	var out [][]byte
	for i := range n {
		b, _ := json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
			"config":       fakeDesc("vnd.oci.empty.v1+json", -1),
			"layers":       []v1.Descriptor{fakeDesc("vnd.dev.sigstore.bundle.v0.3+json", i)},
			"subject":      v1.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: h, Size: 1},
		})
		out = append(out, b)
	}
	return out
}

// TestListRefusesTooManyAttestations: a registry (or anyone who can push to
// the repository) that lists more attestations for an image than the
// documented limit gets a typed error from List before a single one is
// downloaded, in every layout; and Attach refuses to add one beyond the
// limit. On main List fetched every entry (here: 101 failing downloads).
func TestListRefusesTooManyAttestations(t *testing.T) {
	const n = oci.DefaultMaxAttestations + 1
	for _, tc := range []struct {
		name   string
		refOn  bool
		layout oci.Layout
		plant  func(t *testing.T, reg *ocitest.Registry, image string)
	}{
		{"legacy", true, oci.Legacy, func(t *testing.T, reg *ocitest.Registry, image string) {
			m := v1.Manifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json", Config: fakeDesc("vnd.oci.image.config.v1+json", -1)}
			for i := range n {
				d := fakeDesc("vnd.dsse.envelope.v1+json", i)
				d.Annotations = map[string]string{oci.AnnotationSignature: "", oci.AnnotationPredicateType: slsaV1}
				m.Layers = append(m.Layers, d)
			}
			b, _ := json.Marshal(m)
			put(t, reg, "app", legacyTagOf(image), string(m.MediaType), b)
		}},
		{"fallback-tag", false, oci.Referrers, func(t *testing.T, reg *ocitest.Registry, image string) {
			idx := v1.IndexManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json"}
			for i, b := range referrerManifests(t, image, n) {
				put(t, reg, "app", fmt.Sprintf("r%d", i), "application/vnd.oci.image.manifest.v1+json", b)
				h, _, _ := v1.SHA256(bytes.NewReader(b))
				idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: h, Size: int64(len(b)),
					ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json"})
			}
			b, _ := json.Marshal(idx)
			put(t, reg, "app", strings.TrimSuffix(legacyTagOf(image), ".att"), string(idx.MediaType), b)
		}},
		{"referrers-api", true, oci.Referrers, func(t *testing.T, reg *ocitest.Registry, image string) {
			for i, b := range referrerManifests(t, image, n) {
				put(t, reg, "app", fmt.Sprintf("r%d", i), "application/vnd.oci.image.manifest.v1+json", b)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dl := &downloads{}
			reg := ocitest.NewRegistry(t, ocitest.WithReferrers(tc.refOn), ocitest.WithHandler(dl.wrap))
			image := reg.PushRandomImage(t, "app")
			tc.plant(t, reg, image)
			dl.blobs.Store(0)
			dl.manifests.Store(0)
			_, err := oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(tc.layout))
			if !errors.Is(err, oci.ErrTooMany) {
				t.Fatalf("List: err = %v, want ErrTooMany", err)
			}
			if b, m := dl.blobs.Load(), dl.manifests.Load(); b+m != 0 {
				t.Errorf("List downloaded %d blobs and %d manifests before refusing", b, m)
			}
			// A limit the caller raises lets the same image through to the
			// downloads (which fail here: the entries are made up).
			_, err = oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(tc.layout), oci.WithMaxAttestations(n))
			if errors.Is(err, oci.ErrTooMany) {
				t.Errorf("List with the limit raised: %v", err)
			}
			// Attach refuses to add to an image already over the limit.
			ct := ocitest.NewCountingTransport(nil)
			_, err = oci.Attach(context.Background(), image, &sign.Attestation{Envelope: envelope(t, image, slsaV1, 1)}, oci.WithInsecure(), oci.WithLayout(tc.layout), oci.WithTransport(ct))
			if !errors.Is(err, oci.ErrTooMany) {
				t.Errorf("Attach: err = %v, want ErrTooMany", err)
			}
			if m := ct.ByMethod(); m["PUT"] != 0 {
				t.Errorf("Attach wrote a manifest: %v", m)
			}
		})
	}
}

// TestAttachStopsAtTheLimit: Attach never makes an image unlistable by
// adding the attestation one over WithMaxAttestations, in any layout.
func TestAttachStopsAtTheLimit(t *testing.T) {
	for _, refOn := range []bool{true, false} {
		for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
			t.Run(fmt.Sprintf("%v/referrersAPI=%v", layout, refOn), func(t *testing.T) {
				reg := ocitest.NewRegistry(t, ocitest.WithReferrers(refOn))
				image := reg.PushRandomImage(t, "app")
				lim := oci.WithMaxAttestations(2)
				attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(layout), lim)
				attach(t, image, envelope(t, image, slsaV1, 2), oci.WithLayout(layout), lim)
				ct := ocitest.NewCountingTransport(nil)
				_, err := oci.Attach(context.Background(), image, &sign.Attestation{Envelope: envelope(t, image, slsaV1, 3)}, oci.WithInsecure(), oci.WithLayout(layout), lim, oci.WithTransport(ct))
				if !errors.Is(err, oci.ErrTooMany) {
					t.Fatalf("third Attach: err = %v, want ErrTooMany", err)
				}
				if m := ct.ByMethod(); m["PUT"] != 0 {
					t.Errorf("third Attach wrote a manifest: %v", m)
				}
				// Re-attaching one that is there is no addition.
				attach(t, image, envelope(t, image, slsaV1, 2), oci.WithLayout(layout), lim)
				if atts := list(t, image, oci.WithLayout(layout), lim); len(atts) != 2 {
					t.Errorf("List: %d attestations, want 2", len(atts))
				}
			})
		}
	}
}

// readCounter counts the response body bytes the client reads.
type readCounter struct{ n atomic.Int64 }

func (c *readCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		resp.Body = &countedBody{ReadCloser: resp.Body, n: &c.n}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestDownloadsHeldToDescriptors: a registry or proxy that serves more
// bytes than the manifest (or index) declared for a blob (or manifest)
// makes List read at most that many, and refuse; one that serves fewer,
// or other bytes of the same length, is refused too. On main a longer
// object was read up to the global cap (33 MiB for blobs) before the digest
// check.
func TestDownloadsHeldToDescriptors(t *testing.T) {
	const pad = 4 << 20
	for _, tc := range []struct {
		name   string
		layout oci.Layout
		what   string // "/blobs/" or "/manifests/sha256:"
		alter  func([]byte) []byte
		long   bool
	}{
		{"longer bundle blob", oci.Referrers, "/blobs/", func(b []byte) []byte { return append(b, make([]byte, pad)...) }, true},
		{"longer legacy layer", oci.Legacy, "/blobs/", func(b []byte) []byte { return append(b, make([]byte, pad)...) }, true},
		{"longer referrer manifest", oci.Referrers, "/manifests/sha256:", func(b []byte) []byte { return append(b, bytes.Repeat([]byte(" "), pad)...) }, true},
		{"shorter bundle blob", oci.Referrers, "/blobs/", func(b []byte) []byte { return b[:len(b)-1] }, false},
		{"shorter legacy layer", oci.Legacy, "/blobs/", func(b []byte) []byte { return b[:len(b)-1] }, false},
		{"same length, other bytes", oci.Legacy, "/blobs/", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"payloadType"`), []byte(`"payloadTypf"`), 1)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var armed atomic.Bool
			alter := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !armed.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, tc.what) {
						h.ServeHTTP(w, r)
						return
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					for k, v := range rec.Header() {
						w.Header()[k] = v
					}
					w.Header().Del("Content-Length") // make the client read to find out
					w.WriteHeader(rec.Code)
					w.Write(tc.alter(rec.Body.Bytes()))
				})
			}
			reg := ocitest.NewRegistry(t, ocitest.WithHandler(alter))
			image := reg.PushRandomImage(t, "app")
			attach(t, image, envelope(t, image, slsaV1, 1), oci.WithLayout(tc.layout))
			armed.Store(true)
			rc := &readCounter{}
			_, err := oci.List(context.Background(), image, oci.WithInsecure(), oci.WithLayout(tc.layout), oci.WithTransport(rc))
			if !errors.Is(err, oci.ErrInvalidManifest) {
				t.Fatalf("err = %v, want ErrInvalidManifest", err)
			}
			if tc.long && rc.n.Load() > 64<<10 {
				t.Errorf("read %d bytes for objects of a few KiB", rc.n.Load())
			}
		})
	}
}
