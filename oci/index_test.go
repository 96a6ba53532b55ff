package oci_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

var k8sPlatforms = []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/arm"}

// envelopeAbout returns a signed statement naming each of refs' digests.
func envelopeAbout(t testing.TB, n int, refs ...string) *sign.Envelope {
	t.Helper()
	var subjects []any
	for _, r := range refs {
		_, dg, _ := strings.Cut(r, "@sha256:")
		subjects = append(subjects, map[string]any{"name": r, "digest": map[string]string{"sha256": dg}})
	}
	payload, err := json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v1", "subject": subjects,
		"predicateType": slsaV1, "predicate": map[string]any{"n": n},
	})
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(testKey, sign.PAE(sign.PayloadTypeInToto, payload))
	return &sign.Envelope{PayloadType: sign.PayloadTypeInToto, Payload: payload, Signatures: []sign.Signature{{KeyID: "test-key", Sig: sig}}}
}

func allRefs(x *ocitest.Index) []string {
	refs := []string{x.Ref}
	for _, p := range k8sPlatforms {
		if r, ok := x.Platforms[p]; ok {
			refs = append(refs, r)
		}
	}
	return refs
}

func TestReadIndexAndPlatform(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	x := reg.PushRandomIndex(t, "k8s/kube-proxy", k8sPlatforms...)
	tag := reg.Host() + "/k8s/kube-proxy:latest"

	idx, err := oci.ReadIndex(ctx, tag, oci.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	if idx.Repository+"@"+idx.Digest != x.Ref || len(idx.Manifests) != 5 {
		t.Fatalf("ReadIndex = %s@%s with %d manifests, want %s with 5", idx.Repository, idx.Digest, len(idx.Manifests), x.Ref)
	}
	for _, p := range k8sPlatforms {
		img, err := oci.ResolveImage(ctx, tag, oci.WithInsecure(), oci.WithPlatform(p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if img.Ref() != x.Platforms[p] || img.Repository+"@"+img.Index != x.Ref || oci.PlatformString(*img.Platform) != p {
			t.Errorf("%s: resolved %+v, want %s in %s", p, img, x.Platforms[p], x.Ref)
		}
	}

	single := reg.PushRandomImage(t, "k8s/single")
	if _, err := oci.ReadIndex(ctx, single, oci.WithInsecure()); !errors.Is(err, oci.ErrNotIndex) {
		t.Errorf("ReadIndex of an image: %v, want ErrNotIndex", err)
	}
	for _, tc := range []struct {
		name string
		ref  string
		opts []oci.Option
		want error
	}{
		{"platform not in index", x.Ref, []oci.Option{oci.WithPlatform("windows/amd64")}, oci.ErrNoPlatform},
		{"variant not in index", x.Ref, []oci.Option{oci.WithPlatform("linux/arm/v5")}, oci.ErrNoPlatform},
		{"image is not an index", single, []oci.Option{oci.WithPlatform("linux/amd64")}, oci.ErrNotIndex},
		{"platform does not parse", x.Ref, []oci.Option{oci.WithPlatform("linux")}, oci.ErrInvalidArgument},
		{"platform with junk", x.Ref, []oci.Option{oci.WithPlatform("linux/amd64/v1/x")}, oci.ErrInvalidArgument},
		{"too many entries", x.Ref, []oci.Option{oci.WithPlatform("linux/amd64"), oci.WithMaxIndexEntries(4)}, oci.ErrTooMany},
		{"index over the size cap", x.Ref, []oci.Option{oci.WithPlatform("linux/amd64"), oci.WithMaxBytes(200)}, oci.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]oci.Option{oci.WithInsecure()}, tc.opts...)
			if _, err := oci.ResolveImage(ctx, tc.ref, opts...); !errors.Is(err, tc.want) {
				t.Errorf("ResolveImage: %v, want %v", err, tc.want)
			}
			if _, err := oci.List(ctx, tc.ref, opts...); !errors.Is(err, tc.want) {
				t.Errorf("List: %v, want %v", err, tc.want)
			}
		})
	}
	// WithPlatform("") clears an earlier platform.
	img, err := oci.ResolveImage(ctx, x.Ref, oci.WithInsecure(), oci.WithPlatform("linux/amd64"), oci.WithPlatform(""))
	if err != nil || img.Ref() != x.Ref || img.Index != "" {
		t.Errorf("cleared platform: %+v, %v", img, err)
	}
}

// rawIndex is an index pushed byte for byte.
type rawIndex struct{ raw []byte }

