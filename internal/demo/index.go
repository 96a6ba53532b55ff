package demo

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushIndex writes a multi-platform index and its images to the target's
// repository under tag and returns the index by digest,
// Repo@sha256:<hex>, as Push does for one image.
func (t *Target) PushIndex(ctx context.Context, idx v1.ImageIndex, tag string) (string, error) {
	opts := []name.Option{name.StrictValidation}
	if t.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(t.Repo+":"+tag, opts...)
	if err != nil {
		return "", err
	}
	rt := remote.DefaultTransport
	if t.reg != nil {
		rt = t.reg.Client().Transport
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(rt)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return t.Repo + "@" + d.String(), nil
}
