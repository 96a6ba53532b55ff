package sign_test

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

// countingSigner counts Sign calls: a refused statement reaches no signer
// (a KMS or keyless signer would spend a network call and a log entry).
type countingSigner struct {
	sign.Signer
	n atomic.Int64
}

func (c *countingSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(ctx, data)
}
func (c *countingSigner) Public() crypto.PublicKey { return c.Signer.Public() }

const hex64 = "6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"

// stmt is a statement with the given top-level members after _type.
func stmt(typ, rest string) string {
	return `{"_type":"` + typ + `"` + rest + `}`
}

const (
	v1      = "https://in-toto.io/Statement/v1"
	subj    = `,"subject":[{"name":"a","digest":{"sha256":"` + hex64 + `"}}]`
	predTyp = `,"predicateType":"https://slsa.dev/provenance/v1"`
)

// TestSignStatementRefusesNonStatements: whatever a caller passes by
// mistake (nothing, another JSON document, an envelope, a bare predicate,
// a statement missing what a verifier needs, or a document two parsers
// read differently) is refused with ErrInvalidStatement before any signer
// runs.
func TestSignStatementRefusesNonStatements(t *testing.T) {
	envJSON := `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AAAA"}]}`
	bad := map[string]string{
		"nil":                       "",
		"whitespace":                " \n\t",
		"not JSON":                  "hello",
		"truncated":                 `{"_type":"` + v1 + `"`,
		"array":                     `[` + stmt(v1, subj+predTyp) + `]`,
		"string":                    `"` + v1 + `"`,
		"number":                    `1`,
		"null":                      `null`,
		"bool":                      `true`,
		"empty object":              `{}`,
		"trailing data":             stmt(v1, subj+predTyp) + ` {}`,
		"two documents":             stmt(v1, subj+predTyp) + stmt(v1, subj+predTyp),
		"invalid UTF-8":             stmt(v1, subj+predTyp+`,"x":"`+"\xff"+`"`),
		"duplicate _type":           `{"_type":"https://example.com/x","_type":"` + v1 + `"` + subj + predTyp + `}`,
		"duplicate subject":         stmt(v1, subj+subj+predTyp),
		"nested duplicate":          stmt(v1, `,"subject":[{"name":"a","digest":{"sha256":"`+hex64+`","sha256":"00"}}]`+predTyp),
		"DSSE envelope":             envJSON,
		"bare SLSA predicate":       `{"buildDefinition":{"buildType":"x"},"runDetails":{"builder":{"id":"y"}}}`,
		"SPDX document":             `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`,
		"no _type":                  `{` + subj[1:] + predTyp + `}`,
		"_type not a string":        `{"_type":1` + subj + predTyp + `}`,
		"_type null":                `{"_type":null` + subj + predTyp + `}`,
		"other _type":               stmt("https://in-toto.io/Statement/v2", subj+predTyp),
		"_type with trailing slash": stmt(v1+"/", subj+predTyp),
		"link _type":                stmt("https://in-toto.io/Link/v1", subj+predTyp),
		"no subject":                stmt(v1, predTyp),
		"empty subject":             stmt(v1, `,"subject":[]`+predTyp),
		"null subject":              stmt(v1, `,"subject":null`+predTyp),
		"subject object":            stmt(v1, `,"subject":{"name":"a","digest":{"sha256":"`+hex64+`"}}`+predTyp),
		"subject entry string":      stmt(v1, `,"subject":["a"]`+predTyp),
		"subject entry null":        stmt(v1, `,"subject":[null]`+predTyp),
		"subject without digest":    stmt(v1, `,"subject":[{"name":"a"}]`+predTyp),
		"empty digest set":          stmt(v1, `,"subject":[{"name":"a","digest":{}}]`+predTyp),
		"null digest set":           stmt(v1, `,"subject":[{"name":"a","digest":null}]`+predTyp),
		"empty digest value":        stmt(v1, `,"subject":[{"name":"a","digest":{"sha256":""}}]`+predTyp),
		"null digest value":         stmt(v1, `,"subject":[{"name":"a","digest":{"sha256":null}}]`+predTyp),
		"number digest value":       stmt(v1, `,"subject":[{"name":"a","digest":{"sha256":1}}]`+predTyp),
		"empty algorithm":           stmt(v1, `,"subject":[{"name":"a","digest":{"":"`+hex64+`"}}]`+predTyp),
		"second subject bad":        stmt(v1, `,"subject":[{"name":"a","digest":{"sha256":"`+hex64+`"}},{"name":"b"}]`+predTyp),
		"no predicateType":          stmt(v1, subj),
		"empty predicateType":       stmt(v1, subj+`,"predicateType":""`),
		"null predicateType":        stmt(v1, subj+`,"predicateType":null`),
		"predicateType not string":  stmt(v1, subj+`,"predicateType":["x"]`),
		"predicate array":           stmt(v1, subj+predTyp+`,"predicate":[]`),
		"predicate string":          stmt(v1, subj+predTyp+`,"predicate":"x"`),
		"predicate null":            stmt(v1, subj+predTyp+`,"predicate":null`),
		// encoding/json matches names case-insensitively: it would read
		// the second subject, an exact parser the first.
		"case variant Subject":       stmt(v1, subj+predTyp+`,"Subject":[{"name":"b","digest":{"sha256":"`+strings.Repeat("0", 64)+`"}}]`),
		"case variant _TYPE":         stmt(v1, subj+predTyp+`,"_TYPE":"x"`),
		"case variant PredicateType": stmt(v1, subj+predTyp+`,"PredicateType":"x"`),
		"case variant Digest":        stmt(v1, `,"subject":[{"name":"a","digest":{"sha256":"`+hex64+`"},"Digest":{"sha256":"00"}}]`+predTyp),
		"deep nesting":               stmt(v1, subj+predTyp+`,"predicate":{"x":`+strings.Repeat("[", 200)+strings.Repeat("]", 200)+`}`),
	}
	ctx := context.Background()
	for name, payload := range bad {
		s := &countingSigner{Signer: signtest.NewSigner("check")}
		var in []byte
		if name != "nil" {
			in = []byte(payload)
		}
		if err := intoto.CheckStatement(in); !errors.Is(err, intoto.ErrInvalidStatement) {
			t.Errorf("%s: CheckStatement = %v, want ErrInvalidStatement", name, err)
		}
		env, err := sign.SignStatement(ctx, in, s)
		if !errors.Is(err, intoto.ErrInvalidStatement) || env != nil {
			t.Errorf("%s: SignStatement = %v, %v; want ErrInvalidStatement", name, env, err)
		}
		if n := s.n.Load(); n != 0 {
			t.Errorf("%s: the signer ran %d times for a refused statement", name, n)
		}
	}
}