func (r rawIndex) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// An index that lists one platform twice names two images a node may
// run: resolving that platform must fail rather than vouch for either.
func TestIndexAmbiguousEntriesRefused(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	a := reg.PushRandomImage(t, "k8s/a")
	b := reg.PushRandomImage(t, "k8s/a")
	entry := func(ref, variant string) map[string]any {
		d := mustDigest(t, ref)
		img, err := remote.Get(d)
		if err != nil {
			t.Fatal(err)
		}
		p := map[string]any{"os": "linux", "architecture": "arm"}
		if variant != "" {
			p["variant"] = variant
		}
		return map[string]any{"mediaType": string(img.MediaType), "digest": d.DigestStr(), "size": img.Size, "platform": p}
	}
	push := func(entries ...map[string]any) string {
		raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": entries})
		tag, _ := name.NewTag(reg.Host()+"/k8s/a:idx", name.Insecure)
		if err := remote.Put(tag, rawIndex{raw}); err != nil {
			t.Fatal(err)
		}
		return tag.String()
	}
	ref := push(entry(a, "v7"), entry(b, "v7"))
	if _, err := oci.ResolveImage(ctx, ref, oci.WithInsecure(), oci.WithPlatform("linux/arm/v7")); !errors.Is(err, oci.ErrInvalidManifest) {
		t.Errorf("duplicate platform: %v, want ErrInvalidManifest", err)
	}
	ref = push(entry(a, "v6"), entry(b, "v7"))
	if _, err := oci.ResolveImage(ctx, ref, oci.WithInsecure(), oci.WithPlatform("linux/arm")); !errors.Is(err, oci.ErrInvalidArgument) {
		t.Errorf("ambiguous variant: %v, want ErrInvalidArgument", err)
	}
	if img, err := oci.ResolveImage(ctx, ref, oci.WithInsecure(), oci.WithPlatform("linux/arm/v7")); err != nil || img.Ref() != b {
		t.Errorf("linux/arm/v7 = %+v, %v; want %s", img, err, b)
	}
}

func TestAttachRecursive(t *testing.T) {
	ctx := context.Background()
	for _, refOn := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers", false: "fallback"}[refOn], func(t *testing.T) {
			reg := ocitest.NewRegistry(t, ocitest.WithReferrers(refOn))
			x := reg.PushRandomIndex(t, "k8s/etcd", k8sPlatforms...)
			tag := reg.Host() + "/k8s/etcd:latest"

			// A statement that leaves out one platform is refused before
			// anything is written: that platform's verifiers would reject it.
			partial := envelopeAbout(t, 1, allRefs(x)[:5]...)
			_, err := oci.Attach(ctx, tag, &sign.Attestation{Envelope: partial}, oci.WithInsecure(), oci.WithRecursive(), oci.WithLayout(oci.Both))
			if !errors.Is(err, oci.ErrSubjectMismatch) {
				t.Fatalf("partial statement: %v, want ErrSubjectMismatch", err)
			}
			for _, r := range allRefs(x) {
				if n := len(list(t, r)); n != 0 {
					t.Fatalf("%s has %d attestations after a refused attach", r, n)
				}
			}

			env := envelopeAbout(t, 2, allRefs(x)...)
			res, err := oci.Attach(ctx, tag, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithRecursive(), oci.WithLayout(oci.Both))
			if err != nil {
				t.Fatal(err)
			}
			if res.Image != x.Ref || len(res.Manifests) != 5 {
				t.Fatalf("result %s with %d manifests", res.Image, len(res.Manifests))
			}
			for _, r := range allRefs(x) {
				checkStoredOnce(t, r, oci.Both, 1)
			}
			for _, p := range k8sPlatforms {
				if atts := list(t, tag, oci.WithPlatform(p)); len(atts) != 1 {
					t.Errorf("%s: %d attestations through the index", p, len(atts))
				}
			}
			// Again: nothing new is written anywhere.
			if _, err := oci.Attach(ctx, tag, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithRecursive(), oci.WithLayout(oci.Both)); err != nil {
				t.Fatal(err)
			}
			for _, r := range allRefs(x) {
				checkStoredOnce(t, r, oci.Both, 1)
			}
		})
	}
}

// Without WithRecursive an index is one image: the attestation lands on
// the index alone; with WithPlatform on the platform's manifest alone.
func TestAttachIndexOrPlatformOnly(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	x := reg.PushRandomIndex(t, "k8s/pause", k8sPlatforms...)
	attach(t, x.Ref, envelopeAbout(t, 1, x.Ref))
	if n := len(list(t, x.Ref)); n != 1 {
		t.Errorf("index: %d attestations", n)
	}
	arm := x.Platforms["linux/arm64"]
	res, err := oci.Attach(ctx, x.Ref, &sign.Attestation{Envelope: envelopeAbout(t, 2, arm)}, oci.WithInsecure(), oci.WithPlatform("linux/arm64"))
	if err != nil || res.Image != arm {
		t.Fatalf("Attach with platform: %v, %v", res, err)
	}
	for p, r := range x.Platforms {
		want := 0
		if p == "linux/arm64" {
			want = 1
		}
		if n := len(list(t, r)); n != want {
			t.Errorf("%s: %d attestations, want %d", p, n, want)
		}
	}
}

