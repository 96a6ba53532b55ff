package sbom

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/licensecheck"
)

// Errors returned by the builders and encoders. Match them with errors.Is.
var (
	// ErrNotGoBinary is returned by FromBinary and FromReaderAt for a file
	// that is not a Go executable with build information, or is truncated or
	// corrupt.
	ErrNotGoBinary = errors.New("sbom: not a Go binary with build information")
	// ErrGoList is returned by FromSource when the go command fails or its
	// output cannot be read.
	ErrGoList = errors.New("sbom: go list failed")
	// ErrNoSubject is returned by the statement builders when no subject is
	// given and the SBOM has no root artifact to default to.
	ErrNoSubject = errors.New("sbom: statement has no subject")
	// ErrInvalidSubject is returned for a subject without a name or with a
	// malformed digest.
	ErrInvalidSubject = errors.New("sbom: invalid statement subject")
	// ErrInvalidDocument is returned by ValidateSPDX for a document that
	// breaks the SPDX 2.3 rules it checks, and by the encoders when the
	// SBOM itself is incomplete (no main module, for instance).
	ErrInvalidDocument = errors.New("sbom: invalid document")
	// ErrTooLarge is returned for input over a size limit.
	ErrTooLarge = errors.New("sbom: input too large")
)

// SBOM is the format-neutral model both encoders consume. Builders fill it;
// callers may adjust it before encoding (the encoders read it, never write
// it).
type SBOM struct {
	// Name is the document name; Namespace the unique SPDX document
	// namespace (also the seed of the CycloneDX serial number).
	Name      string
	Namespace string
	// Created is the creation time, written in UTC to the second.
	Created time.Time
	// Tool names the generator ("slsakit" unless WithToolName says otherwise).
	Tool Tool

	// Root is the built artifact the SBOM describes (the binary), or nil
	// for a source SBOM without WithArtifact.
	Root *Artifact
	// GoVersion is the toolchain that built (or would build) the artifact,
	// as the go command spells it ("go1.25.8").
	GoVersion string
	// Main is the main module. Its Version is never "(devel)": it is the
	// caller's WithMainVersion, else the stamped version, else a
	// pseudo-version from the VCS stamp, or empty when none is known.
	Main Module
	// Modules are the dependency modules that reach the artifact, sorted by
	// path then version.
	Modules []Module
	// Stdlib is the standard library, Path "stdlib", Version the Go version
	// without its "go" prefix.
	Stdlib Module
	// BuildSettings are the build settings, in the order the toolchain
	// recorded them (binaries) or the order FromSource derived them.
	BuildSettings []BuildSetting
	// Relationships are the edges between Root and modules (by Ref).
	Relationships []Relationship

	// Image is set for the SBOM of a container image
	// (ImageContents.SBOM): Root is then the image (its manifest digest)
	// and Main, Modules and Stdlib are unused; the encoders write the
	// image's OS packages and each Go binary's own SBOM.
	Image *ImageContents
}

// Tool names the program that generated the SBOM.
type Tool struct {
	Name    string
	Version string
}

// Artifact is a built file: a binary.
type Artifact struct {
	Name   string // file name (base name unless the caller says otherwise)
	SHA256 string // lower-case hex SHA-256 of the file's bytes
	Size   int64  // size in bytes, or -1 when unknown
}

// Module is one Go module that reaches the artifact.
type Module struct {
	// Path and Version are the module actually built: after a replace
	// directive, the replacement's. For a replacement by a local directory
	// (which has no module path or version of its own), Path and Version
	// are the original requirement's and LocalDir names the directory.
	Path    string
	Version string
	// Sum is the go.sum "h1:" hash of the module's file tree, as recorded
	// by the toolchain. It is a hash of a canonical listing of the files'
	// SHA-256 sums, not the SHA-256 of anything a user downloads, and is
	// never presented as one.
	Sum string
	// Replaces is the original requirement when a replace directive applied.
	Replaces *ModuleVersion
	// LocalDir is the directory of a replacement by a local path, as
	// written in go.mod (and recorded in the binary).
	LocalDir string
	// ZipSHA256 is the lower-case hex SHA-256 of the module zip, exactly
	// the file the module proxy serves, when the local module cache held it
	// (and, when Sum is known, the zip's h1 matched Sum). Empty otherwise.
	ZipSHA256 string
	// Licenses are SPDX license identifiers detected offline from the
	// module's license files. Empty means NOASSERTION.
	Licenses []string
}

// ModuleVersion is a module path and version.
type ModuleVersion struct {
	Path    string
	Version string
}

// BuildSetting is one key=value build setting, as `go version -m` prints
// them ("GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "-ldflags", "-tags",
// "vcs.revision", ...).
type BuildSetting struct {
	Key   string
	Value string
}

// RelationshipType is the kind of edge between two elements.
type RelationshipType string

