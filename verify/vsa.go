package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	vsapb "github.com/in-toto/attestation/go/predicates/vsa/v1"
	itpb "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// PredicateVSA is the predicate type of a SLSA Verification Summary
// Attestation v1.
const PredicateVSA = "https://slsa.dev/verification_summary/v1"

// ErrVSA: a VSA offered as a fast path was not acceptable.
var ErrVSA = errors.New("verify: verification summary not acceptable")

// VSAOptions describe the verifier that issues a VSA.
type VSAOptions struct {
	// VerifierID is the URI of the verifier (required).
	VerifierID string
	// ResourceURI names what was verified; default: the artifact's name.
	ResourceURI string
	// PolicyURI locates the policy applied; the digest beside it is the
	// engine's PolicyDigest, whatever the policy came from.
	PolicyURI string
	// VerifiedLevels are the SLSA levels the policy establishes (e.g.
	// SLSA_BUILD_LEVEL_2). Only the verifier knows what its policy proves,
	// so nothing is claimed by default beyond SLSA_BUILD_LEVEL_1 (signed
	// provenance exists) for a pass.
	VerifiedLevels []string
}

// VSA returns an in-toto statement (JSON) summarizing the report as a SLSA
// VSA v1: PASSED or FAILED, the policy (URI and digest), and the digest of
// every input attestation that was trusted. Sign it with sign.SignStatement
// and attach it beside the artifact's other attestations.
func (e *Engine) VSA(rep *Report, o VSAOptions) ([]byte, error) {
	if o.VerifierID == "" {
		return nil, errors.New("verify: VSA needs a verifier ID")
	}
	if rep == nil || len(rep.Artifact.Digest) == 0 {
		return nil, errors.New("verify: VSA needs a report with an artifact digest")
	}
	// The subject carries only the strong entries, lowercase: a consumer
	// that matched on a weak one could be fooled by a collision.
	subject, err := expectedDigest(rep.Artifact.Digest)
	if err != nil {
		return nil, fmt.Errorf("verify: VSA subject: %w", err)
	}
	subject = subject.Strong()
	// timeVerified is read from the engine's clock (WithClock), the one
	// that judged the report.
	now := e.now
	result, levels := "FAILED", []string{}
	if rep.Passed() {
		result, levels = "PASSED", o.VerifiedLevels
		if len(levels) == 0 {
			levels = []string{"SLSA_BUILD_LEVEL_1"}
		}
	}
	resource := o.ResourceURI
	if resource == "" {
		resource = rep.Artifact.Name
	}
	pred := &vsapb.VerificationSummary{
		Verifier:           &vsapb.VerificationSummary_Verifier{Id: o.VerifierID},
		TimeVerified:       timestamppb.New(now().UTC()),
		ResourceUri:        resource,
		Policy:             &vsapb.VerificationSummary_Policy{Uri: o.PolicyURI, Digest: e.PolicyDigest()},
		VerificationResult: result,
		VerifiedLevels:     levels,
		SlsaVersion:        "1.0",
	}
	for _, a := range rep.Attestations {
		if a.Err() != nil || a.Envelope == nil {
			continue
		}
		raw, err := json.Marshal(a.Envelope)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(raw)
		pt := ""
		if a.Statement != nil {
			pt = a.Statement.PredicateType
		}
		pred.InputAttestations = append(pred.InputAttestations, &vsapb.VerificationSummary_InputAttestation{
			Uri: "dsse:" + pt, Digest: map[string]string{intoto.AlgSHA256: hex.EncodeToString(sum[:])},
		})
	}
	pj, err := protojson.Marshal(pred)
	if err != nil {
		return nil, err
	}
	ps := &structpb.Struct{}
	if err := protojson.Unmarshal(pj, ps); err != nil {
		return nil, err
	}
	st := &itpb.Statement{
		Type:          intoto.StatementTypeV1,
		Subject:       []*itpb.ResourceDescriptor{{Name: rep.Artifact.Name, Digest: subject}},
		PredicateType: PredicateVSA,
		Predicate:     ps,
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	out, err := protojson.Marshal(st)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// trustedVSA is a verifier whose PASSED VSAs are accepted as a fast path.
type trustedVSA struct {
	id     string
	maxAge time.Duration
	auth   *KeyAuthenticator
}

// WithTrustedVSA accepts, in place of a full evaluation, a VSA issued by
// verifierID, signed by keys, about the artifact's digest, PASSED, for this
// engine's policy (its policy.digest.sha256 is the engine's PolicyDigest,
// for a policy from a file or from Go alike; a VSA that names no policy
// is refused), and verified less than maxAge ago.
func WithTrustedVSA(verifierID string, maxAge time.Duration, keys ...sign.Verifier) EngineOption {
	return func(c *engineConfig) {
		c.vsa = append(c.vsa, vsaConfig{id: verifierID, maxAge: maxAge, keys: keys})
	}
}

type vsaConfig struct {
	id     string
	maxAge time.Duration
	keys   []sign.Verifier
}

// vsaView is what the fast path reads of a VSA predicate.
type vsaView struct {
	verifierID         string
	timeVerified       time.Time
	resourceURI        string
	verificationResult string
	policyDigest       map[string]string
}

// readVSA reads the predicate with exact key matching, as provenance.Parse
// reads statements: encoding/json would also take "TimeVerified" or
// "verificationresult" for the fields, so a VSA could say one thing to
// this reader and another to a case-sensitive one. A timeVerified that is
// present must be an RFC 3339 string; an absent one is left zero and
// refused by the freshness check.
func readVSA(pred []byte) (vsaView, error) {
	var v vsaView
	var top map[string]json.RawMessage
	if err := json.Unmarshal(pred, &top); err != nil || top == nil {
		return v, errors.New("predicate is not an object")
	}
	str := func(m map[string]json.RawMessage, key string, dst *string) error {
		raw, ok := m[key]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
			return fmt.Errorf("%s is not a string", key)
		}
		return nil
	}
	obj := func(m map[string]json.RawMessage, key string) (map[string]json.RawMessage, error) {
		raw, ok := m[key]
		if !ok {
			return nil, nil
		}
		var o map[string]json.RawMessage
		if err := json.Unmarshal(raw, &o); err != nil || o == nil {
			return nil, fmt.Errorf("%s is not an object", key)
		}
		return o, nil
	}
	verifier, err := obj(top, "verifier")
	if err != nil {
		return v, err
	}
	if err := str(verifier, "id", &v.verifierID); err != nil {
		return v, err
	}
	var tv string
	if err := str(top, "timeVerified", &tv); err != nil {
		return v, err
	}
	if _, ok := top["timeVerified"]; ok {
		if v.timeVerified, err = time.Parse(time.RFC3339Nano, tv); err != nil {
			return v, fmt.Errorf("timeVerified: %v", err)
		}
	}
	if err := str(top, "resourceUri", &v.resourceURI); err != nil {
		return v, err
	}
	if err := str(top, "verificationResult", &v.verificationResult); err != nil {
		return v, err
	}
	pol, err := obj(top, "policy")
	if err != nil {
		return v, err
	}
	if raw, ok := pol["digest"]; ok {
		if err := json.Unmarshal(raw, &v.policyDigest); err != nil {
			return v, errors.New("policy.digest is not a string map")
		}
	}
	return v, nil
}

// fastPath returns the check of the first acceptable VSA, or the reasons
// none was acceptable (nil when no attestation is a VSA of a trusted
// verifier).
// Freshness is judged on the engine's clock: a timeVerified that is
// missing or later than the clock plus ClockSkew is refused, whatever
// maxAge says.
func (e *Engine) fastPath(ctx context.Context, art intoto.ResourceDescriptor, atts []*sign.Attestation) (ok bool, why []string) {
	for _, tv := range e.vsa {
		for _, att := range atts {
			r, err := Verify(ctx, tv.auth, att, Expectations{SubjectDigest: art.Digest, PredicateType: PredicateVSA})
			if err != nil {
				continue
			}
			// Case-sensitive in effect: a "VerificationResult" that only
			// encoding/json's folding would read as verificationResult is
			// refused, not read.
			v, err := readVSA(r.Statement.Predicate)
			if err != nil {
				why = append(why, "unreadable VSA: "+err.Error())
				continue
			}
			now := e.now()
			timeErr := checkTime("timeVerified", v.timeVerified, now)
			switch {
			case v.verifierID != tv.id:
				why = append(why, fmt.Sprintf("VSA by %q, want %q", v.verifierID, tv.id))
			case v.verificationResult != "PASSED":
				why = append(why, "VSA says "+v.verificationResult)
			case v.resourceURI != art.Name:
				why = append(why, fmt.Sprintf("VSA is about %q, not %q", v.resourceURI, art.Name))
			case e.id == "" || v.policyDigest["sha256"] != e.id:
				// Every engine's policy has an identity, from a file or
				// from Go; a VSA that names no policy, or another one, or
				// this one before it changed, vouches for nothing here.
				why = append(why, "VSA is for another policy")
			case timeErr != nil:
				why = append(why, "VSA "+timeErr.Error())
			case age(v.timeVerified, now) > tv.maxAge:
				why = append(why, fmt.Sprintf("VSA verified %s ago, max %s", age(v.timeVerified, now).Round(time.Second), tv.maxAge))
			default:
				return true, nil
			}
		}
	}
	return false, why
}
