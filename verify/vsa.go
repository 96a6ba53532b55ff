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
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
)

// PredicateVSA is the predicate type of a SLSA Verification Summary
// Attestation v1.
const PredicateVSA = "https://slsa.dev/verification_summary/v1"

// ErrVSA: a VSA offered as a fast path was not acceptable.
var ErrVSA = errors.New("verification summary not acceptable")

// VSAOptions describe the verifier that issues a VSA.
type VSAOptions struct {
	// VerifierID is the URI of the verifier (required).
	VerifierID string
	// ResourceURI names what was verified; default: the artifact's name.
	ResourceURI string
	// PolicyURI locates the policy applied; its digest comes from the
	// Policy when it was read from a file.
	PolicyURI string
	// VerifiedLevels are the SLSA levels the policy establishes (e.g.
	// SLSA_BUILD_LEVEL_2). Only the verifier knows what its policy proves,
	// so nothing is claimed by default beyond SLSA_BUILD_LEVEL_1 (signed
	// provenance exists) for a pass.
	VerifiedLevels []string
	// Now is the clock for timeVerified; default time.Now.
	Now func() time.Time
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
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
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
		Policy:             &vsapb.VerificationSummary_Policy{Uri: o.PolicyURI, Digest: e.p.Digest()},
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
			Uri: "dsse:" + pt, Digest: map[string]string{provenance.AlgSHA256: hex.EncodeToString(sum[:])},
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
	st := &intoto.Statement{
		Type:          provenance.StatementTypeV1,
		Subject:       []*intoto.ResourceDescriptor{{Name: rep.Artifact.Name, Digest: subject}},
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
	v      *Verifier
}

// WithTrustedVSA accepts, in place of a full evaluation, a VSA issued by
// verifierID, signed by keys, about the artifact's digest, PASSED, for this
// engine's policy (same digest, when the policy came from a file), and
// verified less than maxAge ago.
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

type vsaView struct {
	Verifier struct {
		ID string `json:"id"`
	} `json:"verifier"`
	TimeVerified       time.Time `json:"timeVerified"`
	ResourceURI        string    `json:"resourceUri"`
	VerificationResult string    `json:"verificationResult"`
	Policy             struct {
		Digest map[string]string `json:"digest"`
	} `json:"policy"`
}

// fastPath returns the check of the first acceptable VSA, or the reasons
// none was acceptable (nil when no envelope is a VSA of a trusted verifier).
func (e *Engine) fastPath(ctx context.Context, art Artifact, envs []*sign.Envelope) (ok bool, why []string) {
	for _, tv := range e.vsa {
		for _, env := range envs {
			r, err := tv.v.VerifyEnvelope(ctx, env, Expectations{SubjectDigest: art.Digest, PredicateType: PredicateVSA})
			if err != nil {
				continue
			}
			// Case-sensitive in effect: a "VerificationResult" that only
			// encoding/json's folding would read as verificationResult is
			// refused, not read.
			var v vsaView
			if err := strictjson.Unmarshal(r.Statement.Predicate, &v); err != nil {
				why = append(why, "unreadable VSA: "+err.Error())
				continue
			}
			age := e.now().Sub(v.TimeVerified)
			switch {
			case v.Verifier.ID != tv.id:
				why = append(why, fmt.Sprintf("VSA by %q, want %q", v.Verifier.ID, tv.id))
			case v.VerificationResult != "PASSED":
				why = append(why, "VSA says "+v.VerificationResult)
			case v.ResourceURI != art.Name:
				why = append(why, fmt.Sprintf("VSA is about %q, not %q", v.ResourceURI, art.Name))
			case e.p.digest != "" && v.Policy.Digest["sha256"] != e.p.digest:
				why = append(why, "VSA is for another policy")
			case v.TimeVerified.IsZero() || age > tv.maxAge || age < -time.Minute:
				why = append(why, fmt.Sprintf("VSA verified %s ago, max %s", age.Round(time.Second), tv.maxAge))
			default:
				return true, nil
			}
		}
	}
	return false, why
}
