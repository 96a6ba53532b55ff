package sbom

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/google/licensecheck"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/slsakit/slsakit/internal/strictjson"
)

var cdxVersions = []cdx.SpecVersion{cdx.SpecVersion1_6, cdx.SpecVersion1_5}

// sampleSBOM is a hand-built SBOM exercising every field: deterministic
// input for golden files and tamper tests.
func sampleSBOM() *SBOM {
	s := &SBOM{
		Root:      &Artifact{Name: "app", SHA256: strings.Repeat("ab", 32), Size: 1234},
		GoVersion: "go1.25.8",
		Main:      Module{Path: "example.com/app", Version: "v1.2.4-0.20240102030405-0123456789ab"},
		Modules: []Module{
			{Path: "example.com/dep", Version: "v1.1.0", Sum: "h1:q83+YMWDxj8r2KDmQOojBzTyQjYiXlOoDzpszvT1Ksc=",
				Replaces: &ModuleVersion{"example.com/dep", "v1.0.0"}, ZipSHA256: strings.Repeat("cd", 32), Licenses: []string{"MIT"}},
			{Path: "example.com/local", Version: "v0.0.0-00010101000000-000000000000", LocalDir: "../local",
				Replaces: &ModuleVersion{"example.com/local", "v0.0.0-00010101000000-000000000000"}},
			{Path: "example.com/old", Version: "v2.0.0+incompatible", Sum: "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
				Licenses: []string{"Apache-2.0", "BSD-3-Clause"}},
			{Path: "github.com/Upper/Pkg", Version: "v0.0.0-20240102030405-abcdefabcdef", Sum: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		},
		Stdlib: Module{Path: "stdlib", Version: "1.25.8"},
		BuildSettings: []BuildSetting{
			{"-ldflags", "-s -w -X main.version=1.2.3"}, {"-tags", "netgo"}, {"-trimpath", "true"},
			{"CGO_ENABLED", "0"}, {"GOARCH", "amd64"}, {"GOOS", "linux"},
		},
	}
	c := newConfig([]Option{WithCreated(fixedTime), WithNamespace("https://example.com/sbom/app-1"), WithToolName("slsakit", "v0.0.0-test")})
	s.finish(c)
	s.binaryRelationships()
	return s
}

func TestGolden(t *testing.T) {
	s := sampleSBOM()
	spdxDoc, err := s.SPDX()
	must(t, err)
	cdxDoc, err := s.CycloneDX()
	must(t, err)
	cdx15, err := s.CycloneDX(CycloneDXVersion(cdx.SpecVersion1_5))
	must(t, err)
	for name, got := range map[string][]byte{"sample.spdx.json": spdxDoc, "sample.cdx.json": cdxDoc, "sample.cdx15.json": cdx15} {
		p := filepath.Join("testdata", name)
		if *update {
			must(t, os.MkdirAll("testdata", 0o755))
			must(t, os.WriteFile(p, got, 0o644))
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from golden file (rerun with -update after checking)\n%s", name, got)
		}
	}
	checkDocuments(t, s)
}

func TestDeterministic(t *testing.T) {
	a, b := sampleSBOM(), sampleSBOM()
	for _, f := range []func(*SBOM) ([]byte, error){
		(*SBOM).SPDX,
		func(s *SBOM) ([]byte, error) { return s.CycloneDX() },
		func(s *SBOM) ([]byte, error) { return s.SPDXStatement() },
		func(s *SBOM) ([]byte, error) { return s.CycloneDXStatement(nil) },
	} {
		x, err := f(a)
		must(t, err)
		y, err := f(b)
		must(t, err)
		if !bytes.Equal(x, y) {
			t.Fatalf("two encodings differ:\n%s\n%s", x, y)
		}
	}
	// A derived namespace is stable for the same content and changes with it.
	c1 := newConfig([]Option{WithCreated(fixedTime)})
	s1, s2 := &SBOM{Main: Module{Path: "m"}}, &SBOM{Main: Module{Path: "m"}}
	s1.finish(c1)
	s2.finish(c1)
	if s1.Namespace != s2.Namespace {
		t.Fatal("derived namespace not deterministic")
	}
	s3 := &SBOM{Main: Module{Path: "m", Version: "v1.0.0"}}
	s3.finish(c1)
	if s3.Namespace == s1.Namespace {
		t.Fatal("derived namespace ignores content")
	}
}

func TestPURL(t *testing.T) {
	for _, tc := range []struct{ path, version, want string }{
		{"github.com/google/go-cmp", "v0.7.0", "pkg:golang/github.com/google/go-cmp@v0.7.0"},
		{"github.com/docker/cli", "v29.7.2+incompatible", "pkg:golang/github.com/docker/cli@v29.7.2%2Bincompatible"},
		{"github.com/BurntSushi/toml", "v1.4.0", "pkg:golang/github.com/BurntSushi/toml@v1.4.0"},
		{"gopkg.in/yaml.v3", "v3.0.1", "pkg:golang/gopkg.in/yaml.v3@v3.0.1"},
		{"example.com/a b/c@d", "v1.0.0", "pkg:golang/example.com/a%20b/c%40d@v1.0.0"},
		{"example.com/m", "", "pkg:golang/example.com/m"},
		{"stdlib", "1.25.8", "pkg:golang/stdlib@1.25.8"},
	} {
		if got := purl(tc.path, tc.version); got != tc.want {
			t.Errorf("purl(%q, %q) = %q, want %q", tc.path, tc.version, got, tc.want)
		}
	}
	if got := (Module{Path: "x.com/y", Version: "v1.0.0", LocalDir: "../y"}).PURL(); got != "" {
		t.Errorf("local replacement purl %q", got)
	}
	if got := proxyZipURL("github.com/BurntSushi/toml", "v1.4.0"); got != "https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.4.0.zip" {
		t.Errorf("proxy URL %q", got)
	}
	if got := proxyZipURL("bad path", "v1.0.0"); got != "" {
		t.Errorf("invalid module path gave %q", got)
	}
}

func TestPseudoVersion(t *testing.T) {
	for _, tc := range []struct {
		path, vcs, rev, tm string
		dirty              bool
		want               string
	}{
		{"example.com/m", "git", "0123456789abcdef0123", "2024-01-02T03:04:05Z", false, "v0.0.0-20240102030405-0123456789ab"},
		{"example.com/m/v3", "git", "0123456789abcdef0123", "2024-01-02T03:04:05Z", true, "v3.0.0-20240102030405-0123456789ab+dirty"},
		{"gopkg.in/yaml.v2", "git", "0123456789abcdef0123", "2024-01-02T03:04:05Z", false, "v2.0.0-20240102030405-0123456789ab"},
		{"example.com/m", "hg", "0123456789abcdef0123", "2024-01-02T03:04:05Z", false, ""},
		{"example.com/m", "git", "0123", "2024-01-02T03:04:05Z", false, ""},
		{"example.com/m", "git", "0123456789abcdef0123", "yesterday", false, ""},
	} {
		got, _ := pseudoVersion(tc.path, tc.vcs, tc.rev, tc.tm, tc.dirty)
		if got != tc.want {
			t.Errorf("pseudoVersion(%q, %q) = %q, want %q", tc.path, tc.vcs, got, tc.want)
		}
	}
	// FromBinary's choice: caller > stamp > VCS > unknown, never (devel).
	s := &SBOM{BuildSettings: []BuildSetting{{"vcs", "git"}, {"vcs.revision", "0123456789abcdef0123"}, {"vcs.time", "2024-01-02T03:04:05Z"}}}
	if v := s.mainVersion(newConfig(nil), "example.com/m", "(devel)"); v != "v0.0.0-20240102030405-0123456789ab" {
		t.Errorf("VCS-derived version %q", v)
	}
	if v := s.mainVersion(newConfig([]Option{WithMainVersion("v9.9.9")}), "example.com/m", "v1.0.0"); v != "v9.9.9" {
		t.Errorf("caller version %q", v)
	}
	if v := s.mainVersion(newConfig(nil), "example.com/m", "v1.0.0"); v != "v1.0.0" {
		t.Errorf("stamped version %q", v)
	}
	if v := (&SBOM{}).mainVersion(newConfig(nil), "example.com/m", "(devel)"); v != "" {
		t.Errorf("no information gave %q", v)
	}
}

func TestValidateSPDXRejects(t *testing.T) {
	good, err := sampleSBOM().SPDX()
	must(t, err)
	must(t, ValidateSPDX(good))
	mutate := func(f func(d map[string]any)) []byte {
		var d map[string]any
		must(t, json.Unmarshal(good, &d))
		f(d)
		b, err := json.Marshal(d)
		must(t, err)
		return b
	}
	pkg0 := func(d map[string]any) map[string]any { return d["packages"].([]any)[0].(map[string]any) }
	pkg1 := func(d map[string]any) map[string]any { return d["packages"].([]any)[2].(map[string]any) }
	cases := map[string][]byte{
		"not json":      []byte("{"),
		"duplicate key": bytes.Replace(good, []byte(`"name": "app",`), []byte(`"name": "app", "name": "evil",`), 1),
		"version 2.2":   mutate(func(d map[string]any) { d["spdxVersion"] = "SPDX-2.2" }),
		"version 2.2 valid": mutate(func(d map[string]any) {
			// A 2.2 document tools-golang would happily read and convert.
			d["spdxVersion"] = "SPDX-2.2"
			for _, p := range d["packages"].([]any) {
				delete(p.(map[string]any), "primaryPackagePurpose")
			}
		}),
		"data license":       mutate(func(d map[string]any) { d["dataLicense"] = "MIT" }),
		"relative namespace": mutate(func(d map[string]any) { d["documentNamespace"] = "sbom/app" }),
		"namespace fragment": mutate(func(d map[string]any) { d["documentNamespace"] = "https://x.example/a#b" }),
		"no creators":        mutate(func(d map[string]any) { d["creationInfo"].(map[string]any)["creators"] = []any{} }),
		"bad created":        mutate(func(d map[string]any) { d["creationInfo"].(map[string]any)["created"] = "2024-05-06 07:08:09" }),
		"bad spdxid":         mutate(func(d map[string]any) { pkg0(d)["SPDXID"] = "SPDXRef-a_b" }),
		"duplicate spdxid": mutate(func(d map[string]any) {
			pkg1(d)["SPDXID"] = pkg0(d)["SPDXID"]
		}),
		"empty name":       mutate(func(d map[string]any) { pkg0(d)["name"] = " " }),
		"no download":      mutate(func(d map[string]any) { delete(pkg0(d), "downloadLocation") }),
		"download not url": mutate(func(d map[string]any) { pkg0(d)["downloadLocation"] = "somewhere" }),
		"short sha256": mutate(func(d map[string]any) {
			pkg0(d)["checksums"] = []any{map[string]any{"algorithm": "SHA256", "checksumValue": "abcd"}}
		}),
		"unknown algorithm": mutate(func(d map[string]any) {
			pkg0(d)["checksums"] = []any{map[string]any{"algorithm": "H1", "checksumValue": "abcd"}}
		}),
		"bad license":    mutate(func(d map[string]any) { pkg0(d)["licenseDeclared"] = "MIT AND" }),
		"files analyzed": mutate(func(d map[string]any) { pkg0(d)["filesAnalyzed"] = true }),
		"bad purpose":    mutate(func(d map[string]any) { pkg0(d)["primaryPackagePurpose"] = "GAME" }),
		"bad purl": mutate(func(d map[string]any) {
			pkg1(d)["externalRefs"].([]any)[0].(map[string]any)["referenceLocator"] = "golang/x@1"
		}),
		"bad ref category": mutate(func(d map[string]any) {
			pkg1(d)["externalRefs"].([]any)[0].(map[string]any)["referenceCategory"] = "MISC"
		}),
		"bad annotation": mutate(func(d map[string]any) { pkg0(d)["annotations"].([]any)[0].(map[string]any)["annotationType"] = "NOTE" }),
		"dangling rel": mutate(func(d map[string]any) {
			d["relationships"].([]any)[1].(map[string]any)["relatedSpdxElement"] = "SPDXRef-nowhere"
		}),
		"bad rel type": mutate(func(d map[string]any) { d["relationships"].([]any)[1].(map[string]any)["relationshipType"] = "LIKES" }),
		"no describes": mutate(func(d map[string]any) { d["relationships"] = d["relationships"].([]any)[1:] }),
	}
	for name, doc := range cases {
		err := ValidateSPDX(doc)
		if !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: err = %v, want ErrInvalidDocument", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if err := ValidateSPDX(make([]byte, MaxDocumentSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func TestLicenseExpression(t *testing.T) {
	for expr, ok := range map[string]bool{
		"MIT": true, "MIT AND Apache-2.0": true, "(MIT OR GPL-2.0+) AND BSD-3-Clause": true,
		"GPL-2.0-or-later WITH Classpath-exception-2.0": true, "LicenseRef-x": true, "NOASSERTION": true,
		"": false, "MIT AND": false, "(MIT": false, "MIT)": false, "AND MIT": false, "MIT MIT": false, "M!T": false,
	} {
		if licenseExprOK(expr) != ok {
			t.Errorf("licenseExprOK(%q) = %v", expr, !ok)
		}
	}
}

func TestEncodersRejectIncomplete(t *testing.T) {
	for name, s := range map[string]*SBOM{
		"nil":        nil,
		"no main":    {Name: "x", Namespace: "https://x.example/y"},
		"bad root":   {Name: "x", Namespace: "https://x.example/y", Main: Module{Path: "m"}, Root: &Artifact{Name: "a", SHA256: "zz"}},
		"dangling":   {Name: "x", Namespace: "https://x.example/y", Main: Module{Path: "m"}, Relationships: []Relationship{{"m", "nope", DependsOn}}},
		"no name/ns": {Main: Module{Path: "m"}},
	} {
		if _, err := s.SPDX(); !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: SPDX err = %v", name, err)
		}
		if _, err := s.CycloneDX(); !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: CycloneDX err = %v", name, err)
		}
	}
	if _, err := sampleSBOM().CycloneDX(CycloneDXVersion(cdx.SpecVersion1_4)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("1.4: %v", err)
	}
}

