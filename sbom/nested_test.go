package sbom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarBytes writes entries into an uncompressed tar stream.
func tarBytes(t testing.TB, files ...tfile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		switch {
		case f.dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
		case f.link != "":
			h.Typeflag, h.Size, h.Linkname = tar.TypeSymlink, 0, f.link
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(f.body))
		must(t, err)
	}
	must(t, tw.Close())
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	must(t, err)
	must(t, zw.Close())
	return buf.Bytes()
}

// dockerSave writes a legacy `docker save` tarball of uncompressed
// layers: layer directories in reverse order (the order of the tar stream
// is not the image's), then the config, then manifest.json last, as
// docker writes it. diffIDs overrides the config's diff_ids when non-nil.
func dockerSave(t testing.TB, tag string, diffIDs []string, layers ...[]byte) []byte {
	t.Helper()
	var ids []string
	for _, l := range layers {
		ids = append(ids, "sha256:"+sha256Hex(l))
	}
	if diffIDs == nil {
		diffIDs = ids
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	must(t, err)
	cfgName := sha256Hex(cfg) + ".json"
	var files []tfile
	var paths []string
	for i := range layers {
		paths = append(paths, strings.TrimPrefix(ids[i], "sha256:")[:12]+"/layer.tar")
	}
	for i := len(layers) - 1; i >= 0; i-- {
		files = append(files, tfile{name: paths[i], body: string(layers[i])}, tfile{name: strings.TrimSuffix(paths[i], "layer.tar") + "VERSION", body: "1.0"})
	}
	man, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": paths}})
	must(t, err)
	files = append(files, tfile{name: cfgName, body: string(cfg)}, tfile{name: "manifest.json", body: string(man)})
	return tarBytes(t, files...)
}

// writeTarGz writes a release .tar.gz of entries.
func writeTarGz(t testing.TB, p string, files ...tfile) {
	t.Helper()
	must(t, os.WriteFile(p, gzipBytes(t, tarBytes(t, files...)), 0o644))
}

// TestFromTarballNestedImages: a kubernetes-server-shaped release holding
// its binary, a `docker save` image tarball of it (layers stored out of
// order, a whiteout deleting a package, a symlink replacing a binary of a
// lower layer), a go-containerregistry image tarball (gzip layers) and a
// plain tarball with an archive inside it (not opened). Each nested image
// gives exactly what `docker load` would load, related to its file entry.
func TestFromTarballNestedImages(t *testing.T) {
	app := appBinary(t)
	l1 := tarBytes(t,
		tfile{name: "etc/os-release", body: debianOSRelease},
		tfile{name: "var/lib/dpkg/status.d/base-files", body: dpkgStanza("base-files", "12.4", "amd64", "")},
		tfile{name: "var/lib/dpkg/status.d/netbase", body: dpkgStanza("netbase", "6.4", "all", "")},
		tfile{name: "bin/old", body: app},
	)
	l2 := tarBytes(t,
		tfile{name: "var/lib/dpkg/status.d/.wh.netbase"},
		tfile{name: "usr/local/bin/kube-apiserver", body: app},
	)
	l3 := tarBytes(t, tfile{name: "bin/old", link: "/usr/local/bin/kube-apiserver"})
	saved := dockerSave(t, "registry.k8s.io/kube-apiserver-amd64:v1.99.0", nil, l1, l2, l3)

	alpine := layerOf(t,
		tfile{name: "etc/os-release", body: "ID=alpine\nVERSION_ID=3.20.3\n"},
		tfile{name: "lib/apk/db/installed", body: "P:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\n\n"},
	)
	img := imageOf(t, alpine)
	ref, err := name.ParseReference("registry.k8s.io/kube-proxy:v1.99.0")
	must(t, err)
	var proxy bytes.Buffer
	must(t, tarball.Write(ref, img, &proxy))

	deeper := tarBytes(t, tfile{name: "bin/deeper", body: app})
	extras := tarBytes(t, tfile{name: "bin/extra", body: app}, tfile{name: "deeper.tar", body: string(deeper)})

	p := filepath.Join(t.TempDir(), "kubernetes-server-linux-amd64.tar.gz")
	writeTarGz(t, p,
		tfile{name: "kubernetes/server/bin/kube-apiserver", body: app},
		tfile{name: "kubernetes/server/bin/kube-apiserver.tar", body: string(saved)},
		tfile{name: "kubernetes/server/bin/kube-proxy.tar", body: string(proxy.Bytes())},
		tfile{name: "kubernetes/extras.tar.gz", body: string(gzipBytes(t, extras))},
	)
	c, err := FromTarball(context.Background(), p, WithModuleCache(""))
	must(t, err)
	if len(c.Binaries) != 1 || c.Binaries[0].Path != "/kubernetes/server/bin/kube-apiserver" {
		t.Fatalf("top-level binaries %+v", c.Binaries)
	}
	if len(c.Nested) != 3 {
		t.Fatalf("nested: %d", len(c.Nested))
	}
	ex, api, kp := c.Nested[0], c.Nested[1], c.Nested[2]

	d1, d2, d3 := "sha256:"+sha256Hex(l1), "sha256:"+sha256Hex(l2), "sha256:"+sha256Hex(l3)
	if api.Kind != "image" || api.Path != "/kubernetes/server/bin/kube-apiserver.tar" || api.Digest != "sha256:"+sha256Hex(saved) ||
		api.Platform != "linux/amd64" || !reflect.DeepEqual(api.Layers, []string{d1, d2, d3}) ||
		!reflect.DeepEqual(api.Tags, []string{"registry.k8s.io/kube-apiserver-amd64:v1.99.0"}) || !strings.HasPrefix(api.ImageID, "sha256:") {
		t.Fatalf("kube-apiserver.tar: %+v", api)
	}
	if got, want := pkgSet(api), []string{"pkg:deb/debian/base-files@12.4?arch=amd64&distro=debian-12 " + d1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("kube-apiserver.tar packages\n got %q\nwant %q", got, want)
	}
	if len(api.Binaries) != 1 || api.Binaries[0].Path != "/usr/local/bin/kube-apiserver" || api.Binaries[0].Layer != d2 {
		t.Fatalf("kube-apiserver.tar binaries %+v", api.Binaries)
	}

	cfgName, err := img.ConfigName()
	must(t, err)
	ld := layerDigest(t, alpine) // gzip blob digest, as the manifest names it
	if kp.Kind != "image" || kp.ImageID != cfgName.String() || !reflect.DeepEqual(kp.Layers, []string{ld}) ||
		!reflect.DeepEqual(pkgSet(kp), []string{"pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3 " + ld}) {
		t.Fatalf("kube-proxy.tar: %+v %q", kp, pkgSet(kp))
	}

	if ex.Kind != "tarball" || ex.Path != "/kubernetes/extras.tar.gz" || len(ex.Binaries) != 1 || ex.Binaries[0].Path != "/bin/extra" || len(ex.Nested) != 0 {
		t.Fatalf("extras.tar.gz: %+v", ex)
	}

	// The documents relate each nested package to its archive's entry.
	s, err := c.SBOM(filepath.Base(p), WithCreated(fixedTime))
	must(t, err)
	doc, err := s.SPDX()
	must(t, err)
	must(t, ValidateSPDX(doc))
	var sd struct {
		Packages []struct {
			SPDXID       string
			FileName     string `json:"packageFileName"`
			ExternalRefs []struct{ ReferenceLocator string }
		}
		Relationships []struct{ SpdxElementId, RelatedSpdxElement, RelationshipType string }
	}
	must(t, json.Unmarshal(doc, &sd))
	ids := map[string]string{} // file name or purl -> SPDX ID
	for _, p := range sd.Packages {
		if p.FileName != "" {
			ids[p.FileName] = p.SPDXID
		}
		for _, r := range p.ExternalRefs {
			if strings.HasPrefix(r.ReferenceLocator, "pkg:deb/") || strings.HasPrefix(r.ReferenceLocator, "pkg:apk/") {
				ids[r.ReferenceLocator] = p.SPDXID
			}
		}
	}
	contains := map[[2]string]bool{}
	for _, r := range sd.Relationships {
		if r.RelationshipType == "CONTAINS" {
			contains[[2]string{r.SpdxElementId, r.RelatedSpdxElement}] = true
		}
	}
	apiID := ids["/kubernetes/server/bin/kube-apiserver.tar"]
	for _, want := range [][2]string{
		{ids[filepath.Base(p)], apiID},
		{apiID, ids["pkg:deb/debian/base-files@12.4?arch=amd64&distro=debian-12"]},
		{apiID, ids["/usr/local/bin/kube-apiserver"]},
		{ids["/kubernetes/server/bin/kube-proxy.tar"], ids["pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"]},
		{ids["/kubernetes/extras.tar.gz"], ids["/bin/extra"]},
	} {
		if want[0] == "" || want[1] == "" || !contains[want] {
			t.Errorf("SPDX lacks %s CONTAINS %s", want[0], want[1])
		}
	}
	for _, absent := range []string{"netbase", "/bin/deeper", "/bin/old"} {
		if bytes.Contains(doc, []byte(absent)) {
			t.Errorf("SPDX names %s", absent)
		}
	}
	// A directory holding the same image tarball opens it the same way.
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "kube-apiserver.tar"), saved, 0o644))
	dc, err := FromDirectory(context.Background(), dir, WithModuleCache(""))
	must(t, err)
	if len(dc.Nested) != 1 || dc.Nested[0].Kind != "image" || dc.Nested[0].Digest != api.Digest || !reflect.DeepEqual(pkgSet(dc.Nested[0]), pkgSet(api)) ||
		dc.Digest != listingDigest(t, dir) {
		t.Fatalf("directory: %+v", dc.Nested)
	}

	cd, err := s.CycloneDX()
	must(t, err)
	if out := os.Getenv("SLSAKIT_SBOM_OUT"); out != "" { // for sbom/internal/cdxschema
		must(t, os.WriteFile(filepath.Join(out, t.Name()+".cdx16.json"), cd, 0o644))
	}
	if !bytes.Contains(cd, []byte(`"archive:/kubernetes/server/bin/kube-apiserver.tar@`)) || bytes.Contains(cd, []byte("netbase")) {
		t.Fatalf("CycloneDX:\n%.3000s", cd)
	}
}

