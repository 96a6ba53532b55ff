package demo

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushIndex writes a multi-platform index and its images to the target's
// repository under tag and returns the index by digest,
// Repo@sha256:<hex>, as Push does for one image.
func (t *Target) PushIndex(ctx context.Context, idx v1.ImageIndex, tag string) (string, error) {
	return t.push(ctx, tag, idx.Digest, func(ref name.Reference, opts ...remote.Option) error {
		return remote.WriteIndex(ref, idx, opts...)
	})
}
