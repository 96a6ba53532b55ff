package sign_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// hintSigner is a BundleSigner over a KeySigner: its bundles carry its one
// signature with a public-key hint. bundle, when set, replaces what it
// returns, to play a faulty implementation.
type hintSigner struct {
	*sign.KeySigner
	signs  atomic.Int32
	bundle func(env *sign.Envelope) (*sign.Bundle, error)
}

func (h *hintSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	h.signs.Add(1)
	return h.KeySigner.Sign(ctx, data)
}

func (h *hintSigner) BundleEnvelope(ctx context.Context, env *sign.Envelope) (*sign.Bundle, error) {
	if h.bundle != nil {
		return h.bundle(env)
	}
	v, err := sign.VerifierFor(h)
	if err != nil {
		return nil, err
	}
	for _, s := range env.Signatures {
		if v.Verify(ctx, env.PAE(), s.Sig) == nil {
			return &sign.Bundle{
				MediaType:            sign.MediaTypeBundle,
				VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: h.KeyID()}},
				DSSEEnvelope:         &sign.Envelope{PayloadType: env.PayloadType, Payload: env.Payload, Signatures: []sign.Signature{{Sig: s.Sig}}},
			}, nil
		}
	}
	return nil, errors.New("not signed by me")
}

func newHintSigner(t *testing.T) *hintSigner {
	t.Helper()
	k, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &hintSigner{KeySigner: k}
}

const attestStatement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` +
	`0000000000000000000000000000000000000000000000000000000000000000"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

func TestAttest(t *testing.T) {
	ctx := context.Background()
	key := signerFor(t, sign.ECDSAP256SHA256)

	// Key signers alone: an envelope, no bundle.
	a, err := sign.Attest(ctx, []byte(attestStatement), key)
	if err != nil || a.Bundle != nil || len(a.Envelope.Signatures) != 1 || a.Envelope.PayloadType != sign.PayloadTypeInToto {
		t.Fatalf("key signer: %+v, %v", a, err)
	}

	// A bundle signer beside a key signer: the envelope has both
	// signatures, the bundle the bundle signer's alone (Sigstore verifiers
	// require exactly one).
	bs := newHintSigner(t)
	a, err = sign.Attest(ctx, []byte(attestStatement), key, bs)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Envelope.Signatures) != 2 || a.Bundle == nil || len(a.Bundle.DSSEEnvelope.Signatures) != 1 ||
		!bytes.Equal(a.Bundle.DSSEEnvelope.Signatures[0].Sig, a.Envelope.Signatures[1].Sig) {
		t.Fatalf("attestation: %+v", a)
	}
	if err := a.Validate(); err != nil {
		t.Error(err)
	}

	// Two bundle signers: refused before either signs.
	other := newHintSigner(t)
	if _, err := sign.Attest(ctx, []byte(attestStatement), bs, key, other); !errors.Is(err, sign.ErrBundleSigners) {
		t.Errorf("two bundle signers: err = %v, want ErrBundleSigners", err)
	}
	if bs.signs.Load() != 1 || other.signs.Load() != 0 {
		t.Errorf("signatures made: %d, %d; want the earlier 1 and none", bs.signs.Load(), other.signs.Load())
	}
}

