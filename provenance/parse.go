package provenance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	itpb "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/intoto"
)

// DefaultMaxStatementSize is the largest statement Parse reads unless
// WithMaxSize says otherwise.
const DefaultMaxStatementSize = 16 << 20

// Statement is a read view of an in-toto statement, common to Statement v1
// and v0.1. Provenance is set when the predicate is SLSA provenance v1 or
// v0.2, mapped onto one v1-shaped view.
type Statement struct {
	// Type is the statement type as written (_type).
	Type          string
	Subjects      []intoto.ResourceDescriptor
	PredicateType string
	// Predicate is the predicate's JSON as written.
	Predicate json.RawMessage
	// Provenance is the SLSA provenance view, nil for other predicates.
	Provenance *Provenance
	// Normalized lists, in words, every liberty Parse took to read the
	// document (an older statement type, a v0.2 predicate mapped to the v1
	// view, a misspelled field). Empty for a canonical v1 document.
	Normalized []string
}

// Provenance is a SLSA provenance predicate in v1 shape. For v0.2 input:
// externalParameters holds invocation.configSource and
// invocation.parameters (under those keys), internalParameters holds
// invocation.environment and buildConfig, resolvedDependencies holds
// materials, and the metadata fields map to their v1 names.
type Provenance struct {
	// SLSAVersion is "v1" or "v0.2", from the predicate type.
	SLSAVersion          string
	BuilderID            string
	BuilderVersion       map[string]string
	BuilderDependencies  []intoto.ResourceDescriptor
	BuildType            string
	ExternalParameters   map[string]any
	InternalParameters   map[string]any
	ResolvedDependencies []intoto.ResourceDescriptor
	Byproducts           []intoto.ResourceDescriptor
	InvocationID         string
	StartedOn            time.Time
	FinishedOn           time.Time
}

// Subject returns the subject with the given name.
func (s *Statement) Subject(name string) (intoto.ResourceDescriptor, bool) {
	for _, sub := range s.Subjects {
		if sub.Name == name {
			return sub, true
		}
	}
	return intoto.ResourceDescriptor{}, false
}

// SubjectsMatching returns the subjects whose digest set matches d (share
// an algorithm, disagree on none).
func (s *Statement) SubjectsMatching(d intoto.DigestSet) []intoto.ResourceDescriptor {
	var out []intoto.ResourceDescriptor
	for _, sub := range s.Subjects {
		if sub.Digest.Matches(d) {
			out = append(out, sub)
		}
	}
	return out
}

// ParseOption configures Parse.
type ParseOption func(*parseConfig)

type parseConfig struct {
	maxSize           int64
	strict            bool
	requireProvenance bool
	noPredicate       bool
}

// WithMaxSize sets the largest input Parse accepts (default
// DefaultMaxStatementSize); larger input fails with ErrTooLarge.
func WithMaxSize(n int64) ParseOption { return func(c *parseConfig) { c.maxSize = n } }

// WithStrictV1 accepts only canonical documents: Statement v1 read by
// in-toto's protojson bindings (unknown fields rejected) and its Validate,
// and for SLSA v1 predicates the same on the predicate. No normalization.
func WithStrictV1() ParseOption { return func(c *parseConfig) { c.strict = true } }

// WithRequireProvenance rejects predicates other than SLSA provenance v1 and
// v0.2 with ErrUnsupportedPredicate.
func WithRequireProvenance() ParseOption { return func(c *parseConfig) { c.requireProvenance = true } }

// WithoutPredicate reads the statement layer only: the predicate must be a
// JSON object and is kept as written (Predicate), never interpreted, and
// Provenance stays nil. Signature verifiers use it: whether a signature
// verifies must not depend on a predicate's schema; checking the predicate
// is a separate step the caller asks for.
func WithoutPredicate() ParseOption { return func(c *parseConfig) { c.noPredicate = true } }

