package provenance

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/slsakit/slsakit/intoto"
)

// goModule is the part of `go list -json` module output used here.
type goModule struct {
	Path    string
	Version string
	Sum     string
	Dir     string
	Main    bool
	Replace *goModule
}

// GoModules returns the Go modules that building the packages matching
// patterns (default "./...") in module dir actually uses, from
// `go list -deps -json`; test-only dependencies are not included. The go
// command runs with the caller's environment (GOFLAGS, GOOS, GOPROXY...).
//
// Each module is one descriptor with URI "pkg:golang/<path>@<version>" (a
// purl; every character outside [A-Za-z0-9._~-] of a path segment or the
// version is percent-encoded) and, when the go command knows the module's
// h1 sum (or the main module's go.sum has it, as in vendor mode), digest
// {"dirHash": <hex of the h1 sum>}. An h1 sum is a tree
// hash, not the SHA-256 of a download, so it is never labelled sha256.
//
// A replaced module is reported as its replacement, with the original
// purl in the "replaces" annotation. A replacement by a local directory
// gets name = the directory as written in go.mod, no URI, and the dirHash
// of that directory's files as DirMaterial computes it, with the
// annotation "goReplacement": "local". The main module(s) are left out:
// describe the source with GitMaterial or DirMaterial.
func GoModules(ctx context.Context, dir string, patterns ...string) ([]intoto.ResourceDescriptor, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	args := append([]string{"list", "-deps", "-json=ImportPath,Module", "--"}, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return nil, fmt.Errorf("%w: go list: %v: %s", ErrGoCommand, err, msg)
	}
	seen := map[string]goModule{}
	dec := json.NewDecoder(&stdout)
	for {
		var p struct{ Module *goModule }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%w: go list output: %v", ErrGoCommand, err)
		}
		if p.Module == nil || p.Module.Main {
			continue // standard library or main module
		}
		seen[p.Module.Path+"@"+p.Module.Version] = *p.Module
	}
	if err := fillSumsFromGoSum(ctx, dir, seen); err != nil {
		return nil, err
	}
	out := make([]intoto.ResourceDescriptor, 0, len(seen))
	for _, m := range seen {
		rd, err := moduleDescriptor(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, rd)
	}
	sortRDs(out)
	return out, nil
}

// fillSumsFromGoSum completes module sums the go command did not report
// (in vendor mode it reports none) from the main module's go.sum. A sum is
// taken only for the exact path and version.
func fillSumsFromGoSum(ctx context.Context, dir string, mods map[string]goModule) error {
	missing := false
	for _, m := range mods {
		t := m
		if m.Replace != nil {
			t = *m.Replace
		}
		if t.Sum == "" && !isLocalReplacement(t) && m.Sum == "" {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%w: go env GOMOD: %v", ErrGoCommand, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(gomod), "go.sum"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.HasPrefix(f[2], "h1:") && !strings.HasSuffix(f[1], "/go.mod") {
			sums[f[0]+"@"+f[1]] = f[2]
		}
	}
	for k, m := range mods {
		if m.Replace != nil {
			r := *m.Replace
			if r.Sum == "" && m.Sum == "" && !isLocalReplacement(r) {
				r.Sum = sums[r.Path+"@"+r.Version]
				m.Replace = &r
			}
		} else if m.Sum == "" {
			m.Sum = sums[m.Path+"@"+m.Version]
		}
		mods[k] = m
	}
	return nil
}

// GoModulesFromBinary returns the Go modules linked into the binary at
// path, read from its build info, in the shape GoModules returns. Local
// directory replacements carry no digest (the binary does not record one).
func GoModulesFromBinary(path string) ([]intoto.ResourceDescriptor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return GoModulesFromBinaryReader(f)
}

// GoModulesFromBinaryReader is GoModulesFromBinary on an open binary.
func GoModulesFromBinaryReader(r io.ReaderAt) ([]intoto.ResourceDescriptor, error) {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBuildInfo, err)
	}
	return modulesFromBuildInfo(bi)
}

func modulesFromBuildInfo(bi *debug.BuildInfo) ([]intoto.ResourceDescriptor, error) {
	out := make([]intoto.ResourceDescriptor, 0, len(bi.Deps))
	for _, d := range bi.Deps {
		m := goModule{Path: d.Path, Version: d.Version, Sum: d.Sum}
		if d.Replace != nil {
			m.Replace = &goModule{Path: d.Replace.Path, Version: d.Replace.Version, Sum: d.Replace.Sum}
		}
		rd, err := moduleDescriptor(context.Background(), m)
		if err != nil {
			return nil, err
		}
		out = append(out, rd)
	}
	sortRDs(out)
	return out, nil
}

func moduleDescriptor(ctx context.Context, m goModule) (intoto.ResourceDescriptor, error) {
	if m.Replace == nil {
		return moduleRD(m)
	}
	orig := GoPURL(m.Path, m.Version)
	r := *m.Replace
	if isLocalReplacement(r) {
		rd := intoto.ResourceDescriptor{
			Name:        r.Path,
			Annotations: map[string]any{"replaces": orig, "goReplacement": "local"},
		}
		if r.Dir != "" {
			h, err := dirHash(ctx, r.Dir, "")
			if err != nil {
				return intoto.ResourceDescriptor{}, fmt.Errorf("replacement %s: %w", r.Path, err)
			}
			rd.Digest = intoto.DigestSet{intoto.AlgDirHash: h}
		}
		return rd, nil
	}
	if r.Sum == "" {
		r.Sum = m.Sum // go list reports the sum on the outer module
	}
	rd, err := moduleRD(r)
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	rd.Annotations = map[string]any{"replaces": orig}
	return rd, nil
}

// isLocalReplacement reports a replacement by a directory: go list gives
// it no version, build info gives "(devel)", and its path is a file path.
func isLocalReplacement(r goModule) bool {
	p := filepath.ToSlash(r.Path)
	return r.Version == "" || r.Version == "(devel)" || p == "." || p == ".." ||
		strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || filepath.IsAbs(r.Path)
}

func moduleRD(m goModule) (intoto.ResourceDescriptor, error) {
	rd := intoto.ResourceDescriptor{URI: GoPURL(m.Path, m.Version)}
	if m.Sum != "" {
		h, err := H1ToHex(m.Sum)
		if err != nil {
			return intoto.ResourceDescriptor{}, fmt.Errorf("module %s@%s: %w", m.Path, m.Version, err)
		}
		rd.Digest = intoto.DigestSet{intoto.AlgDirHash: h}
	}
	return rd, nil
}

// H1ToHex converts a Go module sum "h1:<base64>" to the lowercase hex used
// under the dirHash digest algorithm.
func H1ToHex(sum string) (string, error) {
	b64, ok := strings.CutPrefix(sum, "h1:")
	if !ok {
		return "", fmt.Errorf("%w: module sum %q is not h1", intoto.ErrInvalidDigest, sum)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("%w: module sum %q", intoto.ErrInvalidDigest, sum)
	}
	return hex.EncodeToString(raw), nil
}

// GoPURL returns the package URL of a Go module version:
// "pkg:golang/<path>@<version>", each path segment and the version
// percent-encoded outside [A-Za-z0-9._~-]. Case is kept (Go module paths
// are case-sensitive).
func GoPURL(path, version string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = purlEscape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + purlEscape(version)
	}
	return p
}

func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._~-", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func sortRDs(rds []intoto.ResourceDescriptor) {
	sort.SliceStable(rds, func(i, j int) bool {
		if rds[i].URI != rds[j].URI {
			return rds[i].URI < rds[j].URI
		}
		return rds[i].Name < rds[j].Name
	})
}
