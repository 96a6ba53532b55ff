package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Errors of image indexes. Match them with errors.Is.
var (
	// ErrNotIndex: WithPlatform was given for a reference that names an
	// image manifest, not an index.
	ErrNotIndex = errors.New("oci: not an image index")
	// ErrNoPlatform: the index has no manifest for the platform asked for.
	ErrNoPlatform = errors.New("oci: platform not in index")
)

// WithPlatform makes List, Fetch, Attach and ResolveImage resolve the
// reference, which must name an image index, to the manifest of platform
// p ("linux/arm64", "linux/arm/v7"; ParsePlatform), as a runtime on that
// platform would pull it. "" clears an earlier WithPlatform. A platform
// that does not parse fails the call with ErrInvalidArgument.
func WithPlatform(p string) Option {
	return func(o *options) {
		o.platform, o.platformErr = nil, nil
		if p == "" {
			return
		}
		pl, err := ParsePlatform(p)
		if err != nil {
			o.platformErr = err
			return
		}
		o.platform = &pl
	}
}

// WithRecursive makes Attach, when the reference names an image index,
// write the attestation to the index and to every platform manifest it
// lists (cosign's --recursive), so that a verifier reading a platform
// image finds it there too. The statement must name every one of those
// digests; Attach checks this before the first write (ErrSubjectMismatch).
func WithRecursive() Option { return func(o *options) { o.recursive = true } }

// WithMaxIndexEntries bounds the entries of an image index read for
// WithPlatform, WithRecursive or ReadIndex (default
// DefaultMaxIndexEntries); a larger index fails with ErrTooMany.
func WithMaxIndexEntries(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxIndexEntries = n
		}
	}
}

// DefaultMaxIndexEntries bounds the entries of one image index that
// ReadIndex, WithPlatform and WithRecursive read. Kubernetes ships five
// platforms; buildx adds one attestation manifest per platform. The bound
// keeps a hostile index from making a recursive attach write thousands of
// manifests or a verifier hash thousands of descriptors.
const DefaultMaxIndexEntries = 256

// Index is an image index (OCI index or Docker manifest list) read by
// ReadIndex: its digest and its platform manifests.
type Index struct {
	// Repository is registry/repository of the index.
	Repository string
	// Digest is the index's digest, "sha256:<hex>".
	Digest string
	// Descriptor is the index's own descriptor (media type, digest, size).
	Descriptor v1.Descriptor
	// Manifests are the image manifests the index lists for a platform,
	// in index order. Entries for the "unknown" platform (buildx's
	// attestation manifests), entries without a platform and nested
	// indexes are left out.
	Manifests []PlatformManifest

	// opaque are the entries left out of Manifests that a runtime may
	// still pull for some platform: a manifest without a platform
	// (containerd reads its config to learn it) and a nested index
	// (containerd descends into it, platform or not). Platform refuses to pick an image
	// for a platform one of them could serve: the verifier would vouch
	// for one image while a node runs another.
	opaque []v1.Descriptor
}

// PlatformManifest is one platform's image manifest in an index.
type PlatformManifest struct {
	Platform   v1.Platform
	Descriptor v1.Descriptor
}

// Ref returns repository@digest of the platform manifest.
func (m PlatformManifest) Ref(repository string) string {
	return repository + "@" + m.Descriptor.Digest.String()
}

// ParsePlatform reads "os/arch[/variant]" ("linux/arm64", "linux/arm/v7")
// as the CLI flags of docker, buildx and cosign write it. Anything else
// fails with ErrInvalidArgument.
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return v1.Platform{}, fmt.Errorf("%w: platform %q: want os/arch[/variant]", ErrInvalidArgument, s)
	}
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t:,@?#") {
			return v1.Platform{}, fmt.Errorf("%w: platform %q: want os/arch[/variant]", ErrInvalidArgument, s)
		}
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// PlatformString writes p as ParsePlatform reads it.
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Platform returns the manifest for p: the one entry whose OS and
// architecture equal p's and, when p names a variant, whose variant does
// too, compared as container runtimes compare them (normalPlatform:
// "x86_64" is "amd64", "aarch64" "arm64", "arm" "arm/v7", the OS in any
// case). No entry fails with ErrNoPlatform; several (for example
// "linux/arm" in an index with v6 and v7) fail with ErrInvalidArgument
// rather than guess one the runtime might not pick. An index that also
// holds an entry a runtime on p could pull instead (a nested index for p;
// when no entry states p, one that states no platform) fails with
// ErrInvalidManifest: the image verified would not be the one run.
func (x *Index) Platform(p v1.Platform) (PlatformManifest, error) {
	want := normalPlatform(p)
	var found []PlatformManifest
	for _, m := range x.Manifests {
		if platformMatches(normalPlatform(m.Platform), want, p.Variant == "") {
			found = append(found, m)
		}
	}
	// A nested index for p competes with p's manifest on equal terms
	// (containerd takes the first in index order); an entry stating no
	// platform is the runtime's fallback when no entry states p.
	for _, d := range x.opaque {
		if d.Platform != nil && platformMatches(normalPlatform(*d.Platform), want, p.Variant == "") || d.Platform == nil && len(found) == 0 {
			return PlatformManifest{}, fmt.Errorf("%w: %s@%s lists %s (%s) that a runtime on %s could pull instead",
				ErrInvalidManifest, x.Repository, x.Digest, d.Digest, d.MediaType, PlatformString(p))
		}
	}
	switch len(found) {
	case 0:
		return PlatformManifest{}, fmt.Errorf("%w: %s@%s has no %s manifest", ErrNoPlatform, x.Repository, x.Digest, PlatformString(p))
	case 1:
		return found[0], nil
	}
	return PlatformManifest{}, fmt.Errorf("%w: %s@%s has %d manifests for %s; name the variant", ErrInvalidArgument, x.Repository, x.Digest, len(found), PlatformString(p))
}

