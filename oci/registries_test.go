package oci_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// forEachImpl runs a referrers test against every in-process registry
// implementation ocitest has (go-containerregistry's, cue-labs'
// spec-following one): behaviour only one of them has must not decide
// whether a test passes.
func forEachImpl(t *testing.T, test func(t *testing.T, impl ocitest.Option)) {
	for _, impl := range ocitest.Impls() {
		t.Run(string(impl), func(t *testing.T) { test(t, ocitest.WithImpl(impl)) })
	}
}

// TestReferrersSpecBehaviour runs what the distribution spec says of
// referrers against both implementations: the referrer's artifactType in
// the list, the artifactType filter, OCI-Subject sparing the referrers
// tag, and List skipping another kind of referrer whether or not the
// registry filtered it out. go-containerregistry's registry reports the
// config media type as artifactType and ignores the filter (logged, not
// asserted): the client must not depend on either.
func TestReferrersSpecBehaviour(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl ocitest.Option) {
		reg := ocitest.NewRegistry(t, impl)
		spec := reg.Impl() == ocitest.CueLabs
		image := reg.PushRandomImage(t, "spec")
		d := mustDigest(t, image)
		res := attach(t, image, envelope(t, image, slsaV1, 1))

		// Another kind of referrer: an SBOM artifact with its own type.
		empty := static.NewLayer([]byte("{}"), oci.MediaTypeEmpty)
		if err := remote.WriteLayer(d.Context(), empty); err != nil {
			t.Fatal(err)
		}
		eh, _ := empty.Digest()
		other := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/example.sbom","config":{"mediaType":%q,"digest":%q,"size":2},"layers":[{"mediaType":%q,"digest":%q,"size":2}],"subject":{"mediaType":%q,"digest":%q,"size":%d}}`,
			oci.MediaTypeEmpty, eh, oci.MediaTypeEmpty, eh, res.Referrer.MediaType, d.DigestStr(), subjectSize(t, d))
		oh, _, _ := v1.SHA256(strings.NewReader(other))
		if err := remote.Put(d.Context().Digest(oh.String()), rawManifest{[]byte(other), "application/vnd.oci.image.manifest.v1+json"}); err != nil {
			t.Fatal(err)
		}

		base := "http://" + d.RegistryStr() + "/v2/" + d.RepositoryStr() + "/referrers/" + d.DigestStr()
		all, _ := getIndex(t, base)
		if len(all.Manifests) != 2 {
			t.Fatalf("referrers list has %d entries, want 2", len(all.Manifests))
		}
		for _, m := range all.Manifests {
			if m.Digest == res.Referrer.Digest && string(m.ArtifactType) != sign.MediaTypeBundle {
				if spec {
					t.Errorf("artifactType %q in the list, want %q", m.ArtifactType, sign.MediaTypeBundle)
				} else {
					t.Logf("known deviation: artifactType %q in the list", m.ArtifactType)
				}
			}
		}
		filtered, applied := getIndex(t, base+"?artifactType="+url.QueryEscape(sign.MediaTypeBundle))
		if spec && (len(filtered.Manifests) != 1 || applied != "artifactType") {
			t.Errorf("filtered list: %d entries, OCI-Filters-Applied %q; want 1, artifactType", len(filtered.Manifests), applied)
		} else if !spec {
			t.Logf("filtered list: %d entries, OCI-Filters-Applied %q", len(filtered.Manifests), applied)
		}
		// A registry that processed the subject gets no referrers tag.
		tag := d.Context().Tag("sha256-" + strings.TrimPrefix(d.DigestStr(), "sha256:"))
		if _, err := remote.Head(tag); err == nil {
			t.Errorf("referrers tag %s written although the registry sent OCI-Subject", tag)
		}
		if atts := list(t, image); len(atts) != 1 {
			t.Fatalf("List: %d attestations, want 1 (the SBOM artifact is not one)", len(atts))
		}
		if sigs := listSigs(t, image); len(sigs) != 0 {
			t.Fatalf("ListSignatures: %d, want 0 (an attestation is not a signature)", len(sigs))
		}
	})
}

func subjectSize(t *testing.T, d name.Digest) int64 {
	t.Helper()
	desc, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Size
}

// getIndex GETs a referrers URL and returns the index and the
// OCI-Filters-Applied header.
func getIndex(t *testing.T, u string) (*v1.IndexManifest, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	idx, err := v1.ParseIndexManifest(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return idx, resp.Header.Get("OCI-Filters-Applied")
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
