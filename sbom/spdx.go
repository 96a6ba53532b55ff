package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// Property and annotation names used in both formats. SPDX carries them as
// package annotations ("name=value", type OTHER), CycloneDX as properties.
const (
	// PropH1 is a module's go.sum "h1:" hash. It is NOT a SHA-256 of
	// anything downloadable and is never written as a SHA256 checksum.
	PropH1 = "slsakit:go:module:h1"
	// PropReplaces is the original requirement (path@version) of a
	// replaced module.
	PropReplaces = "slsakit:go:module:replaces"
	// PropLocalDir is the directory of a replacement by a local path.
	PropLocalDir = "slsakit:go:module:local-dir"
	// PropGoVersion is the Go toolchain version that built the artifact.
	PropGoVersion = "slsakit:go:version"
	// PropBuildPrefix prefixes each build setting key
	// ("slsakit:go:build:GOOS", "slsakit:go:build:-ldflags").
	PropBuildPrefix = "slsakit:go:build:"
	// PropMainModule names the Go main module a root artifact was built
	// from.
	PropMainModule = "slsakit:go:main-module"
)

const noAssertion = "NOASSERTION"

// spdxID returns a stable SPDX element ID (without the SPDXRef- prefix)
// for a kind of element and key: readable, and unique through a short hash
// of the key.
func spdxID(kind, name, key string) common.ElementID {
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	return common.ElementID(kind + "-" + sanitizeID(name) + "-" + hex.EncodeToString(sum[:4]))
}

