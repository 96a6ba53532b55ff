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
// 0.3 in both spellings Sigstore clients write. sigstore-go reads them all
// (and, in the .vX form, any other version below 0.4, which no client
// writes): nothing parses here that it would read as another version.
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
	// to hold exactly one signature, and skip it if its key ID differs
	// from the one they compute: bundles made here carry none.
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
	b, err := decodeBundle(data)
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
		if !json.Valid(e) {
			return bad("tlogEntries[%d] is not JSON", i)
		}
		if err := checkProto(e, fmt.Sprintf("tlogEntries[%d]", i), tlogEntrySchema); err != nil {
			return bad("%v", err)
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
func decodeBundle(data []byte) (*Bundle, error) {
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
		if b.DSSEEnvelope, err = decodeDSSE(raw); err != nil {
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

// decodeDSSE reads a bundle's DSSE envelope by ParseEnvelope's rules
// (exact keys, strict base64, signatures with a sig), except that a missing
// payload is the empty payload, as protobuf's JSON mapping reads it and
// MarshalJSON writes it. One pass over the object: the payload, most of a
// bundle, is not scanned again.
func decodeDSSE(raw json.RawMessage) (*Envelope, error) {
	m, err := fields(raw, "dsseEnvelope", "payload", "payloadType", "signatures")
	if err != nil {
		return nil, err
	}
	env := &Envelope{}
	if env.PayloadType, err = stringField(m, "payloadType"); err != nil {
		return nil, err
	}
	if env.PayloadType == "" {
		return nil, errors.New("missing payloadType")
	}
	if env.Payload, err = bytesField(m, "payload"); err != nil {
		return nil, err
	}
	if env.Payload == nil {
		env.Payload = []byte{}
	}
	if err := eachElement(m["signatures"], "signatures", func(el json.RawMessage) error {
		sm, err := fields(el, "signatures[]", "sig", "keyid")
		if err != nil {
			return err
		}
		var s Signature
		if s.KeyID, err = stringField(sm, "keyid"); err != nil {
			return err
		}
		if s.Sig, err = bytesField(sm, "sig"); err != nil {
			return err
		}
		if len(s.Sig) == 0 {
			return fmt.Errorf("signature %d: empty sig", len(env.Signatures))
		}
		env.Signatures = append(env.Signatures, s)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("no signatures")
	}
	return env, nil
}

// Field kinds of the protobuf messages a log entry is made of.
type protoField int

const (
	protoInt64 protoField = iota
	protoBytes
	protoString
	protoBytesList
)

// tlogEntrySchema is dev.sigstore.rekor.v1.TransparencyLogEntry
// (protobuf-specs v0.5): field JSON names and kinds, nested messages as
// maps. Log entries are kept as read, but checked against it, so that none
// is accepted here that protojson (and so sigstore-go) refuses, or reads
// from a field spelled another way.
var tlogEntrySchema = map[string]any{
	"logIndex":          protoInt64,
	"logId":             map[string]any{"keyId": protoBytes},
	"kindVersion":       map[string]any{"kind": protoString, "version": protoString},
	"integratedTime":    protoInt64,
	"inclusionPromise":  map[string]any{"signedEntryTimestamp": protoBytes},
	"canonicalizedBody": protoBytes,
	"inclusionProof": map[string]any{
		"logIndex":   protoInt64,
		"rootHash":   protoBytes,
		"treeSize":   protoInt64,
		"hashes":     protoBytesList,
		"checkpoint": map[string]any{"envelope": protoString},
	},
}

// checkProto checks that raw is a JSON object of the message schema: known
// fields only, spelled as protobuf's JSON mapping writes them, each of its
// kind (an int64 as a decimal string or integer, bytes as base64).
func checkProto(raw json.RawMessage, path string, schema map[string]any) error {
	names := make([]string, 0, len(schema))
	for k := range schema {
		names = append(names, k)
	}
	m, err := fields(raw, path, names...)
	if err != nil {
		return err
	}
	for k, v := range m {
		p := path + "." + k
		switch kind := schema[k].(type) {
		case map[string]any:
			err = checkProto(v, p, kind)
		case protoField:
			switch kind {
			case protoInt64:
				err = checkInt64(v, p)
			case protoString:
				_, err = stringContent(v, p)
			case protoBytes:
				_, err = base64Content(v, p)
			case protoBytesList:
				err = eachElement(v, p, func(el json.RawMessage) error {
					_, err := base64Content(el, p+"[]")
					return err
				})
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkInt64 accepts a subset of what protojson reads as an int64: a JSON
// integer, quoted or not, without sign '+', leading zeros or exponent, in
// range.
func checkInt64(raw json.RawMessage, path string) error {
	s := raw
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	digits := bytes.TrimPrefix(s, []byte("-"))
	ok := len(digits) > 0 && (digits[0] != '0' || len(digits) == 1)
	for _, c := range digits {
		ok = ok && c >= '0' && c <= '9'
	}
	if _, err := strconv.ParseInt(string(s), 10, 64); err != nil || !ok {
		return fmt.Errorf("%s is not an int64", path)
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
	ms, err := members(raw, '{')
	if err != nil {
		return nil, fmt.Errorf("%s is not an object: %v", what, err)
	}
	m := make(map[string]json.RawMessage, len(ms))
	for _, mb := range ms {
		known := false
		for _, a := range allowed {
			known = known || mb.key == a
		}
		if !known {
			return nil, fmt.Errorf("%s: unknown field %q", what, mb.key)
		}
		if _, dup := m[mb.key]; dup {
			return nil, fmt.Errorf("%s: duplicate field %q", what, mb.key)
		}
		m[mb.key] = mb.value
	}
	for k, v := range m {
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
	els, err := members(raw, '[')
	if err != nil {
		return fmt.Errorf("%s is not an array: %v", what, err)
	}
	for _, el := range els {
		if string(el.value) == "null" {
			return fmt.Errorf("%s: null element", what)
		}
		if err := fn(el.value); err != nil {
			return err
		}
	}
	return nil
}

// member is one member of a JSON object (key and value) or array (value).
type member struct {
	key   string
	value json.RawMessage
}

var errSyntax = errors.New("malformed JSON")

// members splits the JSON object (open '{') or array (open '[') raw into
// its members without decoding their values, which are subslices of raw.
// It runs on documents strictjson.Check accepted, and only splits them,
// which is why it can skip strings with bytes.IndexByte instead of a JSON
// state machine: a bundle is one large payload string, and encoding/json
// would scan it once more per level. It never panics on other input.
func members(raw []byte, open byte) ([]member, error) {
	closing := byte('}')
	if open == '[' {
		closing = ']'
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != open {
		return nil, errSyntax
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == closing {
		return nil, nil
	}
	var out []member
	for {
		var m member
		if open == '{' {
			end, err := skipString(raw, i)
			if err != nil {
				return nil, err
			}
			if m.key, err = unquote(raw[i:end]); err != nil {
				return nil, err
			}
			i = skipSpace(raw, end)
			if i >= len(raw) || raw[i] != ':' {
				return nil, errSyntax
			}
			i = skipSpace(raw, i+1)
		}
		end, err := skipValue(raw, i)
		if err != nil {
			return nil, err
		}
		m.value = raw[i:end]
		out = append(out, m)
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, errSyntax
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case closing:
			return out, nil
		default:
			return nil, errSyntax
		}
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at raw[i].
func skipString(raw []byte, i int) (int, error) {
	if i >= len(raw) || raw[i] != '"' {
		return 0, errSyntax
	}
	for j := i + 1; j < len(raw); {
		k := bytes.IndexByte(raw[j:], '"')
		if k < 0 {
			break
		}
		q := j + k
		n := 0 // backslashes right before the quote: odd escapes it
		for p := q - 1; p > i && raw[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
	return 0, errSyntax
}

// skipValue returns the index after the value that starts at raw[i].
func skipValue(raw []byte, i int) (int, error) {
	if i >= len(raw) {
		return 0, errSyntax
	}
	switch raw[i] {
	case '"':
		return skipString(raw, i)
	case '{', '[':
		depth := 0
		for i < len(raw) {
			switch raw[i] {
			case '"':
				end, err := skipString(raw, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errSyntax
	}
	start := i // a number, true, false or null: up to the next delimiter
	for i < len(raw) && raw[i] != ',' && raw[i] != ']' && raw[i] != '}' && skipSpace(raw, i) == i {
		i++
	}
	if i == start {
		return 0, errSyntax
	}
	return i, nil
}

// unquote returns the content of the JSON string s (quotes included).
func unquote(s []byte) (string, error) {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s[1 : len(s)-1]), nil
	}
	var out string
	err := json.Unmarshal(s, &out)
	return out, err
}

// stringField returns the string m[k], "" if absent.
func stringField(m map[string]json.RawMessage, k string) (string, error) {
	b, err := stringContent(m[k], k)
	return string(b), err
}

// bytesField returns the base64 bytes m[k], nil if absent or empty.
func bytesField(m map[string]json.RawMessage, k string) ([]byte, error) {
	return base64Content(m[k], k)
}

// stringContent returns the content of the JSON string raw, nil if raw is
// nil (absent). The document passed strictjson.Check, so a string without
// a backslash is its own content: it is not scanned again (a payload is
// megabytes).
func stringContent(raw json.RawMessage, what string) ([]byte, error) {
	if raw == nil {
		return nil, nil
	}
	if len(raw) < 2 || raw[0] != '"' {
		return nil, fmt.Errorf("%s is not a string", what)
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return []byte(s), nil
}

// base64Content decodes the JSON string raw as base64, nil if absent or
// empty. Like protobuf's JSON mapping it takes the standard and the
// URL-safe alphabet, padded or not, and decodes the same bytes; unlike it,
// it refuses non-zero padding bits.
func base64Content(raw json.RawMessage, what string) ([]byte, error) {
	src, err := stringContent(raw, what)
	if err != nil || len(src) == 0 {
		return nil, err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		enc = enc.Strict()
		dst := make([]byte, enc.DecodedLen(len(src)))
		if n, err := enc.Decode(dst, src); err == nil {
			return dst[:n], nil
		}
	}
	return nil, fmt.Errorf("%s: not base64", what)
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
