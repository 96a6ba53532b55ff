package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"

	itpb "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/slsakit/slsakit/intoto"
)

// Predicate types of SBOM attestations.
const (
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

// SPDXStatement returns an in-toto Statement v1 (compact JSON, ready for
// sign.SignStatement) whose predicate is the SPDX 2.3 document and whose
// predicateType is https://spdx.dev/Document. Without subjects the subject
// is the root artifact and its SHA-256.
func (s *SBOM) SPDXStatement(subjects ...intoto.ResourceDescriptor) ([]byte, error) {
	doc, err := s.SPDX()
	if err != nil {
		return nil, err
	}
	return s.statement(PredicateSPDX, doc, subjects)
}

// CycloneDXStatement is SPDXStatement for the CycloneDX BOM (1.6 unless
// opts say otherwise), predicateType https://cyclonedx.org/bom.
func (s *SBOM) CycloneDXStatement(subjects []intoto.ResourceDescriptor, opts ...CycloneDXOption) ([]byte, error) {
	doc, err := s.CycloneDX(opts...)
	if err != nil {
		return nil, err
	}
	return s.statement(PredicateCycloneDX, doc, subjects)
}

func (s *SBOM) statement(predicateType string, doc []byte, subjects []intoto.ResourceDescriptor) ([]byte, error) {
	if len(subjects) == 0 {
		if s.Root == nil {
			return nil, ErrNoSubject
		}
		subjects = []intoto.ResourceDescriptor{{Name: s.Root.Name, Digest: intoto.DigestSet{"sha256": s.Root.SHA256}}}
	}
	st := &itpb.Statement{
		Type:          itpb.StatementTypeUri,
		PredicateType: predicateType,
	}
	for i, sub := range subjects {
		if err := checkSubject(sub); err != nil {
			return nil, fmt.Errorf("%w: subject %d: %w", ErrInvalidSubject, i, err)
		}
		d := make(map[string]string, len(sub.Digest))
		for k, v := range sub.Digest {
			d[k] = v
		}
		st.Subject = append(st.Subject, &itpb.ResourceDescriptor{Name: sub.Name, Digest: d})
	}
	pred := &structpb.Struct{}
	if err := protojson.Unmarshal(doc, pred); err != nil {
		return nil, fmt.Errorf("sbom: predicate: %w", err)
	}
	st.Predicate = pred
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSubject, err)
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("sbom: statement: %w", err)
	}
	// protojson randomizes whitespace on purpose; compact it away so the
	// bytes are deterministic (map keys are already sorted).
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("sbom: statement: %w", err)
	}
	return out.Bytes(), nil
}
