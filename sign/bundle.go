package sign

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/slsakit/slsakit/internal/strictjson"
)

// MediaTypeBundle is the Sigstore bundle v0.3 media type: what Bundles made
// here carry, the artifactType and layer media type of cosign v3's OCI
// referrers.
const MediaTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"

// DefaultMaxBundleSize is the largest serialized bundle ParseBundle accepts
// unless told otherwise (WithMaxSize): an envelope of DefaultMaxEnvelopeSize
// plus 1 MiB of certificates, log entries and timestamps.
const DefaultMaxBundleSize = DefaultMaxEnvelopeSize + 1<<20

// Errors returned by bundle parsing and by attestations. Match them with
// errors.Is.
var (
	// ErrMalformedBundle is returned for input that is not a Sigstore
	// bundle this package reads, and by MarshalJSON for a Bundle that
	// ParseBundle would refuse.
	ErrMalformedBundle = errors.New("sign: malformed Sigstore bundle")
	// ErrBundleMismatch is returned when an attestation's bundle does not
	// carry its envelope: another payload or payload type, or a signature
	// the envelope does not have.
	ErrBundleMismatch = errors.New("sign: bundle does not carry the envelope")
	// ErrBundleSigners is returned by Attest when more than one signer is a
	// BundleSigner: a Sigstore bundle holds exactly one signature.
	ErrBundleSigners = errors.New("sign: more than one bundle signer")
)

// bundleMediaTypes are the media types ParseBundle accepts: versions 0.1 to
// 0.3 in both spellings Sigstore clients write. sigstore-go reads the same
// set (and refuses 0.4 and later), so a bundle never parses here yet means
// something else there.
var bundleMediaTypes = map[string]bool{
	"application/vnd.dev.sigstore.bundle+json;version=0.1": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	"application/vnd.dev.sigstore.bundle.v0.1+json":        true,
	"application/vnd.dev.sigstore.bundle.v0.2+json":        true,
	MediaTypeBundle: true,
}

// Bundle is a Sigstore bundle (https://github.com/sigstore/protobuf-specs,
// bundle v0.1 to v0.3): a signature and what a verifier needs to trust it
// offline. Its JSON form is the protobuf JSON mapping that sigstore-go and
// cosign write and read; ParseBundle and MarshalJSON are a strict codec for
// it, without Sigstore's libraries.
//
// Exactly one of DSSEEnvelope (an attestation) and MessageSignature (a
// blob signature) is set. Nothing in a parsed Bundle is verified: that is
// the verifier's job (verify/keyless).
type Bundle struct {
	// MediaType names the bundle version, MediaTypeBundle for v0.3.
	MediaType string
	// VerificationMaterial is the key or certificate and the proofs of
	// when the signature was made.
	VerificationMaterial VerificationMaterial
	// DSSEEnvelope is the signed envelope. Sigstore verifiers require it
	// to hold exactly one signature, without a key ID.
	DSSEEnvelope *Envelope
	// MessageSignature is a signature over an artifact's digest.
	MessageSignature *MessageSignature
}

// VerificationMaterial is what a verifier checks the signature with.
// Exactly one of PublicKey, Certificate and CertificateChain is set.
type VerificationMaterial struct {
	// PublicKey identifies a key the verifier already trusts.
	PublicKey *PublicKeyIdentifier
	// Certificate is the DER leaf certificate (bundle v0.3).
	Certificate []byte
	// CertificateChain is DER certificates, leaf first (bundles v0.1 and
	// v0.2).
	CertificateChain [][]byte
	// TlogEntries are the transparency log entries, as compact protobuf
	// JSON objects (dev.sigstore.rekor.v1.TransparencyLogEntry). They are
	// kept as they were read: verify/keyless interprets them.
	TlogEntries []json.RawMessage
	// RFC3161Timestamps are DER RFC 3161 timestamp responses over the
	// signature (timestampVerificationData.rfc3161Timestamps).
	RFC3161Timestamps [][]byte

	// emptyTimestamps records a timestampVerificationData object read
	// without timestamps, so that the bundle marshals as it was read.
	emptyTimestamps bool
}

// PublicKeyIdentifier names a trusted key by a hint the verifier knows it
// by; the hint may be empty.
type PublicKeyIdentifier struct {
	Hint string
}

// MessageSignature is a signature over an artifact (a blob) or its digest.
type MessageSignature struct {
	// MessageDigest is the signed artifact's digest, if recorded.
	MessageDigest *MessageDigest
	// Signature is the raw signature bytes.
	Signature []byte
}

