package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/slsakit/slsakit/internal/strictjson"
)

// MaxDocumentSize is the largest document ValidateSPDX accepts.
const MaxDocumentSize = 64 << 20

var (
	spdxIDRE   = regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.\-]+$`)
	spdxDateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	checksumRE = regexp.MustCompile(`^[0-9a-f]+$`)
	// purlRE: scheme, type, a name, optional version; no whitespace.
	purlRE = regexp.MustCompile(`^pkg:[a-z][a-z0-9.+\-]*/[^\s@?#]+(@[^\s?#]+)?(\?[^\s#]*)?(#\S*)?$`)
)

// ValidateSPDX checks that data is an SPDX 2.3 JSON document that obeys
// the rules of the specification this package relies on. spdx/tools-golang
// v0.5.7 has no full validator (spdxlib.ValidateDocument only checks that
// relationships name existing elements), so on top of it ValidateSPDX
// checks: strict JSON (internal/strictjson: no duplicate or case-variant
// keys, nothing two JSON readers read differently), that tools-golang
// reads it as 2.3, the document header (version, data license, SPDXRef-DOCUMENT, name,
// an absolute namespace URI without fragment, creators, created date), and
// for every package its name, unique well-formed SPDX ID, download
// location, checksum algorithms and lengths, license fields, external
// references (categories, purl syntax), primary purpose, the filesAnalyzed
// constraints, annotations, and relationship types, with at least one
// DESCRIBES from the document. Errors match ErrInvalidDocument.
func ValidateSPDX(data []byte) error {
	if len(data) > MaxDocumentSize {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	if err := strictjson.Check(data); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	// tools-golang converts older versions to the model it reads into, so
	// the version is checked on the raw document first.
	var head struct {
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	if head.SPDXVersion != spdx.Version {
		return fmt.Errorf("%w: spdxVersion %q, want %q", ErrInvalidDocument, head.SPDXVersion, spdx.Version)
	}
	var doc spdx.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidDocument, fmt.Sprintf(f, a...))
	}
	if doc.SPDXVersion != spdx.Version {
		return bad("spdxVersion %q, want %q", doc.SPDXVersion, spdx.Version)
	}
	if doc.DataLicense != spdx.DataLicense {
		return bad("dataLicense %q, want %q", doc.DataLicense, spdx.DataLicense)
	}
	if doc.SPDXIdentifier != "DOCUMENT" {
		return bad("document SPDXID must be SPDXRef-DOCUMENT")
	}
	if strings.TrimSpace(doc.DocumentName) == "" {
		return bad("empty document name")
	}
	if u, err := url.Parse(doc.DocumentNamespace); err != nil || !u.IsAbs() || u.Host == "" || strings.Contains(doc.DocumentNamespace, "#") {
		return bad("documentNamespace %q is not an absolute URI without a fragment", doc.DocumentNamespace)
	}
	ci := doc.CreationInfo
	if ci == nil || len(ci.Creators) == 0 {
		return bad("creationInfo needs at least one creator")
	}
	for _, c := range ci.Creators {
		switch c.CreatorType {
		case "Tool", "Organization", "Person":
		default:
			return bad("creator type %q", c.CreatorType)
		}
		if strings.TrimSpace(c.Creator) == "" {
			return bad("empty creator")
		}
	}
	if !spdxDateRE.MatchString(ci.Created) {
		return bad("created %q is not YYYY-MM-DDThh:mm:ssZ", ci.Created)
	}

	ids := map[string]bool{"SPDXRef-DOCUMENT": true}
	for i, p := range doc.Packages {
		if p == nil {
			return bad("package %d is null", i)
		}
		id := common.RenderElementID(p.PackageSPDXIdentifier)
		if !spdxIDRE.MatchString(id) {
			return bad("package %d: SPDXID %q", i, id)
		}
		if ids[id] {
			return bad("duplicate SPDXID %q", id)
		}
		ids[id] = true
		if strings.TrimSpace(p.PackageName) == "" {
			return bad("package %s: empty name", id)
		}
		if err := checkLocation(p.PackageDownloadLocation); err != nil {
			return bad("package %s: downloadLocation: %v", id, err)
		}
		if !p.FilesAnalyzed && (p.PackageVerificationCode != nil || len(p.PackageLicenseInfoFromFiles) > 0 || len(p.Files) > 0) {
			return bad("package %s: filesAnalyzed is false but file information is present", id)
		}
		if p.FilesAnalyzed && p.PackageVerificationCode == nil {
			return bad("package %s: filesAnalyzed requires a packageVerificationCode", id)
		}
		for _, c := range p.PackageChecksums {
			n, ok := checksumHexLen(c.Algorithm)
			if !ok {
				return bad("package %s: checksum algorithm %q", id, c.Algorithm)
			}
			if (n > 0 && len(c.Value) != n) || !checksumRE.MatchString(c.Value) {
				return bad("package %s: %s checksum %q", id, c.Algorithm, c.Value)
			}
		}
		for _, l := range []string{p.PackageLicenseConcluded, p.PackageLicenseDeclared} {
			if l != "" && !licenseExprOK(l) {
				return bad("package %s: license %q", id, l)
			}
		}
		for _, r := range p.PackageExternalReferences {
			if r == nil {
				return bad("package %s: null external reference", id)
			}
			switch r.Category {
			case common.CategorySecurity, common.CategoryPackageManager, common.CategoryPersistentId, common.CategoryOther:
			default:
				return bad("package %s: external reference category %q", id, r.Category)
			}
			if r.RefType == "" || r.Locator == "" || strings.ContainsAny(r.Locator, " \t\n") {
				return bad("package %s: external reference %q/%q", id, r.RefType, r.Locator)
			}
			if r.RefType == common.TypePackageManagerPURL && !purlRE.MatchString(r.Locator) {
				return bad("package %s: malformed purl %q", id, r.Locator)
			}
		}
		switch p.PrimaryPackagePurpose {
		case "", "APPLICATION", "FRAMEWORK", "LIBRARY", "CONTAINER", "OPERATING-SYSTEM", "DEVICE",
			"FIRMWARE", "SOURCE", "ARCHIVE", "FILE", "INSTALL", "OTHER":
		default:
			return bad("package %s: primaryPackagePurpose %q", id, p.PrimaryPackagePurpose)
		}
		for _, a := range p.Annotations {
			if err := checkAnnotation(a); err != nil {
				return bad("package %s: annotation: %v", id, err)
			}
		}
	}
	for _, f := range doc.Files {
		if f != nil {
			ids[common.RenderElementID(f.FileSPDXIdentifier)] = true
		}
	}
	for _, a := range doc.Annotations {
		if a == nil {
			return bad("null annotation")
		}
		if err := checkAnnotation(*a); err != nil {
			return bad("annotation: %v", err)
		}
	}
	describes := false
	for i, r := range doc.Relationships {
		if r == nil {
			return bad("relationship %d is null", i)
		}
		if !relationshipTypeOK(r.Relationship) {
			return bad("relationship %d: type %q", i, r.Relationship)
		}
		if r.Relationship == common.TypeRelationshipDescribe && r.RefA.ElementRefID == "DOCUMENT" {
			describes = true
		}
		for _, e := range []common.DocElementID{r.RefA, r.RefB} {
			if e.DocumentRefID == "" && e.SpecialID == "" && !ids[common.RenderElementID(e.ElementRefID)] {
				return bad("relationship %d names unknown element %q", i, e.ElementRefID)
			}
		}
	}
	if !describes {
		return bad("no DOCUMENT DESCRIBES relationship")
	}
	if err := spdxlib.ValidateDocument(&doc); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	return nil
}

