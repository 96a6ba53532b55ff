package provenance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

func TestURIMaterial(t *testing.T) {
	good := intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64), "customAlg": "AnyValue"}
	rd, err := URIMaterial("https://example.com/x.tar.gz", good)
	must(t, err)
	if rd.URI != "https://example.com/x.tar.gz" || rd.Digest[intoto.AlgSHA256] != hexOf('a', 64) {
		t.Fatalf("%+v", rd)
	}
	good[intoto.AlgSHA256] = "changed" // the descriptor holds a copy
	if rd.Digest[intoto.AlgSHA256] != hexOf('a', 64) {
		t.Fatal("digest set aliased")
	}
	bad := []struct {
		uri string
		d   intoto.DigestSet
		err error
	}{
		{"https://e.com/x", intoto.DigestSet{intoto.AlgSHA256: strings.ToUpper(hexOf('a', 64))}, intoto.ErrInvalidDigest},
		{"https://e.com/x", intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 40)}, intoto.ErrInvalidDigest},
		{"https://e.com/x", intoto.DigestSet{intoto.AlgSHA512: hexOf('a', 64)}, intoto.ErrInvalidDigest},
		{"https://e.com/x", intoto.DigestSet{intoto.AlgGitCommit: hexOf('g', 40)}, intoto.ErrInvalidDigest},
		{"https://e.com/x", intoto.DigestSet{intoto.AlgDirHash: hexOf('a', 63)}, intoto.ErrInvalidDigest},
		{"https://e.com/x", intoto.DigestSet{intoto.AlgSHA256: ""}, intoto.ErrInvalidDigest},
		{"https://e.com/x", intoto.DigestSet{}, intoto.ErrInvalidDigest},
		{"no-scheme/x", intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}, intoto.ErrInvalidDescriptor},
		{"", intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}, intoto.ErrInvalidDescriptor},
	}
	for _, c := range bad {
		if _, err := URIMaterial(c.uri, c.d); !errors.Is(err, c.err) {
			t.Errorf("%q %v: got %v, want %v", c.uri, c.d, err, c.err)
		}
	}
	// gitCommit accepts SHA-1 and SHA-256 object names.
	for _, n := range []int{40, 64} {
		if _, err := URIMaterial("git+https://e.com/r", intoto.DigestSet{intoto.AlgGitCommit: hexOf('a', n)}); err != nil {
			t.Errorf("gitCommit of %d digits: %v", n, err)
		}
	}
}

