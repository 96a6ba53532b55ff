package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
)

var (
	worldOnce sync.Once
	worldVal  *world
	worldErr  string
)

// sharedWorld returns the module world all binary tests share.
func sharedWorld(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() {
		ft := &fatalRecorder{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil && r != errFatal {
					panic(r)
				}
			}()
			worldVal = newWorld(ft, filepath.Join(fixtureRoot, "world"))
		}()
		worldErr = ft.msg
	})
	if worldErr != "" {
		t.Fatal(worldErr)
	}
	if worldVal == nil {
		t.Skip("module world unavailable")
	}
	return worldVal
}

var errFatal = errors.New("fatal")

// fatalRecorder turns Fatal into a recorded message, so that a failed
// shared setup fails every test that needs it rather than only the first.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(errFatal)
}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

var fixedTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func findModule(t *testing.T, s *SBOM, path string) Module {
	t.Helper()
	for _, m := range s.Modules {
		if m.Path == path {
			return m
		}
	}
	t.Fatalf("module %s not in SBOM: %v", path, modLines(s))
	return Module{}
}

func TestFromBinaryMatchesGoVersionM(t *testing.T) {
	w := sharedWorld(t)
	bin := w.build(t, "app-trim", nil, "-trimpath")
	s, err := FromBinary(bin, WithCreated(fixedTime), WithModuleCache(w.modcache))
	if err != nil {
		t.Fatal(err)
	}
	want, settings := goVersionM(t, w, bin)
	if got := modLines(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("module set differs from go version -m\n got %q\nwant %q", got, want)
	}
	for _, m := range s.Modules {
		if m.Path == "example.com/unused" {
			t.Fatal("a required but unused module is in the SBOM")
		}
	}
	if s.Root == nil || s.Root.SHA256 != sha256File(t, bin) || s.Root.Name != "app-trim" {
		t.Fatalf("root artifact %+v", s.Root)
	}
	// (devel) main module, no VCS stamp: the version is unknown, never "(devel)".
	if s.Main.Path != "example.com/app" || s.Main.Version != "" {
		t.Fatalf("main module %+v", s.Main)
	}
	for k, v := range settings {
		if got, ok := s.setting(k); !ok || got != v {
			t.Errorf("build setting %s = %q, want %q", k, got, v)
		}
	}
	if v, _ := s.setting("-trimpath"); v != "true" {
		t.Errorf("-trimpath not recorded")
	}
	if v, _ := s.setting("CGO_ENABLED"); v != "0" {
		t.Errorf("CGO_ENABLED = %q", v)
	}

	// Replace to another version of the same module.
	dep := findModule(t, s, "example.com/dep")
	if dep.Version != "v1.1.0" || dep.Replaces == nil || *dep.Replaces != (ModuleVersion{"example.com/dep", "v1.0.0"}) {
		t.Errorf("dep %+v", dep)
	}
	// Replace to another module path.
	fork := findModule(t, s, "example.com/fork")
	if fork.Version != "v1.0.1" || fork.Replaces == nil || fork.Replaces.Path != "example.com/orig" {
		t.Errorf("fork %+v", fork)
	}
	if fork.PURL() != "pkg:golang/example.com/fork@v1.0.1" {
		t.Errorf("fork purl %s", fork.PURL())
	}
	// Local replacement: no purl, no download location, directory kept.
	local := findModule(t, s, "example.com/local")
	if local.LocalDir != "../local" || local.PURL() != "" || local.DownloadLocation() != "" || local.ZipSHA256 != "" {
		t.Errorf("local %+v", local)
	}
	// +incompatible: percent-encoded '+' in the purl, proxy URL as is.
	old := findModule(t, s, "example.com/old")
	if old.PURL() != "pkg:golang/example.com/old@v2.0.0%2Bincompatible" {
		t.Errorf("old purl %s", old.PURL())
	}
	if old.DownloadLocation() != "https://proxy.golang.org/example.com/old/@v/v2.0.0+incompatible.zip" {
		t.Errorf("old download %s", old.DownloadLocation())
	}
	// Pseudo-version, reached only through dep.
	ps := findModule(t, s, "example.com/pseudo")
	if ps.Version != pseudoV || ps.PURL() != "pkg:golang/example.com/pseudo@"+pseudoV {
		t.Errorf("pseudo %+v", ps)
	}
	// Case preserved in the purl, escaped in the proxy URL.
	up := findModule(t, s, "example.com/Upper/Pkg")
	if up.PURL() != "pkg:golang/example.com/Upper/Pkg@v1.0.0" ||
		up.DownloadLocation() != "https://proxy.golang.org/example.com/!upper/!pkg/@v/v1.0.0.zip" {
		t.Errorf("upper %s %s", up.PURL(), up.DownloadLocation())
	}

	// Zip SHA-256 sums are those of the files in the module cache; h1 sums
	// are the toolchain's.
	for _, m := range s.Modules {
		if m.LocalDir != "" {
			continue
		}
		if !strings.HasPrefix(m.Sum, "h1:") {
			t.Errorf("%s: sum %q", m.Path, m.Sum)
		}
		ep, _ := module.EscapePath(m.Path)
		ev, _ := module.EscapeVersion(m.Version)
		zip := filepath.Join(w.modcache, "cache", "download", ep, "@v", ev+".zip")
		if m.ZipSHA256 != sha256File(t, zip) {
			t.Errorf("%s: zip sha256 %q, want %q", m.Path, m.ZipSHA256, sha256File(t, zip))
		}
	}
	// Licenses: a confident MIT match; an unrecognizable license file gives
	// nothing.
	if !reflect.DeepEqual(dep.Licenses, []string{"MIT"}) {
		t.Errorf("dep licenses %v", dep.Licenses)
	}
	if len(up.Licenses) != 0 {
		t.Errorf("Upper/Pkg licenses %v, want none", up.Licenses)
	}
	if s.Stdlib.PURL() != "pkg:golang/stdlib@"+strings.TrimPrefix(s.GoVersion, "go") {
		t.Errorf("stdlib purl %s (go %s)", s.Stdlib.PURL(), s.GoVersion)
	}

	// Relationships: root CONTAINS main, main DEPENDS_ON every module.
	if s.Relationships[0] != (Relationship{RootRef, "example.com/app", Contains}) {
		t.Errorf("first relationship %+v", s.Relationships[0])
	}
	deps := map[string]bool{}
	for _, r := range s.Relationships[1:] {
		if r.From != s.Main.Ref() || r.Type != DependsOn {
			t.Errorf("relationship %+v", r)
		}
		deps[r.To] = true
	}
	for _, m := range append(s.Modules, s.Stdlib) {
		if !deps[m.Ref()] {
			t.Errorf("no main DEPENDS_ON %s", m.Ref())
		}
	}

	checkDocuments(t, s)
}