// TestFromTarballNestedImageTampered: a manifest naming a layer the
// archive lacks, or layers that are not the ones the config's diff_ids
// name, is not an image `docker load` would load: ErrInvalidImage, never
// an SBOM of other content.
func TestFromTarballNestedImageTampered(t *testing.T) {
	l1 := tarBytes(t, tfile{name: "var/lib/dpkg/status.d/x", body: dpkgStanza("x", "1", "amd64", "")})
	other := tarBytes(t, tfile{name: "var/lib/dpkg/status.d/y", body: dpkgStanza("y", "1", "amd64", "")})
	dir := t.TempDir()
	for name, saved := range map[string][]byte{
		"swapped layer": dockerSave(t, "x:1", []string{"sha256:" + sha256Hex(other)}, l1),
		"extra layer":   dockerSave(t, "x:1", []string{"sha256:" + sha256Hex(l1), "sha256:" + sha256Hex(other)}, l1),
		"missing layer": bytes.ReplaceAll(dockerSave(t, "x:1", nil, l1), []byte("/layer.tar"), []byte("/layer.tXr")),
	} {
		p := filepath.Join(dir, "r.tar.gz")
		writeTarGz(t, p, tfile{name: "img.tar", body: string(saved)})
		if _, err := FromTarball(context.Background(), p); !errors.Is(err, ErrInvalidImage) {
			t.Errorf("%s: %v, want ErrInvalidImage", name, err)
		}
	}
}