// spdxRoundTrip reads doc with tools-golang and writes it back: nothing may
// be lost or changed (an unknown or misspelt field would be).
func spdxRoundTrip(t *testing.T, doc []byte) {
	t.Helper()
	var d spdx.Document
	must(t, spdxjson.ReadInto(bytes.NewReader(doc), &d))
	var buf bytes.Buffer
	must(t, spdxjson.Write(&d, &buf))
	if !jsonEqual(t, doc, buf.Bytes()) {
		t.Fatalf("SPDX round trip changed the document:\n%s\n---\n%s", doc, buf.Bytes())
	}
}

// checkSPDXSums: only real SHA-256 sums are checksums; h1 sums appear as
// annotations and never as a SHA256 value.
func checkSPDXSums(t *testing.T, s *SBOM, doc []byte) {
	t.Helper()
	var d spdx.Document
	must(t, spdxjson.ReadInto(bytes.NewReader(doc), &d))
	real := map[string]bool{}
	if s.Root != nil {
		real[s.Root.SHA256] = true
	}
	h1hex := map[string]bool{}
	annotations := map[string]bool{}
	for _, m := range append(append([]Module{s.Main}, s.Modules...), s.Stdlib) {
		if m.ZipSHA256 != "" {
			real[m.ZipSHA256] = true
		}
		if m.Sum != "" {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(m.Sum, "h1:"))
			must(t, err)
			h1hex[hex.EncodeToString(raw)] = true
			annotations[PropH1+"="+m.Sum] = true
		}
	}
	for _, p := range d.Packages {
		for _, c := range p.PackageChecksums {
			if !real[c.Value] || h1hex[c.Value] {
				t.Errorf("package %s: checksum %s %s is not a real SHA-256 of the artifact or a module zip", p.PackageName, c.Algorithm, c.Value)
			}
		}
		for _, a := range p.Annotations {
			delete(annotations, a.AnnotationComment)
		}
	}
	for a := range annotations {
		t.Errorf("h1 annotation %q missing", a)
	}
}