// MessageDigest is a digest and the hash that made it: crypto.SHA256,
// SHA384, SHA512, SHA3_256 or SHA3_384 (the algorithms the bundle format
// names).
type MessageDigest struct {
	Algorithm crypto.Hash
	Digest    []byte
}

// bundleHashes maps the protobuf-specs HashAlgorithm enum names to hashes.
var bundleHashes = map[string]crypto.Hash{
	"SHA2_256": crypto.SHA256,
	"SHA2_384": crypto.SHA384,
	"SHA2_512": crypto.SHA512,
	"SHA3_256": crypto.SHA3_256,
	"SHA3_384": crypto.SHA3_384,
}

func hashName(h crypto.Hash) (string, bool) {
	for name, v := range bundleHashes {
		if v == h {
			return name, true
		}
	}
	return "", false
}

// ParseBundle decodes a Sigstore bundle's JSON strictly: it rejects input
// over the size limit (ErrTooLarge; WithMaxSize sets it, default
// DefaultMaxBundleSize), duplicate keys at any depth, field names not
// spelled exactly as protobuf-specs' JSON mapping spells them (the
// snake_case names protobuf also accepts included), unknown fields, null
// array elements, media types other than bundle versions 0.1 to 0.3, both or
// neither of the content kinds and of the verification materials, empty
// certificates, signatures and timestamps, bad base64, and a DSSE envelope
// ParseEnvelope would refuse (ErrMalformedBundle). A bundle it accepts
// means the same to sigstore-go's reader. It checks no signature.
func ParseBundle(data []byte, opts ...ParseOption) (*Bundle, error) {
	cfg := parseConfig{maxSize: DefaultMaxBundleSize}
	for _, o := range opts {
		o(&cfg)
	}
	if len(data) > cfg.maxSize {
		return nil, fmt.Errorf("%w: bundle is %d bytes, limit %d", ErrTooLarge, len(data), cfg.maxSize)
	}
	if err := strictjson.Check(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBundle, err)
	}
	b, err := decodeBundle(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBundle, err)
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// UnmarshalJSON is ParseBundle with the default size limit.
func (b *Bundle) UnmarshalJSON(data []byte) error {
	p, err := ParseBundle(data)
	if err != nil {
		return err
	}
	*b = *p
	return nil
}

// MarshalJSON encodes the bundle as protobuf's JSON mapping does
// (protojson, without its random whitespace): fields in declaration order,
// bytes as padded standard base64, empty fields left out. What it writes,
// ParseBundle reads back equal and sigstore-go reads. A bundle ParseBundle
// would refuse fails with ErrMalformedBundle.
func (b Bundle) MarshalJSON() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	vm := &b.VerificationMaterial
	w := jsonWriter{b: make([]byte, 0, b.sizeHint())}
	w.raw(`{"mediaType":`)
	w.str(b.MediaType)
	w.raw(`,"verificationMaterial":{`)
	switch {
	case vm.PublicKey != nil:
		w.raw(`"publicKey":{`)
		if vm.PublicKey.Hint != "" {
			w.raw(`"hint":`)
			w.str(vm.PublicKey.Hint)
		}
		w.raw(`}`)
	case len(vm.CertificateChain) > 0:
		w.raw(`"x509CertificateChain":{"certificates":[`)
		for i, c := range vm.CertificateChain {
			w.comma(i)
			w.raw(`{"rawBytes":`)
			w.bytes(c)
			w.raw(`}`)
		}
		w.raw(`]}`)
	default:
		w.raw(`"certificate":{"rawBytes":`)
		w.bytes(vm.Certificate)
		w.raw(`}`)
	}
	if len(vm.TlogEntries) > 0 {
		w.raw(`,"tlogEntries":[`)
		for i, e := range vm.TlogEntries {
			w.comma(i)
			var c bytes.Buffer
			if err := json.Compact(&c, e); err != nil {
				return nil, fmt.Errorf("%w: tlogEntries[%d]: %v", ErrMalformedBundle, i, err)
			}
			w.b = append(w.b, c.Bytes()...)
		}
		w.raw(`]`)
	}
	if len(vm.RFC3161Timestamps) > 0 || vm.emptyTimestamps {
		w.raw(`,"timestampVerificationData":{`)
		if len(vm.RFC3161Timestamps) > 0 {
			w.raw(`"rfc3161Timestamps":[`)
			for i, ts := range vm.RFC3161Timestamps {
				w.comma(i)
				w.raw(`{"signedTimestamp":`)
				w.bytes(ts)
				w.raw(`}`)
			}
			w.raw(`]`)
		}
		w.raw(`}`)
	}
	w.raw(`}`)
	if e := b.DSSEEnvelope; e != nil {
		w.raw(`,"dsseEnvelope":{`)
		if len(e.Payload) > 0 {
			w.raw(`"payload":`)
			w.bytes(e.Payload)
			w.raw(`,`)
		}
		w.raw(`"payloadType":`)
		w.str(e.PayloadType)
		w.raw(`,"signatures":[`)
		for i, s := range e.Signatures {
			w.comma(i)
			w.raw(`{"sig":`)
			w.bytes(s.Sig)
			if s.KeyID != "" {
				w.raw(`,"keyid":`)
				w.str(s.KeyID)
			}
			w.raw(`}`)
		}
		w.raw(`]}`)
	} else {
		ms := b.MessageSignature
		w.raw(`,"messageSignature":{`)
		if d := ms.MessageDigest; d != nil {
			name, _ := hashName(d.Algorithm)
			w.raw(`"messageDigest":{"algorithm":`)
			w.str(name)
			w.raw(`,"digest":`)
			w.bytes(d.Digest)
			w.raw(`},`)
		}
		w.raw(`"signature":`)
		w.bytes(ms.Signature)
		w.raw(`}`)
	}
	w.raw(`}`)
	return w.b, nil
}

