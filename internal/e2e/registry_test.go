package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// Direct registry access with go-containerregistry, independent of the oci
// package: the tests check what is stored with a second implementation.

const (
	mtDSSE   = types.MediaType("application/vnd.dsse.envelope.v1+json")
	mtBundle = types.MediaType("application/vnd.dev.sigstore.bundle.v0.3+json")
)

// rawManifest is a manifest to PUT byte for byte.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func legacyTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
}

// getManifest fetches ref and parses it as an image manifest.
func getManifest(t testing.TB, ctx context.Context, ref name.Reference) (*v1.Manifest, types.MediaType, []byte) {
	t.Helper()
	desc, err := remote.Get(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatalf("parse manifest %s: %v", ref, err)
	}
	return m, desc.MediaType, desc.Manifest
}

func putManifest(t testing.TB, ctx context.Context, ref name.Reference, m *v1.Manifest, mt types.MediaType) v1.Hash {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(ref, rawManifest{raw: raw, mt: mt}, remote.WithContext(ctx)); err != nil {
		t.Fatalf("put manifest %s: %v", ref, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func getBlob(t testing.TB, ctx context.Context, repo name.Repository, h v1.Hash) []byte {
	t.Helper()
	l, err := remote.Layer(repo.Digest(h.String()), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatalf("fetch blob %s: %v", h, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		t.Fatalf("read blob %s: %v", h, err)
	}
	return b
}

func putBlob(t testing.TB, ctx context.Context, repo name.Repository, b []byte, mt types.MediaType) v1.Descriptor {
	t.Helper()
	l := static.NewLayer(b, mt)
	if err := remote.WriteLayer(repo, l, remote.WithContext(ctx)); err != nil {
		t.Fatalf("write blob: %v", err)
	}
	h, _ := l.Digest()
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(b))}
}

// hasTag reports whether tag exists.
func hasTag(t testing.TB, ctx context.Context, tag name.Tag) bool {
	t.Helper()
	_, err := remote.Head(tag, remote.WithContext(ctx))
	if err == nil {
		return true
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return false
	}
	t.Fatalf("HEAD %s: %v", tag, err)
	return false
}

// referrers lists the referrer manifests of d through the referrers API.
func referrers(t testing.TB, ctx context.Context, d name.Digest) []v1.Descriptor {
	t.Helper()
	idx, err := remote.Referrers(d, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("referrers of %s: %v", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im.Manifests
}

// storedEnvelopes returns every envelope stored for d in layout, read
// directly from the registry, one entry per stored copy (duplicates kept).
func storedEnvelopes(t testing.TB, ctx context.Context, d name.Digest, layout oci.Layout) [][]byte {
	t.Helper()
	repo := d.Context()
	var out [][]byte
	switch layout {
	case oci.Legacy:
		m, _, _ := getManifest(t, ctx, legacyTag(d))
		for _, l := range m.Layers {
			if l.MediaType != mtDSSE {
				t.Errorf("legacy layer %s has media type %q", l.Digest, l.MediaType)
			}
			out = append(out, getBlob(t, ctx, repo, l.Digest))
		}
	case oci.Referrers:
		for _, r := range referrers(t, ctx, d) {
			m, _, _ := getManifest(t, ctx, repo.Digest(r.Digest.String()))
			if len(m.Layers) != 1 || m.Layers[0].MediaType != mtBundle {
				t.Errorf("referrer %s: want one %s layer, got %+v", r.Digest, mtBundle, m.Layers)
				continue
			}
			if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() {
				t.Errorf("referrer %s: subject %+v, want %s", r.Digest, m.Subject, d.DigestStr())
			}
			var b struct {
				DSSE json.RawMessage `json:"dsseEnvelope"`
			}
			if err := json.Unmarshal(getBlob(t, ctx, repo, m.Layers[0].Digest), &b); err != nil {
				t.Fatalf("bundle of referrer %s: %v", r.Digest, err)
			}
			out = append(out, b.DSSE)
		}
	default:
		t.Fatalf("storedEnvelopes: layout %v", layout)
	}
	return out
}

// payloadKey identifies an envelope by its signed payload, whatever its JSON
// formatting (the bundle and the .att layer serialize it differently).
func payloadKey(t testing.TB, raw []byte) string {
	t.Helper()
	env, err := sign.ParseEnvelope(raw)
	if err != nil {
		t.Fatalf("stored envelope does not parse: %v\n%s", err, raw)
	}
	return string(env.Payload)
}

// assertBlobsExist HEADs every config and layer of every attestation
// manifest of d directly on the registry (bypassing any proxy).
func assertBlobsExist(t testing.TB, ctx context.Context, d name.Digest, layout oci.Layout) {
	t.Helper()
	repo := d.Context()
	var manifests []*v1.Manifest
	switch layout {
	case oci.Legacy:
		m, _, _ := getManifest(t, ctx, legacyTag(d))
		manifests = append(manifests, m)
	case oci.Referrers:
		for _, r := range referrers(t, ctx, d) {
			m, _, _ := getManifest(t, ctx, repo.Digest(r.Digest.String()))
			manifests = append(manifests, m)
		}
	}
	for _, m := range manifests {
		for _, desc := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			url := fmt.Sprintf("http://%s/v2/%s/blobs/%s", repo.RegistryStr(), repo.RepositoryStr(), desc.Digest)
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("HEAD %s: %v", url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("manifest points at missing blob %s (%s): HEAD %d", desc.Digest, desc.MediaType, resp.StatusCode)
			}
		}
	}
}

// tamperPayload replaces old with new in the payload of the envelope JSON
// env (a DSSE envelope object) and returns the re-encoded envelope object.
func tamperPayload(t testing.TB, env map[string]any, old, new string) {
	t.Helper()
	p, ok := env["payload"].(string)
	if !ok {
		t.Fatalf("envelope has no payload: %v", env)
	}
	b, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("payload does not contain %q", old)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(b, []byte(old), []byte(new), 1))
}

// tamperStored writes onto dst a copy of the attestation stored for src
// whose signed payload says another builder. src and dst are the same image
// (same digest), in the same repository for the legacy layout (the .att tag
// is overwritten) or in another one for referrers: distribution keeps
// listing a deleted referrer, so the untampered original cannot be removed
// from src's referrers, and dst starts clean instead.
func tamperStored(t testing.TB, ctx context.Context, src, dst name.Digest, layout oci.Layout) {
	t.Helper()
	if src.DigestStr() != dst.DigestStr() {
		t.Fatalf("tamperStored: %s and %s are different images", src, dst)
	}
	const old, new = "https://example.com/b", "https://example.com/X"
	switch layout {
	case oci.Legacy:
		m, mt, _ := getManifest(t, ctx, legacyTag(src))
		if len(m.Layers) != 1 {
			t.Fatalf("legacy manifest has %d layers, want 1", len(m.Layers))
		}
		var env map[string]any
		if err := json.Unmarshal(getBlob(t, ctx, src.Context(), m.Layers[0].Digest), &env); err != nil {
			t.Fatal(err)
		}
		tamperPayload(t, env, old, new)
		b, _ := json.Marshal(env)
		nd := putBlob(t, ctx, dst.Context(), b, m.Layers[0].MediaType)
		m.Layers[0].Digest, m.Layers[0].Size = nd.Digest, nd.Size
		putBlob(t, ctx, dst.Context(), getBlob(t, ctx, src.Context(), m.Config.Digest), m.Config.MediaType)
		putManifest(t, ctx, legacyTag(dst), m, mt)
	case oci.Referrers:
		if src.Context() == dst.Context() {
			t.Fatal("tamperStored: referrers need another repository")
		}
		refs := referrers(t, ctx, src)
		if len(refs) != 1 {
			t.Fatalf("%d referrers, want 1", len(refs))
		}
		m, mt, _ := getManifest(t, ctx, src.Context().Digest(refs[0].Digest.String()))
		var bundle map[string]any
		if err := json.Unmarshal(getBlob(t, ctx, src.Context(), m.Layers[0].Digest), &bundle); err != nil {
			t.Fatal(err)
		}
		env, _ := bundle["dsseEnvelope"].(map[string]any)
		tamperPayload(t, env, old, new)
		b, _ := json.Marshal(bundle)
		nd := putBlob(t, ctx, dst.Context(), b, m.Layers[0].MediaType)
		m.Layers[0].Digest, m.Layers[0].Size = nd.Digest, nd.Size
		putBlob(t, ctx, dst.Context(), getBlob(t, ctx, src.Context(), m.Config.Digest), m.Config.MediaType)
		putManifestByDigest(t, ctx, dst.Context(), m, mt)
	}
}

// copyStored copies the attestation stored for from onto to, as a registry
// user with push rights could: the .att manifest is re-tagged, the referrer
// is re-pushed with its subject pointing at to.
func copyStored(t testing.TB, ctx context.Context, from, to name.Digest, layout oci.Layout) {
	t.Helper()
	repo := from.Context()
	switch layout {
	case oci.Legacy:
		m, mt, _ := getManifest(t, ctx, legacyTag(from))
		putManifest(t, ctx, legacyTag(to), m, mt)
	case oci.Referrers:
		refs := referrers(t, ctx, from)
		if len(refs) != 1 {
			t.Fatalf("%d referrers, want 1", len(refs))
		}
		m, mt, _ := getManifest(t, ctx, repo.Digest(refs[0].Digest.String()))
		toDesc, err := remote.Head(to, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		m.Subject = &v1.Descriptor{MediaType: toDesc.MediaType, Digest: toDesc.Digest, Size: toDesc.Size}
		putManifestByDigest(t, ctx, repo, m, mt)
	}
}

func putManifestByDigest(t testing.TB, ctx context.Context, repo name.Repository, m *v1.Manifest, mt types.MediaType) v1.Hash {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(repo.Digest(h.String()), rawManifest{raw: raw, mt: mt}, remote.WithContext(ctx)); err != nil {
		t.Fatalf("put manifest %s: %v", h, err)
	}
	return h
}

func mustDigest(t testing.TB, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatalf("parse %q: %v", ref, err)
	}
	return d
}
