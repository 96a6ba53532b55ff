package provenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"

	itpb "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsakit/slsakit/intoto"
)

// SLSA provenance predicate types.
const (
	PredicateSLSAProvenanceV1  = "https://slsa.dev/provenance/v1"
	PredicateSLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"
)

// Sentinel errors. Errors returned by this package wrap one of them; test
// with errors.Is.
var (
	ErrSubjectConflict      = errors.New("provenance: conflicting subjects with the same name")
	ErrInvalidParameter     = errors.New("provenance: parameter is not JSON-representable")
	ErrInvalidStatement     = errors.New("provenance: statement does not validate")
	ErrNotGitCheckout       = errors.New("provenance: not a git checkout")
	ErrGitCommand           = errors.New("provenance: git command failed")
	ErrGoCommand            = errors.New("provenance: go command failed")
	ErrNoBuildInfo          = errors.New("provenance: binary has no Go build info")
	ErrUnpinnedImage        = errors.New("provenance: image reference has no digest")
	ErrInvalidImageRef      = errors.New("provenance: invalid image reference")
	ErrSymlinkEscape        = errors.New("provenance: symlink points outside the directory")
	ErrMalformedStatement   = errors.New("provenance: malformed statement")
	ErrUnsupportedType      = errors.New("provenance: unsupported statement type")
	ErrUnsupportedPredicate = errors.New("provenance: unsupported predicate")
	ErrTooLarge             = errors.New("provenance: input exceeds size limit")
)

// SubjectConflictError reports two subjects with one name and different
// digests (or other fields). It wraps ErrSubjectConflict.
type SubjectConflictError struct {
	Name          string
	Existing, New intoto.DigestSet
}

func (e *SubjectConflictError) Error() string {
	return fmt.Sprintf("%v: %q has %v, now %v", ErrSubjectConflict, e.Name, e.Existing, e.New)
}

func (e *SubjectConflictError) Unwrap() error { return ErrSubjectConflict }

// toProto converts rd to the in-toto protobuf type, checking it as
// ResourceDescriptor.Validate does and as in-toto's own Validate does.
func toProto(rd intoto.ResourceDescriptor) (*itpb.ResourceDescriptor, error) {
	if err := rd.Validate(); err != nil {
		return nil, err
	}
	p := &itpb.ResourceDescriptor{
		Name:             rd.Name,
		Uri:              rd.URI,
		Digest:           rd.Digest.Clone(),
		MediaType:        rd.MediaType,
		DownloadLocation: rd.DownloadLocation,
		Content:          append([]byte(nil), rd.Content...),
	}
	if len(rd.Content) == 0 {
		p.Content = nil
	}
	if len(rd.Annotations) > 0 {
		s, err := toStruct(rd.Annotations)
		if err != nil {
			return nil, fmt.Errorf("annotations of %q: %w", rd.String(), err)
		}
		p.Annotations = s
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", intoto.ErrInvalidDescriptor, err)
	}
	return p, nil
}

func fromProto(p *itpb.ResourceDescriptor) intoto.ResourceDescriptor {
	rd := intoto.ResourceDescriptor{
		Name:             p.GetName(),
		URI:              p.GetUri(),
		MediaType:        p.GetMediaType(),
		DownloadLocation: p.GetDownloadLocation(),
	}
	if len(p.GetDigest()) > 0 {
		rd.Digest = intoto.DigestSet(p.GetDigest()).Clone()
	}
	if len(p.GetContent()) > 0 {
		rd.Content = append([]byte(nil), p.GetContent()...)
	}
	if p.GetAnnotations() != nil {
		rd.Annotations = p.GetAnnotations().AsMap()
	}
	return rd
}

// Builder identifies the build platform.
type Builder struct {
	ID           string
	Version      map[string]string
	Dependencies []intoto.ResourceDescriptor
}

// toValue converts v to a structpb value. Values structpb cannot take
// directly (structs, typed slices and maps) go through encoding/json.
func toValue(v any) (*structpb.Value, error) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParameter, f)
	}
	if f, ok := v.(float32); ok && (math.IsNaN(float64(f)) || math.IsInf(float64(f), 0)) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParameter, f)
	}
	pv, err := structpb.NewValue(v)
	if err != nil && strings.Contains(err.Error(), "UTF-8") {
		// encoding/json would silently replace the bad bytes.
		return nil, fmt.Errorf("%w: %v", ErrInvalidParameter, err)
	}
	if err == nil {
		// structpb.NewValue keeps NaN and infinities inside containers;
		// protojson cannot write them.
		if err := checkFinite(pv); err != nil {
			return nil, err
		}
		return pv, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParameter, err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParameter, err)
	}
	pv, err = structpb.NewValue(generic)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParameter, err)
	}
	return pv, nil
}

func checkFinite(v *structpb.Value) error {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			return fmt.Errorf("%w: %v", ErrInvalidParameter, k.NumberValue)
		}
	case *structpb.Value_ListValue:
		for _, e := range k.ListValue.GetValues() {
			if err := checkFinite(e); err != nil {
				return err
			}
		}
	case *structpb.Value_StructValue:
		for _, e := range k.StructValue.GetFields() {
			if err := checkFinite(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func toStruct(m map[string]any) (*structpb.Struct, error) {
	s := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(m))}
	for k, v := range m {
		pv, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		s.Fields[k] = pv
	}
	return s, nil
}

// descriptorsEqual compares two converted descriptors.
func descriptorsEqual(a, b *itpb.ResourceDescriptor) bool { return proto.Equal(a, b) }

// validURI checks that s is an absolute URI (has a scheme).
func validURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: uri %q: %v", intoto.ErrInvalidDescriptor, s, err)
	}
	if u.Scheme == "" {
		return fmt.Errorf("%w: uri %q has no scheme", intoto.ErrInvalidDescriptor, s)
	}
	return nil
}
