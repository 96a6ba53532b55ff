package sbom

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// testImages are the images built by the tests, with the OS package purls
// each holds by construction.
func testImages(t *testing.T) map[string]struct {
	img  v1.Image
	want []string
} {
	app := appBinary(t)
	debian1 := layerOf(t,
		tfile{name: "etc/os-release", body: debianOSRelease},
		tfile{name: "var/lib/dpkg/status", body: dpkgStanza("base-files", "12.4+deb12u5", "amd64", "install ok installed") +
			dpkgStanza("libc6", "2.36-9+deb12u4", "amd64", "install ok installed")},
	)
	debian2 := layerOf(t,
		tfile{name: "var/lib/dpkg/status", body: dpkgStanza("base-files", "12.4+deb12u5", "amd64", "install ok installed") +
			dpkgStanza("libc6", "2.36-9+deb12u4", "amd64", "install ok installed") +
			dpkgStanza("curl", "7.88.1-10+deb12u5", "amd64", "install ok installed")},
		tfile{name: "usr/local/bin/app", body: app},
	)
	// A later layer removes curl (dpkg -r rewrites the database).
	debian3 := layerOf(t,
		tfile{name: "var/lib/dpkg/status", body: dpkgStanza("base-files", "12.4+deb12u5", "amd64", "install ok installed") +
			dpkgStanza("libc6", "2.36-9+deb12u4", "amd64", "install ok installed") +
			dpkgStanza("curl", "7.88.1-10+deb12u5", "amd64", "deinstall ok config-files")},
	)
	distroless := layerOf(t,
		tfile{name: "etc/os-release", body: debianOSRelease},
		tfile{name: "var/lib/dpkg/status.d/base-files", body: dpkgStanza("base-files", "12.4+deb12u5", "amd64", "")},
		tfile{name: "var/lib/dpkg/status.d/base-files.md5sums", body: "x  y\n"},
		tfile{name: "var/lib/dpkg/status.d/netbase", body: dpkgStanza("netbase", "6.4", "all", "")},
		tfile{name: "var/lib/dpkg/status.d/tzdata", body: dpkgStanza("tzdata", "2024a-0+deb12u1", "all", "")},
	)
	distroless2 := layerOf(t,
		tfile{name: "var/lib/dpkg/status.d/.wh.netbase"},
		tfile{name: "app", body: app},
	)
	alpine := layerOf(t,
		tfile{name: "etc/os-release", body: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n"},
		tfile{name: "lib/apk/db/installed", body: "P:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\n" +
			"P:busybox\nV:1.36.1-r29\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\n" +
			"P:ca-certificates-bundle\nV:20240705-r0\nA:x86_64\nL:MPL-2.0 AND MIT\no:ca-certificates\n\n" +
			"P:oddlicense\nV:1.0-r0\nA:x86_64\nL:GPL2+\n\n"},
	)
	deb := "?arch=amd64&distro=debian-12"
	all := "?arch=all&distro=debian-12"
	alp := "?arch=x86_64&distro=alpine-3.20.3"
	return map[string]struct {
		img  v1.Image
		want []string
	}{
		"debian": {imageOf(t, debian1, debian2, debian3), []string{
			"pkg:deb/debian/base-files@12.4%2Bdeb12u5" + deb, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4" + deb}},
		"distroless": {imageOf(t, distroless, distroless2), []string{
			"pkg:deb/debian/base-files@12.4%2Bdeb12u5" + deb, "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1" + all}},
		"alpine": {imageOf(t, alpine), []string{
			"pkg:apk/alpine/busybox@1.36.1-r29" + alp, "pkg:apk/alpine/ca-certificates-bundle@20240705-r0" + alp,
			"pkg:apk/alpine/musl@1.2.5-r0" + alp, "pkg:apk/alpine/oddlicense@1.0-r0" + alp}},
	}
}

// TestImageSBOMGolden: for each test image, both formats validate, list
// exactly the packages the image holds by construction (deleted ones
// absent) plus the Go binary's modules, and match the golden files.
func TestImageSBOMGolden(t *testing.T) {
	for name, tc := range testImages(t) {
		t.Run(name, func(t *testing.T) {
			c, err := ScanImage(context.Background(), tc.img, WithModuleCache(""))
			must(t, err)
			s, err := c.SBOM("example.com/images/"+name, WithCreated(fixedTime), WithToolName("slsakit", "v0.0.0-test"))
			must(t, err)
			want := append([]string(nil), tc.want...)
			for _, b := range c.Binaries {
				for _, m := range append([]Module{b.SBOM.Main, b.SBOM.Stdlib}, b.SBOM.Modules...) {
					if u := m.PURL(); u != "" {
						want = append(want, u)
					}
				}
			}
			want = uniqSorted(want)
			spdxDoc, err := s.SPDX()
			must(t, err)
			if err := ValidateSPDX(spdxDoc); err != nil {
				t.Fatalf("SPDX invalid: %v\n%s", err, spdxDoc)
			}
			if got := uniqSorted(spdxPURLs(t, spdxDoc)); !reflect.DeepEqual(got, want) {
				t.Errorf("SPDX purls\n got %q\nwant %q", got, want)
			}
			docs := map[string][]byte{"image-" + name + ".spdx.json": spdxDoc}
			for _, v := range cdxVersions {
				doc, err := s.CycloneDX(CycloneDXVersion(v))
				must(t, err)
				var bom cdx.BOM
				must(t, cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom))
				if got := uniqSorted(cdxPURLs(t, doc)); !reflect.DeepEqual(got, want) {
					t.Errorf("CycloneDX %s purls\n got %q\nwant %q", v, got, want)
				}
				suffix := ".cdx.json"
				if v == cdx.SpecVersion1_5 {
					suffix = ".cdx15.json"
				}
				docs["image-"+name+suffix] = doc
			}
			for file, got := range docs {
				p := filepath.Join("testdata", file)
				if *update {
					must(t, os.WriteFile(p, got, 0o644))
					continue
				}
				want, err := os.ReadFile(p)
				if err != nil {
					t.Fatalf("%v (run go test -run TestImageSBOMGolden -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from golden file (rerun with -update after checking)", file)
				}
			}
		})
	}
}

func uniqSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// TestStatedLicenseIDsAreSPDX: the offline list of identifiers a stated
// license may use is a subset of the SPDX list cyclonedx-go ships; and
// stated licenses that are not SPDX stay out of the declared field.
func TestStatedLicenseIDsAreSPDX(t *testing.T) {
	ids := spdxLicenseIDs(t)
	for id := range spdxListedIDs() {
		if !ids[id] {
			t.Errorf("%q is not an SPDX id", id)
		}
	}
	for expr, want := range map[string]bool{
		"MIT": true, "GPL-2.0-only": true, "MPL-2.0 AND MIT": true, "(MIT OR Apache-2.0)": true,
		"GPL-2.0-or-later WITH Classpath-exception-2.0": true, "LicenseRef-custom": true,
		"GPL2+": false, "GPL": false, "BSD": false, "MIT/X11": false, "": false, "NOASSERTION": false,
		"MIT AND": false, "Public Domain": false,
	} {
		if got := statedLicenseIsSPDX(expr); got != want {
			t.Errorf("statedLicenseIsSPDX(%q) = %v, want %v", expr, got, want)
		}
	}
}
