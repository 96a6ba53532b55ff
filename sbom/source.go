package sbom

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// listModule is the part of `go list -json` module output FromSource reads.
type listModule struct {
	Path    string
	Version string
	Main    bool
	Dir     string
	GoMod   string
	Replace *listModule
}

type listPackage struct {
	ImportPath string
	Standard   bool
	DepOnly    bool
	Module     *listModule
	Imports    []string
	Error      *struct{ Err string }
}

// FromSource returns the SBOM of what `go build <patterns>` would build in
// dir: it runs `go list -deps -json <build flags> <patterns>` (honouring ctx)
// and keeps only the modules that provide at least one package of the
// build, never `go list -m all`'s superset.
//
// Relationships form the module graph of the packages actually built: module
// A DEPENDS_ON module B when a package of A imports a package of B (and the
// standard library likewise). This is the graph of the artifact, narrower
// than `go mod graph`, which lists requirements whether or not they reach
// the build, and it needs no further go command. The main module's version
// comes from WithMainVersion, else from git (a tag on HEAD, else a
// pseudo-version on the latest reachable tag), else is empty. Build settings
// (GOOS, GOARCH, CGO_ENABLED, -tags, -trimpath, -ldflags) come from `go env`
// with the options' environment, GOFLAGS and WithBuildFlags. Module h1 sums
// come from the main module's go.sum.
//
// The go command runs in dir with the process environment plus WithEnv,
// and GOTOOLCHAIN=local unless WithEnv sets it: a toolchain line in an
// untrusted go.mod does not fetch and run another toolchain. It may still
// download modules missing from the module cache, as `go build` would;
// pass WithEnv("GOPROXY=off") to forbid that.
func FromSource(ctx context.Context, dir string, patterns []string, opts ...Option) (*SBOM, error) {
	c := newConfig(opts)
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	// GOTOOLCHAIN=local unless the caller says otherwise: a go.mod
	// toolchain line must not make an SBOM run download and execute another
	// Go toolchain.
	env := append(os.Environ(), "GOTOOLCHAIN=local")
	env = append(env, c.env...)

	goenv, err := goEnv(ctx, c, dir, env)
	if err != nil {
		return nil, err
	}
	args := []string{"list", "-deps", "-json=ImportPath,Standard,DepOnly,Module,Imports,Error"}
	args = append(args, c.buildFlags...)
	args = append(args, "--")
	args = append(args, patterns...)
	out, err := runGo(ctx, c, dir, env, args...)
	if err != nil {
		return nil, err
	}

	var pkgs []listPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%w: decoding output: %v", ErrGoList, err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("%w: package %s: %s", ErrGoList, p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}

	s := &SBOM{GoVersion: goenv["GOVERSION"]}
	s.Stdlib = Module{Path: "stdlib", Version: stdlibVersion(s.GoVersion)}
	s.BuildSettings = sourceSettings(goenv, c.buildFlags)

	// The main module is that of the packages the patterns named; in a
	// workspace, the other main modules are dependencies in local
	// directories.
	var mainMod *listModule
	for _, p := range pkgs {
		if !p.DepOnly && !p.Standard && p.Module != nil && p.Module.Main {
			mainMod = p.Module
			break
		}
	}
	if mainMod == nil {
		return nil, fmt.Errorf("%w: no package of the main module among %q", ErrGoList, patterns)
	}
	byPath := map[string]int{} // original module path -> index in s.Modules
	dirs := map[string]string{}
	pkgMod := map[string]string{} // import path -> module ref ("" for std)
	for _, p := range pkgs {
		switch {
		case p.Standard || p.Module == nil:
			pkgMod[p.ImportPath] = s.Stdlib.Ref()
			continue
		case p.Module.Main && p.Module.Path == mainMod.Path:
			pkgMod[p.ImportPath] = "main:" + p.Module.Path
			continue
		}
		m := p.Module
		if _, ok := byPath[m.Path]; !ok {
			mod := Module{Path: m.Path, Version: m.Version}
			d := m.Dir
			if m.Main {
				// Another workspace module: its directory relative to the
				// main module's, like a replace directive would name it.
				mod.LocalDir = m.Dir
				if rel, err := filepath.Rel(mainMod.Dir, m.Dir); err == nil {
					mod.LocalDir = filepath.ToSlash(rel)
				}
			}
			if r := m.Replace; r != nil {
				mod.Replaces = &ModuleVersion{Path: m.Path, Version: m.Version}
				if isLocalReplacement(r.Path, r.Version) {
					mod.LocalDir = r.Path // as written in go.mod, like the binary
				} else {
					mod.Path, mod.Version = r.Path, r.Version
				}
				if r.Dir != "" {
					d = r.Dir
				}
			}
			byPath[m.Path] = len(s.Modules)
			s.Modules = append(s.Modules, mod)
			dirs[m.Path] = d
		}
		pkgMod[p.ImportPath] = "dep:" + m.Path
	}
	s.Main = Module{Path: mainMod.Path}
	s.Main.Version = c.mainVersion
	if s.Main.Version == "" && mainMod.Dir != "" {
		s.Main.Version = gitVersion(ctx, mainMod.Dir, mainMod.Path, env)
	}
	if mainMod.Dir != "" {
		s.Main.Licenses = detectLicenses(c.licenseScanner, mainMod.Dir)
		sums := readGoSum(filepath.Join(mainMod.Dir, "go.sum"))
		for i := range s.Modules {
			m := &s.Modules[i]
			if m.LocalDir == "" {
				m.Sum = sums[m.Path+" "+m.Version]
			}
		}
	}
	if goroot := goenv["GOROOT"]; goroot != "" {
		s.Stdlib.Licenses = detectLicenses(c.licenseScanner, goroot)
	}

	// Enrich, then resolve references (the slice is sorted in finish).
	ptrs := make([]*Module, len(s.Modules))
	dm := make(map[*Module]string, len(s.Modules))
	for orig, i := range byPath {
		ptrs[i] = &s.Modules[i]
		dm[ptrs[i]] = dirs[orig]
	}
	enrich(ctx, c, ptrs, dm)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	refOf := func(key string) string {
		if key == "" {
			return ""
		}
		if p, ok := strings.CutPrefix(key, "dep:"); ok {
			return s.Modules[byPath[p]].Ref()
		}
		if strings.HasPrefix(key, "main:") {
			return s.Main.Ref()
		}
		return key // stdlib
	}
	edges := map[[2]string]bool{}
	for _, p := range pkgs {
		from := refOf(pkgMod[p.ImportPath])
		if from == s.Stdlib.Ref() {
			continue
		}
		for _, imp := range p.Imports {
			key, ok := pkgMod[imp]
			if !ok {
				continue // "C" and friends: not packages
			}
			if to := refOf(key); to != from {
				edges[[2]string{from, to}] = true
			}
		}
	}
	if c.artifact != nil {
		a := *c.artifact
		s.Root = &a
	}
	s.finish(c)
	if s.Root != nil {
		s.Relationships = append(s.Relationships, Relationship{From: RootRef, To: s.Main.Ref(), Type: Contains})
	}
	sorted := make([][2]string, 0, len(edges))
	for e := range edges {
		sorted = append(sorted, e)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i][0] != sorted[j][0] {
			return sorted[i][0] < sorted[j][0]
		}
		return sorted[i][1] < sorted[j][1]
	})
	for _, e := range sorted {
		s.Relationships = append(s.Relationships, Relationship{From: e[0], To: e[1], Type: DependsOn})
	}
	return s, nil
}