// Parse reads an in-toto statement (v1 or v0.1). It first checks the
// document with internal/strictjson (duplicate keys, keys that differ only
// in case, '_' or '-' such as subject/Subject or predicateType/
// predicate_type, lone surrogates, unsafe numbers, well-formedness, depth)
// and the size limit, then requires at least one subject, a digest on
// every subject and well-formed hex for known digest algorithms. Object
// keys match exactly (encoding/json's case-insensitive matching is not
// used), and since no two keys of an object fold equal, a reader that
// matches loosely (encoding/json into structs, protojson) finds no other
// value than Parse does. cosign v2.6.5 writes "invocationID" in SLSA v1 metadata; it is
// accepted and listed in Normalized. Errors wrap ErrTooLarge,
// ErrMalformedStatement, ErrUnsupportedType or ErrUnsupportedPredicate.
func Parse(data []byte, opts ...ParseOption) (*Statement, error) {
	c := parseConfig{maxSize: DefaultMaxStatementSize}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if int64(len(data)) > c.maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), c.maxSize)
	}
	if err := strictjson.Check(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedStatement, err)
	}
	if c.strict {
		if err := strictV1(data); err != nil {
			return nil, err
		}
	}
	top, err := object(data, "statement")
	if err != nil {
		return nil, err
	}
	st := &Statement{}
	if err := str(top, "_type", &st.Type, true); err != nil {
		return nil, err
	}
	switch st.Type {
	case intoto.StatementTypeV1:
	case intoto.StatementTypeV01:
		st.Normalized = append(st.Normalized, "statement type "+intoto.StatementTypeV01+" read as "+intoto.StatementTypeV1)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedType, st.Type)
	}
	subs, err := array(top, "subject")
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, fmt.Errorf("%w: no subject", ErrMalformedStatement)
	}
	for i, raw := range subs {
		rd, err := descriptor(raw, fmt.Sprintf("subject[%d]", i))
		if err != nil {
			return nil, err
		}
		if len(rd.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject[%d] has no digest", ErrMalformedStatement, i)
		}
		st.Subjects = append(st.Subjects, rd)
	}
	if err := str(top, "predicateType", &st.PredicateType, true); err != nil {
		return nil, err
	}
	pred, ok := top["predicate"]
	if !ok || string(pred) == "null" {
		return nil, fmt.Errorf("%w: no predicate", ErrMalformedStatement)
	}
	st.Predicate = append(json.RawMessage(nil), pred...)

	switch {
	case c.noPredicate:
		_, err = object(pred, "predicate")
	case st.PredicateType == PredicateSLSAProvenanceV1:
		st.Provenance, err = parseV1(pred, &st.Normalized)
	case st.PredicateType == PredicateSLSAProvenanceV02:
		st.Provenance, err = parseV02(pred, &st.Normalized)
	case strings.HasPrefix(st.PredicateType, "https://slsa.dev/provenance/"):
		err = fmt.Errorf("%w: %q", ErrUnsupportedPredicate, st.PredicateType)
	case c.requireProvenance:
		err = fmt.Errorf("%w: %q is not SLSA provenance", ErrUnsupportedPredicate, st.PredicateType)
	default:
		if _, err = object(pred, "predicate"); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

func strictV1(data []byte) error {
	var s itpb.Statement
	if err := protojson.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: strict v1: %v", ErrMalformedStatement, err)
	}
	if s.GetType() != intoto.StatementTypeV1 {
		return fmt.Errorf("%w: strict v1: %q", ErrUnsupportedType, s.GetType())
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%w: strict v1: %v", ErrMalformedStatement, err)
	}
	if s.GetPredicateType() != PredicateSLSAProvenanceV1 {
		return nil
	}
	pj, err := protojson.Marshal(s.GetPredicate())
	if err != nil {
		return fmt.Errorf("%w: strict v1: %v", ErrMalformedStatement, err)
	}
	var p slsa.Provenance
	if err := protojson.Unmarshal(pj, &p); err != nil {
		return fmt.Errorf("%w: strict v1 predicate: %v", ErrMalformedStatement, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: strict v1 predicate: %v", ErrMalformedStatement, err)
	}
	return nil
}

func parseV1(pred json.RawMessage, norm *[]string) (*Provenance, error) {
	p := &Provenance{SLSAVersion: "v1"}
	top, err := object(pred, "predicate")
	if err != nil {
		return nil, err
	}
	bd, err := subObject(top, "buildDefinition", "predicate", true)
	if err != nil {
		return nil, err
	}
	if err := str(bd, "buildType", &p.BuildType, true); err != nil {
		return nil, err
	}
	if p.ExternalParameters, err = anyMap(bd, "externalParameters", true); err != nil {
		return nil, err
	}
	if p.InternalParameters, err = anyMap(bd, "internalParameters", false); err != nil {
		return nil, err
	}
	if p.ResolvedDependencies, err = descriptors(bd, "resolvedDependencies"); err != nil {
		return nil, err
	}
	rd, err := subObject(top, "runDetails", "predicate", true)
	if err != nil {
		return nil, err
	}
	b, err := subObject(rd, "builder", "runDetails", true)
	if err != nil {
		return nil, err
	}
	if err := str(b, "id", &p.BuilderID, true); err != nil {
		return nil, err
	}
	if raw, ok := b["version"]; ok {
		if err := json.Unmarshal(raw, &p.BuilderVersion); err != nil {
			return nil, fmt.Errorf("%w: builder.version: %v", ErrMalformedStatement, err)
		}
	}
	if p.BuilderDependencies, err = descriptors(b, "builderDependencies"); err != nil {
		return nil, err
	}
	if p.Byproducts, err = descriptors(rd, "byproducts"); err != nil {
		return nil, err
	}
	md, err := subObject(rd, "metadata", "runDetails", false)
	if err != nil || md == nil {
		return p, err
	}
	var id, idQuirk string
	if err := str(md, "invocationId", &id, false); err != nil {
		return nil, err
	}
	if err := str(md, "invocationID", &idQuirk, false); err != nil {
		return nil, err
	}
	_, hasID := md["invocationId"]
	_, hasQuirk := md["invocationID"]
	switch {
	case hasID && hasQuirk:
		return nil, fmt.Errorf("%w: metadata has both invocationId and invocationID", ErrMalformedStatement)
	case hasQuirk:
		id = idQuirk
		*norm = append(*norm, "runDetails.metadata.invocationID read as invocationId")
	}
	p.InvocationID = id
	if p.StartedOn, err = timeField(md, "startedOn"); err != nil {
		return nil, err
	}
	if p.FinishedOn, err = timeField(md, "finishedOn"); err != nil {
		return nil, err
	}
	return p, nil
}

func parseV02(pred json.RawMessage, norm *[]string) (*Provenance, error) {
	p := &Provenance{SLSAVersion: "v0.2"}
	*norm = append(*norm, "SLSA provenance v0.2 predicate mapped to the v1 view")
	top, err := object(pred, "predicate")
	if err != nil {
		return nil, err
	}
	b, err := subObject(top, "builder", "predicate", true)
	if err != nil {
		return nil, err
	}
	if err := str(b, "id", &p.BuilderID, true); err != nil {
		return nil, err
	}
	if err := str(top, "buildType", &p.BuildType, true); err != nil {
		return nil, err
	}
	inv, err := subObject(top, "invocation", "predicate", false)
	if err != nil {
		return nil, err
	}
	p.ExternalParameters = map[string]any{}
	if inv != nil {
		if raw, ok := inv["configSource"]; ok {
			cs, err := object(raw, "invocation.configSource")
			if err != nil {
				return nil, err
			}
			if d, ok := cs["digest"]; ok {
				var ds intoto.DigestSet
				if err := json.Unmarshal(d, &ds); err != nil {
					return nil, fmt.Errorf("%w: configSource.digest: %v", ErrMalformedStatement, err)
				}
				if len(ds) > 0 {
					if err := ds.Validate(); err != nil {
						return nil, fmt.Errorf("%w: configSource: %w", ErrMalformedStatement, err)
					}
				}
			}
			var v any
			_ = json.Unmarshal(raw, &v)
			p.ExternalParameters["configSource"] = v
		}
		for _, k := range []string{"parameters", "environment"} {
			raw, ok := inv[k]
			if !ok || string(raw) == "null" {
				continue
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("%w: invocation.%s: %v", ErrMalformedStatement, k, err)
			}
			if k == "parameters" {
				p.ExternalParameters[k] = v
			} else {
				if p.InternalParameters == nil {
					p.InternalParameters = map[string]any{}
				}
				p.InternalParameters[k] = v
			}
		}
	}
	if raw, ok := top["buildConfig"]; ok && string(raw) != "null" {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%w: buildConfig: %v", ErrMalformedStatement, err)
		}
		if p.InternalParameters == nil {
			p.InternalParameters = map[string]any{}
		}
		p.InternalParameters["buildConfig"] = v
	}
	if p.ResolvedDependencies, err = descriptors(top, "materials"); err != nil {
		return nil, err
	}
	md, err := subObject(top, "metadata", "predicate", false)
	if err != nil || md == nil {
		return p, err
	}
	if err := str(md, "buildInvocationId", &p.InvocationID, false); err != nil {
		return nil, err
	}
	if p.StartedOn, err = timeField(md, "buildStartedOn"); err != nil {
		return nil, err
	}
	if p.FinishedOn, err = timeField(md, "buildFinishedOn"); err != nil {
		return nil, err
	}
	return p, nil
}