func sanitizeID(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// stdlibSourceRE matches release Go versions, which have a source archive
// at https://go.dev/dl/go<version>.src.tar.gz.
var stdlibSourceRE = regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+(\.[0-9]+|rc[0-9]+|beta[0-9]+)?$`)

func (s *SBOM) check() error {
	if s == nil {
		return fmt.Errorf("%w: nil SBOM", ErrInvalidDocument)
	}
	if s.Image != nil {
		if s.Root == nil {
			return fmt.Errorf("%w: image SBOM without root", ErrInvalidDocument)
		}
		for _, b := range s.Image.Binaries {
			if b.SBOM == nil {
				return fmt.Errorf("%w: binary %s without SBOM", ErrInvalidDocument, b.Path)
			}
		}
	} else if s.Main.Path == "" {
		return fmt.Errorf("%w: no main module", ErrInvalidDocument)
	}
	if s.Root != nil && !isHex64(s.Root.SHA256) {
		return fmt.Errorf("%w: root artifact SHA-256 %q is not 64 lower-case hex digits", ErrInvalidDocument, s.Root.SHA256)
	}
	if s.Namespace == "" || s.Name == "" {
		return fmt.Errorf("%w: no document name or namespace", ErrInvalidDocument)
	}
	return nil
}

// SPDX encodes the SBOM as an SPDX 2.3 JSON document through
// spdx/tools-golang. For a fixed Created and Namespace the bytes are
// deterministic.
func (s *SBOM) SPDX() ([]byte, error) {
	doc, err := s.spdxDocument()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("sbom: encoding SPDX: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *SBOM) spdxDocument() (*spdx.Document, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.Image != nil {
		return s.spdxImageDocument()
	}
	created := s.Created.UTC().Format(time.RFC3339)
	tool := s.Tool.Name
	if s.Tool.Version != "" {
		tool += "-" + s.Tool.Version
	}
	annotator := common.Annotator{Annotator: tool, AnnotatorType: "Tool"}
	annotate := func(p *spdx.Package, name, value string) {
		p.Annotations = append(p.Annotations, spdx.Annotation{
			Annotator:         annotator,
			AnnotationDate:    created,
			AnnotationType:    "OTHER",
			AnnotationComment: name + "=" + value,
		})
	}
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      s.Name,
		DocumentNamespace: s.Namespace,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{Creator: tool, CreatorType: "Tool"}},
			Created:  created,
		},
	}
	ids := map[string]common.ElementID{}
	rel := func(a, b common.ElementID, typ string) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA:         common.MakeDocElementID("", string(a)),
			RefB:         common.MakeDocElementID("", string(b)),
			Relationship: typ,
		})
	}

	modPkg := func(m Module, purpose string) *spdx.Package {
		p := &spdx.Package{
			PackageName:             m.Path,
			PackageSPDXIdentifier:   spdxID("GoModule", m.Ref(), m.Ref()+"\x00"+m.LocalDir),
			PackageVersion:          m.Version,
			PackageDownloadLocation: noAssertion,
			FilesAnalyzed:           false,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PrimaryPackagePurpose:   purpose,
		}
		if dl := m.DownloadLocation(); dl != "" {
			p.PackageDownloadLocation = dl
		}
		if m.ZipSHA256 != "" {
			p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: m.ZipSHA256}}
		}
		if l := m.LicenseExpression(); l != "" {
			p.PackageLicenseDeclared = l
		}
		if u := m.PURL(); u != "" {
			p.PackageExternalReferences = []*spdx.PackageExternalReference{{
				Category: common.CategoryPackageManager,
				RefType:  common.TypePackageManagerPURL,
				Locator:  u,
			}}
		}
		if m.Sum != "" {
			annotate(p, PropH1, m.Sum)
		}
		if m.Replaces != nil {
			annotate(p, PropReplaces, m.Replaces.Path+"@"+m.Replaces.Version)
			p.PackageComment = "replaces " + m.Replaces.Path + "@" + m.Replaces.Version
		}
		if m.LocalDir != "" {
			annotate(p, PropLocalDir, m.LocalDir)
			p.PackageComment += "; replaced by the local directory " + m.LocalDir
		}
		ids[m.Ref()] = p.PackageSPDXIdentifier
		return p
	}

	var top common.ElementID
	var buildPkg *spdx.Package
	if s.Root != nil {
		p := &spdx.Package{
			PackageName:             s.Root.Name,
			PackageSPDXIdentifier:   spdxID("Artifact", s.Root.Name, s.Root.Name+"@sha256:"+s.Root.SHA256),
			PackageFileName:         s.Root.Name,
			PackageDownloadLocation: noAssertion,
			FilesAnalyzed:           false,
			PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: s.Root.SHA256}},
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PrimaryPackagePurpose:   "APPLICATION",
		}
		if s.Main.Version != "" {
			p.PackageVersion = s.Main.Version
		}
		ids[RootRef] = p.PackageSPDXIdentifier
		doc.Packages = append(doc.Packages, p)
		top, buildPkg = p.PackageSPDXIdentifier, p
	}
	mainPkg := modPkg(s.Main, "APPLICATION")
	if s.Main.Sum == "" {
		// Built from a checkout, not from a module the go command fetched:
		// nothing says the proxy serves this version.
		mainPkg.PackageDownloadLocation = noAssertion
	}
	if s.Main.Version == "" {
		mainPkg.PackageComment = "main module version unknown: no version stamp, VCS stamp or caller-given version"
	}
	doc.Packages = append(doc.Packages, mainPkg)
	if buildPkg == nil {
		top, buildPkg = mainPkg.PackageSPDXIdentifier, mainPkg
	} else {
		annotate(buildPkg, PropMainModule, s.Main.Ref())
	}
	if s.GoVersion != "" {
		annotate(buildPkg, PropGoVersion, s.GoVersion)
	}
	for _, b := range s.BuildSettings {
		annotate(buildPkg, PropBuildPrefix+b.Key, b.Value)
	}
	for _, m := range s.Modules {
		doc.Packages = append(doc.Packages, modPkg(m, "LIBRARY"))
	}
	if s.Stdlib.Version != "" {
		p := modPkg(s.Stdlib, "LIBRARY")
		p.PackageDownloadLocation = noAssertion
		if stdlibSourceRE.MatchString(s.Stdlib.Version) {
			p.PackageDownloadLocation = "https://go.dev/dl/go" + s.Stdlib.Version + ".src.tar.gz"
		}
		doc.Packages = append(doc.Packages, p)
	}

	rel("DOCUMENT", top, common.TypeRelationshipDescribe)
	for _, r := range s.Relationships {
		a, okA := ids[r.From]
		b, okB := ids[r.To]
		if !okA || !okB {
			return nil, fmt.Errorf("%w: relationship %s %s %s names an unknown element", ErrInvalidDocument, r.From, r.Type, r.To)
		}
		rel(a, b, string(r.Type))
	}
	return doc, nil
}