// sizeHint estimates the encoded size, so that a large payload is encoded
// into one buffer, not copied through a series of growing ones.
func (b *Bundle) sizeHint() int {
	n := 1024 + len(b.VerificationMaterial.Certificate)*4/3
	for _, c := range b.VerificationMaterial.CertificateChain {
		n += len(c)*4/3 + 16
	}
	for _, e := range b.VerificationMaterial.TlogEntries {
		n += len(e)
	}
	for _, t := range b.VerificationMaterial.RFC3161Timestamps {
		n += len(t)*4/3 + 24
	}
	if e := b.DSSEEnvelope; e != nil {
		n += len(e.Payload)*4/3 + len(e.PayloadType)
		for _, s := range e.Signatures {
			n += len(s.Sig)*4/3 + len(s.KeyID) + 24
		}
	}
	return n
}

// validate checks the rules ParseBundle enforces beyond syntax, so that
// MarshalJSON never writes what ParseBundle refuses.
func (b *Bundle) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformedBundle}, args...)...)
	}
	if !bundleMediaTypes[b.MediaType] {
		return bad("media type %q is not a Sigstore bundle version 0.1 to 0.3", b.MediaType)
	}
	vm := &b.VerificationMaterial
	n := 0
	if vm.PublicKey != nil {
		n++
		if !utf8.ValidString(vm.PublicKey.Hint) {
			return bad("publicKey.hint is not UTF-8")
		}
	}
	if vm.Certificate != nil {
		n++
		if len(vm.Certificate) == 0 {
			return bad("empty certificate")
		}
	}
	if vm.CertificateChain != nil {
		n++
		if len(vm.CertificateChain) == 0 {
			return bad("empty x509CertificateChain")
		}
		for i, c := range vm.CertificateChain {
			if len(c) == 0 {
				return bad("x509CertificateChain.certificates[%d] is empty", i)
			}
		}
	}
	if n != 1 {
		return bad("verificationMaterial needs exactly one of publicKey, certificate and x509CertificateChain, has %d", n)
	}
	for i, e := range vm.TlogEntries {
		if t := bytes.TrimLeft(e, " \t\r\n"); len(t) == 0 || t[0] != '{' || !json.Valid(e) {
			return bad("tlogEntries[%d] is not a JSON object", i)
		}
	}
	for i, ts := range vm.RFC3161Timestamps {
		if len(ts) == 0 {
			return bad("rfc3161Timestamps[%d] is empty", i)
		}
	}
	switch {
	case (b.DSSEEnvelope == nil) == (b.MessageSignature == nil):
		return bad("needs exactly one of dsseEnvelope and messageSignature")
	case b.DSSEEnvelope != nil:
		e := b.DSSEEnvelope
		if e.PayloadType == "" || !utf8.ValidString(e.PayloadType) {
			return bad("dsseEnvelope: missing or non-UTF-8 payloadType")
		}
		if len(e.Signatures) == 0 {
			return bad("dsseEnvelope: no signatures")
		}
		for i, s := range e.Signatures {
			if len(s.Sig) == 0 || !utf8.ValidString(s.KeyID) {
				return bad("dsseEnvelope: signature %d: empty sig or non-UTF-8 keyid", i)
			}
		}
	default:
		ms := b.MessageSignature
		if len(ms.Signature) == 0 {
			return bad("messageSignature: empty signature")
		}
		if d := ms.MessageDigest; d != nil {
			if _, ok := hashName(d.Algorithm); !ok {
				return bad("messageSignature: digest algorithm %v is not one a bundle names", d.Algorithm)
			}
			if len(d.Digest) != d.Algorithm.Size() {
				return bad("messageSignature: %v digest is %d bytes, want %d", d.Algorithm, len(d.Digest), d.Algorithm.Size())
			}
		}
	}
	return nil
}