var cdxSerialRE = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func checkCycloneDX(t *testing.T, s *SBOM, doc []byte, v cdx.SpecVersion) {
	t.Helper()
	if err := strictjson.Check(doc); err != nil {
		t.Fatalf("CycloneDX %s: %v", v, err)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("CycloneDX %s does not decode: %v", v, err)
	}
	if bom.SpecVersion != v || bom.BOMFormat != "CycloneDX" || !cdxSerialRE.MatchString(bom.SerialNumber) {
		t.Fatalf("header: %s %s %s", bom.SpecVersion, bom.BOMFormat, bom.SerialNumber)
	}
	refs := map[string]bool{}
	var all []cdx.Component
	var walk func(cs *[]cdx.Component)
	walk = func(cs *[]cdx.Component) {
		if cs == nil {
			return
		}
		for _, c := range *cs {
			all = append(all, c)
			walk(c.Components)
		}
	}
	if bom.Metadata == nil || bom.Metadata.Component == nil {
		t.Fatal("no metadata component")
	}
	walk(&[]cdx.Component{*bom.Metadata.Component})
	walk(bom.Components)
	ids := spdxLicenseIDs(t)
	byPURL := map[string]cdx.Component{}
	for _, c := range all {
		if c.BOMRef == "" || refs[c.BOMRef] {
			t.Fatalf("missing or duplicate bom-ref %q", c.BOMRef)
		}
		refs[c.BOMRef] = true
		if c.PackageURL != "" {
			byPURL[c.PackageURL] = c
		}
		if c.Licenses != nil {
			for _, l := range *c.Licenses {
				if l.License != nil && !ids[l.License.ID] {
					t.Errorf("%s: license id %q not on the SPDX list", c.Name, l.License.ID)
				}
				if v < cdx.SpecVersion1_6 && (l.Acknowledgement != nil || (l.License != nil && l.License.Acknowledgement != "")) {
					t.Errorf("%s: acknowledgement in %s", c.Name, v)
				}
			}
		}
	}
	for _, m := range append(append([]Module{s.Main}, s.Modules...), s.Stdlib) {
		if m.PURL() == "" {
			continue
		}
		c, ok := byPURL[m.PURL()]
		if !ok {
			t.Fatalf("no component for %s", m.PURL())
		}
		var hashes []string
		if c.Hashes != nil {
			for _, h := range *c.Hashes {
				if h.Algorithm != cdx.HashAlgoSHA256 {
					t.Errorf("%s: hash %s", m.Path, h.Algorithm)
				}
				hashes = append(hashes, h.Value)
			}
		}
		if m.ZipSHA256 != "" && (len(hashes) != 1 || hashes[0] != m.ZipSHA256) {
			t.Errorf("%s: hashes %v, want zip sha256 %s", m.Path, hashes, m.ZipSHA256)
		}
		if m.ZipSHA256 == "" && len(hashes) != 0 {
			t.Errorf("%s: hashes %v without a zip sha256", m.Path, hashes)
		}
		gotH1 := ""
		if c.Properties != nil {
			for _, p := range *c.Properties {
				if p.Name == PropH1 {
					gotH1 = p.Value
				}
			}
		}
		if gotH1 != m.Sum {
			t.Errorf("%s: h1 property %q, want %q", m.Path, gotH1, m.Sum)
		}
	}
	if bom.Dependencies == nil {
		t.Fatal("no dependencies")
	}
	for _, d := range *bom.Dependencies {
		if !refs[d.Ref] {
			t.Errorf("dependency names unknown ref %q", d.Ref)
		}
		if d.Dependencies != nil {
			for _, to := range *d.Dependencies {
				if !refs[to] {
					t.Errorf("dependency %s -> unknown ref %q", d.Ref, to)
				}
			}
		}
	}
}

