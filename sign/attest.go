package sign

import (
	"bytes"
	"context"
	"fmt"
)

// Attestation is a signed in-toto statement as it flows between packages:
// from Attest to oci (attach) and from oci (list) to verify.
//
// Envelope is the DSSE envelope with every signature: what .intoto.jsonl
// files and cosign's legacy .att layers hold. Bundle, when a BundleSigner
// signed, is the Sigstore bundle of that signer's signature: the same
// payload with exactly one signature, plus its certificate, transparency
// log entries and timestamps; it is what OCI referrers and --bundle files
// hold. Validate checks that the two agree.
type Attestation struct {
	Envelope *Envelope
	Bundle   *Bundle
}

// Attest signs an in-toto statement (its JSON bytes) with every signer, in
// order, as SignStatement does, and returns the Attestation. When one of
// the signers is a BundleSigner, its BundleEnvelope fills Bundle; with none,
// Bundle is nil.
//
// With a BundleSigner and other signers, Envelope carries every signature
// and Bundle only the BundleSigner's: Sigstore verifiers (sigstore-go,
// cosign v3) refuse a bundle whose envelope holds other than exactly one
// signature, so the other signatures are verified from Envelope, with
// their keys. Two or more BundleSigners fail with ErrBundleSigners before
// anything is signed (a bundle has room for one); call Attest once for
// each of them instead.
func Attest(ctx context.Context, statement []byte, signers ...Signer) (*Attestation, error) {
	var bs BundleSigner
	at := -1
	for i, s := range signers {
		if b, ok := s.(BundleSigner); ok {
			if bs != nil {
				return nil, fmt.Errorf("%w: signers %d and %d", ErrBundleSigners, at, i)
			}
			bs, at = b, i
		}
	}
	env, err := SignStatement(ctx, statement, signers...)
	if err != nil {
		return nil, err
	}
	a := &Attestation{Envelope: env}
	if bs == nil {
		return a, nil
	}
	if a.Bundle, err = bs.BundleEnvelope(ctx, env); err != nil {
		return nil, fmt.Errorf("sign: signer %d (keyid %q): bundle: %w", at, bs.KeyID(), err)
	}
	if a.Bundle == nil {
		return nil, fmt.Errorf("%w: signer %d (keyid %q) returned no bundle", ErrMalformedBundle, at, bs.KeyID())
	}
	// The bundle is the signer's word: check it carries this envelope, so
	// that a faulty BundleSigner cannot pair the statement with another.
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("sign: signer %d (keyid %q): %w", at, bs.KeyID(), err)
	}
	return a, nil
}

// Validate checks that the attestation is signed and that its Bundle, if
// any, carries its Envelope: a well-formed DSSE bundle (ErrMalformedBundle)
// with the same payload type and payload, whose signatures are all among
// the envelope's (compared by signature bytes: key IDs are unsigned hints
// and Sigstore bundles leave them out), else ErrBundleMismatch. It
// verifies no signature.
func (a *Attestation) Validate() error {
	if a == nil || a.Envelope == nil || len(a.Envelope.Signatures) == 0 || a.Envelope.PayloadType == "" {
		return fmt.Errorf("%w: an attestation needs a typed, signed envelope", ErrMalformedEnvelope)
	}
	if a.Bundle == nil {
		return nil
	}
	if err := a.Bundle.validate(); err != nil {
		return err
	}
	be := a.Bundle.DSSEEnvelope
	switch {
	case be == nil:
		return fmt.Errorf("%w: the bundle holds a message signature, not an envelope", ErrBundleMismatch)
	case be.PayloadType != a.Envelope.PayloadType:
		return fmt.Errorf("%w: payload type %q, envelope's %q", ErrBundleMismatch, be.PayloadType, a.Envelope.PayloadType)
	case !bytes.Equal(be.Payload, a.Envelope.Payload):
		return fmt.Errorf("%w: another payload", ErrBundleMismatch)
	}
	for i, bs := range be.Signatures {
		found := false
		for _, es := range a.Envelope.Signatures {
			found = found || bytes.Equal(bs.Sig, es.Sig)
		}
		if !found {
			return fmt.Errorf("%w: bundle signature %d is not in the envelope", ErrBundleMismatch, i)
		}
	}
	return nil
}