// Listing a platform image through its index costs one request more than
// listing it by digest: the GET of the index (a tag costs a HEAD anyway).
func TestPlatformListRequests(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	x := reg.PushRandomIndex(t, "k8s/coredns", k8sPlatforms...)
	arm := x.Platforms["linux/arm64"]
	attach(t, arm, envelopeAbout(t, 1, arm))
	ct := ocitest.NewCountingTransport(http.DefaultTransport)
	if _, err := oci.List(ctx, arm, oci.WithInsecure(), oci.WithTransport(ct)); err != nil {
		t.Fatal(err)
	}
	direct := ct.Count()
	ct.Reset()
	if _, err := oci.List(ctx, x.Ref, oci.WithInsecure(), oci.WithTransport(ct), oci.WithPlatform("linux/arm64")); err != nil {
		t.Fatal(err)
	}
	if got := ct.Count(); got != direct+1 {
		t.Errorf("through the index: %d requests, by digest %d; want exactly one more", got, direct)
	}
}

// A runtime chooses an index entry after normalizing platforms
// (containerd/platforms: "x86_64" is "amd64", "aarch64" "arm64", the OS in
// any case, "arm" "arm/v7", "arm64/v8" "arm64") and descends into nested
// indexes. An index that offers a node on platform P a second image for P
// under another spelling, or inside a nested index, would let a verifier
// vouch for one image while the node runs the other: resolving P must
// fail (ErrInvalidManifest), whichever entry comes first.
func TestIndexPlatformAliasesAndNestedIndexesRefused(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	good := reg.PushRandomImage(t, "k8s/b")
	evil := reg.PushRandomImage(t, "k8s/b")
	nested := reg.PushRandomIndex(t, "k8s/b", "linux/amd64").Ref
	type e = ocitest.IndexEntry
	img := func(ref, platform string) e { return e{Ref: ref, Platform: platform} }
	idx := func(platform string) e { return img(nested, platform) }
	resolve := func(ref, platform string) (*oci.ResolvedImage, error) {
		return oci.ResolveImage(ctx, ref, oci.WithInsecure(), oci.WithPlatform(platform))
	}

	for _, tc := range []struct {
		name     string
		entries  []e
		platform string
	}{
		{"arch alias x86_64", []e{img(evil, "linux/x86_64"), img(good, "linux/amd64")}, "linux/amd64"},
		{"arch alias x86-64 after", []e{img(good, "linux/amd64"), img(evil, "linux/x86-64")}, "linux/amd64"},
		{"arch alias aarch64", []e{img(evil, "linux/aarch64"), img(good, "linux/arm64")}, "linux/arm64"},
		{"arm64/v8 is arm64", []e{img(evil, "linux/arm64/v8"), img(good, "linux/arm64")}, "linux/arm64/v8"},
		{"arm is arm/v7", []e{img(evil, "linux/arm"), img(good, "linux/arm/v7")}, "linux/arm/v7"},
		{"armhf is arm/v7", []e{img(evil, "linux/armhf"), img(good, "linux/arm/v7")}, "linux/arm/v7"},
		{"amd64/v1 is amd64", []e{img(evil, "linux/amd64/v1"), img(good, "linux/amd64")}, "linux/amd64"},
		{"OS case", []e{img(evil, "Linux/amd64"), img(good, "linux/amd64")}, "linux/amd64"},
		{"arch case", []e{img(evil, "linux/AMD64"), img(good, "linux/amd64")}, "linux/amd64"},
		{"nested index for the platform first", []e{idx("linux/amd64"), img(good, "linux/amd64")}, "linux/amd64"},
		{"nested index for an alias after", []e{img(good, "linux/amd64"), idx("linux/x86_64")}, "linux/amd64"},
		{"nested index, no platform, no direct entry", []e{idx(""), img(good, "linux/arm64")}, "linux/amd64"},
		{"manifest, no platform, no direct entry", []e{img(evil, ""), img(good, "linux/arm64")}, "linux/amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.PushRawIndex(t, "k8s/b", "idx", tc.entries...)
			if got, err := resolve(ref, tc.platform); !errors.Is(err, oci.ErrInvalidManifest) {
				t.Errorf("ResolveImage(%s) = %+v, %v; want ErrInvalidManifest", tc.platform, got, err)
			}
			if _, err := oci.List(ctx, ref, oci.WithInsecure(), oci.WithPlatform(tc.platform)); !errors.Is(err, oci.ErrInvalidManifest) {
				t.Errorf("List(%s): %v, want ErrInvalidManifest", tc.platform, err)
			}
		})
	}

	// What runtimes do not pick for a platform that has its own entry
	// is not in the way: an entry without a platform (the fallback), a
	// nested index for another platform, buildx's unknown/unknown.
	ref := reg.PushRawIndex(t, "k8s/b", "idx", idx(""), img(evil, ""), idx("linux/arm64"), img(evil, "unknown/unknown"), img(good, "linux/amd64"))
	for _, p := range []string{"linux/amd64", "linux/x86_64", "Linux/AMD64", "linux/amd64/v1"} {
		if got, err := resolve(ref, p); err != nil || got.Ref() != good {
			t.Errorf("ResolveImage(%s) = %+v, %v; want %s", p, got, err, good)
		}
	}
}
