package sbom

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtureRoot is created by TestMain and removed after the tests: one
// offline module world (a file:// GOPROXY, its own module cache) shared by
// the tests that build binaries, so the toolchain runs a handful of times
// rather than once per test.
var fixtureRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		dir, err := os.MkdirTemp("", "sbomtest-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		fixtureRoot = dir
		return m.Run()
	}()
	os.Exit(code)
}

const mitLicense = `MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

const pseudoV = "v0.0.0-20240102030405-abcdefabcdef"

// proxyModule is one module version served by the fake proxy.
type proxyModule struct {
	path, version string
	files         map[string]string // go.mod included unless +incompatible
}

func proxyModules() []proxyModule {
	lib := func(pkg string) string {
		return "package " + pkg + "\n\nfunc Name() string { return \"" + pkg + "\" }\n"
	}
	return []proxyModule{
		{"example.com/dep", "v1.0.0", map[string]string{
			"go.mod": "module example.com/dep\n\ngo 1.21\n",
			"dep.go": lib("dep"),
		}},
		{"example.com/dep", "v1.1.0", map[string]string{
			"go.mod":  "module example.com/dep\n\ngo 1.21\n\nrequire example.com/pseudo " + pseudoV + "\n",
			"dep.go":  "package dep\n\nimport \"example.com/pseudo\"\n\nfunc Name() string { return \"dep \" + pseudo.Name() }\n",
			"LICENSE": mitLicense,
		}},
		{"example.com/pseudo", pseudoV, map[string]string{
			"go.mod":    "module example.com/pseudo\n\ngo 1.21\n",
			"pseudo.go": lib("pseudo"),
		}},
		{"example.com/old", "v2.0.0+incompatible", map[string]string{
			"old.go": lib("old"),
		}},
		{"example.com/Upper/Pkg", "v1.0.0", map[string]string{
			"go.mod":  "module example.com/Upper/Pkg\n\ngo 1.21\n",
			"pkg.go":  lib("pkg"),
			"LICENSE": "Copyright the authors. You may do some things with this, ask us first.\n",
		}},
		{"example.com/orig", "v1.0.0", map[string]string{
			"go.mod":  "module example.com/orig\n\ngo 1.21\n",
			"orig.go": lib("orig"),
		}},
		{"example.com/fork", "v1.0.1", map[string]string{
			"go.mod":  "module example.com/fork\n\ngo 1.21\n",
			"orig.go": lib("orig"),
		}},
		{"example.com/unused", "v1.0.0", map[string]string{
			"go.mod":    "module example.com/unused\n\ngo 1.21\n",
			"unused.go": lib("unused"),
		}},
	}
}

// world is an offline Go module world in a directory: a file:// proxy, a
// private module cache and the app module that requires everything.
type world struct {
	root, proxy, modcache, app string
}

func (w *world) env(extra ...string) []string {
	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(w.proxy),
		"GOSUMDB=off",
		"GONOSUMDB=*",
		"GOMODCACHE="+w.modcache,
		"GOFLAGS=-mod=mod -modcacherw -buildvcs=false",
		"GOTOOLCHAIN=local",
		"GOWORK=off",
		"CGO_ENABLED=0",
	)
	return append(env, extra...)
}

// newWorld writes the proxy and the app module under dir (a fresh
// directory) and returns it.
func newWorld(t testing.TB, dir string) *world {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not available")
	}
	w := &world{root: dir, proxy: filepath.Join(dir, "proxy"), modcache: filepath.Join(dir, "modcache"), app: filepath.Join(dir, "app")}
	lists := map[string][]string{}
	for _, m := range proxyModules() {
		ep, err := module.EscapePath(m.path)
		must(t, err)
		ev, err := module.EscapeVersion(m.version)
		must(t, err)
		vdir := filepath.Join(w.proxy, filepath.FromSlash(ep), "@v")
		must(t, os.MkdirAll(vdir, 0o755))
		src := filepath.Join(dir, "src", ep+"@"+ev)
		writeFiles(t, src, m.files)
		var zb bytes.Buffer
		must(t, modzip.CreateFromDir(&zb, module.Version{Path: m.path, Version: m.version}, src))
		must(t, os.WriteFile(filepath.Join(vdir, ev+".zip"), zb.Bytes(), 0o644))
		mod := m.files["go.mod"]
		if mod == "" {
			mod = "module " + m.path + "\n"
		}
		must(t, os.WriteFile(filepath.Join(vdir, ev+".mod"), []byte(mod), 0o644))
		must(t, os.WriteFile(filepath.Join(vdir, ev+".info"), []byte(`{"Version":"`+m.version+`","Time":"2024-01-02T03:04:05Z"}`), 0o644))
		lists[vdir] = append(lists[vdir], m.version)
	}
	for vdir, vs := range lists {
		must(t, os.WriteFile(filepath.Join(vdir, "list"), []byte(strings.Join(vs, "\n")+"\n"), 0o644))
	}
	writeFiles(t, filepath.Join(dir, "local"), map[string]string{
		"go.mod":   "module example.com/local\n\ngo 1.21\n",
		"local.go": "package local\n\nfunc Name() string { return \"local\" }\n",
		"LICENSE":  mitLicense,
	})
	writeFiles(t, w.app, map[string]string{
		"go.mod": `module example.com/app

