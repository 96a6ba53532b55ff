package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/slsakit/slsakit/oci/ocitest"
)

func tarLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCLISBOMImage: `slsakit sbom --image REF` describes exactly the
// packages the image holds (one removed by a later layer is absent), and
// its signed statement is attached to the image and verifies.
func TestCLISBOMImage(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	st := func(pkgs ...string) string {
		var b strings.Builder
		for _, p := range pkgs {
			b.WriteString("Package: " + p + "\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n\n")
		}
		return b.String()
	}
	img, err := mutate.AppendLayers(empty.Image,
		tarLayer(t, map[string]string{"etc/os-release": "ID=debian\nVERSION_ID=12\n", "var/lib/dpkg/status": st("libc6", "curl")}),
		tarLayer(t, map[string]string{"var/lib/dpkg/status": st("libc6")}),
	)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host() + "/team/base:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"spdx", "cyclonedx"} {
		out := slsakit(t, "sbom", "--format", f, "--image", ref, "--insecure-registry").want(t, exitOK).stdout
		if !strings.Contains(out, "pkg:deb/debian/libc6@1.0-1?arch=amd64&distro=debian-12") || strings.Contains(out, "curl") {
			t.Fatalf("%s image SBOM:\n%.2000s", f, out)
		}
	}
	slsakit(t, "sbom", "--image", ref, "--image", ref).want(t, exitUsage)
	slsakit(t, "sbom", "--image", ref, "--attach").want(t, exitUsage) // attach without a key

	env := filepath.Join(dir, "image.intoto.jsonl")
	slsakit(t, "sbom", "--key", key, "--image", ref, "--attach", "--insecure-registry", "--out", env).want(t, exitOK)
	slsakit(t, "verify", "--key", pub, "--image", ref, "--insecure-registry", "--predicate-type", "https://spdx.dev/Document").want(t, exitOK)
}