// --- small exact-key JSON helpers ---

type jsonObject = map[string]json.RawMessage

func object(raw json.RawMessage, what string) (jsonObject, error) {
	var m jsonObject
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: %s is not an object", ErrMalformedStatement, what)
	}
	return m, nil
}

func subObject(m jsonObject, key, parent string, required bool) (jsonObject, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		if required {
			return nil, fmt.Errorf("%w: %s.%s missing", ErrMalformedStatement, parent, key)
		}
		return nil, nil
	}
	return object(raw, parent+"."+key)
}

func array(m jsonObject, key string) ([]json.RawMessage, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("%w: %s is not an array", ErrMalformedStatement, key)
	}
	return a, nil
}

func str(m jsonObject, key string, dst *string, required bool) error {
	raw, ok := m[key]
	if !ok {
		if required {
			return fmt.Errorf("%w: %s missing", ErrMalformedStatement, key)
		}
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		return fmt.Errorf("%w: %s is not a string", ErrMalformedStatement, key)
	}
	if required && *dst == "" {
		return fmt.Errorf("%w: %s is empty", ErrMalformedStatement, key)
	}
	return nil
}

func anyMap(m jsonObject, key string, required bool) (map[string]any, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		if required {
			return nil, fmt.Errorf("%w: %s missing", ErrMalformedStatement, key)
		}
		return nil, nil
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return nil, fmt.Errorf("%w: %s is not an object", ErrMalformedStatement, key)
	}
	return v, nil
}

