package sbom

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/licensecheck"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// Property names of image SBOMs (SPDX annotations, CycloneDX properties).
const (
	// PropLayer is the digest of the layer that introduced a package or
	// holds a binary.
	PropLayer = "slsakit:image:layer"
	// PropPackageDB is the package database file a package was read from.
	PropPackageDB = "slsakit:os:package-db"
	// PropStatedLicense is a license as the package database states it,
	// when it is not a valid SPDX expression (it is then not written as a
	// declared license).
	PropStatedLicense = "slsakit:os:license-stated"
	// PropSource is an OS package's source package.
	PropSource = "slsakit:os:source"
	// PropPlatform is the image's os/arch[/variant].
	PropPlatform = "slsakit:image:platform"
	// PropPath is a binary's path in the image, or a nested archive's in
	// the tarball or directory holding it.
	PropPath = "slsakit:image:path"
	// PropOwner is the OS package that installed a binary, with the
	// evidence that the file is still its: "<purl> (md5)" or "(layer)".
	PropOwner = "slsakit:os:package"
	// PropReplacedOwner is the package dpkg says installed a binary's path
	// when the file is no longer the one it installed.
	PropReplacedOwner = "slsakit:os:package-replaced"
	// PropImageID is the config digest of an image read from a nested
	// `docker save` tarball.
	PropImageID = "slsakit:image:id"
	// PropTag is one of the RepoTags of such an image.
	PropTag = "slsakit:image:tag"
)

// ImageSBOM returns the SBOM of the image c describes, named name (for
// instance the reference it was pulled by). Its Root is the image, with
// the manifest digest as SHA-256, so statements default to the image as
// subject. The encoders write the image, which CONTAINS every OS package
// and every Go binary; each binary CONTAINS its main module, which
// DEPENDS_ON its modules, exactly as in the binary's own SBOM.
func (c *ImageContents) SBOM(name string, opts ...Option) (*SBOM, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil image contents", ErrInvalidDocument)
	}
	hex, ok := strings.CutPrefix(c.Digest, "sha256:")
	if !ok || !isHex64(hex) {
		return nil, fmt.Errorf("%w: image digest %q is not sha256", ErrInvalidDocument, c.Digest)
	}
	if name == "" {
		name = c.Digest
	}
	s := &SBOM{Root: &Artifact{Name: name, SHA256: hex, Size: -1}, Image: c}
	s.finish(newConfig(opts))
	return s, nil
}

// subSBOM is the binary's SBOM as the image document writes it: created
// by the same tool at the same time as the image's.
func (b ImageBinary) subSBOM(s *SBOM) *SBOM {
	sub := *b.SBOM
	sub.Created, sub.Tool = s.Created, s.Tool
	return &sub
}

func (s *SBOM) imageAnnotator() (common.Annotator, string, string) {
	tool := s.Tool.Name
	if s.Tool.Version != "" {
		tool += "-" + s.Tool.Version
	}
	return common.Annotator{Annotator: tool, AnnotatorType: "Tool"}, s.Created.UTC().Format(time.RFC3339), tool
}

