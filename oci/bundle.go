package oci

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/sign"
)

// Media types and annotations used by cosign and the OCI specs.
const (
	// MediaTypeBundle is the Sigstore bundle v0.3 media type (referrer layer
	// and artifactType).
	MediaTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
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

// bundleJSON is the subset of a Sigstore bundle v0.3 we write and read; the
// field names are those protojson uses.
type bundleJSON struct {
	MediaType            string          `json:"mediaType"`
	VerificationMaterial json.RawMessage `json:"verificationMaterial"`
	DSSEEnvelope         json.RawMessage `json:"dsseEnvelope,omitempty"`
	MessageSignature     json.RawMessage `json:"messageSignature,omitempty"`
}

type wireEnv struct {
	Payload     string    `json:"payload"`
	PayloadType string    `json:"payloadType"`
	Signatures  []wireSig `json:"signatures"`
}

type wireSig struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid,omitempty"`
}

// makeBundle returns a Sigstore bundle v0.3 carrying env with a public-key
// hint as verification material.
func makeBundle(env *sign.Envelope, hint string) ([]byte, error) {
	type pk struct {
		Hint string `json:"hint"`
	}
	vm, err := json.Marshal(struct {
		PublicKey   pk            `json:"publicKey"`
		TlogEntries []interface{} `json:"tlogEntries"`
	}{PublicKey: pk{Hint: hint}, TlogEntries: []interface{}{}})
	if err != nil {
		return nil, err
	}
	de, err := json.Marshal(toWire(env))
	if err != nil {
		return nil, err
	}
	return json.Marshal(bundleJSON{MediaType: MediaTypeBundle, VerificationMaterial: vm, DSSEEnvelope: de})
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
// v0.3 JSON). It checks structure only; verifying the signature and the
// verification material is the verifier's job. The bundle is read as
// internal/strictjson reads signed JSON (one value, no duplicate or
// case-folded keys, no key spelled other than protojson writes it), so
// the envelope taken here is the one a protojson reader such as
// sigstore-go takes.
func ParseBundle(raw []byte, opts ...sign.ParseOption) (*sign.Envelope, error) {
	var b bundleJSON
	if err := strictjson.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	if b.MediaType != MediaTypeBundle && !strings.HasPrefix(b.MediaType, mtBundlePfx+"+json;version=0.") {
		return nil, fmt.Errorf("%w: media type %q", ErrInvalidBundle, b.MediaType)
	}
	if len(b.VerificationMaterial) == 0 || string(b.VerificationMaterial) == "null" {
		return nil, fmt.Errorf("%w: no verificationMaterial", ErrInvalidBundle)
	}
	if len(b.DSSEEnvelope) == 0 || string(b.DSSEEnvelope) == "null" {
		return nil, fmt.Errorf("%w: no dsseEnvelope (not an attestation bundle)", ErrInvalidBundle)
	}
	env, err := sign.ParseEnvelope(b.DSSEEnvelope, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	return env, nil
}

// decodeManifest reads a manifest or index from a registry after
// strictjson.Check: the registry, other clients and this package then all
// see one subject and one set of layers, whatever JSON reader each uses.
func decodeManifest(b []byte, v any) error {
	if err := strictjson.Check(b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
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

func sameEnvelope(a, b *sign.Envelope) bool { return envelopeKey(a) == envelopeKey(b) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
