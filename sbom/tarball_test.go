package sbom

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFromTarball: a kubernetes-server-shaped .tar.gz with Go binaries
// under kubernetes/server/bin, a symlink to one of them (not reported
// twice) and a non-Go file; the subject is the file's SHA-256.
func TestFromTarball(t *testing.T) {
	app := appBinary(t)
	p := filepath.Join(t.TempDir(), "kubernetes-server-linux-amd64.tar.gz")
	f, err := os.Create(p)
	must(t, err)
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, e := range []tfile{
		{name: "kubernetes/", dir: true},
		{name: "kubernetes/server/bin/kube-apiserver", body: app},
		{name: "kubernetes/server/bin/kubectl", body: app},
		{name: "kubernetes/server/bin/kubectl-link", link: "kubectl"},
		{name: "kubernetes/README.md", body: "hello"},
	} {
		h := &tar.Header{Name: e.name, Mode: 0o755, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.dir {
			h.Typeflag = tar.TypeDir
		}
		if e.link != "" {
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(e.body))
		must(t, err)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	must(t, f.Close())

	c, err := FromTarball(context.Background(), p, WithModuleCache(""))
	must(t, err)
	if c.Digest != "sha256:"+sha256File(t, p) || c.Kind != "tarball" {
		t.Fatalf("digest %s kind %s", c.Digest, c.Kind)
	}
	if len(c.Binaries) != 2 || c.Binaries[0].Path != "/kubernetes/server/bin/kube-apiserver" || c.Binaries[1].Path != "/kubernetes/server/bin/kubectl" {
		t.Fatalf("binaries %+v", c.Binaries)
	}
	s, err := c.SBOM(filepath.Base(p), WithCreated(fixedTime))
	must(t, err)
	doc, err := s.SPDX()
	must(t, err)
	must(t, ValidateSPDX(doc))
	if _, err := s.CycloneDX(); err != nil {
		t.Fatal(err)
	}

	bad := filepath.Join(t.TempDir(), "bad.tar.gz")
	must(t, os.WriteFile(bad, []byte("\x1f\x8bnot gzip at all"), 0o644))
	if _, err := FromTarball(context.Background(), bad); !errors.Is(err, ErrInvalidImage) {
		t.Fatalf("corrupt gzip: %v", err)
	}
}
