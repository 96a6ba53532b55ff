package sbom

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFromSourceMatchesBinary(t *testing.T) {
	w := sharedWorld(t)
	bin := w.build(t, "app-src", nil, "-trimpath")
	b, err := FromBinary(bin, WithModuleCache(w.modcache))
	must(t, err)
	s, err := FromSource(t.Context(), w.app, []string{"."},
		WithEnv(w.env()...), WithBuildFlags("-trimpath"), WithModuleCache(w.modcache),
		WithCreated(fixedTime), WithArtifact("app-src", b.Root.SHA256, b.Root.Size))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := modLines(s), modLines(b); !reflect.DeepEqual(got, want) {
		t.Fatalf("source module set %q, binary %q", got, want)
	}
	for i := range s.Modules {
		sm, bm := s.Modules[i], b.Modules[i]
		if sm.Sum != bm.Sum || sm.ZipSHA256 != bm.ZipSHA256 {
			t.Errorf("%s: source sum/zip %q %q, binary %q %q", sm.Path, sm.Sum, sm.ZipSHA256, bm.Sum, bm.ZipSHA256)
		}
	}
	// FromSource knows the local replacement's directory: its license too.
	if l := findModule(t, s, "example.com/local").Licenses; !reflect.DeepEqual(l, []string{"MIT"}) {
		t.Errorf("local licenses %v", l)
	}
	for _, k := range []string{"-trimpath", "CGO_ENABLED", "GOOS", "GOARCH"} {
		sv, _ := s.setting(k)
		bv, _ := b.setting(k)
		if sv != bv || sv == "" {
			t.Errorf("setting %s: source %q, binary %q", k, sv, bv)
		}
	}
	if s.GoVersion != b.GoVersion || s.Stdlib.Ref() != b.Stdlib.Ref() {
		t.Errorf("go version %q vs %q, stdlib %+v", s.GoVersion, b.GoVersion, s.Stdlib)
	}

	// The module graph of the packages built.
	edges := map[Relationship]bool{}
	for _, r := range s.Relationships {
		edges[r] = true
	}
	dep := findModule(t, s, "example.com/dep").Ref()
	pseudo := findModule(t, s, "example.com/pseudo").Ref()
	for _, want := range []Relationship{
		{RootRef, "example.com/app", Contains},
		{"example.com/app", dep, DependsOn},
		{dep, pseudo, DependsOn},
		{"example.com/app", s.Stdlib.Ref(), DependsOn},
	} {
		if !edges[want] {
			t.Errorf("missing edge %+v in %+v", want, s.Relationships)
		}
	}
	if edges[Relationship{"example.com/app", pseudo, DependsOn}] {
		t.Error("app does not import pseudo directly, yet the graph says so")
	}
	for r := range edges {
		if r.From == s.Stdlib.Ref() {
			t.Errorf("edge from stdlib %+v", r)
		}
	}
	checkDocuments(t, s)
	st, err := s.SPDXStatement()
	must(t, err)
	checkStatement(t, st, PredicateSPDX, "app-src", b.Root.SHA256)
}