go 1.21

require (
	example.com/Upper/Pkg v1.0.0
	example.com/dep v1.0.0
	example.com/local v0.0.0-00010101000000-000000000000
	example.com/old v2.0.0+incompatible
	example.com/orig v1.0.0
	example.com/unused v1.0.0
)

replace example.com/dep v1.0.0 => example.com/dep v1.1.0

replace example.com/orig => example.com/fork v1.0.1

replace example.com/local => ../local
`,
		"main.go": `package main

import (
	"fmt"

	"example.com/Upper/Pkg"
	"example.com/dep"
	"example.com/local"
	"example.com/old"
	"example.com/orig"
)

func main() { fmt.Println(dep.Name(), old.Name(), pkg.Name(), local.Name(), orig.Name()) }
`,
	})
	// Resolve the graph once (writes go.sum, fills the module cache).
	w.run(t, w.app, nil, "go", "mod", "download", "all")
	w.run(t, w.app, nil, "go", "list", "-deps", "./...")
	return w
}

func (w *world) run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = w.env(env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// build builds the app into a fresh file and returns its path.
func (w *world) build(t testing.TB, name string, env []string, flags ...string) string {
	t.Helper()
	out := filepath.Join(w.root, "bin", name)
	args := append([]string{"build", "-o", out}, flags...)
	w.run(t, w.app, env, "go", append(args, ".")...)
	return out
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// goVersionM runs `go version -m` on bin and returns its module lines
// ("dep P V" and "=> P V", without sums) and build settings.
func goVersionM(t testing.TB, w *world, bin string) (mods []string, settings map[string]string) {
	t.Helper()
	out := w.run(t, w.root, nil, "go", "version", "-m", bin)
	settings = map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		switch {
		case len(f) >= 3 && (f[0] == "dep" || f[0] == "=>"):
			mods = append(mods, f[0]+" "+f[1]+" "+f[2])
		case len(f) == 2 && f[0] == "build":
			k, v, _ := strings.Cut(f[1], "=")
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			settings[k] = v
		}
	}
	sort.Strings(mods)
	return mods, settings
}

// modLines renders s.Modules the way goVersionM does.
func modLines(s *SBOM) []string {
	var out []string
	for _, m := range s.Modules {
		switch {
		case m.LocalDir != "":
			out = append(out, "dep "+m.Replaces.Path+" "+m.Replaces.Version, "=> "+m.LocalDir+" (devel)")
		case m.Replaces != nil:
			out = append(out, "dep "+m.Replaces.Path+" "+m.Replaces.Version, "=> "+m.Path+" "+m.Version)
		default:
			out = append(out, "dep "+m.Path+" "+m.Version)
		}
	}
	sort.Strings(out)
	return out
}

func sha256File(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