// spdxImageDocument: the image package DESCRIBED by the document; each
// binary's document merged in (packages deduplicated by SPDX ID, which is
// derived from content, so a module two binaries share is one package).
func (s *SBOM) spdxImageDocument() (*spdx.Document, error) {
	img := s.Image
	annotator, created, tool := s.imageAnnotator()
	annotate := func(p *spdx.Package, name, value string) {
		p.Annotations = append(p.Annotations, spdx.Annotation{
			Annotator: annotator, AnnotationDate: created, AnnotationType: "OTHER",
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
	relSeen := map[[3]string]bool{}
	rel := func(a, b common.ElementID, typ string) {
		k := [3]string{string(a), string(b), typ}
		if relSeen[k] {
			return // the same binary in two places brings its graph twice
		}
		relSeen[k] = true
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: typ,
		})
	}
	imgPkg := &spdx.Package{
		PackageName:             s.Root.Name,
		PackageSPDXIdentifier:   spdxID("Image", s.Root.Name, img.Digest),
		PackageDownloadLocation: noAssertion,
		PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: s.Root.SHA256}},
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PackageCopyrightText:    noAssertion,
		PrimaryPackagePurpose:   "CONTAINER",
		PackageComment:          "checksum: SHA-256 of the image manifest (" + img.Digest + ")",
	}
	switch img.Kind {
	case "tarball":
		imgPkg.PrimaryPackagePurpose = "ARCHIVE"
		imgPkg.PackageFileName = s.Root.Name
		imgPkg.PackageComment = "checksum: SHA-256 of the file"
	case "index":
		imgPkg.PackageComment = "checksum: SHA-256 of the image index (" + img.Digest + "); CONTAINS one image per platform"
	case "directory":
		imgPkg.PrimaryPackagePurpose = "OTHER"
		imgPkg.PackageComment = "checksum: SHA-256 of the directory listing, one \"<SHA-256>  <path>\\n\" line per regular file sorted by path"
	}
	if img.Platform != "" {
		annotate(imgPkg, PropPlatform, img.Platform)
	}
	doc.Packages = append(doc.Packages, imgPkg)
	rel("DOCUMENT", imgPkg.PackageSPDXIdentifier, common.TypeRelationshipDescribe)
	seen := map[common.ElementID]bool{imgPkg.PackageSPDXIdentifier: true}
	var contents func(parent common.ElementID, img *ImageContents, key string) error
	contents = func(parent common.ElementID, img *ImageContents, key string) error {
		ownerIDs := map[string]common.ElementID{} // purl -> the package's element
		for _, p := range img.Packages {
			pkg := &spdx.Package{
				PackageName:             p.Name,
				PackageSPDXIdentifier:   spdxID("OSPackage", p.Name, p.PURL()+key),
				PackageVersion:          p.Version,
				PackageDownloadLocation: noAssertion,
				PackageLicenseConcluded: noAssertion,
				PackageLicenseDeclared:  noAssertion,
				PackageCopyrightText:    noAssertion,
				PrimaryPackagePurpose:   "OPERATING-SYSTEM",
				PackageExternalReferences: []*spdx.PackageExternalReference{{
					Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: p.PURL(),
				}},
			}
			ownerIDs[p.PURL()] = pkg.PackageSPDXIdentifier
			if seen[pkg.PackageSPDXIdentifier] {
				continue // the same package listed by two databases
			}
			seen[pkg.PackageSPDXIdentifier] = true
			if p.License != "" {
				if statedLicenseIsSPDX(p.License) {
					pkg.PackageLicenseDeclared = p.License
				} else {
					annotate(pkg, PropStatedLicense, p.License)
				}
			}
			if p.Source != "" {
				pkg.PackageSourceInfo = "built from source package " + p.Source
				annotate(pkg, PropSource, p.Source)
			}
			if p.Layer != "" {
				annotate(pkg, PropLayer, p.Layer)
			}
			annotate(pkg, PropPackageDB, p.DB)
			doc.Packages = append(doc.Packages, pkg)
			rel(parent, pkg.PackageSPDXIdentifier, common.TypeRelationshipContains)
		}
		for _, b := range img.Binaries {
			sub, err := b.subSBOM(s).spdxDocument()
			if err != nil {
				return fmt.Errorf("%s: %w", b.Path, err)
			}
			var root common.ElementID
			for _, p := range sub.Packages {
				if p.PrimaryPackagePurpose == "APPLICATION" && p.PackageFileName != "" && root == "" {
					root = p.PackageSPDXIdentifier
					if b.Layer != "" {
						annotate(p, PropLayer, b.Layer)
					}
					if b.Owner != "" {
						annotate(p, PropOwner, b.Owner+" ("+b.Evidence+")")
					}
					if b.ReplacedOwner != "" {
						annotate(p, PropReplacedOwner, b.ReplacedOwner)
					}
				}
				if seen[p.PackageSPDXIdentifier] {
					continue
				}
				seen[p.PackageSPDXIdentifier] = true
				doc.Packages = append(doc.Packages, p)
			}
			if root == "" {
				return fmt.Errorf("%w: binary %s has no root artifact", ErrInvalidDocument, b.Path)
			}
			holder := parent
			if id, ok := ownerIDs[b.Owner]; ok {
				holder = id // image CONTAINS package CONTAINS file
			}
			rel(holder, root, common.TypeRelationshipContains)
			for _, r := range sub.Relationships {
				if r.RefA.ElementRefID == "DOCUMENT" {
					continue // the binary is described through the image
				}
				rel(r.RefA.ElementRefID, r.RefB.ElementRefID, r.Relationship)
			}
		}
		for _, n := range img.Nested {
			np := &spdx.Package{
				PackageName:             n.childName(),
				PackageSPDXIdentifier:   spdxID("Nested", n.childName(), n.childKey()),
				PackageFileName:         n.Path,
				PackageDownloadLocation: noAssertion,
				PackageChecksums:        []common.Checksum{{Algorithm: common.SHA256, Value: strings.TrimPrefix(n.Digest, "sha256:")}},
				PackageLicenseConcluded: noAssertion,
				PackageLicenseDeclared:  noAssertion,
				PackageCopyrightText:    noAssertion,
				PrimaryPackagePurpose:   "ARCHIVE",
				PackageComment:          "checksum: SHA-256 of the file " + n.Path,
			}
			if n.Path == "" {
				// A platform image of an index.
				np.PrimaryPackagePurpose = "CONTAINER"
				np.PackageComment = "checksum: SHA-256 of the image manifest (" + n.Digest + ")"
			} else {
				annotate(np, PropPath, n.Path)
			}
			if n.Kind == "image" && n.Path != "" {
				np.PrimaryPackagePurpose = "CONTAINER"
				annotate(np, PropImageID, n.ImageID)
				for _, t := range n.Tags {
					annotate(np, PropTag, t)
				}
			}
			if n.Platform != "" {
				annotate(np, PropPlatform, n.Platform)
			}
			if !seen[np.PackageSPDXIdentifier] {
				seen[np.PackageSPDXIdentifier] = true
				doc.Packages = append(doc.Packages, np)
			}
			rel(parent, np.PackageSPDXIdentifier, common.TypeRelationshipContains)
			if err := contents(np.PackageSPDXIdentifier, n, n.childKey()); err != nil {
				return fmt.Errorf("%s: %w", n.Path, err)
			}
		}
		return nil
	}
	if err := contents(imgPkg.PackageSPDXIdentifier, img, ""); err != nil {
		return nil, err
	}
	return doc, nil
}