func TestFromSourceErrors(t *testing.T) {
	w := sharedWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := FromSource(ctx, w.app, nil, WithEnv(w.env()...)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if _, err := FromSource(t.Context(), w.app, []string{"./nope"}, WithEnv(w.env()...)); !errors.Is(err, ErrGoList) {
		t.Errorf("bad pattern: %v", err)
	}
	if _, err := FromSource(t.Context(), t.TempDir(), nil, WithEnv(w.env()...)); !errors.Is(err, ErrGoList) {
		t.Errorf("not a module: %v", err)
	}
	if _, err := FromSource(t.Context(), w.app, nil, WithEnv(w.env()...), WithGoCommand(filepath.Join(t.TempDir(), "no-go"))); !errors.Is(err, ErrGoList) {
		t.Errorf("missing go command: %v", err)
	}
	s, err := FromSource(t.Context(), w.app, nil, WithEnv(w.env()...), WithModuleCache(""))
	must(t, err)
	if _, err := s.SPDXStatement(); !errors.Is(err, ErrNoSubject) {
		t.Errorf("statement without root or subject: %v", err)
	}
}

// TestVCSVersion checks the main module version derived from git by
// FromSource against the one the go command stamps into the binary, on a
// tagged commit, after it, and with a modified tree.
func TestVCSVersion(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not available")
	}
	w := sharedWorld(t)
	dir := filepath.Join(t.TempDir(), "repo")
	writeFiles(t, dir, map[string]string{
		"go.mod":  "module example.com/tiny/v2\n\ngo 1.21\n",
		"main.go": "package main\n\nfunc main() {}\n",
	})
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	git("tag", "v2.3.0")
	check := func(name string, wantPrefix string) {
		t.Helper()
		env := w.env("GOFLAGS=-mod=mod -buildvcs=true")
		bin := filepath.Join(t.TempDir(), "tiny")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		b, err := FromBinary(bin, WithModuleCache(""))
		must(t, err)
		s, err := FromSource(t.Context(), dir, nil, WithEnv(env...), WithModuleCache(""))
		must(t, err)
		if !strings.HasPrefix(b.Main.Version, wantPrefix) {
			t.Fatalf("%s: go stamped %q, want prefix %q", name, b.Main.Version, wantPrefix)
		}
		if s.Main.Version != b.Main.Version {
			t.Errorf("%s: FromSource version %q, go stamped %q", name, s.Main.Version, b.Main.Version)
		}
	}
	check("tagged", "v2.3.0")
	writeFiles(t, dir, map[string]string{"main.go": "package main\n\nfunc main() { println() }\n"})
	git("commit", "-q", "-am", "two")
	check("after tag", "v2.3.1-0.20240102030405-")
	writeFiles(t, dir, map[string]string{"main.go": "package main\n\nfunc main() { println(1) }\n"})
	check("dirty", "v2.3.1-0.20240102030405-")
}

// TestWorkspace: in a go.work build, the other workspace module is a
// dependency with no version (the binary says "(devel)"), no purl version
// and no download location, from both sources.
func TestWorkspace(t *testing.T) {
	w := sharedWorld(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.work":   "go 1.21\n\nuse (\n\t./a\n\t./b\n)\n",
		"a/go.mod":  "module example.com/a\n\ngo 1.21\n",
		"a/main.go": "package main\n\nimport \"example.com/b\"\n\nfunc main() { println(b.Name()) }\n",
		"b/go.mod":  "module example.com/b\n\ngo 1.21\n",
		"b/b.go":    "package b\n\nfunc Name() string { return \"b\" }\n",
		"b/LICENSE": mitLicense,
	})
	env := w.env("GOWORK="+filepath.Join(dir, "go.work"), "GOFLAGS=-buildvcs=false")
	bin := filepath.Join(dir, "a.bin")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir, cmd.Env = filepath.Join(dir, "a"), env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	b, err := FromBinary(bin, WithModuleCache(""))
	must(t, err)
	s, err := FromSource(t.Context(), filepath.Join(dir, "a"), nil, WithEnv(env...), WithModuleCache(""))
	must(t, err)
	for name, x := range map[string]*SBOM{"binary": b, "source": s} {
		if x.Main.Path != "example.com/a" || len(x.Modules) != 1 {
			t.Fatalf("%s: main %q modules %+v", name, x.Main.Path, x.Modules)
		}
		m := x.Modules[0]
		if m.Path != "example.com/b" || m.Version != "" || m.DownloadLocation() != "" || strings.Contains(m.PURL(), "devel") {
			t.Errorf("%s: workspace module %+v purl %q", name, m, m.PURL())
		}
		checkDocuments(t, x)
	}
	if s.Modules[0].LocalDir != "../b" {
		t.Errorf("source: workspace module dir %q", s.Modules[0].LocalDir)
	}
	if l := s.Modules[0].Licenses; len(l) != 1 || l[0] != "MIT" {
		t.Errorf("source: workspace module licenses %v", l)
	}
}