// TestCLISBOMTarball: `slsakit sbom TARBALL` lists the Go binaries inside
// (here the test binary itself) and its signed statement names the
// tarball's SHA-256.
func TestCLISBOMTarball(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	body := testBinary(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "release/bin/tool", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	tb := filepath.Join(dir, "release.tar")
	if err := os.WriteFile(tb, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := slsakit(t, "sbom", "--format", "cyclonedx", tb).want(t, exitOK).stdout
	if !strings.Contains(out, "pkg:golang/github.com/google/go-containerregistry@") || !strings.Contains(out, "/release/bin/tool") {
		t.Fatalf("tarball SBOM:\n%.1500s", out)
	}
	env := filepath.Join(dir, "release.intoto.jsonl")
	slsakit(t, "sbom", "--key", key, "--out", env, tb).want(t, exitOK)
	slsakit(t, "verify", "--key", pub, "--envelope", env, "--predicate-type", "https://spdx.dev/Document", tb).want(t, exitOK)
}

// TestCLISBOMDirectory: `slsakit sbom DIR` walks a directory: the Go
// binary inside (the test binary itself) and, for a rootfs, its dpkg
// packages; a symlink out of the directory is not followed.
func TestCLISBOMDirectory(t *testing.T) {
	dir := t.TempDir()
	body := testBinary(t)
	root := filepath.Join(dir, "rootfs")
	for p, b := range map[string]string{
		"usr/local/bin/tool":  string(body),
		"etc/os-release":      "ID=debian\nVERSION_ID=12\n",
		"var/lib/dpkg/status": "Package: libc6\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n",
	} {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(dir, "outside-status")
	os.WriteFile(outside, []byte("Package: evil\nVersion: 1\nArchitecture: amd64\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg/status.d"), 0o755)
	if err := os.Symlink(outside, filepath.Join(root, "var/lib/dpkg/status.d/evil")); err != nil {
		t.Fatal(err)
	}
	out := slsakit(t, "sbom", "--format", "cyclonedx", root).want(t, exitOK).stdout
	if !strings.Contains(out, "pkg:golang/github.com/google/go-containerregistry@") || !strings.Contains(out, "/usr/local/bin/tool") ||
		!strings.Contains(out, "pkg:deb/debian/libc6@1.0-1?arch=amd64&distro=debian-12") || strings.Contains(out, "evil") {
		t.Fatalf("directory SBOM:\n%.1500s", out)
	}
}

// TestCLISBOMMultiArch: for a multi-platform index, --platform describes
// one platform's image, --multi-arch index one SBOM naming every platform
// (signed, attached to the index, verifiable), --multi-arch per-platform
// one document per platform image.
func TestCLISBOMMultiArch(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	platformImage := func(arch string) v1.Image {
		img, err := mutate.AppendLayers(empty.Image, tarLayer(t, map[string]string{
			"etc/os-release":      "ID=debian\nVERSION_ID=12\n",
			"var/lib/dpkg/status": "Package: only-" + arch + "\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: " + arch + "\n",
		}))
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platformImage("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platformImage("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref := reg.Host() + "/team/multi:1"
	r, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}

	out := slsakit(t, "sbom", "--image", ref, "--platform", "linux/arm64", "--insecure-registry").want(t, exitOK).stdout
	if !strings.Contains(out, "only-arm64") || strings.Contains(out, "only-amd64") {
		t.Fatalf("--platform linux/arm64:\n%.2000s", out)
	}
	out = slsakit(t, "sbom", "--image", ref, "--insecure-registry").want(t, exitOK).stdout
	if !strings.Contains(out, "only-amd64") || strings.Contains(out, "only-arm64") {
		t.Fatalf("default platform:\n%.2000s", out)
	}
	for _, f := range []string{"spdx", "cyclonedx"} {
		out = slsakit(t, "sbom", "--format", f, "--image", ref, "--multi-arch", "index", "--insecure-registry").want(t, exitOK).stdout
		if !strings.Contains(out, "only-amd64") || !strings.Contains(out, "only-arm64") || !strings.Contains(out, "linux/arm64") {
			t.Fatalf("%s index SBOM:\n%.2000s", f, out)
		}
	}
	per := filepath.Join(dir, "per")
	slsakit(t, "sbom", "--image", ref, "--multi-arch", "per-platform", "--out", per, "--insecure-registry").want(t, exitOK)
	for arch, other := range map[string]string{"amd64": "arm64", "arm64": "amd64"} {
		b, err := os.ReadFile(filepath.Join(per, "linux-"+arch+".spdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "only-"+arch) || strings.Contains(string(b), "only-"+other) {
			t.Fatalf("per-platform %s:\n%.1500s", arch, b)
		}
	}
	slsakit(t, "sbom", "--image", ref, "--multi-arch", "per-platform", "--insecure-registry").want(t, exitUsage) // needs --out DIR
	slsakit(t, "sbom", "--image", ref, "--multi-arch", "sideways", "--insecure-registry").want(t, exitUsage)
	slsakit(t, "sbom", "--image", ref, "--platform", "linux", "--insecure-registry").want(t, exitUsage)
	slsakit(t, "sbom", "--platform", "linux/amd64", filepath.Join(dir, "x.tar")).want(t, exitUsage)

	env := filepath.Join(dir, "index.intoto.jsonl")
	slsakit(t, "sbom", "--key", key, "--image", ref, "--multi-arch", "index", "--attach", "--insecure-registry", "--out", env).want(t, exitOK)
	slsakit(t, "verify", "--key", pub, "--image", ref, "--insecure-registry", "--predicate-type", "https://spdx.dev/Document").want(t, exitOK)
}

// TestCLISBOMImageOnDisk: `--image docker-archive:PATH` and
// `--image oci-layout:DIR` describe an image on disk (as syft names them),
// without a registry; attaching one is a usage error.
func TestCLISBOMImageOnDisk(t *testing.T) {
	dir := t.TempDir()
	img, err := mutate.AppendLayers(empty.Image, tarLayer(t, map[string]string{
		"etc/os-release":      "ID=debian\nVERSION_ID=12\n",
		"var/lib/dpkg/status": "Package: libc6\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	tb := filepath.Join(dir, "img.tar")
	r, _ := name.ParseReference("example.com/x:1")
	if err := tarball.WriteToFile(tb, r, img); err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(dir, "layout")
	if _, err := layout.Write(lay, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"docker-archive:" + tb, "oci-layout:" + lay} {
		out := slsakit(t, "sbom", "--image", ref).want(t, exitOK).stdout
		if !strings.Contains(out, "pkg:deb/debian/libc6@1.0-1?arch=amd64&distro=debian-12") {
			t.Fatalf("%s:\n%.1500s", ref, out)
		}
	}
	slsakit(t, "sbom", "--image", "docker-archive:"+tb, "--attach", "--key", "x").want(t, exitUsage)
}

// testBinary is the bytes of the running test binary: a Go binary whose
// modules are known.
func testBinary(t *testing.T) []byte {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
