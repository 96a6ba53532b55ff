package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/slsakit/slsakit/internal/strictjson"
)

// PolicyVersion is the only policy schema version this package reads.
const PolicyVersion = 1

// maxStars bounds the wildcards of one pattern, to keep patterns readable.
// It is no longer a safety bound: matching is linear in the pattern and the
// name whatever the stars (pattern.go); it stays so that what policies may
// say does not change.
const maxStars = 8

// MaxPolicySize bounds a policy file.
const MaxPolicySize = 1 << 20

// ErrPolicy is wrapped by every error about the policy itself (as opposed
// to the attestations it judges).
var ErrPolicy = errors.New("verify: invalid policy")

// PolicyError points at the line and field of a policy file that is wrong.
type PolicyError struct {
	File  string // empty for policies parsed from bytes
	Line  int    // 1-based; 0 when unknown
	Field string // dotted path, e.g. signers[1].keys[0].file
	Err   error
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("verify: policy")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *PolicyError) Unwrap() []error { return []error{ErrPolicy, e.Err} }

// Policy says what a consumer accepts. It is data: build it in Go or read
// it from a file with ParsePolicy / LoadPolicyFile (YAML or JSON, the same
// field names). A rule left out is not checked; a rule that is given must
// check something, so a policy that loads enforces what it shows: in a
// file, null, an empty list or mapping, "", 0 or 0s for any field is an
// error, and in Go a non-nil empty slice or a pointer to a rule that sets
// nothing is (see docs/policy.md). See the package documentation for the
// semantics of each field.
type Policy struct {
	// Version must be PolicyVersion.
	Version int `yaml:"version" json:"version"`
	// Builders lists the accepted builders; empty accepts any.
	Builders []BuilderRule `yaml:"builders,omitempty" json:"builders,omitempty"`
	// BuildTypes lists the accepted build type URIs, exactly; empty accepts any.
	BuildTypes []string `yaml:"buildTypes,omitempty" json:"buildTypes,omitempty"`
	// Source constrains the source repository and ref the build came from.
	Source *SourceRule `yaml:"source,omitempty" json:"source,omitempty"`
	// RequiredPredicates must each be present among the artifact's verified
	// attestations (for example provenance and an SBOM).
	RequiredPredicates []string `yaml:"requiredPredicates,omitempty" json:"requiredPredicates,omitempty"`
	// MaxAge bounds how long ago the build finished, e.g. "720h".
	MaxAge Duration `yaml:"maxAge,omitempty" json:"maxAge,omitempty"`
	// Materials constrains the provenance's resolved dependencies.
	Materials MaterialRule `yaml:"materials,omitempty" json:"materials,omitempty"`
	// Parameters constrain the provenance's external parameters.
	Parameters []ParameterRule `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	// Dependencies asks for the image materials' own attestations to be
	// verified, recursively.
	Dependencies *DependencyRule `yaml:"dependencies,omitempty" json:"dependencies,omitempty"`
	// Signers says whom to trust for which artifacts. The most specific
	// matching rule alone applies (see package documentation).
	Signers []SignerRule `yaml:"signers" json:"signers"`

	dir  string // directory of the policy file, for relative key files
	file string
	// lines maps a field path to its line in the file, for errors found
	// after decoding.
	lines map[string]int
}

// DependencyRule: every container image among a trusted provenance's
// materials must itself pass Policy (this policy when nil), down to
// MaxDepth levels (default 1: the direct base images only). Images beyond
// MaxDepth are reported as skipped; an image met again on its own path is
// a cycle and fails.
type DependencyRule struct {
	MaxDepth int     `yaml:"maxDepth,omitempty" json:"maxDepth,omitempty"`
	Policy   *Policy `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// BuilderRule accepts a builder ID. Without Versions the provenance's
// builder ID must equal ID exactly. With Versions it must be ID + "@" + a
// version matching one of the patterns (the pattern syntax of SignerRule's
// Artifacts).
type BuilderRule struct {
	ID       string   `yaml:"id" json:"id"`
	Versions []string `yaml:"versions,omitempty" json:"versions,omitempty"`
}

// SourceRule constrains the source: some resolved dependency of the
// provenance must be the git repository Repository exactly (e.g.
// "git+https://github.com/org/repo"), at a ref matching one of Refs (e.g.
// "refs/heads/main", "refs/tags/v*"), with a gitCommit digest.
type SourceRule struct {
	Repository string   `yaml:"repository" json:"repository"`
	Refs       []string `yaml:"refs,omitempty" json:"refs,omitempty"`
}

// MaterialRule constrains resolved dependencies.
type MaterialRule struct {
	// RequireImageDigests: every container image among the materials
	// (oci://, docker://, pkg:docker/, pkg:oci/ URIs, in any case; see
	// intoto.ParseImage) carries a sha256 digest, in its digest set or its
	// URI. An image URI that cannot be read fails the rule.
	RequireImageDigests bool `yaml:"requireImageDigests,omitempty" json:"requireImageDigests,omitempty"`
	// RequireDigests: every material carries a strong digest (intoto.Strong:
	// sha256, sha384, sha512, sha3_*, gitCommit, dirHash, ...; never md5,
	// sha1, unknown or differently spelled algorithms).
	RequireDigests bool `yaml:"requireDigests,omitempty" json:"requireDigests,omitempty"`
}

// ParameterRule constrains one external parameter, addressed by a dotted
// path into externalParameters (e.g. "workflow.ref"; no empty segment). At
// most one of Equals, OneOf and Pattern is set; any of them implies
// Required; a rule must have at least one of them, Required or Forbidden.
// A nil Equals is "not set", so no rule can ask for JSON null. Equals and
// OneOf hold JSON-like values (strings, bools, numbers within ±2^53,
// slices, string-keyed maps), compared with the parameter numerically for
// numbers at every depth; anything no JSON value can equal (a time, bytes,
// a map with other keys) is refused when the policy loads.
type ParameterRule struct {
	Name      string `yaml:"name" json:"name"`
	Required  bool   `yaml:"required,omitempty" json:"required,omitempty"`
	Forbidden bool   `yaml:"forbidden,omitempty" json:"forbidden,omitempty"`
	Equals    any    `yaml:"equals,omitempty" json:"equals,omitempty"`
	OneOf     []any  `yaml:"oneOf,omitempty" json:"oneOf,omitempty"`
	// Pattern is a regular expression the (string) value must match in
	// full: it is anchored for you.
	Pattern string `yaml:"pattern,omitempty" json:"pattern,omitempty"`

	re *regexp.Regexp
}

// SignerRule names the signers trusted for the artifacts its pattern
// matches. Artifacts is a name pattern: "*" matches any run of characters
// but "/", "**" matches any run of characters, everything else matches
// itself.
type SignerRule struct {
	Artifacts string `yaml:"artifacts" json:"artifacts"`
	// Keys are trusted public keys.
	Keys []KeyRef `yaml:"keys,omitempty" json:"keys,omitempty"`
	// Threshold is how many distinct keys must sign; default 1.
	Threshold int `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// Identities are trusted keyless identities (certificate issuer,
	// subject and Fulcio extensions); they need a keyless authenticator
	// (WithIdentities). An attestation verified by a key or by an identity
	// is trusted.
	Identities []Identity `yaml:"identities,omitempty" json:"identities,omitempty"`
	// BindToProvenance asks that the certificate that signed a provenance
	// agree with what the provenance says: any of "builder" (the
	// certificate's build signer URI is the provenance's builder.id),
	// "source" (its source repository and commit are the provenance's
	// source material's), "ref" (its ref is the source material's) and
	// "trigger" (its build trigger is the event the provenance states).
	// Then every trusted provenance for the rule's artifacts must have
	// been signed with a certificate (a key-signed one fails), and a fact
	// either side does not state fails: see BindBuilder and the others,
	// and docs/policy.md. It needs Identities; attestations that are not
	// provenance are not bound.
	BindToProvenance []string `yaml:"bindToProvenance,omitempty" json:"bindToProvenance,omitempty"`
}

// KeyRef is one trusted key: inline PEM, a PEM file (relative to the policy
// file), or a KMS reference (e.g. gcpkms://…) resolved by the KeyResolver
// given to NewEngine. Exactly one is set.
type KeyRef struct {
	PEM  string `yaml:"pem,omitempty" json:"pem,omitempty"`
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	KMS  string `yaml:"kms,omitempty" json:"kms,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("720h").
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: maxAge: %q is not a non-negative duration such as \"720h\"", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// LoadPolicyFile reads and validates a policy file; relative key files are
// read relative to its directory.
func LoadPolicyFile(path string) (*Policy, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &PolicyError{File: path, Err: err}
	}
	if fi.Size() > MaxPolicySize {
		return nil, &PolicyError{File: path, Err: fmt.Errorf("%d bytes, limit %d", fi.Size(), MaxPolicySize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &PolicyError{File: path, Err: err}
	}
	p, err := parsePolicy(data, path)
	if err != nil {
		return nil, err
	}
	p.dir = filepath.Dir(path)
	return p, nil
}

// ParsePolicy reads and validates a policy from YAML or JSON. Unknown
// fields, duplicate keys, a wrong version and inconsistent rules are errors
// that name the line and field (*PolicyError, matching ErrPolicy). A JSON
// policy is first held to the rules of signed JSON (internal/strictjson):
// keys that differ only in case such as "signers" and "Signers" are
// refused by name, not reported as an unknown field.
func ParsePolicy(data []byte) (*Policy, error) { return parsePolicy(data, "") }

func parsePolicy(data []byte, file string) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, &PolicyError{File: file, Err: fmt.Errorf("%d bytes, limit %d", len(data), MaxPolicySize)}
	}
	if err := checkJSON(data, file); err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if len(root.Content) == 0 {
		return nil, &PolicyError{File: file, Err: errors.New("empty document")}
	}
	if err := singleDocument(data, file); err != nil {
		return nil, err
	}
	if err := (schemaWalk{file: file}).node(root.Content[0], reflect.TypeFor[Policy](), ""); err != nil {
		return nil, err
	}
	if err := checkKnownFields(data); err != nil {
		return nil, yamlError(file, err)
	}
	var p Policy
	if err := root.Decode(&p); err != nil {
		return nil, yamlError(file, err)
	}
	p.file = file
	p.lines = map[string]int{}
	indexLines(root.Content[0], "", p.lines)
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// checkJSON holds a policy written as JSON to what strictjson accepts of
// signed JSON. The YAML reader that decodes it reads JSON its own way (its
// escapes, its numbers), and the policy's digest goes into VSAs that other
// verifiers act on: a policy that two readers read differently must not
// load. YAML policies, and YAML flow documents that are not JSON, are left
// to the YAML checks.
func checkJSON(data []byte, file string) error {
	if !json.Valid(data) {
		return nil
	}
	err := strictjson.Check(data)
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return err
	}
	return &PolicyError{File: file, Line: 1 + bytes.Count(data[:e.Offset], []byte("\n")), Field: e.Path, Err: err}
}

// singleDocument refuses a stream of several YAML documents: yaml.Unmarshal
// reads the first and ignores the others, so a policy file could show rules
// that are never read.
func singleDocument(data []byte, file string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return yamlError(file, err)
		}
		if i > 0 {
			return &PolicyError{File: file, Line: n.Line, Err: errors.New("a second YAML document: a policy file is one document")}
		}
	}
}