// A BundleSigner's bundle is checked against the envelope Attest signed: a
// faulty or hostile implementation cannot pair the statement with another
// payload, another signature, or no bundle at all.
func TestAttestChecksTheBundle(t *testing.T) {
	ctx := context.Background()
	forged := &sign.Envelope{PayloadType: sign.PayloadTypeInToto, Payload: []byte(`{"other":1}`), Signatures: []sign.Signature{{Sig: []byte("x")}}}
	hint := sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{}}
	for name, tc := range map[string]struct {
		bundle func(env *sign.Envelope) (*sign.Bundle, error)
		want   error
	}{
		"other payload": {func(*sign.Envelope) (*sign.Bundle, error) {
			return &sign.Bundle{MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, DSSEEnvelope: forged}, nil
		}, sign.ErrBundleMismatch},
		"foreign signature": {func(env *sign.Envelope) (*sign.Bundle, error) {
			e := *env
			e.Signatures = forged.Signatures
			return &sign.Bundle{MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, DSSEEnvelope: &e}, nil
		}, sign.ErrBundleMismatch},
		"message signature": {func(*sign.Envelope) (*sign.Bundle, error) {
			return &sign.Bundle{MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, MessageSignature: &sign.MessageSignature{Signature: []byte("s")}}, nil
		}, sign.ErrBundleMismatch},
		"malformed": {func(env *sign.Envelope) (*sign.Bundle, error) {
			return &sign.Bundle{MediaType: "x", VerificationMaterial: hint, DSSEEnvelope: env}, nil
		}, sign.ErrMalformedBundle},
		"no bundle": {func(*sign.Envelope) (*sign.Bundle, error) { return nil, nil }, sign.ErrMalformedBundle},
		"error":     {func(*sign.Envelope) (*sign.Bundle, error) { return nil, context.DeadlineExceeded }, context.DeadlineExceeded},
	} {
		bs := newHintSigner(t)
		bs.bundle = tc.bundle
		if a, err := sign.Attest(ctx, []byte(attestStatement), bs); !errors.Is(err, tc.want) || a != nil {
			t.Errorf("%s: %v, %v; want %v", name, a, err, tc.want)
		}
	}
}

func TestAttestationValidate(t *testing.T) {
	env := &sign.Envelope{PayloadType: "t", Payload: []byte("p"), Signatures: []sign.Signature{{KeyID: "k", Sig: []byte("s1")}, {Sig: []byte("s2")}}}
	hint := sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{}}
	bundleOf := func(e sign.Envelope) *sign.Bundle {
		return &sign.Bundle{MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, DSSEEnvelope: &e}
	}
	ok := []*sign.Attestation{
		{Envelope: env},
		{Envelope: env, Bundle: bundleOf(*env)},
		{Envelope: env, Bundle: bundleOf(sign.Envelope{PayloadType: "t", Payload: []byte("p"), Signatures: []sign.Signature{{Sig: []byte("s2")}}})},
		// Key IDs are unsigned hints: a bundle drops or changes them freely.
		{Envelope: env, Bundle: bundleOf(sign.Envelope{PayloadType: "t", Payload: []byte("p"), Signatures: []sign.Signature{{KeyID: "other", Sig: []byte("s1")}}})},
	}
	for i, a := range ok {
		if err := a.Validate(); err != nil {
			t.Errorf("ok %d: %v", i, err)
		}
	}
	for name, tc := range map[string]struct {
		a    *sign.Attestation
		want error
	}{
		"nil":            {nil, sign.ErrMalformedEnvelope},
		"no envelope":    {&sign.Attestation{}, sign.ErrMalformedEnvelope},
		"unsigned":       {&sign.Attestation{Envelope: &sign.Envelope{PayloadType: "t"}}, sign.ErrMalformedEnvelope},
		"payload type":   {&sign.Attestation{Envelope: env, Bundle: bundleOf(sign.Envelope{PayloadType: "u", Payload: []byte("p"), Signatures: env.Signatures})}, sign.ErrBundleMismatch},
		"payload":        {&sign.Attestation{Envelope: env, Bundle: bundleOf(sign.Envelope{PayloadType: "t", Payload: []byte("q"), Signatures: env.Signatures})}, sign.ErrBundleMismatch},
		"foreign sig":    {&sign.Attestation{Envelope: env, Bundle: bundleOf(sign.Envelope{PayloadType: "t", Payload: []byte("p"), Signatures: []sign.Signature{{Sig: []byte("s3")}}})}, sign.ErrBundleMismatch},
		"one of foreign": {&sign.Attestation{Envelope: env, Bundle: bundleOf(sign.Envelope{PayloadType: "t", Payload: []byte("p"), Signatures: []sign.Signature{{Sig: []byte("s1")}, {Sig: []byte("s3")}}})}, sign.ErrBundleMismatch},
		"malformed":      {&sign.Attestation{Envelope: env, Bundle: &sign.Bundle{DSSEEnvelope: env}}, sign.ErrMalformedBundle},
	} {
		if err := tc.a.Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}
