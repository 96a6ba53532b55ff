package sbom

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// FromTarball scans a release tarball (.tar or .tar.gz, for instance
// kubernetes-server-linux-amd64.tar.gz) in one streaming pass, with the
// same model as an image of one layer: the Go binaries it holds (read as
// ScanImage reads them, buffered up to WithMaxBinarySize) and any OS
// package database in it. Digest is the SHA-256 of the file, hashed while
// it is read, so the SBOM's subject is the tarball as downloaded.
//
// Archives inside it (*.tar, *.tar.gz, *.tgz: kubernetes-server ships
// kube-apiserver.tar and the like, `docker save` tarballs) are opened in
// the same pass and listed in Nested: an image tarball as the image
// `docker load` would load (its layers merged in its manifest's order,
// checked against its config's diff_ids), any other archive with its own
// Go binaries and package databases. Archives inside those are not opened,
// and the bytes read from nested archives are bounded by
// WithMaxNestedBytes, the paths their layers write by MaxNestedPaths.
func FromTarball(ctx context.Context, path string, opts ...Option) (*ImageContents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	br := bufio.NewReader(io.TeeReader(f, h))
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidImage, path, err)
		}
		defer zr.Close()
		r = zr
	}
	c := newConfig(opts)
	w := newFSWalker(c, opts)
	w.nest = newNestState(c)
	if err := w.layer(ctx, 0, "", r); err != nil {
		return nil, err
	}
	// Hash what the tar reader left unread (padding, trailing data), so
	// Digest is the whole file's.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("sbom: reading %s: %w", path, err)
	}
	out := &ImageContents{Kind: "tarball", Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}
	if err := w.result(out); err != nil {
		return nil, err
	}
	for i := range out.Binaries {
		out.Binaries[i].Layer = ""
	}
	for i := range out.Packages {
		out.Packages[i].Layer = ""
	}
	return out, nil
}
