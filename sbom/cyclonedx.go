package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// ErrUnsupportedVersion is returned by CycloneDX for a specification
// version other than 1.5 or 1.6.
var ErrUnsupportedVersion = errors.New("sbom: unsupported CycloneDX specification version")

// CycloneDXOption configures the CycloneDX encoder.
type CycloneDXOption func(*cdxConfig)

type cdxConfig struct {
	version cdx.SpecVersion
}

// CycloneDXVersion selects the specification version: cdx.SpecVersion1_6
// (the default) or cdx.SpecVersion1_5.
func CycloneDXVersion(v cdx.SpecVersion) CycloneDXOption {
	return func(c *cdxConfig) { c.version = v }
}

// CycloneDX encodes the SBOM as a CycloneDX JSON BOM (1.6 unless
// CycloneDXVersion says 1.5) through cyclonedx-go. The root artifact is the
// metadata component; the main module and every other module are
// top-level components (the same set, with the same purls, as the SPDX
// packages), and the root depends on the main module; modules carry their
// purl, the SHA-256 of their module zip as a SHA-256 hash when known, the
// proxy URL as a distribution reference, and the h1 sum, replacement and
// build settings as slsakit:go:* properties. For a fixed Created and
// Namespace the bytes are deterministic (the serial number is a UUID
// derived from the namespace).
func (s *SBOM) CycloneDX(opts ...CycloneDXOption) ([]byte, error) {
	bom, err := s.cdxBOM(opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return nil, fmt.Errorf("sbom: encoding CycloneDX: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *SBOM) cdxBOM(opts []CycloneDXOption) (*cdx.BOM, error) {
	c := &cdxConfig{version: cdx.SpecVersion1_6}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	var schema string
	switch c.version {
	case cdx.SpecVersion1_5:
		schema = "http://cyclonedx.org/schema/bom-1.5.schema.json"
	case cdx.SpecVersion1_6:
		schema = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedVersion, c.version)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.Image != nil {
		return s.cdxImageBOM(c, schema)
	}

	refs := map[string]string{}
	component := func(m Module, typ cdx.ComponentType) cdx.Component {
		comp := cdx.Component{
			Type:       typ,
			Name:       m.Path,
			Version:    m.Version,
			PackageURL: m.PURL(),
		}
		comp.BOMRef = comp.PackageURL
		if comp.BOMRef == "" {
			comp.BOMRef = "go-module:" + m.Ref()
		}
		if m.ZipSHA256 != "" {
			comp.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: m.ZipSHA256}}
		}
		if l := cdxLicenses(m.Licenses, c.version); l != nil {
			comp.Licenses = l
		}
		if dl := m.DownloadLocation(); dl != "" {
			comp.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: dl}}
		}
		var props []cdx.Property
		if m.Sum != "" {
			props = append(props, cdx.Property{Name: PropH1, Value: m.Sum})
		}
		if m.Replaces != nil {
			props = append(props, cdx.Property{Name: PropReplaces, Value: m.Replaces.Path + "@" + m.Replaces.Version})
			comp.Pedigree = &cdx.Pedigree{Ancestors: &[]cdx.Component{{
				Type:       cdx.ComponentTypeLibrary,
				Name:       m.Replaces.Path,
				Version:    m.Replaces.Version,
				PackageURL: purl(m.Replaces.Path, m.Replaces.Version),
			}}}
		}
		if m.LocalDir != "" {
			props = append(props, cdx.Property{Name: PropLocalDir, Value: m.LocalDir})
		}
		if len(props) > 0 {
			comp.Properties = &props
		}
		refs[m.Ref()] = comp.BOMRef
		return comp
	}

	mainComp := component(s.Main, cdx.ComponentTypeApplication)
	if s.Main.Sum == "" {
		mainComp.ExternalReferences = nil // see SPDX: not known to be on the proxy
	}
	var buildProps []cdx.Property
	if s.GoVersion != "" {
		buildProps = append(buildProps, cdx.Property{Name: PropGoVersion, Value: s.GoVersion})
	}
	for _, b := range s.BuildSettings {
		buildProps = append(buildProps, cdx.Property{Name: PropBuildPrefix + b.Key, Value: b.Value})
	}

	toolVersion := s.Tool.Version
	meta := &cdx.Metadata{
		Timestamp: s.Created.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: s.Tool.Name, Version: toolVersion,
		}}},
	}
	var components []cdx.Component
	if s.Root != nil {
		root := cdx.Component{
			BOMRef:  "artifact:sha256:" + s.Root.SHA256,
			Type:    cdx.ComponentTypeApplication,
			Name:    s.Root.Name,
			Version: s.Main.Version,
			Hashes:  &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: s.Root.SHA256}},
		}
		props := append([]cdx.Property{{Name: PropMainModule, Value: s.Main.Ref()}}, buildProps...)
		root.Properties = &props
		refs[RootRef] = root.BOMRef
		meta.Component = &root
		// The main module is a component of the BOM like every other
		// module, not only a child of the metadata component: a checker
		// that compares the components' purls with `go version -m` (or
		// with the SPDX packages) must see it.
		components = append(components, mainComp)
	} else {
		if len(buildProps) > 0 {
			mainComp.Properties = appendProps(mainComp.Properties, buildProps)
		}
		meta.Component = &mainComp
	}
	for _, m := range s.Modules {
		components = append(components, component(m, cdx.ComponentTypeLibrary))
	}
	if s.Stdlib.Version != "" {
		std := component(s.Stdlib, cdx.ComponentTypeLibrary)
		std.ExternalReferences = nil
		if stdlibSourceRE.MatchString(s.Stdlib.Version) {
			std.ExternalReferences = &[]cdx.ExternalReference{{
				Type: cdx.ERTypeDistribution, URL: "https://go.dev/dl/go" + s.Stdlib.Version + ".src.tar.gz",
			}}
		}
		components = append(components, std)
	}

	// Dependencies: one entry per element that has edges, in first-seen
	// order of s.Relationships, plus an empty entry for every leaf (the
	// spec asks that components without dependencies be listed as such).
	var deps []cdx.Dependency
	index := map[string]int{}
	add := func(ref string) int {
		if i, ok := index[ref]; ok {
			return i
		}
		index[ref] = len(deps)
		deps = append(deps, cdx.Dependency{Ref: ref})
		return index[ref]
	}
	for _, r := range s.Relationships {
		from, okA := refs[r.From]
		to, okB := refs[r.To]
		if !okA || !okB {
			return nil, fmt.Errorf("%w: relationship %s %s %s names an unknown element", ErrInvalidDocument, r.From, r.Type, r.To)
		}
		i := add(from)
		if deps[i].Dependencies == nil {
			deps[i].Dependencies = &[]string{}
		}
		*deps[i].Dependencies = append(*deps[i].Dependencies, to)
	}
	add(mainComp.BOMRef)
	for _, comp := range components {
		add(comp.BOMRef)
	}

	bom := &cdx.BOM{
		JSONSchema:   schema,
		BOMFormat:    cdx.BOMFormat,
		SpecVersion:  c.version,
		SerialNumber: "urn:uuid:" + uuid5(s.Namespace),
		Version:      1,
		Metadata:     meta,
		Components:   &components,
		Dependencies: &deps,
	}
	return bom, nil
}

func appendProps(p *[]cdx.Property, more []cdx.Property) *[]cdx.Property {
	var out []cdx.Property
	if p != nil {
		out = append(out, *p...)
	}
	out = append(out, more...)
	return &out
}

// cdxLicenses: one identifier as a license id, several as an AND
// expression. 1.6 marks them "declared" (found in the module's files).
func cdxLicenses(ids []string, v cdx.SpecVersion) *cdx.Licenses {
	switch len(ids) {
	case 0:
		return nil
	case 1:
		l := &cdx.License{ID: ids[0]}
		if v >= cdx.SpecVersion1_6 {
			l.Acknowledgement = cdx.LicenseAcknowledgementDeclared
		}
		return &cdx.Licenses{{License: l}}
	}
	choice := cdx.LicenseChoice{Expression: Module{Licenses: ids}.LicenseExpression()}
	if v >= cdx.SpecVersion1_6 {
		ack := cdx.LicenseAcknowledgementDeclared
		choice.Acknowledgement = &ack
	}
	return &cdx.Licenses{choice}
}
