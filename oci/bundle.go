package oci

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/sign"
)

// Media types and annotations used by cosign and the OCI specs.
const (
	// MediaTypeDSSE is the layer media type of cosign's legacy attestations.
	MediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
	// MediaTypeEmpty is the OCI empty descriptor media type (config "{}").
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"

	mtOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mtOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mtBundlePfx   = "application/vnd.dev.sigstore.bundle"

	// AnnotationSignature must be on every legacy attestation layer (cosign
	// verify-attestation fails without it); its value is "".
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// AnnotationPredicateType is the legacy layer's predicate type.
	AnnotationPredicateType = "predicateType"
	// AnnotationBundleContent is "dsse-envelope" on attestation referrers.
	AnnotationBundleContent = "dev.sigstore.bundle.content"
	// AnnotationBundlePredicateType is the referrer's predicate type.
	AnnotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is the OCI creation time annotation.
	AnnotationCreated = "org.opencontainers.image.created"
)

// emptyJSON is the OCI empty config blob and its digest.
var emptyJSON = []byte("{}")

const emptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

type wireEnv struct {
	Payload     string    `json:"payload"`
	PayloadType string    `json:"payloadType"`
	Signatures  []wireSig `json:"signatures"`
}

type wireSig struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid,omitempty"`
}

func toWire(env *sign.Envelope) wireEnv {
	w := wireEnv{
		Payload:     base64Std(env.Payload),
		PayloadType: env.PayloadType,
		Signatures:  make([]wireSig, 0, len(env.Signatures)),
	}
	for _, s := range env.Signatures {
		w.Signatures = append(w.Signatures, wireSig{Sig: base64Std(s.Sig), KeyID: s.KeyID})
	}
	return w
}

// envelopeJSON is the DSSE JSON form written as a legacy layer.
func envelopeJSON(env *sign.Envelope) ([]byte, error) { return json.Marshal(toWire(env)) }

// ParseBundle extracts the DSSE envelope of a Sigstore bundle (v0.1 to
// v0.3 JSON), read strictly by sign.ParseBundle with opts. It checks
// structure only; verifying the signature and the verification material is
// the verifier's job. Errors wrap ErrInvalidBundle and sign's error
// (sign.ErrMalformedBundle, sign.ErrTooLarge).
func ParseBundle(raw []byte, opts ...sign.ParseOption) (*sign.Envelope, error) {
	b, err := sign.ParseBundle(raw, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: no dsseEnvelope (not an attestation bundle)", ErrInvalidBundle)
	}
	return b.DSSEEnvelope, nil
}

// The layer annotations cosign writes on a legacy (.att or .sig tag)
// layer signed keyless (verified against cosign v2.6.5 pkg/oci/static):
// what cosign v2 verifies such a layer with.
const (
	// AnnotationCertificate is the PEM leaf certificate.
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	// AnnotationChain is the rest of the chain, PEM, leaf's issuer first.
	AnnotationChain = "dev.sigstore.cosign/chain"
	// AnnotationRekorBundle is cosign's "Rekor bundle": a log entry's
	// signed entry timestamp and the payload it signs.
	AnnotationRekorBundle = "dev.sigstore.cosign/bundle"
	// AnnotationRFC3161Timestamp is an RFC 3161 timestamp, as JSON.
	AnnotationRFC3161Timestamp = "dev.sigstore.cosign/rfc3161timestamp"
)

// CosignAnnotations converts a Sigstore bundle into the annotations cosign
// puts on a legacy layer, so that a keyless envelope attached in cosign's
// legacy layout verifies with cosign v2 verify-attestation: the leaf
// certificate and the rest of the chain (PEM; the chain annotation is
// present and empty when the bundle has the leaf only, as cosign writes
// it), the first log entry that has a signed entry timestamp as cosign's
// Rekor bundle, and the first RFC 3161 timestamp. Absent parts are left
// out: a bundle with a public-key hint and nothing else yields none.
// Attach puts them on the legacy layer of an attestation with a bundle. A
// log entry that is not protobuf JSON fails with ErrInvalidBundle.
func CosignAnnotations(b *sign.Bundle) (map[string]string, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil bundle", ErrInvalidBundle)
	}
	vm := &b.VerificationMaterial
	out := map[string]string{}
	certs := vm.CertificateChain
	if len(vm.Certificate) > 0 {
		certs = [][]byte{vm.Certificate}
	}
	if len(certs) > 0 {
		out[AnnotationCertificate] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0]}))
		var chain []byte
		for _, c := range certs[1:] {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
		}
		out[AnnotationChain] = string(chain)
	}
	for i, e := range vm.TlogEntries {
		rb, err := rekorBundle(e)
		if err != nil {
			return nil, fmt.Errorf("%w: tlogEntries[%d]: %v", ErrInvalidBundle, i, err)
		}
		if rb != nil {
			out[AnnotationRekorBundle] = string(rb)
			break
		}
	}
	if len(vm.RFC3161Timestamps) > 0 {
		j, err := json.Marshal(struct{ SignedRFC3161Timestamp []byte }{vm.RFC3161Timestamps[0]})
		if err != nil {
			return nil, err
		}
		out[AnnotationRFC3161Timestamp] = string(j)
	}
	return out, nil
}

