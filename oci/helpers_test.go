package oci_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

const (
	slsaV1 = "https://slsa.dev/provenance/v1"
	spdx   = "https://spdx.dev/Document"
)

var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// envelope returns a signed in-toto statement envelope about image, made
// unique by n.
func envelope(t testing.TB, image, predicateType string, n int) *sign.Envelope {
	t.Helper()
	_, dg, _ := strings.Cut(image, "@sha256:")
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "img", "digest": map[string]string{"sha256": dg}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{"n": n},
	}
	payload, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(testKey, sign.PAE(sign.PayloadTypeInToto, payload))
	return &sign.Envelope{
		PayloadType: sign.PayloadTypeInToto,
		Payload:     payload,
		Signatures:  []sign.Signature{{KeyID: "test-key", Sig: sig}},
	}
}

// rec records request lines ("METHOD path?query").
type rec struct {
	inner http.RoundTripper
	mu    sync.Mutex
	lines []string
}

func (r *rec) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	line := req.Method + " " + req.URL.Path
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	inner := r.inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	return inner.RoundTrip(req)
}

func (r *rec) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *rec) reset() {
	r.mu.Lock()
	r.lines = nil
	r.mu.Unlock()
}

func mustDigest(t testing.TB, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// legacyManifest reads the .att manifest of image in repo ("" = image repo).
func legacyManifest(t testing.TB, image, repo string) *v1.Manifest {
	t.Helper()
	d := mustDigest(t, image)
	r := d.Context()
	if repo != "" {
		var err error
		if r, err = name.NewRepository(repo, name.Insecure); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := v1.NewHash(d.DigestStr())
	tag := r.Tag("sha256-" + h.Hex + ".att")
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatalf("reading %s: %v", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// referrers lists image's referrers with ggcr (API or fallback tag).
func referrers(t testing.TB, image string) []v1.Descriptor {
	t.Helper()
	idx, err := remote.Referrers(mustDigest(t, image))
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifests
}

// checkBlobsExist fails if any manifest reachable from image's attestations
// names a blob the registry does not have.
func checkBlobsExist(t testing.TB, image string, legacy bool) {
	t.Helper()
	d := mustDigest(t, image)
	check := func(repo name.Repository, m *v1.Manifest) {
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			resp, err := http.Head("http://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr() + "/blobs/" + l.Digest.String())
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("manifest names missing blob %s (HEAD %d)", l.Digest, resp.StatusCode)
			}
		}
	}
	if legacy {
		check(d.Context(), legacyManifest(t, image, ""))
	}
	for _, r := range referrers(t, image) {
		img, err := remote.Image(d.Context().Digest(r.Digest.String()))
		if err != nil {
			t.Fatalf("referrer %s: %v", r.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		check(d.Context(), m)
	}
}

func list(t testing.TB, image string, opts ...oci.Option) []oci.Attestation {
	t.Helper()
	atts, err := oci.List(context.Background(), image, append([]oci.Option{oci.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return atts
}

func attach(t testing.TB, image string, env *sign.Envelope, opts ...oci.Option) *oci.AttachResult {
	t.Helper()
	return attachAtt(t, image, &sign.Attestation{Envelope: env}, opts...)
}

func attachAtt(t testing.TB, image string, att *sign.Attestation, opts ...oci.Option) *oci.AttachResult {
	t.Helper()
	res, err := oci.Attach(context.Background(), image, att, append([]oci.Option{oci.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return res
}

// checkStoredOnce asserts that image has exactly n attestations in layout:
// none lost, none stored twice.
func checkStoredOnce(t testing.TB, image string, layout oci.Layout, n int) {
	t.Helper()
	if atts := list(t, image, oci.WithLayout(layout)); len(atts) != n {
		t.Errorf("%d attestations, want %d", len(atts), n)
	}
	if layout&oci.Legacy != 0 {
		if l := len(legacyManifest(t, image, "").Layers); l != n {
			t.Errorf("legacy layers %d, want %d (duplicates or losses)", l, n)
		}
	}
	if layout&oci.Referrers != 0 {
		if r := len(referrers(t, image)); r != n {
			t.Errorf("referrers %d, want %d (duplicates or losses)", r, n)
		}
	}
}
