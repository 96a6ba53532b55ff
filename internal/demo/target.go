package demo

import (
	"context"
	"fmt"
	"net"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/oci/ocitest"
)

// Target is where a program pushes images and attestations: a registry it
// was given, or an in-process one it started (examples and demos that run
// offline by default use it).
type Target struct {
	// Repo is the registry/repository to push to.
	Repo string
	// Insecure says the registry is reached over plain HTTP (pass
	// oci.WithInsecure): true for loopback registries only.
	Insecure bool
	reg      *ocitest.Registry
}

// NewTarget returns the registry repository target ("HOST[:PORT]/REPO"),
// reached over plain HTTP only when HOST is a loopback address; or, when
// target is empty, a new in-process registry on loopback with repository
// defaultRepo. Close the Target when done.
func NewTarget(target, defaultRepo string) (*Target, error) {
	if target == "" {
		reg := ocitest.Start()
		return &Target{Repo: reg.Host() + "/" + defaultRepo, Insecure: true, reg: reg}, nil
	}
	r, err := name.NewRepository(target, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("registry %q: want HOST[:PORT]/REPO: %w", target, err)
	}
	return &Target{Repo: r.Name(), Insecure: IsLoopback(r.RegistryStr())}, nil
}

// Close stops the in-process registry, if the Target started one.
func (t *Target) Close() {
	if t.reg != nil {
		t.reg.Close()
	}
}

// Push writes img to the target's repository under tag and returns its
// reference by digest, Repo@sha256:<hex>. Credentials come from the
// default keychain.
func (t *Target) Push(ctx context.Context, img v1.Image, tag string) (string, error) {
	return t.push(ctx, tag, img.Digest, func(ref name.Reference, opts ...remote.Option) error {
		return remote.Write(ref, img, opts...)
	})
}

// push writes an image or index with write under tag and returns it by
// digest.
func (t *Target) push(ctx context.Context, tag string, digest func() (v1.Hash, error), write func(name.Reference, ...remote.Option) error) (string, error) {
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
	if err := write(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(rt)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := digest()
	if err != nil {
		return "", err
	}
	return t.Repo + "@" + d.String(), nil
}

// IsLoopback reports whether hostport names this machine: localhost or a
// loopback IP, with or without a port.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
