package ocitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CopyAttestations copies the attestations and cosign image signatures
// stored for the image src to the image dst, both
// "host/repo@sha256:<hex>" in this registry, the way anyone with write
// access to a registry can: the legacy `sha256-<hex>.att` and `.sig`
// manifests as they are (replacing dst's), and each referrer
// re-pointed at dst (through the referrers tag schema when the referrers
// API is off). The statements inside still name src. oci.Attach refuses
// to attach a statement about another image, so this is how a test puts
// one in front of a verifier, which must reject it. It returns the number
// of legacy layers and referrers copied.
func (r *Registry) CopyAttestations(t testing.TB, src, dst string) int {
	t.Helper()
	n, err := r.copyAttestations(context.Background(), src, dst)
	if err != nil {
		t.Fatalf("ocitest: copying the attestations of %s to %s: %v", src, dst, err)
	}
	return n
}

func (r *Registry) copyAttestations(ctx context.Context, src, dst string) (int, error) {
	s, err := name.NewDigest(src, name.Insecure)
	if err != nil {
		return 0, err
	}
	d, err := name.NewDigest(dst, name.Insecure)
	if err != nil {
		return 0, err
	}
	sh, err := v1.NewHash(s.DigestStr())
	if err != nil {
		return 0, err
	}
	dh, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return 0, err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(r.srv.Client().Transport)}
	n := 0

	// Legacy: the .att and .sig images, blobs and all.
	for _, suffix := range []string{".att", ".sig"} {
		att, err := remote.Image(s.Context().Tag(sh.Algorithm+"-"+sh.Hex+suffix), opts...)
		switch {
		case notFound(err):
		case err != nil:
			return 0, err
		default:
			if err := remote.Write(d.Context().Tag(dh.Algorithm+"-"+dh.Hex+suffix), att, opts...); err != nil {
				return 0, err
			}
			layers, err := att.Layers()
			if err != nil {
				return 0, err
			}
			n += len(layers)
		}
	}

	// Referrers: each manifest with its subject replaced by dst.
	idx, err := remote.Referrers(s, opts...)
	if err != nil {
		return 0, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return 0, err
	}
	if len(im.Manifests) == 0 {
		return n, nil
	}
	subject, err := remote.Head(d, opts...)
	if err != nil {
		return 0, err
	}
	for _, ref := range im.Manifests {
		got, err := remote.Get(s.Context().Digest(ref.Digest.String()), opts...)
		if err != nil {
			return 0, err
		}
		var m v1.Manifest
		if err := json.Unmarshal(got.Manifest, &m); err != nil {
			return 0, fmt.Errorf("referrer %s: %w", ref.Digest, err)
		}
		if s.Context() != d.Context() {
			for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
				l, err := remote.Layer(s.Context().Digest(b.Digest.String()), opts...)
				if err != nil {
					return 0, err
				}
				if err := remote.WriteLayer(d.Context(), l, opts...); err != nil {
					return 0, err
				}
			}
		}
		// Edit the manifest as JSON, so that fields v1.Manifest does not
		// know (artifactType) are kept.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(got.Manifest, &raw); err != nil {
			return 0, err
		}
		if raw["subject"], err = json.Marshal(v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}); err != nil {
			return 0, err
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return 0, err
		}
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		if err := remote.Put(d.Context().Digest(h.String()), rawManifest{b, got.MediaType}, opts...); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