// The relationship types the builders emit, named as in SPDX.
const (
	// Contains: the root artifact contains the main module.
	Contains RelationshipType = "CONTAINS"
	// DependsOn: a module depends on another (or on the standard library).
	DependsOn RelationshipType = "DEPENDS_ON"
)

// Relationship is an edge From -> To between element references (see Ref
// and RootRef).
type Relationship struct {
	From string
	To   string
	Type RelationshipType
}

// RootRef is the element reference of the root artifact in Relationships.
const RootRef = "artifact"

// Ref returns the element reference of m used in Relationships:
// "path@version", or "path" for a module without a version.
func (m Module) Ref() string {
	if m.Version == "" {
		return m.Path
	}
	return m.Path + "@" + m.Version
}

// PURL returns the package URL of m: pkg:golang/<namespace>/<name>@<version>
// with every segment percent-encoded as the purl specification requires.
// Go module paths are case sensitive, so case is preserved (lower-casing
// would name a different module: github.com/Sirupsen/logrus and
// github.com/sirupsen/logrus are two modules). A module replaced by a local
// directory has no purl (it is not what the proxy serves at any version):
// PURL returns "".
func (m Module) PURL() string {
	if m.LocalDir != "" || m.Path == "" {
		return ""
	}
	return purl(m.Path, m.Version)
}

// DownloadLocation returns the module proxy URL of m's zip
// (https://proxy.golang.org/<escaped path>/@v/<escaped version>.zip), or ""
// when m has no such location (a local replacement, an unversioned main
// module, the standard library).
func (m Module) DownloadLocation() string {
	if m.LocalDir != "" || m.Path == "stdlib" {
		return ""
	}
	return proxyZipURL(m.Path, m.Version)
}

// LicenseExpression returns the SPDX license expression of m (the detected
// identifiers joined with AND), or "" when unknown.
func (m Module) LicenseExpression() string {
	return strings.Join(m.Licenses, " AND ")
}

// Option configures a builder.
type Option func(*config)

type config struct {
	created     time.Time
	namespace   string
	name        string
	tool        Tool
	mainVersion string
	modCache    string
	modCacheSet bool
	verifyZips  bool
	artifact    *Artifact
	env         []string
	buildFlags  []string
	goCmd       string
	maxGoList   int64
	scanner     *licensecheck.Scanner
	scannerSet  bool
	maxBinary   int64
	maxNested   int64
	remote      []remote.Option
	platform    *v1.Platform
	insecure    bool
}

// licenseScanner returns the scanner for license detection, or nil when
// detection is off.
func (c *config) licenseScanner() *licensecheck.Scanner {
	if c.scannerSet {
		return c.scanner
	}
	sc, err := defaultScanner()
	if err != nil {
		return nil
	}
	return sc
}

// licensesOn reports whether license detection is on (WithLicenseScanner
// was not given nil).
func (c *config) licensesOn() bool { return !c.scannerSet || c.scanner != nil }

// WithLicenseScanner sets the licensecheck scanner used to detect module
// licenses (default: a scanner for the licenses Go modules commonly use,
// built once per process). A nil scanner turns license detection off.
func WithLicenseScanner(sc *licensecheck.Scanner) Option {
	return func(c *config) { c.scanner, c.scannerSet = sc, true }
}

// DefaultMaxGoListOutput is the largest `go list` output FromSource reads.
const DefaultMaxGoListOutput = 256 << 20

