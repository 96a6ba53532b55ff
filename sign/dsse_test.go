package sign_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

// TestDSSEInteropOurEnvelopeTheirVerifier: an envelope from SignEnvelope,
// serialized as JSON, verifies with dsse.EnvelopeVerifier over our verifier.
func TestDSSEInteropOurEnvelopeTheirVerifier(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []sign.Algorithm{sign.ECDSAP256SHA256, sign.Ed25519, sign.RSAPSSSHA256} {
		s := signerFor(t, alg)
		env, err := sign.SignStatement(ctx, []byte(statement), s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		var theirs dsse.Envelope
		if err := json.Unmarshal(b, &theirs); err != nil {
			t.Fatal(err)
		}
		v, err := sign.VerifierFor(s)
		if err != nil {
			t.Fatal(err)
		}
		for name, dv := range map[string]dsse.Verifier{"ToDSSEVerifier": sign.ToDSSEVerifier(v), "ToDSSESigner": sign.ToDSSESigner(s)} {
			ev, err := dsse.NewEnvelopeVerifier(dv)
			if err != nil {
				t.Fatal(err)
			}
			accepted, err := ev.Verify(ctx, &theirs)
			if err != nil {
				t.Errorf("%s %s: dsse rejects our envelope: %v", alg, name, err)
				continue
			}
			if len(accepted) != 1 || accepted[0].KeyID != s.KeyID() {
				t.Errorf("%s %s: accepted = %+v", alg, name, accepted)
			}
			// Tampered payload: dsse must reject it too.
			bad := theirs
			bad.Payload = base64.StdEncoding.EncodeToString([]byte(`{"_type":"evil"}`))
			if _, err := ev.Verify(ctx, &bad); err == nil {
				t.Errorf("%s %s: dsse accepted a tampered payload", alg, name)
			}
		}
	}
}

// TestDSSEInteropTheirEnvelopeOurVerifier: dsse.EnvelopeSigner with our
// signer adapted produces an envelope that ParseEnvelope reads and our
// Verifier accepts.
func TestDSSEInteropTheirEnvelopeOurVerifier(t *testing.T) {
	ctx := context.Background()
	s := signerFor(t, sign.ECDSAP384SHA384)
	es, err := dsse.NewEnvelopeSigner(sign.ToDSSESigner(s))
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"predicateType":"https://slsa.dev/provenance/v1"}`)
	theirs, err := es.SignPayload(ctx, sign.PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(theirs)
	if err != nil {
		t.Fatal(err)
	}
	env, err := sign.ParseEnvelope(b)
	if err != nil {
		t.Fatalf("ParseEnvelope of a dsse envelope: %v", err)
	}
	if string(env.Payload) != string(payload) || env.Signatures[0].KeyID != s.KeyID() {
		t.Errorf("parsed envelope = %+v", env)
	}
	v, err := sign.NewVerifier(s.Public(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
		t.Errorf("our verifier rejects a dsse-signed envelope: %v", err)
	}
	other := signerFor(t, sign.ECDSAP256SHA256)
	ov, _ := sign.VerifierFor(other)
	if err := ov.Verify(ctx, env.PAE(), env.Signatures[0].Sig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("another key accepted it: %v", err)
	}
}

// theirSigner is a dsse.SignerVerifier written against go-securesystemslib.
type theirSigner struct {
	s      sign.Signer
	keyErr error
}

func (t theirSigner) Sign(ctx context.Context, d []byte) ([]byte, error) { return t.s.Sign(ctx, d) }
func (t theirSigner) KeyID() (string, error)                             { return t.s.KeyID(), t.keyErr }
func (t theirSigner) Public() crypto.PublicKey                           { return t.s.Public() }
func (t theirSigner) Verify(ctx context.Context, d, sig []byte) error {
	v, err := sign.VerifierFor(t.s)
	if err != nil {
		return err
	}
	if err := v.Verify(ctx, d, sig); err != nil {
		return errors.New("their verifier says no") // loses our sentinel
	}
	return nil
}

func TestFromDSSE(t *testing.T) {
	ctx := context.Background()
	inner := signerFor(t, sign.Ed25519)
	s := sign.FromDSSESigner(theirSigner{s: inner})
	if s.KeyID() != inner.KeyID() || s.Public() == nil {
		t.Errorf("FromDSSESigner: keyid %q", s.KeyID())
	}
	env, err := sign.SignEnvelope(ctx, "text/plain", []byte("hi"), s)
	if err != nil {
		t.Fatal(err)
	}
	v := sign.FromDSSEVerifier(theirSigner{s: inner})
	if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
		t.Fatalf("FromDSSEVerifier: %v", err)
	}
	if err := v.Verify(ctx, sign.PAE("text/html", []byte("hi")), env.Signatures[0].Sig); !errors.Is(err, sign.ErrInvalidSignature) {
		t.Errorf("FromDSSEVerifier failure = %v, want ErrInvalidSignature", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := v.Verify(cctx, env.PAE(), env.Signatures[0].Sig); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if got := sign.FromDSSESigner(theirSigner{s: inner, keyErr: errors.New("no id")}).KeyID(); got != "" {
		t.Errorf("KeyID error should give an empty key ID, got %q", got)
	}
	if v.KeyID() != inner.KeyID() {
		t.Errorf("FromDSSEVerifier KeyID = %q", v.KeyID())
	}
}

func TestDSSEAdaptersNilAndUnwrap(t *testing.T) {
	if sign.FromDSSESigner(nil) != nil || sign.ToDSSESigner(nil) != nil || sign.FromDSSEVerifier(nil) != nil || sign.ToDSSEVerifier(nil) != nil {
		t.Error("adapters of nil must be nil")
	}
	s := signerFor(t, sign.Ed25519)
	if got := sign.FromDSSESigner(sign.ToDSSESigner(s)); got != sign.Signer(s) {
		t.Errorf("round trip of a signer wraps twice: %T", got)
	}
	v, _ := sign.VerifierFor(s)
	if got := sign.FromDSSEVerifier(sign.ToDSSEVerifier(v)); got != v {
		t.Errorf("round trip of a verifier wraps twice: %T", got)
	}
	their := theirSigner{s: s}
	if got := sign.ToDSSESigner(sign.FromDSSESigner(their)); got != dsse.SignerVerifier(their) {
		t.Errorf("round trip of a dsse signer wraps twice: %T", got)
	}
	// ToDSSESigner.Verify fails cleanly for a key it cannot verify with.
	if err := sign.ToDSSESigner(badKeySigner{}).Verify(context.Background(), nil, []byte{1}); !errors.Is(err, sign.ErrUnsupportedKey) {
		t.Errorf("Verify with an unsupported key: %v", err)
	}
}

type badKeySigner struct{}

func (badKeySigner) Sign(context.Context, []byte) ([]byte, error) { return []byte{1}, nil }
func (badKeySigner) KeyID() string                                { return "bad" }
func (badKeySigner) Public() crypto.PublicKey                     { return "not a key" }

// A go-securesystemslib signer keeps the seam's contract once adapted.
func TestFromDSSESignerConformance(t *testing.T) {
	signtest.Conformance(t, sign.FromDSSESigner(theirSigner{s: signerFor(t, sign.ECDSAP521SHA512)}))
}
