package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tfile is one tar entry of a test layer: a regular file unless link is
// set (a symlink) or dir.
type tfile struct {
	name, body, link string
	dir              bool
}

func layerOf(t testing.TB, files ...tfile) v1.Layer {
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
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	must(t, err)
	return l
}

func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	must(t, err)
	cf, err := img.ConfigFile()
	must(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	must(t, err)
	return img
}

func layerDigest(t testing.TB, l v1.Layer) string {
	d, err := l.Digest()
	must(t, err)
	return d.String()
}

const debianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`

func dpkgStanza(name, version, arch, status string) string {
	s := "Package: " + name + "\n"
	if status != "" {
		s += "Status: " + status + "\n"
	}
	return s + "Architecture: " + arch + "\nVersion: " + version + "\nDescription: test\n continuation: not a field\n\n"
}

// pkgSet renders packages as "purl layer" lines.
func pkgSet(c *ImageContents) []string {
	var out []string
	for _, p := range c.Packages {
		out = append(out, p.PURL()+" "+p.Layer)
	}
	return out
}

func appBinary(t *testing.T) string {
	w := sharedWorld(t)
	bin := w.build(t, "app-image", nil, "-trimpath")
	b, err := os.ReadFile(bin)
	must(t, err)
	return string(b)
}

// TestScanImageDebian: a Debian-shaped image whose second layer rewrites
// the dpkg database (adding a package, keeping the first two) and adds a Go
// binary and a non-Go ELF file; a deinstalled package is not reported.
func TestScanImageDebian(t *testing.T) {
	app := appBinary(t)
	l1 := layerOf(t,
		tfile{name: "etc/", dir: true},
		tfile{name: "etc/os-release", body: debianOSRelease},
		tfile{name: "var/lib/dpkg/status", body: dpkgStanza("base-files", "12.4+deb12u5", "amd64", "install ok installed") +
			dpkgStanza("libc6", "2.36-9+deb12u4", "amd64", "install ok installed") +
			dpkgStanza("removed", "1.0", "amd64", "deinstall ok config-files")},
	)
	l2 := layerOf(t,
		tfile{name: "./var/lib/dpkg/status", body: dpkgStanza("base-files", "12.4+deb12u5", "amd64", "install ok installed") +
			dpkgStanza("libc6", "2.36-9+deb12u4", "amd64", "install ok installed") +
			dpkgStanza("tzdata", "2024a-0+deb12u1", "all", "install ok installed")},
		tfile{name: "usr/bin/app", body: app},
		tfile{name: "usr/bin/notgo", body: "\x7fELF" + strings.Repeat("\x00", 200)},
	)
	c, err := ScanImage(context.Background(), imageOf(t, l1, l2), WithModuleCache(""))
	must(t, err)
	d1, d2 := layerDigest(t, l1), layerDigest(t, l2)
	want := []string{
		"pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12 " + d1,
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12 " + d1,
		"pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12 " + d2,
	}
	if got := pkgSet(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("packages\n got %q\nwant %q", got, want)
	}
	if len(c.Binaries) != 1 || c.Binaries[0].Path != "/usr/bin/app" || c.Binaries[0].Layer != d2 ||
		c.Binaries[0].SBOM.Main.Path != "example.com/app" || c.Binaries[0].SBOM.Root.SHA256 != sha256Hex([]byte(app)) {
		t.Fatalf("binaries %+v", c.Binaries)
	}
	if c.Platform != "linux/amd64" || !reflect.DeepEqual(c.Layers, []string{d1, d2}) || c.OSID != "debian" || c.OSVersionID != "12" {
		t.Fatalf("image %+v", c)
	}
}

// TestScanImageDistrolessWhiteouts: distroless' status.d, one entry
// deleted by a whiteout in a later layer, then the directory made opaque
// and refilled; .md5sums files are not packages; a symlink replacing the
// Go binary removes it.
func TestScanImageDistrolessWhiteouts(t *testing.T) {
	app := appBinary(t)
	l1 := layerOf(t,
		tfile{name: "var/lib/dpkg/status.d/base-files", body: dpkgStanza("base-files", "12.4", "amd64", "")},
		tfile{name: "var/lib/dpkg/status.d/base-files.md5sums", body: "d41d8cd98f00b204e9800998ecf8427e  etc/x\n"},
		tfile{name: "var/lib/dpkg/status.d/libssl3", body: dpkgStanza("libssl3", "3.0.11-1", "amd64", "")},
		tfile{name: "var/lib/dpkg/status.d/tzdata", body: dpkgStanza("tzdata", "2024a", "all", "")},
		tfile{name: "app", body: app},
		tfile{name: "app2", body: app},
	)
	l2 := layerOf(t,
		tfile{name: "var/lib/dpkg/status.d/.wh.libssl3"},
		tfile{name: "app2", link: "/app"},
	)
	c, err := ScanImage(context.Background(), imageOf(t, l1, l2), WithModuleCache(""))
	must(t, err)
	d1 := layerDigest(t, l1)
	want := []string{
		"pkg:deb/debian/base-files@12.4?arch=amd64 " + d1,
		"pkg:deb/debian/tzdata@2024a?arch=all " + d1,
	}
	if got := pkgSet(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("packages after whiteout\n got %q\nwant %q", got, want)
	}
	if len(c.Binaries) != 1 || c.Binaries[0].Path != "/app" {
		t.Fatalf("binaries %+v", c.Binaries)
	}

	// Opaque directory: hides every lower entry, keeps this layer's.
	l3 := layerOf(t,
		tfile{name: "var/lib/dpkg/status.d/zlib1g", body: dpkgStanza("zlib1g", "1:1.2.13", "amd64", "")},
		tfile{name: "var/lib/dpkg/status.d/.wh..wh..opq"},
	)
	// Deleting a whole parent directory removes what is under it.
	l4 := layerOf(t, tfile{name: ".wh.app"})
	c, err = ScanImage(context.Background(), imageOf(t, l1, l2, l3, l4), WithModuleCache(""))
	must(t, err)
	want = []string{"pkg:deb/debian/zlib1g@1%3A1.2.13?arch=amd64 " + layerDigest(t, l3)}
	if got := pkgSet(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("packages after opaque dir\n got %q\nwant %q", got, want)
	}
	if len(c.Binaries) != 0 {
		t.Fatalf("deleted binary reported: %+v", c.Binaries)
	}
}

// TestScanImageAlpine: apk database with the license it states, verbatim.
func TestScanImageAlpine(t *testing.T) {
	l1 := layerOf(t,
		tfile{name: "etc/os-release", body: "ID=alpine\nVERSION_ID=3.20.3\n"},
		tfile{name: "lib/apk/db/installed", body: "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r29\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\n"},
	)
	c, err := ScanImage(context.Background(), imageOf(t, l1), WithModuleCache(""))
	must(t, err)
	if len(c.Packages) != 2 || c.Packages[0].Name != "busybox" || c.Packages[0].License != "GPL-2.0-only" || c.Packages[1].License != "MIT" ||
		c.Packages[1].PURL() != "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3" {
		t.Fatalf("apk packages %+v", c.Packages)
	}
}

// TestScanImageHostile: names that climb out of the root, oversized
// executables and truncated layers give typed errors; symlinked databases
// are not followed.
func TestScanImageHostile(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"../etc/os-release", "a/../../var/lib/dpkg/status", "./..", "usr/../.."} {
		_, err := ScanImage(ctx, imageOf(t, layerOf(t, tfile{name: name, body: "ID=x\n"})))
		if !errors.Is(err, ErrInvalidImage) {
			t.Errorf("%q: err %v, want ErrInvalidImage", name, err)
		}
	}
	big := layerOf(t, tfile{name: "bin/x", body: "\x7fELF" + strings.Repeat("\x00", 4096)})
	if _, err := ScanImage(ctx, imageOf(t, big), WithMaxBinarySize(1024)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized executable: %v, want ErrTooLarge", err)
	}
	link := layerOf(t,
		tfile{name: "etc/real", body: dpkgStanza("evil", "1", "amd64", "")},
		tfile{name: "var/lib/dpkg/status", link: "/etc/real"},
	)
	c, err := ScanImage(ctx, imageOf(t, link))
	must(t, err)
	if len(c.Packages) != 0 {
		t.Errorf("symlinked database followed: %+v", c.Packages)
	}
	if _, err := ScanImage(ctx, nil); !errors.Is(err, ErrInvalidImage) {
		t.Errorf("nil image: %v", err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
