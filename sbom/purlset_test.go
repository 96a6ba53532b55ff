package sbom

import (
	"bytes"
	"debug/buildinfo"
	"reflect"
	"sort"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
)

// spdxPURLs returns the sorted purls of every package of an SPDX document.
func spdxPURLs(t *testing.T, doc []byte) []string {
	t.Helper()
	d, err := spdxjson.Read(bytes.NewReader(doc))
	must(t, err)
	var out []string
	for _, p := range d.Packages {
		for _, r := range p.PackageExternalReferences {
			if r.RefType == "purl" {
				out = append(out, r.Locator)
			}
		}
	}
	sort.Strings(out)
	return out
}

// cdxPURLs returns the sorted purls of the BOM's components: what the BOM
// says the subject contains (metadata.component is the subject itself).
func cdxPURLs(t *testing.T, doc []byte) []string {
	t.Helper()
	var bom cdx.BOM
	must(t, cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom))
	var out []string
	var walk func(cs *[]cdx.Component)
	walk = func(cs *[]cdx.Component) {
		if cs == nil {
			return
		}
		for _, c := range *cs {
			if c.PackageURL != "" {
				out = append(out, c.PackageURL)
			}
			walk(c.Components)
		}
	}
	walk(bom.Components)
	sort.Strings(out)
	return out
}

// TestFormatsListSameModules: the SPDX packages and the CycloneDX
// components of a real binary's SBOM carry the same purls, and those are
// exactly the binary's build information (main module, every dep after
// replacement except local directories, the standard library). On the
// main branch before this change the CycloneDX main module sat only under
// metadata.component, so the sets differed.
func TestFormatsListSameModules(t *testing.T) {
	w := sharedWorld(t)
	bin := w.build(t, "app-purls", nil, "-trimpath")
	s, err := FromBinary(bin, WithCreated(fixedTime), WithModuleCache(w.modcache))
	must(t, err)
	f, err := openBuildInfo(bin)
	must(t, err)
	want := []string{purl(f.Main.Path, ""), "pkg:golang/stdlib@" + stdlibVersion(f.GoVersion)}
	if f.Main.Version != "" && f.Main.Version != "(devel)" {
		want[0] = purl(f.Main.Path, f.Main.Version)
	}
	for _, d := range f.Deps {
		m := moduleFromDebug(d)
		if m.LocalDir != "" {
			continue // a local directory has no purl in either format
		}
		want = append(want, purl(m.Path, m.Version))
	}
	sort.Strings(want)
	spdxDoc, err := s.SPDX()
	must(t, err)
	if got := spdxPURLs(t, spdxDoc); !reflect.DeepEqual(got, want) {
		t.Errorf("SPDX purls\n got %q\nwant %q", got, want)
	}
	for _, v := range cdxVersions {
		doc, err := s.CycloneDX(CycloneDXVersion(v))
		must(t, err)
		if got := cdxPURLs(t, doc); !reflect.DeepEqual(got, want) {
			t.Errorf("CycloneDX %s purls\n got %q\nwant %q", v, got, want)
		}
	}
}

func openBuildInfo(path string) (*buildinfo.BuildInfo, error) { return buildinfo.ReadFile(path) }