func TestSignStatementAccepts(t *testing.T) {
	ctx := context.Background()
	for name, payload := range map[string]string{
		"v1 minimal":          stmt(v1, subj+predTyp),
		"v1 with predicate":   stmt(v1, subj+predTyp+`,"predicate":{"buildDefinition":{}}`),
		"v0.1":                stmt("https://in-toto.io/Statement/v0.1", subj+predTyp+`,"predicate":{}`),
		"unknown fields kept": stmt(v1, subj+predTyp+`,"x-extension":[1,2]`),
		"other algorithms":    stmt(v1, `,"subject":[{"uri":"pkg:x","digest":{"gitCommit":"abc","sha512":"x"}}]`+predTyp),
		"surrounding spaces":  "\n " + stmt(v1, subj+predTyp) + "\n",
	} {
		env, err := sign.SignStatement(ctx, []byte(payload), signtest.NewSigner("ok"))
		if err != nil || string(env.Payload) != payload || env.PayloadType != sign.PayloadTypeInToto {
			t.Errorf("%s: SignStatement = %+v, %v", name, env, err)
		}
	}
}

// SignEnvelope is the generic DSSE primitive and signs any bytes, the
// in-toto type included (SignStatement is the checked door). Only an
// empty payload type, which no parser accepts, is refused.
func TestSignEnvelopeOtherPayloadTypes(t *testing.T) {
	ctx := context.Background()
	for _, pt := range []string{"application/json", "text/plain", "application/vnd.cyclonedx+json", sign.PayloadTypeInToto} {
		for _, payload := range []string{"", "not json", "{}"} {
			if _, err := sign.SignEnvelope(ctx, pt, []byte(payload), signtest.NewSigner("g")); err != nil {
				t.Errorf("%s %q: %v", pt, payload, err)
			}
		}
	}
	s := &countingSigner{Signer: signtest.NewSigner("g")}
	if _, err := sign.SignEnvelope(ctx, "", []byte(stmt(v1, subj+predTyp)), s); !errors.Is(err, sign.ErrMalformedEnvelope) || s.n.Load() != 0 {
		t.Errorf("empty payload type: %v (signer ran %d times)", err, s.n.Load())
	}
}