func TestFromBinaryZipVerification(t *testing.T) {
	w := sharedWorld(t)
	bin := w.build(t, "app-zv", nil)
	for _, verify := range []bool{false, true} {
		s, err := FromBinary(bin, WithModuleCache(w.modcache), WithZipVerification(verify))
		if err != nil {
			t.Fatal(err)
		}
		if findModule(t, s, "example.com/dep").ZipSHA256 == "" {
			t.Fatalf("verify=%v: no zip sha256 for an intact cache", verify)
		}
	}
	// A cache whose zip does not hash to the recorded h1 is not trusted.
	bad := t.TempDir()
	must(t, os.CopyFS(bad, os.DirFS(w.modcache)))
	zip := filepath.Join(bad, "cache", "download", "example.com", "dep", "@v", "v1.1.0.zip")
	other := filepath.Join(bad, "cache", "download", "example.com", "unused", "@v", "v1.0.0.zip")
	b, err := os.ReadFile(other)
	must(t, err)
	must(t, os.WriteFile(zip, b, 0o644))
	s, err := FromBinary(bin, WithModuleCache(bad), WithZipVerification(true))
	must(t, err)
	if got := findModule(t, s, "example.com/dep").ZipSHA256; got != "" {
		t.Fatalf("swapped zip accepted: %s", got)
	}
	// The default (.ziphash) check catches a tampered ziphash record.
	must(t, os.WriteFile(strings.TrimSuffix(zip, ".zip")+".ziphash", []byte("h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o644))
	s, err = FromBinary(bin, WithModuleCache(bad))
	must(t, err)
	if got := findModule(t, s, "example.com/dep").ZipSHA256; got != "" {
		t.Fatalf("mismatched ziphash accepted: %s", got)
	}
	// No module cache: no zip sums, no licenses, still a valid SBOM.
	s, err = FromBinary(bin, WithModuleCache(""), WithLicenseScanner(nil))
	must(t, err)
	for _, m := range s.Modules {
		if m.ZipSHA256 != "" || len(m.Licenses) != 0 {
			t.Fatalf("%s enriched without a module cache", m.Path)
		}
	}
	checkDocuments(t, s)
}

func TestFromBinaryStrippedAndCgo(t *testing.T) {
	w := sharedWorld(t)
	cases := []struct {
		name  string
		env   []string
		flags []string
		want  map[string]string
	}{
		{"stripped", nil, []string{"-ldflags=-s -w"}, map[string]string{"-ldflags": "-s -w", "CGO_ENABLED": "0"}},
		// With -trimpath the toolchain does not record -ldflags at all.
		{"stripped-trimpath", nil, []string{"-trimpath", "-ldflags=-s -w"}, map[string]string{"-ldflags": "", "-trimpath": "true"}},
		{"tags", nil, []string{"-tags=netgo,osusergo"}, map[string]string{"-tags": "netgo,osusergo", "CGO_ENABLED": "0"}},
		{"cgo", []string{"CGO_ENABLED=1"}, nil, map[string]string{"CGO_ENABLED": "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin := w.build(t, "app-"+tc.name, tc.env, tc.flags...)
			s, err := FromBinary(bin, WithModuleCache(w.modcache))
			if err != nil {
				t.Fatal(err)
			}
			want, settings := goVersionM(t, w, bin)
			if got := modLines(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("module set differs from go version -m\n got %q\nwant %q", got, want)
			}
			for k, v := range tc.want {
				if got, _ := s.setting(k); got != v || settings[k] != v {
					t.Errorf("%s = %q (go version -m %q), want %q", k, got, settings[k], v)
				}
			}
			checkDocuments(t, s)
		})
	}
}

func TestFromBinaryCgoPackage(t *testing.T) {
	w := newWorld(t, t.TempDir())
	writeFiles(t, w.app, map[string]string{"cgo.go": "package main\n\n// int answer(void) { return 42; }\nimport \"C\"\n\nvar _ = C.answer()\n"})
	bin := w.build(t, "app-cgo", []string{"CGO_ENABLED=1"})
	s, err := FromBinary(bin, WithModuleCache(w.modcache))
	must(t, err)
	if v, _ := s.setting("CGO_ENABLED"); v != "1" {
		t.Fatalf("CGO_ENABLED = %q", v)
	}
	want, _ := goVersionM(t, w, bin)
	if got := modLines(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("module set differs from go version -m\n got %q\nwant %q", got, want)
	}
	src, err := FromSource(t.Context(), w.app, nil, WithEnv(w.env("CGO_ENABLED=1")...), WithModuleCache(w.modcache))
	must(t, err)
	if v, _ := src.setting("CGO_ENABLED"); v != "1" {
		t.Fatalf("source CGO_ENABLED = %q", v)
	}
	checkDocuments(t, s)
}

func TestFromBinaryVendored(t *testing.T) {
	w := newWorld(t, t.TempDir())
	w.run(t, w.app, nil, "go", "mod", "vendor")
	bin := w.build(t, "app-vendor", []string{"GOFLAGS=-mod=vendor -buildvcs=false"})
	s, err := FromBinary(bin, WithModuleCache(w.modcache))
	must(t, err)
	want, _ := goVersionM(t, w, bin)
	if got := modLines(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("module set differs from go version -m\n got %q\nwant %q", got, want)
	}
	for _, m := range s.Modules {
		if m.Sum != "" {
			t.Errorf("%s: vendored builds record no sums, got %q", m.Path, m.Sum)
		}
	}
	// Without recorded sums the cached zips are reported unchecked.
	if findModule(t, s, "example.com/dep").ZipSHA256 == "" {
		t.Error("vendored build: no zip sha256")
	}
	checkDocuments(t, s)

	src, err := FromSource(t.Context(), w.app, nil,
		WithEnv(w.env("GOFLAGS=-buildvcs=false")...), WithBuildFlags("-mod=vendor"), WithModuleCache(w.modcache))
	must(t, err)
	if got := modLines(src); !reflect.DeepEqual(got, modLines(s)) {
		t.Fatalf("vendored source module set %q, binary %q", got, modLines(s))
	}
}

func TestFromBinaryErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	must(t, os.WriteFile(text, []byte("hello, not a binary\n"), 0o644))
	empty := filepath.Join(dir, "empty")
	must(t, os.WriteFile(empty, nil, 0o644))

	self, err := os.Executable()
	must(t, err)
	full, err := os.ReadFile(self)
	must(t, err)
	trunc := filepath.Join(dir, "truncated")
	must(t, os.WriteFile(trunc, full[:4096], 0o755))
	// Corrupt: a valid header followed by garbage.
	corrupt := filepath.Join(dir, "corrupt")
	garbage := bytes.Repeat([]byte{0xff, 0x00, 0x13, 0x37}, 1<<14)
	must(t, os.WriteFile(corrupt, append(append([]byte(nil), full[:64]...), garbage...), 0o755))

	for _, p := range []string{text, empty, trunc, corrupt, dir} {
		_, err := FromBinary(p)
		if !errors.Is(err, ErrNotGoBinary) {
			t.Errorf("%s: err = %v, want ErrNotGoBinary", filepath.Base(p), err)
		}
	}
	if _, err := FromBinary(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrNotGoBinary) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := FromReaderAt(bytes.NewReader(garbage), int64(len(garbage)), "g"); !errors.Is(err, ErrNotGoBinary) {
		t.Errorf("garbage reader: %v", err)
	}
	if _, err := FromReaderAt(nil, 10, "nil"); !errors.Is(err, ErrNotGoBinary) {
		t.Errorf("nil reader: %v", err)
	}
	// The test binary itself is a Go binary: sanity check the other way.
	s, err := FromReaderAt(bytes.NewReader(full), int64(len(full)), "self", WithModuleCache(""))
	if err != nil {
		t.Fatalf("test binary: %v", err)
	}
	if s.Main.Path != "github.com/slsakit/slsakit" {
		t.Errorf("test binary main module %q", s.Main.Path)
	}
}

// checkDocuments encodes s in every format, validates and decodes each, and
// checks the format-specific honesty rules.
func checkDocuments(t *testing.T, s *SBOM) {
	t.Helper()
	doc, err := s.SPDX()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateSPDX(doc); err != nil {
		t.Fatalf("SPDX invalid: %v\n%s", err, doc)
	}
	spdxRoundTrip(t, doc)
	checkSPDXSums(t, s, doc)
	out := os.Getenv("SLSAKIT_SBOM_OUT") // for sbom/internal/cdxschema
	base := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if out != "" {
		must(t, os.WriteFile(filepath.Join(out, base+".spdx.json"), doc, 0o644))
	}
	for _, v := range cdxVersions {
		b, err := s.CycloneDX(CycloneDXVersion(v))
		if err != nil {
			t.Fatal(err)
		}
		checkCycloneDX(t, s, b, v)
		if out != "" {
			must(t, os.WriteFile(filepath.Join(out, base+".cdx"+strings.ReplaceAll(v.String(), ".", "")+".json"), b, 0o644))
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	must(t, json.Unmarshal(a, &x))
	must(t, json.Unmarshal(b, &y))
	return reflect.DeepEqual(x, y)
}