var (
	spdxIDsOnce sync.Once
	spdxIDs     map[string]bool
)

// spdxLicenseIDs reads the SPDX license list cyclonedx-go ships in its
// schema directory (from the module cache).
func spdxLicenseIDs(t *testing.T) map[string]bool {
	t.Helper()
	spdxIDsOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
		if err != nil {
			return
		}
		b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "schema", "spdx.schema.json"))
		if err != nil {
			return
		}
		var sch struct{ Enum []string }
		if json.Unmarshal(b, &sch) != nil {
			return
		}
		spdxIDs = map[string]bool{}
		for _, id := range sch.Enum {
			spdxIDs[id] = true
		}
	})
	if spdxIDs == nil {
		t.Fatal("cannot read cyclonedx-go's spdx.schema.json")
	}
	return spdxIDs
}

func TestLicenseIDsAreSPDX(t *testing.T) {
	ids := spdxLicenseIDs(t)
	for _, l := range commonLicenses() {
		if !ids[l.ID] {
			t.Errorf("default scanner license %q is not an SPDX id", l.ID)
		}
	}
	// And detection: MIT file confident, unknown text not, mixed not.
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "LICENSE"), []byte(mitLicense), 0o644))
	compiled, err := defaultScanner()
	must(t, err)
	asked := 0
	sc := func() *licensecheck.Scanner { asked++; return compiled }
	if got := detectLicenses(sc, dir); len(got) != 1 || got[0] != "MIT" {
		t.Errorf("MIT file: %v", got)
	}
	must(t, os.WriteFile(filepath.Join(dir, "COPYING"), []byte("All rights reserved. Ask first.\n"), 0o644))
	if got := detectLicenses(sc, dir); got != nil {
		t.Errorf("with an unrecognized COPYING: %v", got)
	}
	// The scanner costs more to compile than the rest of a binary's SBOM:
	// it is not asked for where there is no license file to scan.
	asked = 0
	if got := detectLicenses(sc, t.TempDir()); got != nil || asked != 0 {
		t.Errorf("no license file: %v, scanner asked %d times", got, asked)
	}
	if got := detectLicenses(sc, filepath.Join(dir, "missing")); got != nil || asked != 0 {
		t.Errorf("no directory: %v, scanner asked %d times", got, asked)
	}
	if got := detectLicenses(func() *licensecheck.Scanner { return nil }, dir); got != nil {
		t.Errorf("nil scanner: %v", got)
	}
}