func newConfig(opts []Option) *config {
	c := &config{
		tool:      Tool{Name: "slsakit", Version: "devel"},
		goCmd:     "go",
		maxGoList: DefaultMaxGoListOutput,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if !c.modCacheSet {
		c.modCache = defaultModCache(c.env)
	}
	return c
}

// WithCreated sets the creation time. Without it the builders use
// SOURCE_DATE_EPOCH when set, else the current time.
func WithCreated(t time.Time) Option { return func(c *config) { c.created = t } }

// WithNamespace sets the SPDX document namespace (a unique URI). Without it
// a namespace is derived from the SBOM's content, so that the same input
// gives the same document.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithName sets the document name (default: the artifact or main module).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithToolName names the generating tool recorded in the documents.
func WithToolName(name, version string) Option {
	return func(c *config) { c.tool = Tool{Name: name, Version: version} }
}

// WithMainVersion sets the main module's version, overriding whatever the
// binary or the VCS says.
func WithMainVersion(v string) Option { return func(c *config) { c.mainVersion = v } }

// WithModuleCache sets the module cache directory (GOMODCACHE) consulted,
// offline, for module zip SHA-256 sums and license files. An empty dir
// disables the lookups. Default: $GOMODCACHE, else $GOPATH/pkg/mod (first
// GOPATH entry), else $HOME/go/pkg/mod.
func WithModuleCache(dir string) Option {
	return func(c *config) { c.modCache, c.modCacheSet = dir, true }
}

// WithZipVerification makes the builders recompute the h1 hash of every
// cached module zip (decompressing it) and report the zip's SHA-256 only
// when it equals the module's recorded h1 sum. By default the cheaper check
// applies: the h1 the go command recorded next to the zip when it verified
// the download (<version>.ziphash) must equal the module's sum. Either way
// a zip that does not match is ignored. Modules without a recorded sum
// (vendored builds) are reported without this check.
func WithZipVerification(on bool) Option { return func(c *config) { c.verifyZips = on } }

// WithArtifact sets the root artifact of a source SBOM (FromSource), for
// instance the binary the caller is about to build from it.
func WithArtifact(name, sha256Hex string, size int64) Option {
	return func(c *config) { c.artifact = &Artifact{Name: name, SHA256: sha256Hex, Size: size} }
}

// WithEnv adds environment entries ("GOOS=linux", "CGO_ENABLED=0", ...) to
// the go command FromSource runs, on top of the process environment.
func WithEnv(env ...string) Option {
	return func(c *config) { c.env = append(c.env, env...) }
}

// WithBuildFlags passes build flags ("-tags=netgo", "-trimpath",
// "-ldflags=-s -w", "-mod=vendor") to `go list` in FromSource and records
// them as build settings, as `go build` would.
func WithBuildFlags(flags ...string) Option {
	return func(c *config) { c.buildFlags = append(c.buildFlags, flags...) }
}

// WithGoCommand sets the go command FromSource runs (default "go").
func WithGoCommand(path string) Option { return func(c *config) { c.goCmd = path } }

func defaultModCache(extraEnv []string) string {
	get := func(k string) string {
		for i := len(extraEnv) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(extraEnv[i], k+"="); ok {
				return v
			}
		}
		return os.Getenv(k)
	}
	if d := get("GOMODCACHE"); d != "" {
		return d
	}
	if gp := get("GOPATH"); gp != "" {
		if first, _, _ := strings.Cut(gp, string(filepath.ListSeparator)); first != "" {
			return filepath.Join(first, "pkg", "mod")
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// finish fills document metadata, sorts modules and derives defaults.
func (s *SBOM) finish(c *config) {
	sort.Slice(s.Modules, func(i, j int) bool {
		if s.Modules[i].Path != s.Modules[j].Path {
			return s.Modules[i].Path < s.Modules[j].Path
		}
		return s.Modules[i].Version < s.Modules[j].Version
	})
	s.Tool = c.tool
	s.Created = c.created
	if s.Created.IsZero() {
		s.Created = time.Now()
		if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				s.Created = time.Unix(n, 0)
			}
		}
	}
	s.Created = s.Created.UTC().Truncate(time.Second)
	s.Name = c.name
	if s.Name == "" {
		switch {
		case s.Root != nil:
			s.Name = s.Root.Name
		default:
			s.Name = s.Main.Ref()
		}
	}
	s.Namespace = c.namespace
	if s.Namespace == "" {
		s.Namespace = "https://slsakit.dev/sbom/" + sanitizeNS(s.Name) + "-" + s.contentID()
	}
}

func sanitizeNS(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if isUnreserved(ch) {
			b = append(b, ch)
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// contentID is a UUID (version 5 layout) derived from everything the SBOM
// says, so a derived namespace changes whenever the content does.
func (s *SBOM) contentID() string {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	w(s.Created.UTC().Format(time.RFC3339), s.GoVersion, s.Main.Ref(), s.Main.LocalDir)
	if s.Root != nil {
		w(s.Root.Name, s.Root.SHA256)
	}
	for _, m := range s.Modules {
		w(m.Ref(), m.Sum, m.LocalDir, m.ZipSHA256)
	}
	for _, b := range s.BuildSettings {
		w(b.Key, b.Value)
	}
	if s.Image != nil {
		w(s.Image.Digest, s.Image.Platform)
		for _, p := range s.Image.Packages {
			w(p.PURL(), p.Layer, p.License)
		}
		for _, b := range s.Image.Binaries {
			if b.SBOM != nil && b.SBOM.Root != nil {
				w(b.Path, b.Layer, b.SBOM.Root.SHA256)
			}
		}
	}
	return uuid5(hex.EncodeToString(h.Sum(nil)))
}

// uuid5 returns the RFC 9562 version 5 UUID of name in the URL namespace.
func uuid5(name string) string {
	ns := [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	x := hex.EncodeToString(u)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// setting returns the value of build setting key and whether it is present.
func (s *SBOM) setting(key string) (string, bool) {
	for _, b := range s.BuildSettings {
		if b.Key == key {
			return b.Value, true
		}
	}
	return "", false
}

// stdlibVersion turns "go1.25.8" (possibly followed by " X:exp" or a
// "+auto" suffix) into "1.25.8", the purl convention for pkg:golang/stdlib.
func stdlibVersion(goVersion string) string {
	v, _, _ := strings.Cut(strings.TrimSpace(goVersion), " ")
	v = strings.TrimPrefix(v, "go")
	return v
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