// checkKnownFields decodes again with unknown fields refused: yaml.v3 only
// offers that on its Decoder.
func checkKnownFields(data []byte) error {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	var p Policy
	return dec.Decode(&p)
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

func yamlError(file string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = strings.Replace(msg, m[0], "", 1)
	}
	return &PolicyError{File: file, Line: line, Err: errors.New(msg)}
}

// indexLines records the line of every mapping value and sequence item
// under its dotted path: signers[0].keys[1].file.
func indexLines(n *yaml.Node, path string, out map[string]int) {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	out[path] = n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := k
			if path != "" {
				p = path + "." + k
			}
			out[p] = n.Content[i].Line
			indexLines(n.Content[i+1], p, out)
			out[p] = n.Content[i].Line
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			indexLines(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func (p *Policy) errAt(field string, format string, args ...any) error {
	line := 0
	for f := field; f != ""; f = parentField(f) {
		if l, ok := p.lines[f]; ok {
			line = l
			break
		}
	}
	return &PolicyError{File: p.file, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}

func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

// Validate checks a policy built in Go the way ParsePolicy checks a file.
func (p *Policy) Validate() error { return p.validate() }

func (p *Policy) validate() error {
	if p.lines == nil {
		p.lines = map[string]int{}
	}
	if p.Version != PolicyVersion {
		return p.errAt("version", "must be %d, got %d", PolicyVersion, p.Version)
	}
	if f, err := valueWalk(reflect.ValueOf(p).Elem(), ""); err != nil {
		return p.errAt(f, "%v", err)
	}
	if p.MaxAge < 0 {
		return p.errAt("maxAge", "%s is negative", time.Duration(p.MaxAge))
	}
	for i, b := range p.Builders {
		f := fmt.Sprintf("builders[%d]", i)
		if err := absoluteURI(b.ID); err != nil {
			return p.errAt(f+".id", "%v", err)
		}
		for j, v := range b.Versions {
			if strings.Count(v, "*") > maxStars {
				return p.errAt(fmt.Sprintf("%s.versions[%d]", f, j), "more than %d wildcards", maxStars)
			}
			if v == "" {
				return p.errAt(fmt.Sprintf("%s.versions[%d]", f, j), "empty version pattern")
			}
		}
	}
	for i, t := range p.BuildTypes {
		if err := absoluteURI(t); err != nil {
			return p.errAt(fmt.Sprintf("buildTypes[%d]", i), "%v", err)
		}
	}
	if s := p.Source; s != nil {
		if !strings.HasPrefix(s.Repository, "git+") || !strings.Contains(s.Repository, "://") || strings.Contains(s.Repository, "@refs/") {
			return p.errAt("source.repository", "must be a git+<scheme>:// repository URI without a ref, got %q", s.Repository)
		}
		if strings.ContainsAny(s.Repository, "*?") {
			return p.errAt("source.repository", "is matched exactly; patterns are not allowed")
		}
		for i, r := range s.Refs {
			if strings.Count(r, "*") > maxStars {
				return p.errAt(fmt.Sprintf("source.refs[%d]", i), "more than %d wildcards", maxStars)
			}
			if !strings.HasPrefix(r, "refs/") {
				return p.errAt(fmt.Sprintf("source.refs[%d]", i), "must be a full ref such as refs/heads/main or refs/tags/v*, got %q", r)
			}
		}
	}
	for i, t := range p.RequiredPredicates {
		if err := absoluteURI(t); err != nil {
			return p.errAt(fmt.Sprintf("requiredPredicates[%d]", i), "%v", err)
		}
	}
	seen := map[string]bool{}
	for i := range p.Parameters {
		r := &p.Parameters[i]
		f := fmt.Sprintf("parameters[%d]", i)
		if r.Name == "" {
			return p.errAt(f+".name", "required")
		}
		if slices.Contains(strings.Split(r.Name, "."), "") {
			return p.errAt(f+".name", "%q is not a dotted path into externalParameters: it has an empty segment", r.Name)
		}
		if seen[r.Name] {
			return p.errAt(f+".name", "parameter %q has two rules", r.Name)
		}
		seen[r.Name] = true
		n := 0
		for _, set := range []bool{r.Equals != nil, r.OneOf != nil, r.Pattern != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			return p.errAt(f, "at most one of equals, oneOf and pattern")
		}
		if r.Forbidden && (n > 0 || r.Required) {
			return p.errAt(f+".forbidden", "a forbidden parameter can have no other constraint")
		}
		if n == 0 && !r.Required && !r.Forbidden {
			return p.errAt(f, "no constraint: give required, forbidden, equals, oneOf or pattern (a name alone, or a nil Equals, checks nothing)")
		}
		if r.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + r.Pattern + `)$`)
			if err != nil {
				return p.errAt(f+".pattern", "%v", err)
			}
			r.re = re
		}
	}
	if d := p.Dependencies; d != nil {
		if d.MaxDepth < 0 || d.MaxDepth > 16 {
			return p.errAt("dependencies.maxDepth", "must be between 0 and 16, got %d", d.MaxDepth)
		}
		if d.Policy != nil {
			d.Policy.file, d.Policy.lines = p.file, map[string]int{}
			for k, v := range p.lines {
				if rest, ok := strings.CutPrefix(k, "dependencies.policy."); ok {
					d.Policy.lines[rest] = v
				}
			}
			if d.Policy.Dependencies != nil {
				return p.errAt("dependencies.policy.dependencies", "a dependency policy cannot nest dependencies: use maxDepth")
			}
			if d.Policy.Version == 0 {
				d.Policy.Version = PolicyVersion
			}
			if err := d.Policy.validate(); err != nil {
				var pe *PolicyError
				if errors.As(err, &pe) {
					pe.Field = "dependencies.policy." + pe.Field
				}
				return err
			}
		}
	}
	if len(p.Signers) == 0 {
		return p.errAt("signers", "at least one signer rule is required: a policy that trusts no one verifies nothing")
	}
	patterns := map[string]int{}
	for i, s := range p.Signers {
		f := fmt.Sprintf("signers[%d]", i)
		if s.Artifacts == "" {
			return p.errAt(f+".artifacts", "required")
		}
		if strings.Count(s.Artifacts, "*") > maxStars {
			return p.errAt(f+".artifacts", "more than %d wildcards", maxStars)
		}
		if j, dup := patterns[s.Artifacts]; dup {
			return p.errAt(f+".artifacts", "pattern %q is also signers[%d]'s: one rule per pattern", s.Artifacts, j)
		}
		patterns[s.Artifacts] = i
		if len(s.Keys) == 0 && len(s.Identities) == 0 {
			return p.errAt(f, "names no keys and no identities")
		}
		for j, k := range s.Keys {
			n := 0
			for _, v := range []string{k.PEM, k.File, k.KMS} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				return p.errAt(fmt.Sprintf("%s.keys[%d]", f, j), "exactly one of pem, file and kms")
			}
		}
		if s.Threshold < 0 || s.Threshold > len(s.Keys) && len(s.Keys) > 0 {
			return p.errAt(f+".threshold", "%d is more than the %d keys listed", s.Threshold, len(s.Keys))
		}
		if s.Threshold > 0 && len(s.Keys) == 0 {
			return p.errAt(f+".threshold", "counts keys, and the rule lists none")
		}
		for j, id := range s.Identities {
			g := fmt.Sprintf("%s.identities[%d]", f, j)
			if err := validateIdentity(id); err != nil {
				return p.errAt(g+err.field, "%v", err.err)
			}
		}
		if len(s.BindToProvenance) > 0 && len(s.Identities) == 0 {
			return p.errAt(f+".bindToProvenance", "binds certificates to provenance, and the rule lists no identities: no provenance could ever bind")
		}
		for j, b := range s.BindToProvenance {
			g := fmt.Sprintf("%s.bindToProvenance[%d]", f, j)
			if !slices.Contains(bindings, b) {
				return p.errAt(g, "%q is not one of %s", b, strings.Join(bindings, ", "))
			}
			if slices.Contains(s.BindToProvenance[:j], b) {
				return p.errAt(g, "%q is listed twice", b)
			}
		}
	}
	return nil
}