// decodeBundle maps the JSON onto a Bundle. Every object is read through
// fields, which refuses unknown or differently spelled keys; the duplicate
// keys were refused by strictjson.Check before.
func decodeBundle(data []byte, cfg parseConfig) (*Bundle, error) {
	top, err := fields(bytes.TrimSpace(data), "bundle", "mediaType", "verificationMaterial", "dsseEnvelope", "messageSignature")
	if err != nil {
		return nil, err
	}
	b := &Bundle{}
	if b.MediaType, err = stringField(top, "mediaType"); err != nil {
		return nil, err
	}
	raw, ok := top["verificationMaterial"]
	if !ok {
		return nil, errors.New("no verificationMaterial")
	}
	if err := decodeMaterial(raw, &b.VerificationMaterial); err != nil {
		return nil, err
	}
	if raw, ok := top["dsseEnvelope"]; ok {
		if b.DSSEEnvelope, err = parseEnvelope(raw, cfg, false); err != nil {
			return nil, fmt.Errorf("dsseEnvelope: %w", err)
		}
	}
	if raw, ok := top["messageSignature"]; ok {
		if b.MessageSignature, err = decodeMessageSignature(raw); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func decodeMaterial(raw json.RawMessage, vm *VerificationMaterial) error {
	m, err := fields(raw, "verificationMaterial", "publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData")
	if err != nil {
		return err
	}
	if raw, ok := m["publicKey"]; ok {
		pk, err := fields(raw, "publicKey", "hint")
		if err != nil {
			return err
		}
		vm.PublicKey = &PublicKeyIdentifier{}
		if vm.PublicKey.Hint, err = stringField(pk, "hint"); err != nil {
			return err
		}
	}
	if raw, ok := m["certificate"]; ok {
		if vm.Certificate, err = rawBytes(raw, "certificate"); err != nil {
			return err
		}
		if vm.Certificate == nil {
			vm.Certificate = []byte{} // present but empty: validate refuses it
		}
	}
	if raw, ok := m["x509CertificateChain"]; ok {
		ch, err := fields(raw, "x509CertificateChain", "certificates")
		if err != nil {
			return err
		}
		vm.CertificateChain = [][]byte{}
		if err := eachElement(ch["certificates"], "x509CertificateChain.certificates", func(el json.RawMessage) error {
			c, err := rawBytes(el, "x509CertificateChain.certificates[]")
			vm.CertificateChain = append(vm.CertificateChain, c)
			return err
		}); err != nil {
			return err
		}
	}
	if err := eachElement(m["tlogEntries"], "tlogEntries", func(el json.RawMessage) error {
		if el[0] != '{' {
			return errors.New("tlogEntries: an entry is not an object")
		}
		var c bytes.Buffer
		if err := json.Compact(&c, el); err != nil {
			return fmt.Errorf("tlogEntries: %v", err)
		}
		vm.TlogEntries = append(vm.TlogEntries, c.Bytes())
		return nil
	}); err != nil {
		return err
	}
	if raw, ok := m["timestampVerificationData"]; ok {
		td, err := fields(raw, "timestampVerificationData", "rfc3161Timestamps")
		if err != nil {
			return err
		}
		if err := eachElement(td["rfc3161Timestamps"], "rfc3161Timestamps", func(el json.RawMessage) error {
			ts, err := fields(el, "rfc3161Timestamps[]", "signedTimestamp")
			if err != nil {
				return err
			}
			b, err := bytesField(ts, "signedTimestamp")
			vm.RFC3161Timestamps = append(vm.RFC3161Timestamps, b)
			return err
		}); err != nil {
			return err
		}
		vm.emptyTimestamps = len(vm.RFC3161Timestamps) == 0
	}
	return nil
}

func decodeMessageSignature(raw json.RawMessage) (*MessageSignature, error) {
	m, err := fields(raw, "messageSignature", "messageDigest", "signature")
	if err != nil {
		return nil, err
	}
	ms := &MessageSignature{}
	if ms.Signature, err = bytesField(m, "signature"); err != nil {
		return nil, err
	}
	if raw, ok := m["messageDigest"]; ok {
		d, err := fields(raw, "messageDigest", "algorithm", "digest")
		if err != nil {
			return nil, err
		}
		name, err := stringField(d, "algorithm")
		if err != nil {
			return nil, err
		}
		h, ok := bundleHashes[name]
		if !ok {
			return nil, fmt.Errorf("messageDigest: unknown algorithm %q", name)
		}
		ms.MessageDigest = &MessageDigest{Algorithm: h}
		if ms.MessageDigest.Digest, err = bytesField(d, "digest"); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// fields decodes raw as a JSON object whose keys are all in allowed,
// spelled exactly so. A null value is an absent field, as protobuf's JSON
// mapping reads it (sigstore-js writes "timestampVerificationData": null):
// its key is dropped, so that both readers see the same fields.
func fields(raw json.RawMessage, what string, allowed ...string) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%s is not an object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	for k, v := range m {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			return nil, fmt.Errorf("%s: unknown field %q", what, k)
		}
		if string(v) == "null" {
			delete(m, k)
		}
	}
	return m, nil
}

// eachElement calls fn for every element of the JSON array raw; an absent
// field (nil raw) has none.
func eachElement(raw json.RawMessage, what string, fn func(json.RawMessage) error) error {
	if raw == nil {
		return nil
	}
	if raw[0] != '[' {
		return fmt.Errorf("%s is not an array", what)
	}
	var els []json.RawMessage
	if err := json.Unmarshal(raw, &els); err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	for _, el := range els {
		if string(el) == "null" {
			return fmt.Errorf("%s: null element", what)
		}
		if err := fn(el); err != nil {
			return err
		}
	}
	return nil
}

// stringField returns the string m[k], "" if absent.
func stringField(m map[string]json.RawMessage, k string) (string, error) {
	raw, ok := m[k]
	if !ok {
		return "", nil
	}
	if raw[0] != '"' {
		return "", fmt.Errorf("%s is not a string", k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %v", k, err)
	}
	return s, nil
}

// bytesField returns the base64 bytes m[k], nil if absent. Like protobuf's
// JSON mapping it takes the standard and the URL-safe alphabet, padded or
// not; unlike it, it refuses non-zero padding bits.
func bytesField(m map[string]json.RawMessage, k string) ([]byte, error) {
	s, err := stringField(m, k)
	if err != nil || s == "" {
		return nil, err
	}
	b, err := decodeB64(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", k, err)
	}
	return b, nil
}

// rawBytes reads an X509Certificate object: {"rawBytes": base64}.
func rawBytes(raw json.RawMessage, what string) ([]byte, error) {
	m, err := fields(raw, what, "rawBytes")
	if err != nil {
		return nil, err
	}
	return bytesField(m, "rawBytes")
}

// jsonWriter appends JSON the way protojson writes it.
type jsonWriter struct{ b []byte }

func (w *jsonWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *jsonWriter) comma(i int) {
	if i > 0 {
		w.b = append(w.b, ',')
	}
}

func (w *jsonWriter) bytes(b []byte) {
	w.b = append(w.b, '"')
	w.b = base64.StdEncoding.AppendEncode(w.b, b)
	w.b = append(w.b, '"')
}

// str escapes exactly what protojson escapes: '"', '\\' and control
// characters (validate has refused invalid UTF-8).
func (w *jsonWriter) str(s string) {
	w.b = append(w.b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			w.b = append(w.b, '\\', c)
		case c == '\b':
			w.raw(`\b`)
		case c == '\f':
			w.raw(`\f`)
		case c == '\n':
			w.raw(`\n`)
		case c == '\r':
			w.raw(`\r`)
		case c == '\t':
			w.raw(`\t`)
		case c < ' ':
			w.raw(`\u00`)
			if c < 0x10 {
				w.b = append(w.b, '0')
			}
			w.b = strconv.AppendUint(w.b, uint64(c), 16)
		default:
			w.b = append(w.b, c)
		}
	}
	w.b = append(w.b, '"')
}