func timeField(m jsonObject, key string) (time.Time, error) {
	var s string
	if err := str(m, key, &s, false); err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %v", ErrMalformedStatement, key, err)
	}
	return t, nil
}

func descriptors(m jsonObject, key string) ([]intoto.ResourceDescriptor, error) {
	raws, err := array(m, key)
	if err != nil {
		return nil, err
	}
	var out []intoto.ResourceDescriptor
	for i, raw := range raws {
		rd, err := descriptor(raw, fmt.Sprintf("%s[%d]", key, i))
		if err != nil {
			return nil, err
		}
		out = append(out, rd)
	}
	return out, nil
}

func descriptor(raw json.RawMessage, what string) (intoto.ResourceDescriptor, error) {
	m, err := object(raw, what)
	if err != nil {
		return intoto.ResourceDescriptor{}, err
	}
	var rd intoto.ResourceDescriptor
	for key, dst := range map[string]*string{
		"name": &rd.Name, "uri": &rd.URI, "mediaType": &rd.MediaType, "downloadLocation": &rd.DownloadLocation,
	} {
		if err := str(m, key, dst, false); err != nil {
			return intoto.ResourceDescriptor{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	if d, ok := m["digest"]; ok && string(d) != "null" {
		if err := json.Unmarshal(d, &rd.Digest); err != nil {
			return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %s.digest is not a string map", ErrMalformedStatement, what)
		}
		if len(rd.Digest) > 0 {
			if err := rd.Digest.Validate(); err != nil {
				return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %s: %w", ErrMalformedStatement, what, err)
			}
		}
	}
	if rd.Annotations, err = anyMap(m, "annotations", false); err != nil {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	var content string
	if err := str(m, "content", &content, false); err != nil {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	if content != "" {
		if rd.Content, err = base64.StdEncoding.DecodeString(content); err != nil {
			if rd.Content, err = base64.URLEncoding.DecodeString(content); err != nil {
				return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %s.content is not base64", ErrMalformedStatement, what)
			}
		}
	}
	if rd.Name == "" && rd.URI == "" && len(rd.Digest) == 0 {
		return intoto.ResourceDescriptor{}, fmt.Errorf("%w: %s has no name, uri or digest", ErrMalformedStatement, what)
	}
	return rd, nil
}