// maxIdentityRegexp bounds issuerRegexp and subjectRegexp. Go's regexp
// (RE2) matches in time linear in the input whatever the pattern, but the
// compiled program grows with it; every bundle is matched against every
// identity of a rule, so a policy cannot make that arbitrarily costly.
const maxIdentityRegexp = 1024

type identityError struct {
	field string // ".issuer", ... or "" for the identity itself
	err   error
}

// validateIdentity checks a policy identity: exactly one of issuer (an
// absolute URI) and issuerRegexp, exactly one of subject and
// subjectRegexp, regular expressions that compile. The Fulcio extension
// fields are free text compared exactly; an empty one is not checked (a
// file cannot write one empty: the schema walk refuses it).
func validateIdentity(id Identity) *identityError {
	if (id.Issuer == "") == (id.IssuerRegexp == "") {
		return &identityError{"", errors.New("exactly one of issuer and issuerRegexp")}
	}
	if id.Issuer != "" {
		if err := absoluteURI(id.Issuer); err != nil {
			return &identityError{".issuer", err}
		}
	}
	if (id.Subject == "") == (id.SubjectRegexp == "") {
		return &identityError{"", errors.New("exactly one of subject and subjectRegexp")}
	}
	for _, re := range []struct{ field, expr string }{{".issuerRegexp", id.IssuerRegexp}, {".subjectRegexp", id.SubjectRegexp}} {
		if re.expr == "" {
			continue
		}
		if len(re.expr) > maxIdentityRegexp {
			return &identityError{re.field, fmt.Errorf("%d bytes, limit %d: an identity pattern is a URI or an email with a few wildcards", len(re.expr), maxIdentityRegexp)}
		}
		if _, err := regexp.Compile(re.expr); err != nil {
			return &identityError{re.field, err}
		}
	}
	return nil
}

func absoluteURI(s string) error {
	i := strings.Index(s, "://")
	if i <= 0 || i+3 == len(s) || strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	return nil
}