func checkLocation(s string) error {
	switch s {
	case "":
		return fmt.Errorf("empty")
	case noAssertion, "NONE":
		return nil
	}
	if strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("%q contains whitespace", s)
	}
	if i := strings.Index(s, "://"); i <= 0 && !strings.HasPrefix(s, "git+") {
		return fmt.Errorf("%q is not a URL", s)
	}
	return nil
}

func checksumHexLen(alg common.ChecksumAlgorithm) (int, bool) {
	switch alg {
	case common.SHA1:
		return 40, true
	case common.SHA224:
		return 56, true
	case common.SHA256, common.SHA3_256, common.BLAKE2b_256:
		return 64, true
	case common.SHA384, common.SHA3_384, common.BLAKE2b_384:
		return 96, true
	case common.SHA512, common.SHA3_512, common.BLAKE2b_512:
		return 128, true
	case common.MD5, common.MD2, common.MD4:
		return 32, true
	case common.MD6, common.BLAKE3, common.ADLER32:
		return 0, true
	}
	return 0, false
}

var licenseTokenRE = regexp.MustCompile(`^(LicenseRef-[A-Za-z0-9.\-]+|DocumentRef-[A-Za-z0-9.\-]+:LicenseRef-[A-Za-z0-9.\-]+|[A-Za-z0-9][A-Za-z0-9.\-]*\+?)$`)

