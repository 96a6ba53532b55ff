package oci

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// parseRef parses an image reference.
func parseRef(ref string, o *options) (name.Reference, error) {
	var nopts []name.Option
	if o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidReference, ref, err)
	}
	return r, nil
}

// targetRepo is where attestations live: WithRepository or the image's.
func targetRepo(r name.Reference, o *options) (name.Repository, error) {
	if o.repository == "" {
		return r.Context(), nil
	}
	var nopts []name.Option
	if o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(o.repository, nopts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%w: repository %q: %v", ErrInvalidReference, o.repository, err)
	}
	return repo, nil
}

func parseDigest(d string) (v1.Hash, error) {
	h, err := v1.NewHash(d)
	if err != nil {
		return v1.Hash{}, err
	}
	if h.Algorithm != "sha256" {
		return v1.Hash{}, fmt.Errorf("unsupported digest algorithm %q", h.Algorithm)
	}
	return h, nil
}

// subject returns the image descriptor. With needDesc false and a digest
// reference it makes no request (media type and size stay empty).
func subject(ctx context.Context, c *client, r name.Reference, needDesc bool) (v1.Descriptor, error) {
	if d, ok := r.(name.Digest); ok {
		h, err := parseDigest(d.DigestStr())
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("%w: %v", ErrInvalidReference, err)
		}
		if !needDesc {
			return v1.Descriptor{Digest: h}, nil
		}
	}
	mt, dg, size, err := c.headManifest(ctx, r.Context(), r.Identifier())
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("oci: resolving %s: %w", r, err)
	}
	h, err := parseDigest(dg)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	// Content-Type may carry parameters.
	mt, _, _ = strings.Cut(mt, ";")
	return v1.Descriptor{MediaType: types.MediaType(strings.TrimSpace(mt)), Digest: h, Size: size}, nil
}

// checkLayout refuses a layout that is not Referrers, Legacy or Both.
func checkLayout(l Layout) error {
	if l&Both == 0 || l&^Both != 0 {
		return fmt.Errorf("%w: layout %v", ErrInvalidArgument, l)
	}
	return nil
}

// target is an image reference resolved for reading or writing what is
// stored about it: the repository that holds it (WithRepository or the
// image's), a client, and the image's descriptor.
type target struct {
	ref  name.Reference
	repo name.Repository
	c    *client
	subj v1.Descriptor
}

// resolveTarget parses ref and resolves it to a digest once; with needDesc
// the descriptor also has the media type and size (a request even for a
// digest reference).
func resolveTarget(ctx context.Context, ref string, o *options, needDesc bool) (*target, error) {
	r, err := parseRef(ref, o)
	if err != nil {
		return nil, err
	}
	repo, err := targetRepo(r, o)
	if err != nil {
		return nil, err
	}
	c := newClient(o)
	// WithPlatform resolves an index to that platform's manifest.
	subj, _, err := resolveSubject(ctx, c, r, needDesc)
	if err != nil {
		return nil, err
	}
	return &target{ref: r, repo: repo, c: c, subj: subj}, nil
}

// Resolve returns the digest ("sha256:<hex>") of ref. A reference that
// already has a digest is returned without contacting the registry.
func Resolve(ctx context.Context, ref string, opts ...Option) (string, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, o)
	if err != nil {
		return "", err
	}
	d, err := subject(ctx, newClient(o), r, false)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

// Resolver resolves image references to digests. It implements the
// provenance package's image resolver (ResolveDigest) and caches answers
// for tag references for its lifetime, so a build that names one tag twice
// records one digest. It is safe for concurrent use.
type Resolver struct {
	opts  []Option
	mu    sync.Mutex
	cache map[string]string
}

// NewResolver returns a Resolver using opts for every lookup.
func NewResolver(opts ...Option) *Resolver {
	return &Resolver{opts: opts, cache: map[string]string{}}
}

// ResolveDigest returns "sha256:<hex>" for ref.
func (r *Resolver) ResolveDigest(ctx context.Context, ref string) (string, error) {
	r.mu.Lock()
	d, ok := r.cache[ref]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := Resolve(ctx, ref, r.opts...)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.cache[ref] = d
	r.mu.Unlock()
	return d, nil
}
