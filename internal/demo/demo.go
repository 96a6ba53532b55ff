// Package demo builds what the examples attest: a small Go program, a
// reproducible release tarball holding it, and a one-layer image holding
// the tarball. It is plumbing, kept out of the examples so that they read
// as the pipeline a builder writes; real builders have their own build.
package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
)

//go:embed hello/main.go
var helloSource []byte

// BuildHello builds the embedded hello program with the local Go
// toolchain, offline and reproducibly (-trimpath), into dir/hello, and
// returns its path.
func BuildHello(ctx context.Context, dir string) (string, error) {
	src, err := os.MkdirTemp("", "slsakit-hello")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "main.go"), helloSource, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/hello\n\ngo 1.25\n"), 0o644); err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, "hello"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, bytes.TrimSpace(msg))
	}
	return out, nil
}

// Tarball writes a small, reproducible release tarball to path, with the
// program (if any) as bin/hello.
func Tarball(path, program string) error {
	type file struct {
		name, body string
		mode       int64
	}
	files := []file{
		{"hello-1.0.0/README", "hello, supply chain\n", 0o644},
		{"hello-1.0.0/VERSION", "1.0.0\n", 0o644},
	}
	if program != "" {
		bin, err := os.ReadFile(program)
		if err != nil {
			return err
		}
		files = append(files, file{"hello-1.0.0/bin/hello", string(bin), 0o755})
	}
	var buf bytes.Buffer
	// BestSpeed: the tarball is a demo subject, its size does not matter,
	// and default compression of a Go binary is most of a -race test's time.
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return err
	}
	gz.ModTime = time.Unix(0, 0)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Release builds the hello program, the tarball dir/hello-1.0.0.tar.gz
// holding it and an image holding the tarball, and returns the paths of
// the tarball and the program, and the image.
func Release(ctx context.Context, dir string) (tarball, program string, img v1.Image, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", nil, err
	}
	if program, err = BuildHello(ctx, dir); err != nil {
		return "", "", nil, err
	}
	tarball = filepath.Join(dir, "hello-1.0.0.tar.gz")
	if err := Tarball(tarball, program); err != nil {
		return "", "", nil, err
	}
	img, err = Image(tarball)
	return tarball, program, img, err
}

// Image makes a one-layer linux/amd64 image holding the artifact,
// reproducibly.
func Image(artifact string) (v1.Image, error) {
	layer, err := tarball.LayerFromFile(artifact)
	if err != nil {
		return nil, err
	}
	diffID, err := layer.DiffID()
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: "amd64", OS: "linux",
		Config: v1.Config{Labels: map[string]string{"org.opencontainers.image.title": filepath.Base(artifact)}},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
	})
}

// A Build is what the quickstart's stand-in build made: a release tarball
// holding a Go program, and an image holding the tarball, pushed.
type Build struct {
	Tarball string                    // path of the release tarball
	Program string                    // path of the Go program in it
	Ref     string                    // the pushed image by digest, REPO@sha256:…
	Image   intoto.ResourceDescriptor // the image as a subject: REPO and its sha256
	Options []oci.Option              // what reaches the registry (plain HTTP on loopback)
	target  *Target
}

// Close stops the in-process registry, if Build started one.
func (b *Build) Close() { b.target.Close() }

// NewBuild runs the stand-in build into dir (Release) and pushes the image
// to registry (HOST[:PORT]/REPO, plain HTTP only on loopback) or, when
// registry is "", to a registry it starts in-process on loopback under
// repo.
func NewBuild(ctx context.Context, dir, registry, repo string) (*Build, error) {
	tarball, program, img, err := Release(ctx, dir)
	if err != nil {
		return nil, err
	}
	target, err := NewTarget(registry, repo)
	if err != nil {
		return nil, err
	}
	ref, err := target.Push(ctx, img, "latest")
	if err != nil {
		target.Close()
		return nil, err
	}
	name, hex, _ := strings.Cut(ref, "@sha256:")
	b := &Build{Tarball: tarball, Program: program, Ref: ref, target: target,
		Image: intoto.ResourceDescriptor{Name: name, Digest: intoto.DigestSet{"sha256": hex}}}
	if target.Insecure {
		b.Options = append(b.Options, oci.WithInsecure())
	}
	return b, nil
}

// WriteFiles writes each file (name: contents) into dir.
func WriteFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