func runGo(ctx context.Context, c *config, dir string, env []string, args ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, c.goCmd, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGoList, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGoList, err)
	}
	out, rerr := io.ReadAll(io.LimitReader(stdout, c.maxGoList+1))
	if int64(len(out)) > c.maxGoList {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%w: go %s output over %d bytes", ErrTooLarge, args[0], c.maxGoList)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if rerr != nil || werr != nil {
		return nil, fmt.Errorf("%w: go %s: %v: %s", ErrGoList, args[0], errors.Join(rerr, werr), strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > l.n {
		p = p[:l.n]
	}
	l.n -= len(p)
	_, err := l.w.Write(p)
	return n, err
}

// goEnv reads the variables FromSource needs from `go env`.
func goEnv(ctx context.Context, c *config, dir string, env []string) (map[string]string, error) {
	out, err := runGo(ctx, c, dir, env, "env", "-json", "GOVERSION", "GOROOT", "GOOS", "GOARCH",
		"CGO_ENABLED", "GOFLAGS", "GOAMD64", "GOARM64", "GOARM", "GO386", "GOMIPS", "GOMIPS64",
		"GOPPC64", "GORISCV64", "GOWASM")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%w: go env: %v", ErrGoList, err)
	}
	return m, nil
}

// sourceSettings derives the build settings `go build` would record, in its
// order: -ldflags (not with -trimpath, as go build), -tags, -trimpath,
// CGO_ENABLED, GOARCH, GOOS, then the architecture level (GOAMD64, ...).
func sourceSettings(goenv map[string]string, flags []string) []BuildSetting {
	all := append(strings.Fields(goenv["GOFLAGS"]), flags...)
	vals := map[string]string{}
	for i := 0; i < len(all); i++ {
		f := strings.TrimPrefix(all[i], "-")
		f = strings.TrimPrefix(f, "-")
		name, val, hasVal := strings.Cut(f, "=")
		switch name {
		case "ldflags", "tags":
			if !hasVal && i+1 < len(all) {
				i++
				val = all[i]
			}
			vals["-"+name] = val
		case "trimpath":
			if !hasVal {
				val = "true"
			}
			if b, err := strconv.ParseBool(val); err == nil && b {
				vals["-trimpath"] = "true"
			} else {
				delete(vals, "-trimpath")
			}
		}
	}
	if vals["-trimpath"] != "" {
		// As go build: with -trimpath, -ldflags (which may hold paths) is
		// not recorded.
		delete(vals, "-ldflags")
	}
	var out []BuildSetting
	for _, k := range []string{"-ldflags", "-tags", "-trimpath"} {
		if v, ok := vals[k]; ok && v != "" {
			out = append(out, BuildSetting{Key: k, Value: v})
		}
	}
	cgo := goenv["CGO_ENABLED"]
	if cgo == "" {
		cgo = "0"
	}
	out = append(out,
		BuildSetting{Key: "CGO_ENABLED", Value: cgo},
		BuildSetting{Key: "GOARCH", Value: goenv["GOARCH"]},
		BuildSetting{Key: "GOOS", Value: goenv["GOOS"]})
	if k := "GO" + strings.ToUpper(goenv["GOARCH"]); goenv[k] != "" {
		out = append(out, BuildSetting{Key: k, Value: goenv[k]})
	}
	return out
}