// rekorBundle converts a transparency log entry (protobuf JSON,
// dev.sigstore.rekor.v1.TransparencyLogEntry) into cosign's
// bundle.RekorBundle JSON; nil for an entry without a signed entry
// timestamp (an inclusion proof only, as Rekor v2 gives).
func rekorBundle(entry json.RawMessage) ([]byte, error) {
	var e map[string]json.RawMessage
	if err := json.Unmarshal(entry, &e); err != nil {
		return nil, err
	}
	var promise map[string]json.RawMessage
	if err := unmarshalPresent(e["inclusionPromise"], &promise); err != nil {
		return nil, fmt.Errorf("inclusionPromise: %v", err)
	}
	set, err := protoBytes(promise["signedEntryTimestamp"])
	if err != nil || len(set) == 0 {
		return nil, err
	}
	var logID map[string]json.RawMessage
	if err := unmarshalPresent(e["logId"], &logID); err != nil {
		return nil, fmt.Errorf("logId: %v", err)
	}
	keyID, err := protoBytes(logID["keyId"])
	if err != nil {
		return nil, fmt.Errorf("logId.keyId: %v", err)
	}
	body, err := protoBytes(e["canonicalizedBody"])
	if err != nil {
		return nil, fmt.Errorf("canonicalizedBody: %v", err)
	}
	index, err := protoInt64(e["logIndex"])
	if err != nil {
		return nil, fmt.Errorf("logIndex: %v", err)
	}
	when, err := protoInt64(e["integratedTime"])
	if err != nil {
		return nil, fmt.Errorf("integratedTime: %v", err)
	}
	return json.Marshal(cosignRekorBundle{
		SignedEntryTimestamp: set,
		Payload:              cosignRekorPayload{Body: base64Std(body), IntegratedTime: when, LogIndex: index, LogID: hex.EncodeToString(keyID)},
	})
}

// cosignRekorBundle is cosign's bundle.RekorBundle, field for field.
type cosignRekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              cosignRekorPayload
}

// cosignRekorPayload is cosign's bundle.RekorPayload.
type cosignRekorPayload struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"`
}

// unmarshalPresent decodes raw into v unless it is absent or null.
func unmarshalPresent(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// protoBytes decodes a protobuf JSON bytes field: base64, standard or
// URL-safe, padded or not; absent or null is empty.
func protoBytes(raw json.RawMessage) ([]byte, error) {
	var s string
	if err := unmarshalPresent(raw, &s); err != nil || s == "" {
		return nil, err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// protoInt64 decodes a protobuf JSON int64 field: a string (as protojson
// writes it) or a number; absent or null is 0.
func protoInt64(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// predicateTypeOf reads the predicateType of an in-toto statement payload.
func predicateTypeOf(env *sign.Envelope) string {
	if env.PayloadType != sign.PayloadTypeInToto {
		return ""
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if strictjson.Unmarshal(env.Payload, &st) != nil {
		return ""
	}
	return st.PredicateType
}

// envelopeKey identifies an envelope by content, independent of encoding.
func envelopeKey(env *sign.Envelope) string {
	var b strings.Builder
	b.WriteString(env.PayloadType)
	b.WriteByte(0)
	b.WriteString(sha256Digest(env.Payload))
	for _, s := range env.Signatures {
		b.WriteByte(0)
		b.WriteString(s.KeyID)
		b.WriteByte(0)
		b.WriteString(base64Std(s.Sig))
	}
	return b.String()
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
