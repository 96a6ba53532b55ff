package sign

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/intoto"
)

// PayloadTypeInToto is the DSSE payload type of an in-toto Statement.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// DefaultMaxEnvelopeSize is the largest serialized envelope ParseEnvelope
// accepts unless told otherwise: 32 MiB, enough for an SBOM of a large image.
const DefaultMaxEnvelopeSize = 32 << 20

// Envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse).
// Payload holds the raw payload bytes; JSON encodes it as standard base64.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     []byte      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an Envelope.
type Signature struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   []byte `json:"sig"`
}

// Errors returned by envelope signing and parsing. Match them with errors.Is.
var (
	// ErrNoSigners is returned when SignEnvelope is given no signer.
	ErrNoSigners = errors.New("sign: no signers")
	// ErrMalformedEnvelope is returned for input that is not a DSSE envelope.
	ErrMalformedEnvelope = errors.New("sign: malformed DSSE envelope")
	// ErrTooLarge is returned for input over a size limit.
	ErrTooLarge = errors.New("sign: input too large")
)

// PAE returns the DSSE v1 pre-authentication encoding of payloadType and
// payload: the exact bytes a Signer signs.
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
func PAE(payloadType string, payload []byte) []byte {
	lt, lp := strconv.Itoa(len(payloadType)), strconv.Itoa(len(payload))
	b := make([]byte, 0, 10+len(lt)+len(payloadType)+len(lp)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = append(b, lt...)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = append(b, lp...)
	b = append(b, ' ')
	return append(b, payload...)
}

// SignEnvelope signs payload with every signer and returns the envelope.
// Signers run in order; the first failure aborts and is returned wrapped.
// It is the generic DSSE primitive: it never reads the payload, whatever
// payloadType says (sign statements with SignStatement, which checks
// them; oci.Attach checks what it publishes). An empty payloadType, which
// ParseEnvelope refuses, fails with ErrMalformedEnvelope.
func SignEnvelope(ctx context.Context, payloadType string, payload []byte, signers ...Signer) (*Envelope, error) {
	if len(signers) == 0 {
		return nil, ErrNoSigners
	}
	if payloadType == "" {
		return nil, fmt.Errorf("%w: empty payloadType", ErrMalformedEnvelope)
	}
	pae := PAE(payloadType, payload)
	env := &Envelope{
		PayloadType: payloadType,
		// The payload is the tail of the PAE buffer: one copy of the caller's
		// bytes, not two. Capacity is capped so appends never reach into it,
		// and the slice is never nil (nil would marshal as null).
		Payload:    pae[len(pae)-len(payload) : len(pae) : len(pae)],
		Signatures: make([]Signature, 0, len(signers)),
	}
	for i, s := range signers {
		if s == nil {
			return nil, fmt.Errorf("sign: signer %d is nil", i)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sig, err := s.Sign(ctx, pae)
		if err != nil {
			return nil, fmt.Errorf("sign: signer %d (keyid %q): %w", i, s.KeyID(), err)
		}
		if len(sig) == 0 {
			return nil, fmt.Errorf("sign: signer %d (keyid %q) returned an empty signature", i, s.KeyID())
		}
		env.Signatures = append(env.Signatures, Signature{KeyID: s.KeyID(), Sig: sig})
	}
	return env, nil
}

// SignStatement signs an in-toto Statement (its JSON bytes) into an envelope
// with payload type PayloadTypeInToto. A statement that fails
// intoto.CheckStatement (nil, empty, not strict JSON, not an object, another
// _type, no subject, no predicateType) is refused with intoto.ErrInvalidStatement
// before any signer runs.
func SignStatement(ctx context.Context, statement []byte, signers ...Signer) (*Envelope, error) {
	if len(signers) == 0 {
		return nil, ErrNoSigners
	}
	// The check costs about what the verifier's parse costs (a strict JSON
	// scan); SignEnvelope, the hot generic path, does not pay it.
	if err := intoto.CheckStatement(statement); err != nil {
		return nil, err
	}
	return SignEnvelope(ctx, PayloadTypeInToto, statement, signers...)
}

// PAE returns the pre-authentication encoding of the envelope's payload.
func (e *Envelope) PAE() []byte { return PAE(e.PayloadType, e.Payload) }

// ParseOption tunes ParseEnvelope.
type ParseOption func(*parseConfig)

type parseConfig struct{ maxSize int }

// WithMaxSize sets the largest serialized envelope accepted, in bytes.
func WithMaxSize(n int) ParseOption { return func(c *parseConfig) { c.maxSize = n } }

// wireEnvelope is the JSON form; base64 fields are decoded by hand because
// DSSE allows both the standard and the URL-safe alphabet.
type wireEnvelope struct {
	PayloadType *string         `json:"payloadType"`
	Payload     *string         `json:"payload"`
	Signatures  []wireSignature `json:"signatures"`
}

type wireSignature struct {
	KeyID string  `json:"keyid"`
	Sig   *string `json:"sig"`
}

// ParseEnvelope decodes a JSON DSSE envelope. It rejects input over the size
// limit (ErrTooLarge), JSON that internal/strictjson rejects (duplicate
// keys at any depth, keys that differ only in case such as "payload" and
// "Payload", lone surrogates, trailing data), field names not spelled
// exactly as in the spec, missing fields, bad base64 and envelopes without
// signatures (ErrMalformedEnvelope, wrapping the strictjson error when
// there is one). It checks no signature: that is the verifier's job.
func ParseEnvelope(data []byte, opts ...ParseOption) (*Envelope, error) {
	cfg := parseConfig{maxSize: DefaultMaxEnvelopeSize}
	for _, o := range opts {
		o(&cfg)
	}
	if len(data) > cfg.maxSize {
		return nil, fmt.Errorf("%w: envelope is %d bytes, limit %d", ErrTooLarge, len(data), cfg.maxSize)
	}
	if err := strictjson.Check(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEnvelope, err)
	}
	if err := checkEnvelopeKeys(data); err != nil {
		return nil, err
	}
	var w wireEnvelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEnvelope, err)
	}
	if w.PayloadType == nil || *w.PayloadType == "" {
		return nil, fmt.Errorf("%w: missing payloadType", ErrMalformedEnvelope)
	}
	if w.Payload == nil {
		return nil, fmt.Errorf("%w: missing payload", ErrMalformedEnvelope)
	}
	payload, err := decodeB64(*w.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformedEnvelope, err)
	}
	if len(w.Signatures) == 0 {
		return nil, fmt.Errorf("%w: no signatures", ErrMalformedEnvelope)
	}
	env := &Envelope{PayloadType: *w.PayloadType, Payload: payload, Signatures: make([]Signature, len(w.Signatures))}
	for i, s := range w.Signatures {
		if s.Sig == nil {
			return nil, fmt.Errorf("%w: signature %d has no sig", ErrMalformedEnvelope, i)
		}
		sig, err := decodeB64(*s.Sig)
		if err != nil || len(sig) == 0 {
			return nil, fmt.Errorf("%w: signature %d: bad or empty sig", ErrMalformedEnvelope, i)
		}
		env.Signatures[i] = Signature{KeyID: s.KeyID, Sig: sig}
	}
	return env, nil
}

// decodeB64 accepts standard or URL-safe base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// WriteJSONL writes envelopes as JSON Lines (the .intoto.jsonl format): one
// compact envelope a line.
func WriteJSONL(w io.Writer, envs ...*Envelope) error {
	bw := bufio.NewWriter(w)
	for _, e := range envs {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ReadJSONL reads an .intoto.jsonl stream: one envelope a line, blank lines
// skipped. Each line is parsed with ParseEnvelope and the same options.
func ReadJSONL(r io.Reader, opts ...ParseOption) ([]*Envelope, error) {
	cfg := parseConfig{maxSize: DefaultMaxEnvelopeSize}
	for _, o := range opts {
		o(&cfg)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), cfg.maxSize+1)
	var out []*Envelope
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		e, err := ParseEnvelope(line, opts...)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: a line is over %d bytes", ErrTooLarge, cfg.maxSize)
		}
		return nil, err
	}
	return out, nil
}