// readGoSum maps "path version" to the h1 sum of the module zip (the
// "/go.mod" lines are skipped). A missing or oversized file gives an empty
// map.
func readGoSum(path string) map[string]string {
	m := map[string]string{}
	b, err := readLimited(path, 64<<20)
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || strings.HasSuffix(f[1], "/go.mod") || !strings.HasPrefix(f[2], "h1:") {
			continue
		}
		m[f[0]+" "+f[1]] = f[2]
	}
	return m
}

// gitVersion is the version the go command (1.24+) would stamp on a main
// module built from a git checkout: the semver tag on HEAD (with the module
// directory's prefix for a module in a subdirectory), else a pseudo-version
// based on the latest reachable such tag; "+dirty" for a modified tree. It
// returns "" outside a git checkout or when git is unavailable.
func gitVersion(ctx context.Context, dir, modPath string, env []string) string {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Env = env
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	top, err := git("rev-parse", "--show-toplevel")
	if err != nil || top == "" {
		return ""
	}
	rev, err := git("rev-parse", "HEAD")
	if err != nil || len(rev) < 12 {
		return ""
	}
	ct, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return ""
	}
	secs, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return ""
	}
	status, err := git("status", "--porcelain")
	dirty := err != nil || status != ""

	prefix := ""
	if rel, err := filepath.Rel(evalDir(top), evalDir(dir)); err == nil && rel != "." {
		prefix = filepath.ToSlash(rel) + "/"
	}
	_, pathMajor, _ := module.SplitPathVersion(modPath)
	major := strings.TrimLeft(pathMajor, "/.")
	okTag := func(tag string) (string, bool) {
		v, ok := strings.CutPrefix(tag, prefix)
		if !ok || !semver.IsValid(v) || v != semver.Canonical(v) && semver.Build(v) == "" {
			return "", false
		}
		if err := module.CheckPathMajor(v, pathMajor); err != nil {
			return "", false
		}
		return v, true
	}
	if tags, err := git("tag", "--points-at", "HEAD"); err == nil && !dirty {
		best := ""
		for _, t := range strings.Fields(tags) {
			if v, ok := okTag(t); ok && semver.Compare(v, best) > 0 {
				best = v
			}
		}
		if best != "" {
			return best
		}
	}
	base := ""
	if tags, err := git("tag", "--merged", "HEAD", "--list", prefix+"v*"); err == nil {
		for _, t := range strings.Fields(tags) {
			if v, ok := okTag(t); ok && semver.Compare(v, base) > 0 {
				base = v
			}
		}
	}
	v := module.PseudoVersion(major, base, time.Unix(secs, 0).UTC(), rev[:12])
	if dirty {
		v += "+dirty"
	}
	return v
}

func evalDir(d string) string {
	if r, err := filepath.EvalSymlinks(d); err == nil {
		return r
	}
	return d
}