// TestFromTarballNestedBomb: a release of a few hundred KB holding a
// gzip of a tar of a gzip'd layer that expands to 64 MiB stops at the
// nested-bytes budget with ErrTooLarge, its heap staying small; a nested
// image tarball holds the layer, so the bomb reaches the layer reader.
func TestFromTarballNestedBomb(t *testing.T) {
	const huge = 64 << 20
	layer := zerosLayer(t, huge)
	inner := tarBytes(t, tfile{name: "layer.tar.gz", body: layer.String()}, tfile{name: "manifest.json", body: "[]"})
	p := filepath.Join(t.TempDir(), "bomb.tar.gz")
	writeTarGz(t, p, tfile{name: "bomb.tar.gz", body: string(gzipBytes(t, inner))})
	fi, err := os.Stat(p)
	must(t, err)
	if fi.Size() > 1<<20 {
		t.Fatalf("bomb is %d bytes", fi.Size())
	}
	var scanErr error
	peak := peakHeap(func() {
		_, scanErr = FromTarball(context.Background(), p, WithMaxNestedBytes(8<<20))
	})
	if !errors.Is(scanErr, ErrTooLarge) {
		t.Fatalf("bomb: %v, want ErrTooLarge", scanErr)
	}
	if peak > 64<<20 {
		t.Fatalf("bomb: peak heap %d MiB", peak>>20)
	}
	// Within the budget the same file is read, and is no image.
	c, err := FromTarball(context.Background(), p, WithMaxNestedBytes(1<<30))
	must(t, err)
	if len(c.Nested) != 1 || c.Nested[0].Kind != "tarball" {
		t.Fatalf("nested %+v", c.Nested)
	}
}

// zerosLayer is a gzip'd tar of one file of n zero bytes (n a multiple of
// 1 MiB): the tar header, then n zeros and the two zero blocks that end a
// tar. Compressing 64 MiB under -race took most of the bomb test, so the
// zeros are one 1 MiB gzip member, compressed once and repeated: gzip
// readers take concatenated members as one stream (RFC 1952), as
// compress/gzip does by default, and an attacker may send either form.
func zerosLayer(t *testing.T, n int64) *bytes.Buffer {
	t.Helper()
	member := func(b []byte) []byte {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		_, err := zw.Write(b)
		must(t, err)
		must(t, zw.Close())
		return out.Bytes()
	}
	var hdr bytes.Buffer
	must(t, tar.NewWriter(&hdr).WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: n, Typeflag: tar.TypeReg}))
	var layer bytes.Buffer
	layer.Write(member(hdr.Bytes()))
	mib := member(make([]byte, 1<<20))
	for range n >> 20 {
		layer.Write(mib)
	}
	layer.Write(member(make([]byte, 2*512)))
	return &layer
}
