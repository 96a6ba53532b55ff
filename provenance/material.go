package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/intoto"
)

// FileMaterial hashes the file at path (SHA-256) and names the descriptor
// by path as given, slash-separated. Pass a relative path to keep build
// machine paths out of the statement.
func FileMaterial(ctx context.Context, path string) (intoto.ResourceDescriptor, error) {
	d, err := HashFile(ctx, path)
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	return intoto.ResourceDescriptor{Name: filepath.ToSlash(path), Digest: d}, nil
}

// DirMaterial describes a directory tree by its dirHash digest (in-toto
// digest-set spec v1): Go's dirhash Hash1 over the tree, in lowercase hex.
// That is SHA-256 over the lines "<sha256 hex>  <name>\n" of every file,
// sorted by name, where name is the slash-separated path relative to dir,
// the same as
//
//	find . -type f | cut -c3- | LC_ALL=C sort | xargs -r sha256sum | sha256sum
//
// run in dir. Which files count follows HashDir: regular files, plus
// symlinks to regular files inside dir (hashed as their target's content);
// a link out of dir fails with ErrSymlinkEscape. The descriptor is named by
// dir as given, slash-separated.
func DirMaterial(ctx context.Context, dir string) (intoto.ResourceDescriptor, error) {
	h, err := dirHash(ctx, dir, "")
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	return intoto.ResourceDescriptor{Name: filepath.ToSlash(dir), Digest: intoto.DigestSet{intoto.AlgDirHash: h}}, nil
}

// dirHash returns the hex Hash1 of dir with every name prefixed by prefix
// (a module's "path@version/" for Go module sums, "" otherwise).
func dirHash(ctx context.Context, dir, prefix string) (string, error) {
	files, err := HashDir(ctx, dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s  %s\n", f.Digest[intoto.AlgSHA256], prefix+f.Name)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// URIMaterial describes a resource by URI and digest. The URI must be
// absolute and the digest set valid (known algorithms in lowercase hex of
// the right length).
func URIMaterial(uri string, d intoto.DigestSet) (intoto.ResourceDescriptor, error) {
	if err := validURI(uri); err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	if err := d.Validate(); err != nil {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w (uri %q)", err, uri)
	}
	return intoto.ResourceDescriptor{URI: uri, Digest: d.Clone()}, nil
}

// ImageResolver turns a tag reference into a digest ("sha256:<hex>").
// Package oci implements it against a registry.
type ImageResolver interface {
	ResolveDigest(ctx context.Context, ref string) (string, error)
}

// ImageOption configures ImageMaterial.
type ImageOption func(*imageConfig)

type imageConfig struct{ resolver ImageResolver }

// WithResolver lets ImageMaterial resolve a reference that has no digest.
// Without it, such a reference fails with ErrUnpinnedImage.
func WithResolver(r ImageResolver) ImageOption {
	return func(c *imageConfig) { c.resolver = r }
}

// ImageMaterial describes an OCI image by digest, in the form Tekton Chains
// uses: URI "oci://<registry>/<repository>" (Docker Hub names expand to
// index.docker.io/library/...) and digest {"sha256": hex}. The reference
// must carry a digest ("repo@sha256:<hex>" or "repo:tag@sha256:<hex>"); a
// tag-only reference fails with ErrUnpinnedImage unless WithResolver is
// given. A tag, if any, is kept in the "tag" annotation.
func ImageMaterial(ctx context.Context, ref string, opts ...ImageOption) (intoto.ResourceDescriptor, error) {
	var c imageConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	base, dgst, hasDigest := strings.Cut(ref, "@")
	repo, tag, err := parseRepoTag(base)
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	if !hasDigest {
		if c.resolver == nil {
			return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %q (pin it as repo@sha256:<hex> or pass WithResolver)", ErrUnpinnedImage, ref)
		}
		dgst, err = c.resolver.ResolveDigest(ctx, ref)
		if err != nil {
			return intoto.ResourceDescriptor{}, fmt.Errorf("resolve %q: %w", ref, err)
		}
		if _, after, ok := strings.Cut(dgst, "@"); ok { // a full "repo@sha256:..." reference
			dgst = after
		}
	}
	alg, hexv, ok := strings.Cut(dgst, ":")
	// OCI image digests are sha256 or sha512, lowercase hex of its length.
	if !ok || (alg != intoto.AlgSHA256 && alg != intoto.AlgSHA512) || !intoto.Strong(alg, hexv) {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w: bad digest %q in %q", ErrInvalidImageRef, dgst, ref)
	}
	rd := intoto.ResourceDescriptor{URI: "oci://" + repo, Digest: intoto.DigestSet{alg: hexv}}
	if tag != "" {
		rd.Annotations = map[string]any{"tag": tag}
	}
	return rd, nil
}

// parseRepoTag parses "registry/repo[:tag]" and returns the full
// repository name and the explicit tag ("" when none was written).
func parseRepoTag(base string) (repo, tag string, err error) {
	if base == "" {
		return "", "", fmt.Errorf("%w: empty reference", ErrInvalidImageRef)
	}
	lastSlash := strings.LastIndex(base, "/")
	if i := strings.LastIndex(base, ":"); i > lastSlash {
		tag = base[i+1:]
	}
	if tag != "" {
		t, err := name.NewTag(base)
		if err != nil {
			return "", "", fmt.Errorf("%w: %v", ErrInvalidImageRef, err)
		}
		return t.Context().Name(), t.TagStr(), nil
	}
	r, err := name.NewRepository(base)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidImageRef, err)
	}
	return r.Name(), "", nil
}
