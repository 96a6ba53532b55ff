package sbom

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// FromBinary reads the build information the Go toolchain embedded in the
// executable at path and returns its SBOM. The module set is exactly the one
// `go version -m` prints. The root artifact is the file itself, with the
// SHA-256 of its bytes. A file that is not a Go executable, or is truncated
// or corrupt, yields an error matching ErrNotGoBinary.
func FromBinary(path string, opts ...Option) (*SBOM, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotGoBinary, path)
	}
	return FromReaderAt(f, fi.Size(), filepath.Base(path), opts...)
}

// FromReaderAt is FromBinary for an executable of size bytes read through r
// and named name in the SBOM.
func FromReaderAt(r io.ReaderAt, size int64, name string, opts ...Option) (*SBOM, error) {
	if r == nil || size <= 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotGoBinary)
	}
	c := newConfig(opts)
	bi, err := readBuildInfo(r)
	if err != nil {
		return nil, err
	}
	// Hash the artifact while the module cache is read: both are I/O and
	// SHA-256 bound, and independent.
	type hashed struct {
		sum string
		err error
	}
	rootSum := make(chan hashed, 1)
	go func() {
		h := sha256.New()
		_, err := io.Copy(h, io.NewSectionReader(r, 0, size))
		rootSum <- hashed{hex.EncodeToString(h.Sum(nil)), err}
	}()
	s := fromBuildInfo(bi, c)
	ptrs := make([]*Module, 0, len(s.Modules)+1)
	for i := range s.Modules {
		ptrs = append(ptrs, &s.Modules[i])
	}
	if s.Main.Version != "" && s.Main.Sum != "" {
		// Built from a module the go command downloaded (go install m@v).
		ptrs = append(ptrs, &s.Main)
	}
	enrich(context.Background(), c, ptrs, nil)
	hr := <-rootSum
	if hr.err != nil {
		return nil, fmt.Errorf("sbom: hashing %s: %w", name, hr.err)
	}
	s.Root = &Artifact{Name: name, SHA256: hr.sum, Size: size}
	s.finish(c)
	s.binaryRelationships()
	return s, nil
}

// readBuildInfo wraps debug/buildinfo: every failure, including a panic in
// the object-file parsers on hostile input, becomes ErrNotGoBinary.
func readBuildInfo(r io.ReaderAt) (bi *buildinfo.BuildInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			bi, err = nil, fmt.Errorf("%w: malformed executable: %v", ErrNotGoBinary, p)
		}
	}()
	bi, err = buildinfo.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotGoBinary, err)
	}
	if bi == nil || bi.GoVersion == "" {
		return nil, fmt.Errorf("%w: no Go version recorded", ErrNotGoBinary)
	}
	if bi.Path == "" && bi.Main.Path == "" {
		return nil, fmt.Errorf("%w: no main package recorded", ErrNotGoBinary)
	}
	return bi, nil
}

func fromBuildInfo(bi *buildinfo.BuildInfo, c *config) *SBOM {
	s := &SBOM{GoVersion: bi.GoVersion}
	for _, st := range bi.Settings {
		s.BuildSettings = append(s.BuildSettings, BuildSetting{Key: st.Key, Value: st.Value})
	}
	s.Main = Module{Path: bi.Main.Path, Version: bi.Main.Version, Sum: bi.Main.Sum}
	if s.Main.Path == "" {
		s.Main.Path = bi.Path // e.g. "command-line-arguments" for `go build x.go`
	}
	s.Main.Version = s.mainVersion(c, s.Main.Path, s.Main.Version)
	for _, d := range bi.Deps {
		if d == nil {
			continue
		}
		s.Modules = append(s.Modules, moduleFromDebug(d))
	}
	s.Stdlib = Module{Path: "stdlib", Version: stdlibVersion(bi.GoVersion)}
	return s
}

// mainVersion picks the main module's version: the caller's, else the
// stamped one, else a pseudo-version from the VCS stamp, else "".
func (s *SBOM) mainVersion(c *config, path, stamped string) string {
	if c.mainVersion != "" {
		return c.mainVersion
	}
	if stamped != "" && stamped != "(devel)" {
		return stamped
	}
	vcs, _ := s.setting("vcs")
	rev, _ := s.setting("vcs.revision")
	t, _ := s.setting("vcs.time")
	mod, _ := s.setting("vcs.modified")
	if v, ok := pseudoVersion(path, vcs, rev, t, mod == "true"); ok {
		return v
	}
	return ""
}

func moduleFromDebug(d *debug.Module) Module {
	if d.Replace == nil {
		if d.Version == "(devel)" {
			// Another module of a go.work workspace: built from a directory
			// the binary does not name, at no version.
			return Module{Path: d.Path}
		}
		return Module{Path: d.Path, Version: d.Version, Sum: d.Sum}
	}
	orig := &ModuleVersion{Path: d.Path, Version: d.Version}
	if isLocalReplacement(d.Replace.Path, d.Replace.Version) {
		// Replacement by a local directory: no module identity of its own
		// (the toolchain records its version as "(devel)").
		return Module{Path: d.Path, Version: d.Version, LocalDir: d.Replace.Path, Replaces: orig}
	}
	return Module{Path: d.Replace.Path, Version: d.Replace.Version, Sum: d.Replace.Sum, Replaces: orig}
}

// binaryRelationships: root CONTAINS main; main DEPENDS_ON every module and
// the standard library (a binary records no module graph).
func (s *SBOM) binaryRelationships() {
	s.Relationships = append(s.Relationships[:0], Relationship{From: RootRef, To: s.Main.Ref(), Type: Contains})
	for _, m := range s.Modules {
		s.Relationships = append(s.Relationships, Relationship{From: s.Main.Ref(), To: m.Ref(), Type: DependsOn})
	}
	s.Relationships = append(s.Relationships, Relationship{From: s.Main.Ref(), To: s.Stdlib.Ref(), Type: DependsOn})
}

// isLocalReplacement reports whether a replacement names a directory rather
// than a module version: go.mod allows that exactly for paths starting with
// "./", "../" or "/" (or a Windows volume), which carry no version.
func isLocalReplacement(path, version string) bool {
	if version == "" || version == "(devel)" {
		return true
	}
	return strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") || filepath.IsAbs(path)
}
