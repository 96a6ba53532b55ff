package sbom

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ErrNoPlatform is returned when an index holds no image for the asked
// platform.
var ErrNoPlatform = errors.New("sbom: no image for the platform")

// maxIndexDepth bounds how deep nested indexes are followed.
const maxIndexDepth = 4

// WithRemoteOptions passes options (authentication, transport) to the
// registry client FromImage uses.
func WithRemoteOptions(o ...remote.Option) Option {
	return func(c *config) { c.remote = append(c.remote, o...) }
}

// remoteRef parses ref as the registry client reads it and returns the
// client's options (ctx, the caller's remote options).
func remoteRef(ctx context.Context, ref string, c *config) (name.Reference, []remote.Option, error) {
	var nopts []name.Option
	if c.insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: reference %q: %v", ErrInvalidImage, ref, err)
	}
	return r, append([]remote.Option{remote.WithContext(ctx)}, c.remote...), nil
}

// FromImage pulls ref's manifest from its registry and scans the image
// (ScanImage), streaming each layer once. For a multi-platform index it
// scans the image for WithPlatform's platform (default linux/amd64, as
// the registry client resolves it); ScanIndex gives every platform.
func FromImage(ctx context.Context, ref string, opts ...Option) (*ImageContents, error) {
	c := newConfig(opts)
	r, ro, err := remoteRef(ctx, ref, c)
	if err != nil {
		return nil, err
	}
	if c.platform != nil {
		ro = append(ro, remote.WithPlatform(*c.platform))
	}
	img, err := remote.Image(r, ro...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, ref, err)
	}
	return ScanImage(ctx, img, opts...)
}

// FromIndex pulls ref from its registry and scans every platform image of
// it (ScanIndex; only WithPlatform's when given) into one ImageContents of
// Kind "index" (IndexContents), whose SBOM names each platform. Its Nested
// are the per-platform contents, each of which also gives an SBOM of its
// own: the caller picks one SBOM for the index or one per platform. A ref
// naming a single image (not an index) yields that image's contents, Kind
// "image".
func FromIndex(ctx context.Context, ref string, opts ...Option) (*ImageContents, error) {
	c := newConfig(opts)
	r, ro, err := remoteRef(ctx, ref, c)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, ro...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, ref, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, ref, err)
		}
		return ScanImage(ctx, img, opts...)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, ref, err)
	}
	cs, err := ScanIndex(ctx, idx, opts...)
	if err != nil {
		return nil, err
	}
	return IndexContents(desc.Digest.String(), cs)
}

// IndexContents gathers the per-platform contents of an index (ScanIndex,
// FromOCILayout) under the index's digest ("sha256:..."): Kind "index",
// Nested the platform images in the order given. Its SBOM describes the
// index, which CONTAINS each platform image (named by its platform, with
// its manifest digest), which CONTAINS its packages and binaries.
func IndexContents(digest string, images []*ImageContents) (*ImageContents, error) {
	if hex, ok := strings.CutPrefix(digest, "sha256:"); !ok || !isHex64(hex) {
		return nil, fmt.Errorf("%w: index digest %q is not sha256", ErrInvalidImage, digest)
	}
	out := &ImageContents{Kind: "index", Digest: digest}
	for _, c := range images {
		if c == nil || c.Kind != "image" || c.Path != "" {
			return nil, fmt.Errorf("%w: an index holds platform images only", ErrInvalidImage)
		}
		out.Nested = append(out.Nested, c)
	}
	return out, nil
}

// WithInsecureRegistry lets FromImage talk plain HTTP to the registry
// (a local test registry).
func WithInsecureRegistry() Option { return func(c *config) { c.insecure = true } }

// WithPlatform selects the platform FromImage and FromOCILayout scan in a
// multi-platform index.
func WithPlatform(p v1.Platform) Option { return func(c *config) { c.platform = &p } }

// FromImageTarball scans an image tarball on disk (`docker save`,
// `crane pull`, tarball.Write output), streaming each layer from the file.
func FromImageTarball(ctx context.Context, path string, opts ...Option) (*ImageContents, error) {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, path, err)
	}
	return ScanImage(ctx, img, opts...)
}

// FromOCILayout scans every image of the OCI image layout directory dir
// (ScanIndex over its index.json), or only WithPlatform's platform when
// given.
func FromOCILayout(ctx context.Context, dir string, opts ...Option) ([]*ImageContents, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, dir, err)
	}
	return ScanIndex(ctx, idx, opts...)
}

// ScanIndex scans every platform image of a multi-platform index (nested
// indexes followed up to a small depth), one ImageContents per image, in
// index order. Entries whose platform is "unknown/unknown" (build
// attestations stored as manifests) are skipped. With WithPlatform only
// the images matching it are scanned, and none matching is ErrNoPlatform.
func ScanIndex(ctx context.Context, idx v1.ImageIndex, opts ...Option) ([]*ImageContents, error) {
	c := newConfig(opts)
	var out []*ImageContents
	if err := scanIndex(ctx, idx, c, opts, 0, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 && c.platform != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoPlatform, c.platform)
	}
	return out, nil
}

func scanIndex(ctx context.Context, idx v1.ImageIndex, c *config, opts []Option, depth int, out *[]*ImageContents) error {
	if idx == nil {
		return fmt.Errorf("%w: nil index", ErrInvalidImage)
	}
	if depth > maxIndexDepth {
		return fmt.Errorf("%w: indexes nested deeper than %d", ErrInvalidImage, maxIndexDepth)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("%w: index: %v", ErrInvalidImage, err)
	}
	for _, d := range m.Manifests {
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("%w: index %s: %v", ErrInvalidImage, d.Digest, err)
			}
			if err := scanIndex(ctx, child, c, opts, depth+1, out); err != nil {
				return err
			}
			continue
		}
		if !d.MediaType.IsImage() {
			continue
		}
		if d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown" {
			continue
		}
		if c.platform != nil && (d.Platform == nil || !d.Platform.Satisfies(*c.platform)) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("%w: image %s: %v", ErrInvalidImage, d.Digest, err)
		}
		ic, err := ScanImage(ctx, img, opts...)
		if err != nil {
			return fmt.Errorf("image %s: %w", d.Digest, err)
		}
		if ic.Platform == "" && d.Platform != nil {
			ic.Platform = d.Platform.String()
		}
		*out = append(*out, ic)
	}
	return nil
}
