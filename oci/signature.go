package oci

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/slsakit/slsakit/internal/strictjson"
)

// Image signatures in the layouts cosign writes (verified against the
// sources of cosign v2.6.5 and v3.1.3):
//
//   - cosign v2 `cosign sign` (and v3 with --new-bundle-format=false): the
//     tag "sha256-<hex>.sig" in the image repository, an OCI manifest with
//     one layer per signature, layer media type MediaTypeSimpleSigning,
//     the layer is the simple-signing payload (SimpleSigningPayload), the
//     layer annotation AnnotationSignature holds the base64 signature over
//     the payload's bytes, and a keyless signature adds AnnotationCertificate,
//     AnnotationChain, AnnotationRekorBundle and AnnotationRFC3161Timestamp.
//   - cosign v3 `cosign sign` (default): a referrer exactly like an
//     attestation (see Attach): a Sigstore bundle v0.3 holding a DSSE
//     envelope of an in-toto Statement v1 whose predicateType is
//     PredicateCosignSign, whose predicate is {} and whose one subject has
//     the image's digest; the manifest annotations are
//     dev.sigstore.bundle.content: dsse-envelope and
//     dev.sigstore.bundle.predicateType: PredicateCosignSign.
const (
	// MediaTypeSimpleSigning is the layer media type of cosign's .sig
	// signatures.
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	// CosignSignatureType is the critical.type of a simple-signing payload.
	CosignSignatureType = "cosign container image signature"
	// PredicateCosignSign is the predicate type of cosign v3's image
	// signature statements.
	PredicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
)

// Errors of image signature payloads.
var (
	// ErrInvalidSignature: a .sig layer or its payload is not a cosign
	// image signature: the payload is not strict simple-signing JSON, a
	// required field is missing, or the signature annotation is not
	// base64.
	ErrInvalidSignature = errors.New("oci: invalid image signature")
	// ErrUnknownSignatureType: the payload's critical.type is not
	// CosignSignatureType. A reader must refuse what it does not know the
	// meaning of; it matches ErrInvalidSignature.
	ErrUnknownSignatureType = fmt.Errorf("%w: unknown critical type", ErrInvalidSignature)
)

// SimpleSigning is a cosign simple-signing payload, as JSON:
//
//	{"critical":{"identity":{"docker-reference":"registry/repo"},
//	  "image":{"docker-manifest-digest":"sha256:…"},
//	  "type":"cosign container image signature"},"optional":null}
type SimpleSigning struct {
	Critical SimpleSigningCritical `json:"critical"`
	// Optional is the signer's annotations (cosign sign -a k=v), unsigned
	// in meaning: cosign reads them only to match --annotations.
	Optional map[string]any `json:"optional"`
}

// SimpleSigningCritical is what a verifier must check.
type SimpleSigningCritical struct {
	Identity struct {
		// DockerReference is the repository the signer named.
		DockerReference string `json:"docker-reference"`
	} `json:"identity"`
	Image struct {
		// DockerManifestDigest is the signed image's digest.
		DockerManifestDigest string `json:"docker-manifest-digest"`
	} `json:"image"`
	Type string `json:"type"`
}

// SimpleSigningPayload returns the payload cosign signs for the image
// repo@digest: the same bytes cosign v2.6.5 writes (field order and
// "optional":null included), so that cosign's deduplication and ours agree.
func SimpleSigningPayload(repo, digest string) ([]byte, error) {
	if _, err := parseDigest(digest); err != nil {
		return nil, fmt.Errorf("%w: digest %q: %v", ErrInvalidArgument, digest, err)
	}
	var p SimpleSigning
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = digest
	p.Critical.Type = CosignSignatureType
	return json.Marshal(p)
}