// licenseExprOK checks the syntax of an SPDX license expression (ids,
// AND/OR/WITH and parentheses), or NONE / NOASSERTION.
func licenseExprOK(expr string) bool {
	if expr == noAssertion || expr == "NONE" {
		return true
	}
	s := strings.NewReplacer("(", " ( ", ")", " ) ").Replace(expr)
	depth, wantOperand := 0, true
	for _, tok := range strings.Fields(s) {
		switch {
		case tok == "(":
			if !wantOperand {
				return false
			}
			depth++
		case tok == ")":
			if wantOperand || depth == 0 {
				return false
			}
			depth--
		case tok == "AND" || tok == "OR" || tok == "WITH":
			if wantOperand {
				return false
			}
			wantOperand = true
		default:
			if !wantOperand || !licenseTokenRE.MatchString(tok) || tok == "NONE" || tok == noAssertion {
				return false
			}
			wantOperand = false
		}
	}
	return depth == 0 && !wantOperand
}

func checkAnnotation(a spdx.Annotation) error {
	switch a.Annotator.AnnotatorType {
	case "Tool", "Organization", "Person":
	default:
		return fmt.Errorf("annotator type %q", a.Annotator.AnnotatorType)
	}
	if a.Annotator.Annotator == "" {
		return fmt.Errorf("empty annotator")
	}
	if !spdxDateRE.MatchString(a.AnnotationDate) {
		return fmt.Errorf("date %q", a.AnnotationDate)
	}
	if a.AnnotationType != "REVIEW" && a.AnnotationType != "OTHER" {
		return fmt.Errorf("type %q", a.AnnotationType)
	}
	if a.AnnotationComment == "" {
		return fmt.Errorf("empty comment")
	}
	return nil
}

func relationshipTypeOK(t string) bool {
	switch t {
	case "DESCRIBES", "DESCRIBED_BY", "CONTAINS", "CONTAINED_BY", "DEPENDS_ON", "DEPENDENCY_OF",
		"DEPENDENCY_MANIFEST_OF", "BUILD_DEPENDENCY_OF", "DEV_DEPENDENCY_OF", "OPTIONAL_DEPENDENCY_OF",
		"PROVIDED_DEPENDENCY_OF", "TEST_DEPENDENCY_OF", "RUNTIME_DEPENDENCY_OF", "EXAMPLE_OF", "GENERATES",
		"GENERATED_FROM", "ANCESTOR_OF", "DESCENDANT_OF", "VARIANT_OF", "DISTRIBUTION_ARTIFACT",
		"PATCH_FOR", "PATCH_APPLIED", "COPY_OF", "FILE_ADDED", "FILE_DELETED", "FILE_MODIFIED",
		"EXPANDED_FROM_ARCHIVE", "DYNAMIC_LINK", "STATIC_LINK", "DATA_FILE_OF", "TEST_CASE_OF",
		"BUILD_TOOL_OF", "DEV_TOOL_OF", "TEST_OF", "TEST_TOOL_OF", "DOCUMENTATION_OF",
		"OPTIONAL_COMPONENT_OF", "METAFILE_OF", "PACKAGE_OF", "AMENDS", "PREREQUISITE_FOR",
		"HAS_PREREQUISITE", "REQUIREMENT_DESCRIPTION_FOR", "SPECIFICATION_FOR", "OTHER":
		return true
	}
	return false
}