func TestFileMaterial(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.txt")
	must(t, os.WriteFile(p, []byte("abc"), 0o644))
	rd, err := FileMaterial(context.Background(), p)
	must(t, err)
	if rd.Name != filepath.ToSlash(p) || rd.Digest[intoto.AlgSHA256] != sha256abc || len(rd.Digest) != 1 {
		t.Fatalf("%+v", rd)
	}
	if _, err := FileMaterial(context.Background(), p+".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

type fakeResolver struct {
	digest string
	err    error
	got    string
}

func (f *fakeResolver) ResolveDigest(_ context.Context, ref string) (string, error) {
	f.got = ref
	return f.digest, f.err
}

func TestImageMaterial(t *testing.T) {
	ctx := context.Background()
	h := hexOf('a', 64)
	cases := []struct {
		ref, uri, tag string
	}{
		{"ghcr.io/org/app@sha256:" + h, "oci://ghcr.io/org/app", ""},
		{"ghcr.io/org/app:v1.2@sha256:" + h, "oci://ghcr.io/org/app", "v1.2"},
		{"localhost:5000/app@sha256:" + h, "oci://localhost:5000/app", ""},
		{"localhost:5000/a/b:latest@sha256:" + h, "oci://localhost:5000/a/b", "latest"},
		{"alpine@sha256:" + h, "oci://index.docker.io/library/alpine", ""},
	}
	for _, c := range cases {
		rd, err := ImageMaterial(ctx, c.ref)
		if err != nil {
			t.Errorf("%s: %v", c.ref, err)
			continue
		}
		if rd.URI != c.uri || rd.Digest[intoto.AlgSHA256] != h || len(rd.Digest) != 1 {
			t.Errorf("%s: %+v", c.ref, rd)
		}
		if tag, _ := rd.Annotations["tag"].(string); tag != c.tag {
			t.Errorf("%s: tag %q, want %q", c.ref, tag, c.tag)
		}
		must(t, rd.Validate())
	}
	for _, ref := range []string{"ghcr.io/org/app:v1", "ghcr.io/org/app", "localhost:5000/app"} {
		if _, err := ImageMaterial(ctx, ref); !errors.Is(err, ErrUnpinnedImage) {
			t.Errorf("%s: %v", ref, err)
		}
	}
	for _, ref := range []string{
		"ghcr.io/org/app@sha256:" + h[:63],
		"ghcr.io/org/app@sha256:" + strings.ToUpper(h),
		"ghcr.io/org/app@md5:" + h[:32],
		"ghcr.io/org/app@" + h,
		"ghcr.io/Org/App@sha256:" + h,
		"@sha256:" + h,
		"",
	} {
		if _, err := ImageMaterial(ctx, ref); !errors.Is(err, ErrInvalidImageRef) {
			t.Errorf("%q: %v", ref, err)
		}
	}
	r := &fakeResolver{digest: "sha256:" + h}
	rd, err := ImageMaterial(ctx, "ghcr.io/org/app:v2", WithResolver(r))
	must(t, err)
	if r.got != "ghcr.io/org/app:v2" || rd.URI != "oci://ghcr.io/org/app" || rd.Digest[intoto.AlgSHA256] != h || rd.Annotations["tag"] != "v2" {
		t.Fatalf("resolved %+v (asked %q)", rd, r.got)
	}
	rd, err = ImageMaterial(ctx, "ghcr.io/org/app:v2", WithResolver(&fakeResolver{digest: "ghcr.io/org/app@sha256:" + h}))
	must(t, err)
	if rd.Digest[intoto.AlgSHA256] != h {
		t.Fatalf("resolver giving a full reference: %+v", rd)
	}
	if _, err := ImageMaterial(ctx, "ghcr.io/org/app:v2", WithResolver(&fakeResolver{digest: "sha256:zz"})); !errors.Is(err, ErrInvalidImageRef) {
		t.Errorf("bad resolved digest: %v", err)
	}
	boom := errors.New("registry down")
	if _, err := ImageMaterial(ctx, "ghcr.io/org/app:v2", WithResolver(&fakeResolver{err: boom})); !errors.Is(err, boom) {
		t.Errorf("resolver error: %v", err)
	}
}

func TestPublicGitURL(t *testing.T) {
	cases := map[string]string{
		"git@github.com:org/repo.git":                           "https://github.com/org/repo",
		"github.com:org/repo":                                   "https://github.com/org/repo",
		"ssh://git@github.com:22/org/repo.git":                  "https://github.com/org/repo",
		"git+ssh://git@gitlab.com/group/sub/repo.git":           "https://gitlab.com/group/sub/repo",
		"https://user:ghp_SECRET@github.com/org/repo.git":       "https://github.com/org/repo",
		"https://x-access-token:SECRET@github.com/org/repo":     "https://github.com/org/repo",
		"https://github.com/org/repo.git/":                      "https://github.com/org/repo",
		"https://github.com/org/repo?token=SECRET#frag":         "https://github.com/org/repo",
		"http://mirror.local:8080/repo.git":                     "http://mirror.local:8080/repo",
		"git://git.kernel.org/pub/scm/git/git.git":              "https://git.kernel.org/pub/scm/git/git",
		"/srv/git/repo.git":                                     "file:///srv/git/repo",
		"file:///srv/git/repo":                                  "file:///srv/git/repo",
		"https://oauth2:SECRET@gitlab.example.com:8443/g/r.git": "https://gitlab.example.com:8443/g/r",
	}
	for in, want := range cases {
		got, err := PublicGitURL(in)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
		if strings.Contains(got, "SECRET") || strings.Contains(got, "@") {
			t.Errorf("%s: credential leaked into %q", in, got)
		}
	}
	for _, in := range []string{"", "ftp://example.com/repo", "https:///nohost", "https://SECRET@[bad"} {
		_, err := PublicGitURL(in)
		if !errors.Is(err, intoto.ErrInvalidDescriptor) {
			t.Errorf("%q: %v", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q: error leaks credentials: %v", in, err)
		}
	}
}

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestGitMaterial(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	ctx := context.Background()
	dir := t.TempDir()
	gitCmd(t, dir, "init", "-q")

	// An empty repository has no commit.
	if _, err := GitMaterial(ctx, dir); !errors.Is(err, ErrNotGitCheckout) {
		t.Fatalf("empty repo: %v", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644))
	gitCmd(t, dir, "add", "main.go")
	gitCmd(t, dir, "commit", "-q", "-m", "init")
	head := gitCmd(t, dir, "rev-parse", "HEAD")

	// No remote: digest only, ref kept in annotations.
	rd, err := GitMaterial(ctx, dir)
	must(t, err)
	if rd.URI != "" || rd.Digest[intoto.AlgGitCommit] != head || rd.Annotations["dirty"] != false || rd.Annotations["ref"] != "refs/heads/main" {
		t.Fatalf("no remote: %+v", rd)
	}

	gitCmd(t, dir, "remote", "add", "origin", "https://builder:ghp_TOKEN@github.com/org/repo.git")
	rd, err = GitMaterial(ctx, dir)
	must(t, err)
	if rd.URI != "git+https://github.com/org/repo@refs/heads/main" || rd.Digest[intoto.AlgGitCommit] != head {
		t.Fatalf("with remote: %+v", rd)
	}
	if strings.Contains(fmt.Sprint(rd), "TOKEN") {
		t.Fatal("credential leaked")
	}
	must(t, rd.Validate())

	// Untracked and modified files make the tree dirty.
	must(t, os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x"), 0o644))
	rd, err = GitMaterial(ctx, dir)
	must(t, err)
	if rd.Annotations["dirty"] != true {
		t.Fatalf("dirty tree not flagged: %+v", rd)
	}
	must(t, os.Remove(filepath.Join(dir, "new.txt")))

	// scp-like remote, detached HEAD in a linked worktree.
	gitCmd(t, dir, "remote", "set-url", "origin", "git@gitlab.com:grp/proj.git")
	wt := filepath.Join(t.TempDir(), "wt")
	gitCmd(t, dir, "worktree", "add", "-q", "--detach", wt, "HEAD")
	rd, err = GitMaterial(ctx, wt)
	must(t, err)
	if rd.URI != "git+https://gitlab.com/grp/proj" || rd.Digest[intoto.AlgGitCommit] != head || rd.Annotations["dirty"] != false {
		t.Fatalf("worktree: %+v", rd)
	}
	// A subdirectory of the checkout works too.
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	if rd, err := GitMaterial(ctx, filepath.Join(dir, "sub")); err != nil || rd.Digest[intoto.AlgGitCommit] != head {
		t.Fatalf("subdir: %+v %v", rd, err)
	}

	// A checkout's config cannot make provenance recording run a program.
	marker := filepath.Join(t.TempDir(), "pwned")
	hook := filepath.Join(t.TempDir(), "hook.sh")
	must(t, os.WriteFile(hook, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755))
	gitCmd(t, dir, "config", "core.fsmonitor", hook)
	gitCmd(t, dir, "status", "--porcelain") // proves the hook works when git honours it
	if _, err := os.Stat(marker); err != nil {
		t.Skipf("this git does not run core.fsmonitor hooks: %v", err)
	}
	must(t, os.Remove(marker))
	if _, err := GitMaterial(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("GitMaterial ran the repository's core.fsmonitor program")
	}

	if _, err := GitMaterial(ctx, t.TempDir()); !errors.Is(err, ErrNotGitCheckout) {
		t.Fatalf("not a checkout: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := GitMaterial(cctx, dir); err == nil {
		t.Fatal("cancelled context accepted")
	}
}

func TestGoPURLAndH1(t *testing.T) {
	cases := map[[2]string]string{
		{"github.com/in-toto/attestation", "v1.2.0"}:               "pkg:golang/github.com/in-toto/attestation@v1.2.0",
		{"github.com/docker/cli", "v29.7.2+incompatible"}:          "pkg:golang/github.com/docker/cli@v29.7.2%2Bincompatible",
		{"github.com/Azure/go-autorest", "v0.0.0-20240101-abcdef"}: "pkg:golang/github.com/Azure/go-autorest@v0.0.0-20240101-abcdef",
		{"example.com/a b", ""}:                                    "pkg:golang/example.com/a%20b",
		{"gopkg.in/yaml.v3", "v3.0.1"}:                             "pkg:golang/gopkg.in/yaml.v3@v3.0.1",
	}
	for in, want := range cases {
		if got := GoPURL(in[0], in[1]); got != want {
			t.Errorf("%v: %q, want %q", in, got, want)
		}
	}
	// The in-toto digest-set spec's own example.
	h, err := H1ToHex("h1:Khu2En+0gcYPZ2kuIihfswbzxv/mIHXgzPZ018Oty48=")
	must(t, err)
	if h != "2a1bb6127fb481c60f67692e22285fb306f3c6ffe62075e0ccf674d7c3adcb8f" {
		t.Fatalf("h1 hex %s", h)
	}
	for _, bad := range []string{"", "h2:abc", "h1:!!!", "h1:YWJj"} {
		if _, err := H1ToHex(bad); !errors.Is(err, intoto.ErrInvalidDigest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// goSumEntries reads module h1 sums from a go.sum file.
func goSumEntries(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 && !strings.HasSuffix(fs[1], "/go.mod") {
			out[fs[0]+"@"+fs[1]] = fs[2]
		}
	}
	return out
}

// offlineModule skips without a go command, sets up an offline go
// environment with the given GOFLAGS, and returns a temp directory and a
// function writing files into it.
func offlineModule(t *testing.T, goflags string) (root string, write func(rel, content string)) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed")
	}
	t.Setenv("GOFLAGS", goflags)
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")
	root = t.TempDir()
	return root, func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func TestGoModulesLocalReplace(t *testing.T) {
	root, write := offlineModule(t, "-mod=mod")
	write("lib/go.mod", "module example.com/lib\n\ngo 1.22\n")
	write("lib/lib.go", "package lib\n\nfunc Hello() string { return \"hi\" }\n")
	write("unused/go.mod", "module example.com/unused\n\ngo 1.22\n")
	write("unused/u.go", "package unused\n")
	write("app/go.mod", "module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/lib v1.0.0\n\texample.com/unused v1.0.0\n)\n\nreplace example.com/lib v1.0.0 => ../lib\n\nreplace example.com/unused v1.0.0 => ../unused\n")
	write("app/main.go", "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.Hello()) }\n")

	ctx := context.Background()
	mods, err := GoModules(ctx, filepath.Join(root, "app"))
	must(t, err)
	if len(mods) != 1 { // the main module and the unused requirement are left out
		t.Fatalf("modules %+v", mods)
	}
	m := mods[0]
	libHash, err := DirMaterial(ctx, filepath.Join(root, "lib"))
	must(t, err)
	if m.Name != "../lib" || m.URI != "" || m.Annotations["replaces"] != "pkg:golang/example.com/lib@v1.0.0" ||
		m.Annotations["goReplacement"] != "local" || m.Digest[intoto.AlgDirHash] != libHash.Digest[intoto.AlgDirHash] {
		t.Fatalf("replacement %+v", m)
	}
	if _, ok := m.Digest[intoto.AlgSHA256]; ok {
		t.Fatal("module labelled sha256")
	}
	must(t, m.Validate())

	if _, err := GoModules(ctx, filepath.Join(root, "app"), "./nonexistent/..."); err != nil {
		// a pattern matching nothing is a warning for go list, not an error
		t.Logf("empty pattern: %v", err)
	}
	if _, err := GoModules(ctx, filepath.Join(root, "app"), "example.com/missing"); !errors.Is(err, ErrGoCommand) {
		t.Fatalf("missing package: %v", err)
	}
}

func TestGoModulesThisModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list on the whole module")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed")
	}
	// Read-only: this test must never rewrite the repository's go.mod.
	t.Setenv("GOFLAGS", "-mod=readonly")
	t.Setenv("GOPROXY", "off")
	mods, err := GoModules(context.Background(), "..", "./provenance")
	must(t, err)
	sums := goSumEntries(t, "../go.sum")
	checkAgainstGoSum(t, mods, sums, "github.com/in-toto/attestation", "v1.2.0")
	for _, m := range mods {
		if strings.Contains(m.URI, "slsakit/slsakit") {
			t.Errorf("main module listed: %+v", m)
		}
		if strings.Contains(m.URI, "cloud.google.com/go/kms") {
			t.Errorf("module not used by ./provenance listed: %+v", m)
		}
	}
}

func checkAgainstGoSum(t *testing.T, mods []intoto.ResourceDescriptor, sums map[string]string, path, version string) {
	t.Helper()
	want, err := H1ToHex(sums[path+"@"+version])
	must(t, err)
	for _, m := range mods {
		if m.URI == GoPURL(path, version) {
			if m.Digest[intoto.AlgDirHash] != want || len(m.Digest) != 1 {
				t.Errorf("%s: %v, go.sum says %s", m.URI, m.Digest, want)
			}
			return
		}
	}
	t.Errorf("%s@%s not found in %d modules", path, version, len(mods))
}

func TestGoModulesFromBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed")
	}
	// A tiny program using this repository's pinned in-toto module and a
	// locally replaced one, built offline from the module cache.
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")
	t.Setenv("GOSUMDB", "off")
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	gosum, err := os.ReadFile("../go.sum")
	must(t, err)
	write("lib/go.mod", "module example.com/lib\n\ngo 1.22\n")
	write("lib/lib.go", "package lib\n\nconst Name = \"lib\"\n")
	write("app/go.sum", string(gosum))
	write("app/go.mod", "module example.com/app\n\ngo 1.25\n\nrequire (\n\tgithub.com/in-toto/attestation v1.2.0\n\tgoogle.golang.org/protobuf v1.36.12\n\texample.com/lib v1.0.0\n)\n\nreplace example.com/lib v1.0.0 => ../lib\n")
	write("app/main.go", "package main\n\nimport (\n\tv1 \"github.com/in-toto/attestation/go/v1\"\n\t\"example.com/lib\"\n)\n\nfunc main() { println(v1.StatementTypeUri, lib.Name) }\n")
	bin := filepath.Join(root, "app.bin")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, "app")
	if out, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "GOPROXY=off") || strings.Contains(string(out), "module lookup disabled") {
			t.Skipf("module cache lacks what the offline build needs: %s", out)
		}
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mods, err := GoModulesFromBinary(bin)
	must(t, err)
	checkAgainstGoSum(t, mods, goSumEntries(t, "../go.sum"), "github.com/in-toto/attestation", "v1.2.0")
	checkAgainstGoSum(t, mods, goSumEntries(t, "../go.sum"), "google.golang.org/protobuf", "v1.36.12")
	var local *intoto.ResourceDescriptor
	for i := range mods {
		if mods[i].Name == "../lib" {
			local = &mods[i]
		}
		if i > 0 && mods[i-1].URI > mods[i].URI {
			t.Fatal("not sorted")
		}
		if strings.Contains(mods[i].URI, "example.com/app") {
			t.Errorf("main module listed: %+v", mods[i])
		}
	}
	if local == nil || local.Annotations["replaces"] != "pkg:golang/example.com/lib@v1.0.0" || len(local.Digest) != 0 {
		t.Fatalf("local replacement: %+v in %+v", local, mods)
	}
	f, err := os.Open(bin)
	must(t, err)
	defer f.Close()
	mods2, err := GoModulesFromBinaryReader(f)
	must(t, err)
	if fmt.Sprint(mods2) != fmt.Sprint(mods) {
		t.Fatal("reader and path variants differ")
	}

	notBinary := filepath.Join(t.TempDir(), "x")
	must(t, os.WriteFile(notBinary, []byte("#!/bin/sh\necho hi\n"), 0o755))
	if _, err := GoModulesFromBinary(notBinary); !errors.Is(err, ErrNoBuildInfo) {
		t.Fatalf("not a binary: %v", err)
	}
	if _, err := GoModulesFromBinary(notBinary + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestGoModulesVendorModeUsesGoSum(t *testing.T) {
	root, write := offlineModule(t, "-mod=vendor")
	const sum = "h1:Khu2En+0gcYPZ2kuIihfswbzxv/mIHXgzPZ018Oty48="
	write("go.mod", "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n")
	write("go.sum", "example.com/lib v1.0.0 "+sum+"\nexample.com/lib v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	write("main.go", "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.Name) }\n")
	write("vendor/modules.txt", "# example.com/lib v1.0.0\n## explicit; go 1.22\nexample.com/lib\n")
	write("vendor/example.com/lib/lib.go", "package lib\n\nconst Name = \"lib\"\n")
	mods, err := GoModules(context.Background(), root)
	must(t, err)
	if len(mods) != 1 || mods[0].URI != "pkg:golang/example.com/lib@v1.0.0" ||
		mods[0].Digest[intoto.AlgDirHash] != "2a1bb6127fb481c60f67692e22285fb306f3c6ffe62075e0ccf674d7c3adcb8f" {
		t.Fatalf("vendored modules %+v", mods)
	}
}
