package sbom

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	itpb "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
)

// ed25519Signer is an ephemeral sign.Signer for tests.
type ed25519Signer struct{ priv ed25519.PrivateKey }

func (s ed25519Signer) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ed25519.Sign(s.priv, data), nil
}
func (s ed25519Signer) KeyID() string            { return "test-ed25519" }
func (s ed25519Signer) Public() crypto.PublicKey { return s.priv.Public() }

func newSigner(t *testing.T) ed25519Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	return ed25519Signer{priv}
}

// checkStatement parses st strictly as an in-toto v1 Statement and checks
// its predicate type and single subject.
func checkStatement(t *testing.T, st []byte, predicateType, name, sha string) *itpb.Statement {
	t.Helper()
	var s itpb.Statement
	if err := protojson.Unmarshal(st, &s); err != nil {
		t.Fatalf("statement does not parse: %v\n%s", err, st)
	}
	must(t, s.Validate())
	if s.GetType() != "https://in-toto.io/Statement/v1" || s.GetPredicateType() != predicateType {
		t.Fatalf("type %q predicateType %q", s.GetType(), s.GetPredicateType())
	}
	if len(s.GetSubject()) != 1 || s.GetSubject()[0].GetName() != name || s.GetSubject()[0].GetDigest()["sha256"] != sha {
		t.Fatalf("subject %v", s.GetSubject())
	}
	// Wire names are the protojson ones cosign reads.
	if !bytes.Contains(st, []byte(`"predicateType":`)) || bytes.Contains(st, []byte(`"predicate_type"`)) {
		t.Fatalf("statement JSON field names: %s", st)
	}
	return &s
}

func TestStatementsSignAndVerify(t *testing.T) {
	s := sampleSBOM()
	signer := newSigner(t)
	spdxDoc, err := s.SPDX()
	must(t, err)
	cdxDoc, err := s.CycloneDX()
	must(t, err)
	cdx15, err := s.CycloneDX(CycloneDXVersion(cdx.SpecVersion1_5))
	must(t, err)

	spdxSt, err := s.SPDXStatement()
	must(t, err)
	cdxSt, err := s.CycloneDXStatement(nil)
	must(t, err)
	cdx15St, err := s.CycloneDXStatement(nil, CycloneDXVersion(cdx.SpecVersion1_5))
	must(t, err)
	for _, tc := range []struct {
		st, doc []byte
		pt      string
	}{{spdxSt, spdxDoc, PredicateSPDX}, {cdxSt, cdxDoc, PredicateCycloneDX}, {cdx15St, cdx15, PredicateCycloneDX}} {
		checkStatement(t, tc.st, tc.pt, "app", s.Root.SHA256)
		// The predicate is the document, as a JSON object.
		var outer struct{ Predicate json.RawMessage }
		must(t, json.Unmarshal(tc.st, &outer))
		if !jsonEqual(t, outer.Predicate, tc.doc) {
			t.Fatalf("predicate differs from the document")
		}
		if tc.pt == PredicateSPDX {
			if err := ValidateSPDX(outer.Predicate); err != nil {
				t.Fatalf("SPDX predicate: %v", err)
			}
		}

		env, err := sign.SignStatement(t.Context(), tc.st, signer)
		must(t, err)
		if env.PayloadType != sign.PayloadTypeInToto || !bytes.Equal(env.Payload, tc.st) {
			t.Fatal("envelope payload")
		}
		pub := signer.Public().(ed25519.PublicKey)
		if !ed25519.Verify(pub, env.PAE(), env.Signatures[0].Sig) {
			t.Fatal("signature does not verify")
		}
		// Tamper: a changed payload no longer verifies.
		bad := bytes.Replace(env.Payload, []byte(s.Root.SHA256), []byte(strings.Repeat("00", 32)), 1)
		if ed25519.Verify(pub, sign.PAE(env.PayloadType, bad), env.Signatures[0].Sig) {
			t.Fatal("tampered payload verifies")
		}
	}

	// Explicit subjects override the root.
	sub := intoto.ResourceDescriptor{Name: "ghcr.io/x/app", Digest: map[string]string{"sha256": strings.Repeat("12", 32)}}
	st, err := s.SPDXStatement(sub)
	must(t, err)
	checkStatement(t, st, PredicateSPDX, sub.Name, sub.Digest["sha256"])

	for name, bad := range map[string]intoto.ResourceDescriptor{
		"no name":      {Digest: map[string]string{"sha256": strings.Repeat("12", 32)}},
		"no digest":    {Name: "x"},
		"short sha256": {Name: "x", Digest: map[string]string{"sha256": "1234"}},
		"upper hex":    {Name: "x", Digest: map[string]string{"sha256": strings.Repeat("AB", 32)}},
		"empty other":  {Name: "x", Digest: map[string]string{"gitCommit": ""}},
		// Fields a statement subject does not carry are refused, not dropped.
		"with a URI":        {Name: "x", URI: "oci://x", Digest: map[string]string{"sha256": strings.Repeat("12", 32)}},
		"with annotations":  {Name: "x", Annotations: map[string]any{"a": "b"}, Digest: map[string]string{"sha256": strings.Repeat("12", 32)}},
		"with a media type": {Name: "x", MediaType: "text/plain", Digest: map[string]string{"sha256": strings.Repeat("12", 32)}},
	} {
		if _, err := s.SPDXStatement(bad); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := s.CycloneDXStatement([]intoto.ResourceDescriptor{bad}); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("%s (cdx): %v", name, err)
		}
	}
}
