package ocitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Index is a multi-platform image pushed by PushIndex.
type Index struct {
	// Ref is "127.0.0.1:<port>/<repo>@sha256:<hex>" of the index.
	Ref string
	// Platforms maps "os/arch[/variant]" to the reference by digest of
	// that platform's image manifest.
	Platforms map[string]string
}

// PushRandomIndex pushes one small random image per platform
// ("linux/amd64", "linux/arm/v7", …) and an OCI image index of them to
// repo, tagged "latest".
func (r *Registry) PushRandomIndex(t testing.TB, repo string, platforms ...string) *Index {
	t.Helper()
	x, err := r.PushIndex(context.Background(), repo, platforms...)
	if err != nil {
		t.Fatalf("ocitest: %v", err)
	}
	return x
}

// PushIndex is PushRandomIndex outside a test.
func (r *Registry) PushIndex(ctx context.Context, repo string, platforms ...string) (*Index, error) {
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		parts := strings.Split(p, "/")
		if len(parts) < 2 {
			return nil, fmt.Errorf("platform %q: want os/arch[/variant]", p)
		}
		pl := &v1.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) > 2 {
			pl.Variant = parts[2]
		}
		img, err := random.Image(128, 1)
		if err != nil {
			return nil, err
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	tag, err := name.NewTag(r.Host()+"/"+repo+":latest", name.Insecure)
	if err != nil {
		return nil, err
	}
	if err := remote.WriteIndex(tag, idx, remote.WithContext(ctx), remote.WithTransport(r.srv.Client().Transport)); err != nil {
		return nil, fmt.Errorf("push %s: %w", tag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	x := &Index{Ref: r.Host() + "/" + repo + "@" + d.String(), Platforms: map[string]string{}}
	for i, m := range im.Manifests {
		x.Platforms[platforms[i]] = r.Host() + "/" + repo + "@" + m.Digest.String()
	}
	return x, nil
}

// IndexEntry is one entry of an index pushed by PushRawIndex: the image
// or index ref names (by digest, in this registry), described as it is
// stored, with the platform given as "os/arch[/variant]" written exactly
// ("" for an entry without a platform) and mediaType, when set, in place
// of the stored one.
type IndexEntry struct {
	Ref, Platform string
	MediaType     types.MediaType
}

// PushRawIndex pushes, tagged tag in repo, an OCI index listing entries
// byte for byte as given (aliases, odd case, nested indexes, entries
// without a platform: what a hostile publisher writes), and returns its
// reference by digest.
func (r *Registry) PushRawIndex(t testing.TB, repo, tag string, entries ...IndexEntry) string {
	t.Helper()
	var ms []map[string]any
	for _, e := range entries {
		d, err := name.NewDigest(e.Ref, name.Insecure)
		if err != nil {
			t.Fatalf("ocitest: %v", err)
		}
		desc, err := remote.Head(d, remote.WithTransport(r.srv.Client().Transport))
		if err != nil {
			t.Fatalf("ocitest: %v", err)
		}
		mt := desc.MediaType
		if e.MediaType != "" {
			mt = e.MediaType
		}
		m := map[string]any{"mediaType": mt, "digest": d.DigestStr(), "size": desc.Size}
		if e.Platform != "" {
			parts := strings.SplitN(e.Platform, "/", 3)
			p := map[string]string{"os": parts[0], "architecture": parts[1]}
			if len(parts) == 3 {
				p["variant"] = parts[2]
			}
			m["platform"] = p
		}
		ms = append(ms, m)
	}
	raw, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": ms})
	if err != nil {
		t.Fatalf("ocitest: %v", err)
	}
	tg, err := name.NewTag(r.Host()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatalf("ocitest: %v", err)
	}
	if err := remote.Put(tg, rawManifest{raw, types.OCIImageIndex}, remote.WithTransport(r.srv.Client().Transport)); err != nil {
		t.Fatalf("ocitest: %v", err)
	}
	return tg.Context().Name() + "@" + v1.Hash{Algorithm: "sha256", Hex: sha256Hex(raw)}.String()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