// cdxImageBOM: the image is the metadata component; OS packages and each
// binary's components (its root artifact, main module, modules) are
// components, merged by bom-ref.
func (s *SBOM) cdxImageBOM(c *cdxConfig, schema string) (*cdx.BOM, error) {
	img := s.Image
	imgRef := "image:" + img.Digest
	root := cdx.Component{
		BOMRef:  imgRef,
		Type:    cdx.ComponentTypeContainer,
		Name:    s.Root.Name,
		Version: img.Digest,
		Hashes:  &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: s.Root.SHA256}},
	}
	if img.Platform != "" {
		root.Properties = &[]cdx.Property{{Name: PropPlatform, Value: img.Platform}}
	}
	if img.Kind == "tarball" || img.Kind == "directory" {
		root.Type, root.Version = cdx.ComponentTypeFile, ""
	}
	meta := &cdx.Metadata{
		Timestamp: s.Created.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: s.Tool.Name, Version: s.Tool.Version,
		}}},
		Component: &root,
	}
	var components []cdx.Component
	seen := map[string]bool{imgRef: true}
	var deps []cdx.Dependency
	depIndex := map[string]int{}
	addDeps := func(ref string, to ...string) {
		i, ok := depIndex[ref]
		if !ok {
			i = len(deps)
			depIndex[ref] = i
			deps = append(deps, cdx.Dependency{Ref: ref})
		}
		if len(to) == 0 {
			return
		}
		if deps[i].Dependencies == nil {
			deps[i].Dependencies = &[]string{}
		}
		have := map[string]bool{}
		for _, d := range *deps[i].Dependencies {
			have[d] = true
		}
		for _, d := range to {
			if !have[d] {
				*deps[i].Dependencies = append(*deps[i].Dependencies, d)
				have[d] = true
			}
		}
	}
	var contents func(parentRef string, img *ImageContents, key string) error
	contents = func(parentRef string, img *ImageContents, key string) error {
		var contains []string
		for _, p := range img.Packages {
			ref := p.PURL()
			if key != "" {
				ref += "#" + key // a package of a nested archive, with its own layer
			}
			if seen[ref] {
				continue
			}
			seen[ref] = true
			comp := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: p.PURL()}
			props := []cdx.Property{{Name: PropPackageDB, Value: p.DB}}
			if p.Layer != "" {
				props = append([]cdx.Property{{Name: PropLayer, Value: p.Layer}}, props...)
			}
			if p.Source != "" {
				props = append(props, cdx.Property{Name: PropSource, Value: p.Source})
			}
			if p.License != "" {
				switch {
				case statedLicenseIsSPDX(p.License) && !strings.ContainsAny(p.License, "() +"):
					comp.Licenses = cdxLicenses([]string{p.License}, c.version)
				case statedLicenseIsSPDX(p.License):
					comp.Licenses = &cdx.Licenses{{Expression: p.License}}
				default:
					props = append(props, cdx.Property{Name: PropStatedLicense, Value: p.License})
				}
			}
			comp.Properties = &props
			components = append(components, comp)
			contains = append(contains, ref)
		}
		ownerRefs := map[string]string{} // purl -> bom-ref
		for _, p := range img.Packages {
			ownerRefs[p.PURL()] = p.PURL()
			if key != "" {
				ownerRefs[p.PURL()] += "#" + key
			}
		}
		for _, b := range img.Binaries {
			sub, err := b.subSBOM(s).cdxBOM([]CycloneDXOption{CycloneDXVersion(c.version)})
			if err != nil {
				return fmt.Errorf("%s: %w", b.Path, err)
			}
			broot := *sub.Metadata.Component
			more := []cdx.Property{{Name: PropPath, Value: b.Path}}
			if b.Layer != "" {
				more = append(more, cdx.Property{Name: PropLayer, Value: b.Layer})
			}
			if b.Owner != "" {
				more = append(more, cdx.Property{Name: PropOwner, Value: b.Owner + " (" + b.Evidence + ")"})
			}
			if b.ReplacedOwner != "" {
				more = append(more, cdx.Property{Name: PropReplacedOwner, Value: b.ReplacedOwner})
			}
			props := appendProps(broot.Properties, more)
			broot.Properties = props
			for _, comp := range append([]cdx.Component{broot}, *sub.Components...) {
				if seen[comp.BOMRef] {
					continue
				}
				seen[comp.BOMRef] = true
				components = append(components, comp)
			}
			if ref, ok := ownerRefs[b.Owner]; ok {
				addDeps(ref, broot.BOMRef) // image -> package -> file
			} else {
				contains = append(contains, broot.BOMRef)
			}
			for _, d := range *sub.Dependencies {
				var to []string
				if d.Dependencies != nil {
					to = *d.Dependencies
				}
				addDeps(d.Ref, to...)
			}
		}
		for _, n := range img.Nested {
			ref := "archive:" + n.childKey()
			comp := cdx.Component{
				BOMRef: ref, Type: cdx.ComponentTypeFile, Name: n.childName(),
				Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(n.Digest, "sha256:")}},
			}
			var props []cdx.Property
			if n.Path == "" {
				// A platform image of an index.
				ref = "image:" + n.Digest
				comp.BOMRef, comp.Type, comp.Version = ref, cdx.ComponentTypeContainer, n.Digest
			} else {
				props = append(props, cdx.Property{Name: PropPath, Value: n.Path})
			}
			if n.Kind == "image" && n.Path != "" {
				comp.Type = cdx.ComponentTypeContainer
				props = append(props, cdx.Property{Name: PropImageID, Value: n.ImageID})
				for _, t := range n.Tags {
					props = append(props, cdx.Property{Name: PropTag, Value: t})
				}
			}
			if n.Platform != "" {
				props = append(props, cdx.Property{Name: PropPlatform, Value: n.Platform})
			}
			if len(props) > 0 {
				comp.Properties = &props
			}
			if !seen[ref] {
				seen[ref] = true
				components = append(components, comp)
			}
			contains = append(contains, ref)
			if err := contents(ref, n, n.childKey()); err != nil {
				return fmt.Errorf("%s: %w", n.Path, err)
			}
		}
		addDeps(parentRef, contains...)
		return nil
	}
	if err := contents(imgRef, img, ""); err != nil {
		return nil, err
	}
	for _, comp := range components {
		addDeps(comp.BOMRef)
	}
	// The image is listed first, as the element everything hangs from.
	if i := depIndex[imgRef]; i != 0 {
		deps[0], deps[i] = deps[i], deps[0]
	}
	return &cdx.BOM{
		JSONSchema:   schema,
		BOMFormat:    cdx.BOMFormat,
		SpecVersion:  c.version,
		SerialNumber: "urn:uuid:" + uuid5(s.Namespace),
		Version:      1,
		Metadata:     meta,
		Components:   &components,
		Dependencies: &deps,
	}, nil
}