// ParseSimpleSigning reads a simple-signing payload strictly: strict JSON
// (internal/strictjson: no duplicate keys, valid UTF-8), an object with
// the critical fields present and of the right types. A payload whose
// critical.type is not CosignSignatureType fails with
// ErrUnknownSignatureType; anything else malformed with ErrInvalidSignature.
// It does not compare the digest: that is the verifier's check.
func ParseSimpleSigning(payload []byte) (*SimpleSigning, error) {
	if err := strictjson.Check(payload); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalidSignature, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrInvalidSignature)
	}
	// Exact field names: encoding/json would match "Critical" too, and two
	// readers of one payload must see one document.
	if err := exactKeys(top, "payload", "critical", "optional"); err != nil {
		return nil, err
	}
	var crit map[string]json.RawMessage
	if err := json.Unmarshal(top["critical"], &crit); err != nil || crit == nil {
		return nil, fmt.Errorf("%w: critical is missing or not an object", ErrInvalidSignature)
	}
	if err := exactKeys(crit, "critical", "identity", "image", "type"); err != nil {
		return nil, err
	}
	var p SimpleSigning
	var typ *string
	if err := json.Unmarshal(crit["type"], &typ); err != nil || typ == nil {
		return nil, fmt.Errorf("%w: critical.type is missing or not a string", ErrInvalidSignature)
	}
	if *typ != CosignSignatureType {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSignatureType, *typ)
	}
	p.Critical.Type = *typ
	var img map[string]json.RawMessage
	if err := json.Unmarshal(crit["image"], &img); err != nil || img == nil {
		return nil, fmt.Errorf("%w: critical.image is missing or not an object", ErrInvalidSignature)
	}
	if err := exactKeys(img, "critical.image", "docker-manifest-digest"); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(img["docker-manifest-digest"], &p.Critical.Image.DockerManifestDigest); err != nil || p.Critical.Image.DockerManifestDigest == "" {
		return nil, fmt.Errorf("%w: critical.image.docker-manifest-digest is missing or not a string", ErrInvalidSignature)
	}
	if raw, ok := crit["identity"]; ok {
		var id map[string]json.RawMessage
		if err := json.Unmarshal(raw, &id); err != nil || id == nil {
			return nil, fmt.Errorf("%w: critical.identity is not an object", ErrInvalidSignature)
		}
		if err := exactKeys(id, "critical.identity", "docker-reference"); err != nil {
			return nil, err
		}
		if r, ok := id["docker-reference"]; ok {
			if err := json.Unmarshal(r, &p.Critical.Identity.DockerReference); err != nil {
				return nil, fmt.Errorf("%w: critical.identity.docker-reference is not a string", ErrInvalidSignature)
			}
		}
	}
	if raw, ok := top["optional"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &p.Optional); err != nil || p.Optional == nil {
			return nil, fmt.Errorf("%w: optional is not an object", ErrInvalidSignature)
		}
	}
	return &p, nil
}

// exactKeys refuses a key of m that is a case variant of one of fields.
func exactKeys(m map[string]json.RawMessage, what string, fields ...string) error {
	if k, f, ok := strictjson.CaseVariant(m, fields...); ok {
		return fmt.Errorf("%w: %s has key %q, a case variant of %q", ErrInvalidSignature, what, k, f)
	}
	return nil
}

// Signature is one image signature found on an image by ListSignatures.
//
// From the .sig tag (Layout Legacy): Payload is the simple-signing payload
// and Signature the raw signature over it, with the keyless material
// cosign puts beside it. From a referrer (Layout Referrers): Attestation
// holds the cosign v3 signature statement's envelope and bundle, and
// Payload and Signature are empty. Nothing is verified: hand it to
// verify.VerifyImageSignatures.
type Signature struct {
	Layout     Layout
	Descriptor v1.Descriptor // the layer (legacy) or referrer manifest

	Payload   []byte
	Signature []byte
	// Certificate is the PEM leaf certificate of a keyless signature,
	// Chain the rest of its chain (PEM), RekorBundle cosign's Rekor bundle
	// JSON and RFC3161Timestamp cosign's timestamp JSON: the layer's
	// annotations, as written.
	Certificate      []byte
	Chain            []byte
	RekorBundle      []byte
	RFC3161Timestamp []byte

	Attestation *Attestation
}

// legacySignature reads the parts of a .sig layer from its descriptor: the
// base64 signature and the keyless annotations.
func legacySignature(d v1.Descriptor) (*Signature, error) {
	b64, ok := d.Annotations[AnnotationSignature]
	if !ok || b64 == "" {
		return nil, fmt.Errorf("%w: layer %s has no %s annotation", ErrInvalidSignature, d.Digest, AnnotationSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: layer %s: signature is not base64: %v", ErrInvalidSignature, d.Digest, err)
	}
	s := &Signature{Layout: Legacy, Descriptor: d, Signature: sig}
	for k, dst := range map[string]*[]byte{
		AnnotationCertificate: &s.Certificate, AnnotationChain: &s.Chain,
		AnnotationRekorBundle: &s.RekorBundle, AnnotationRFC3161Timestamp: &s.RFC3161Timestamp,
	} {
		if v := d.Annotations[k]; v != "" {
			*dst = []byte(v)
		}
	}
	return s, nil
}

func sigTag(h v1.Hash) string { return h.Algorithm + "-" + h.Hex + ".sig" }
