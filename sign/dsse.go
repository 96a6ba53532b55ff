package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// FromDSSESigner adapts a go-securesystemslib dsse.SignerVerifier to Signer.
// A KeyID error becomes the empty key ID. It returns nil for a nil sv.
func FromDSSESigner(sv dsse.SignerVerifier) Signer {
	if sv == nil {
		return nil
	}
	if t, ok := sv.(*toDSSESigner); ok {
		return t.s
	}
	return dsseSigner{sv}
}

type dsseSigner struct{ sv dsse.SignerVerifier }

func (d dsseSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return d.sv.Sign(ctx, data)
}
func (d dsseSigner) KeyID() string            { return keyIDOrEmpty(d.sv.KeyID()) }
func (d dsseSigner) Public() crypto.PublicKey { return d.sv.Public() }

// ToDSSESigner adapts s to go-securesystemslib's dsse.SignerVerifier, for
// dsse.NewEnvelopeSigner and dsse.NewEnvelopeVerifier. Its Verify uses
// VerifierFor(s). It returns nil for a nil s.
func ToDSSESigner(s Signer) dsse.SignerVerifier {
	if s == nil {
		return nil
	}
	if f, ok := s.(dsseSigner); ok {
		return f.sv
	}
	return &toDSSESigner{s: s, verifier: sync.OnceValues(func() (Verifier, error) { return VerifierFor(s) })}
}

type toDSSESigner struct {
	s        Signer
	verifier func() (Verifier, error)
}

func (d *toDSSESigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return d.s.Sign(ctx, data)
}
func (d *toDSSESigner) KeyID() (string, error)   { return d.s.KeyID(), nil }
func (d *toDSSESigner) Public() crypto.PublicKey { return d.s.Public() }
func (d *toDSSESigner) Verify(ctx context.Context, data, sig []byte) error {
	v, err := d.verifier()
	if err != nil {
		return err
	}
	return v.Verify(ctx, data, sig)
}

// FromDSSEVerifier adapts a go-securesystemslib dsse.Verifier to Verifier.
// Its verification failures wrap ErrInvalidSignature (context errors are
// returned as they are). It returns nil for a nil v.
func FromDSSEVerifier(v dsse.Verifier) Verifier {
	if v == nil {
		return nil
	}
	if t, ok := v.(toDSSEVerifier); ok {
		return t.v
	}
	return dsseVerifier{v}
}

type dsseVerifier struct{ v dsse.Verifier }

func (d dsseVerifier) Verify(ctx context.Context, data, sig []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := d.v.Verify(ctx, data, sig)
	if err == nil || errors.Is(err, ErrInvalidSignature) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
}
func (d dsseVerifier) KeyID() string            { return keyIDOrEmpty(d.v.KeyID()) }
func (d dsseVerifier) Public() crypto.PublicKey { return d.v.Public() }

// ToDSSEVerifier adapts v to go-securesystemslib's dsse.Verifier. It returns
// nil for a nil v.
func ToDSSEVerifier(v Verifier) dsse.Verifier {
	if v == nil {
		return nil
	}
	if f, ok := v.(dsseVerifier); ok {
		return f.v
	}
	return toDSSEVerifier{v}
}

type toDSSEVerifier struct{ v Verifier }

func (d toDSSEVerifier) Verify(ctx context.Context, data, sig []byte) error {
	return d.v.Verify(ctx, data, sig)
}
func (d toDSSEVerifier) KeyID() (string, error)   { return d.v.KeyID(), nil }
func (d toDSSEVerifier) Public() crypto.PublicKey { return d.v.Public() }

func keyIDOrEmpty(id string, err error) string {
	if err != nil {
		return ""
	}
	return id
}