// spdxListedIDs is the set of SPDX license list identifiers known offline:
// licensecheck's built-in licenses, minus the few it names that are not on
// the SPDX list (TestStatedLicenseIDsAreSPDX keeps the two in step).
var spdxListedIDs = sync.OnceValue(func() map[string]bool {
	notSPDX := map[string]bool{"Aladdin-9": true, "Anti996": true, "BSD-1-Clause-Clear": true,
		"BSD-3-Clause-NoTrademark": true, "CC-BY-NC-SA-3.0-US": true, "CommonsClause": true,
		"GPL-2.0-or-3.0": true, "GooglePatentClause": true, "GooglePatentsFile": true, "MIT-NoAd": true,
		"Prosperity-3.0.0": true}
	ids := map[string]bool{}
	for _, l := range licensecheck.BuiltinLicenses() {
		if !notSPDX[l.ID] {
			ids[l.ID] = true
		}
	}
	return ids
})

// statedLicenseIsSPDX reports whether a license a package database states
// is a well-formed SPDX expression of listed identifiers (LicenseRef-
// identifiers allowed): only then is it written as a declared license.
// Anything else ("GPL2+", free text) is kept verbatim as
// PropStatedLicense, never mapped by guess.
func statedLicenseIsSPDX(expr string) bool {
	if expr == noAssertion || expr == "NONE" || !licenseExprOK(expr) {
		return false
	}
	s := strings.NewReplacer("(", " ", ")", " ").Replace(expr)
	ids := spdxListedIDs()
	afterWith := false
	for _, tok := range strings.Fields(s) {
		switch {
		case tok == "AND" || tok == "OR":
		case tok == "WITH":
			afterWith = true
			continue
		case afterWith:
			// An exception identifier: licensecheck does not list them.
			if !exceptionRE.MatchString(tok) {
				return false
			}
		case strings.HasPrefix(tok, "LicenseRef-"):
		default:
			if !ids[strings.TrimSuffix(tok, "+")] {
				return false
			}
		}
		afterWith = false
	}
	return true
}

var exceptionRE = regexp.MustCompile(`^[A-Za-z0-9.\-]+-exception(-[0-9.]+)?$|^[A-Za-z0-9.\-]*[Ee]xception[A-Za-z0-9.\-]*$`)