// ReadIndex reads the image index ref names (a tag is resolved once, by
// the same GET). It reads at most the manifest size cap (WithMaxBytes;
// ErrTooLarge) and refuses an index with more entries than
// WithMaxIndexEntries (ErrTooMany), an image manifest (ErrNotIndex), and
// entries with a digest other than sha256, no size, or
// two entries for one platform (ErrInvalidManifest).
func ReadIndex(ctx context.Context, ref string, opts ...Option) (*Index, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, o)
	if err != nil {
		return nil, err
	}
	c := newClient(o)
	idx, desc, err := c.readIndex(ctx, r)
	if err == nil && idx == nil {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotIndex, r, desc.MediaType)
	}
	return idx, err
}

// readIndex GETs r and returns its index, or (nil, descriptor) when r is
// an image manifest rather than an index.
func (c *client) readIndex(ctx context.Context, r name.Reference) (*Index, v1.Descriptor, error) {
	m, err := c.getManifest(ctx, r.Context(), r.Identifier(), false)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("oci: reading %s: %w", r, err)
	}
	h, err := parseDigest(m.digest)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	var head struct {
		MediaType types.MediaType   `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
		Layers    json.RawMessage   `json:"layers"`
	}
	if err := decodeManifest(m.body, &head); err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%w: %s: %v", ErrInvalidManifest, r, err)
	}
	mt := head.MediaType
	if mt == "" { // the body's media type is optional; the header's is not
		ct, _, _ := strings.Cut(m.mediaType, ";")
		mt = types.MediaType(strings.TrimSpace(ct))
	}
	desc := v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(m.body))}
	if !mt.IsIndex() || head.Layers != nil {
		return nil, desc, nil
	}
	// Count before decoding the entries: a bounded array of small objects.
	if len(head.Manifests) > c.o.maxIndexEntries {
		return nil, desc, fmt.Errorf("%w: index %s@%s has %d entries, limit %d", ErrTooMany, r.Context().Name(), h, len(head.Manifests), c.o.maxIndexEntries)
	}
	var im v1.IndexManifest
	if err := decodeManifest(m.body, &im); err != nil {
		return nil, desc, fmt.Errorf("%w: index %s: %v", ErrInvalidManifest, r, err)
	}
	x := &Index{Repository: r.Context().Name(), Digest: h.String(), Descriptor: desc}
	seen := map[string]bool{}
	for _, d := range im.Manifests {
		if d.Platform != nil && strings.EqualFold(d.Platform.OS, "unknown") {
			continue // buildx's attestation manifests: no runtime's platform
		}
		if d.Platform == nil || d.Platform.OS == "" || d.MediaType.IsIndex() {
			x.opaque = append(x.opaque, d)
			continue
		}
		if d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 || d.Size <= 0 {
			return nil, desc, fmt.Errorf("%w: index %s@%s: entry %s (size %d)", ErrInvalidManifest, x.Repository, h, d.Digest, d.Size)
		}
		// One platform, one image: with two, which one a node runs is the
		// runtime's choice, and a verifier could vouch for the other. Two
		// spellings of one platform ("linux/amd64", "Linux/x86_64") are
		// one platform to the runtime.
		n := normalPlatform(*d.Platform)
		key := PlatformString(n) + "|" + d.Platform.OSVersion
		if seen[key] {
			return nil, desc, fmt.Errorf("%w: index %s@%s lists %s twice", ErrInvalidManifest, x.Repository, h, PlatformString(n))
		}
		seen[key] = true
		x.Manifests = append(x.Manifests, PlatformManifest{Platform: *d.Platform, Descriptor: d})
	}
	return x, desc, nil
}

// ResolvedImage is an image reference resolved to a digest by
// ResolveImage.
type ResolvedImage struct {
	// Repository is registry/repository.
	Repository string
	// Digest is the image's digest, "sha256:<hex>": with WithPlatform,
	// that platform's manifest.
	Digest string
	// Index is the digest of the index the platform manifest was found
	// in ("" without WithPlatform).
	Index string
	// Platform is the platform manifest's own platform (nil without
	// WithPlatform).
	Platform *v1.Platform
}

// Ref returns Repository@Digest.
func (r *ResolvedImage) Ref() string { return r.Repository + "@" + r.Digest }

// ResolveImage resolves ref to a digest, like Resolve, and with
// WithPlatform to that platform's manifest in the index ref names (one
// GET of the index; ErrNotIndex when ref is an image manifest,
// ErrNoPlatform when the index lacks the platform).
func ResolveImage(ctx context.Context, ref string, opts ...Option) (*ResolvedImage, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, o)
	if err != nil {
		return nil, err
	}
	c := newClient(o)
	subj, idx, err := resolveSubject(ctx, c, r, false)
	if err != nil {
		return nil, err
	}
	out := &ResolvedImage{Repository: r.Context().Name(), Digest: subj.Digest.String()}
	if idx != nil {
		out.Index = idx.Digest
		for _, m := range idx.Manifests {
			if m.Descriptor.Digest == subj.Digest {
				p := m.Platform
				out.Platform = &p
			}
		}
	}
	return out, nil
}

// resolveSubject is subject() with WithPlatform: without a platform it is
// subject(); with one it reads the index r names and returns the
// platform's manifest descriptor and the index.
func resolveSubject(ctx context.Context, c *client, r name.Reference, needDesc bool) (v1.Descriptor, *Index, error) {
	if c.o.platformErr != nil {
		return v1.Descriptor{}, nil, c.o.platformErr
	}
	if c.o.platform == nil {
		d, err := subject(ctx, c, r, needDesc)
		return d, nil, err
	}
	idx, desc, err := c.readIndex(ctx, r)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	if idx == nil {
		return v1.Descriptor{}, nil, fmt.Errorf("%w: %s is %s, not an index", ErrNotIndex, r, desc.MediaType)
	}
	m, err := idx.Platform(*c.o.platform)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	return v1.Descriptor{MediaType: m.Descriptor.MediaType, Digest: m.Descriptor.Digest, Size: m.Descriptor.Size}, idx, nil
}

// ResolvePlatforms returns the digest of ref and, when ref names an image
// index, the digest of each platform's manifest keyed "os/arch[/variant]".
// It implements the provenance package's IndexResolver (ImageSubjects):
// the index is read once, within the bounds of ReadIndex, and two entries
// that key alike fail with ErrInvalidManifest. Answers are not cached: a
// build records what the registry holds when it asks.
func (r *Resolver) ResolvePlatforms(ctx context.Context, ref string) (string, map[string]string, error) {
	o := makeOptions(r.opts)
	nr, err := parseRef(ref, o)
	if err != nil {
		return "", nil, err
	}
	idx, desc, err := newClient(o).readIndex(ctx, nr)
	if err != nil {
		return "", nil, err
	}
	if idx == nil {
		return desc.Digest.String(), nil, nil
	}
	out := make(map[string]string, len(idx.Manifests))
	for _, m := range idx.Manifests {
		k := PlatformString(m.Platform)
		if _, dup := out[k]; dup {
			return "", nil, fmt.Errorf("%w: index %s@%s lists %s twice", ErrInvalidManifest, idx.Repository, idx.Digest, k)
		}
		out[k] = m.Descriptor.Digest.String()
	}
	return idx.Digest, out, nil
}

// normalPlatform is p as containerd's platform matcher
// (containerd/platforms.Normalize) reads it, the form in which a runtime
// chooses an index entry: the OS and architecture in lowercase with their
// aliases resolved, and the variants that mean the same image merged
// (arm64's "v8" is none, amd64's "v1" is none, arm's none is "v7").
func normalPlatform(p v1.Platform) v1.Platform {
	os, arch, variant := strings.ToLower(p.OS), strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	if os == "macos" {
		os = "darwin"
	}
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	return v1.Platform{OS: os, Architecture: arch, Variant: variant}
}

// platformMatches reports whether the normalized entry platform e serves
// the normalized platform asked for, w; anyVariant when the caller named
// no variant (every variant of the architecture is then a candidate).
func platformMatches(e, w v1.Platform, anyVariant bool) bool {
	return e.OS == w.OS && e.Architecture == w.Architecture && (anyVariant || e.Variant == w.Variant)
}
