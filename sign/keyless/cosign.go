package keyless

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The layer annotations cosign writes on a legacy (.att / .sig tag)
// signature or attestation layer of a keyless signature (verified against
// cosign v2.6.5 pkg/oci/static).
const (
	AnnotationCertificate      = "dev.sigstore.cosign/certificate"
	AnnotationChain            = "dev.sigstore.cosign/chain"
	AnnotationBundle           = "dev.sigstore.cosign/bundle"
	AnnotationRFC3161Timestamp = "dev.sigstore.cosign/rfc3161timestamp"
)

// MaxBundleSize is the largest bundle CosignAnnotations reads.
const MaxBundleSize = 32 << 20

// CosignAnnotations converts a Sigstore bundle into the annotations cosign
// puts on a legacy attestation layer, so that a keyless envelope attached in
// the cosign legacy layout verifies with cosign verify-attestation: the
// leaf certificate and the rest of the chain (PEM), the first log entry's
// signed entry timestamp and payload ("Rekor bundle"), and the first RFC
// 3161 timestamp. Absent parts are left out; a key-signed bundle yields no
// certificate annotations.
func CosignAnnotations(bundle []byte) (map[string]string, error) {
	if len(bundle) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle is over %d bytes", ErrEnvelope, MaxBundleSize)
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(bundle, &pb); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrEnvelope, err)
	}
	vm := pb.GetVerificationMaterial()
	if vm == nil {
		return nil, fmt.Errorf("%w: bundle has no verification material", ErrEnvelope)
	}
	out := map[string]string{}
	var certs [][]byte
	if c := vm.GetCertificate(); c != nil {
		certs = append(certs, c.GetRawBytes())
	}
	for _, c := range vm.GetX509CertificateChain().GetCertificates() {
		certs = append(certs, c.GetRawBytes())
	}
	if len(certs) > 0 {
		out[AnnotationCertificate] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0]}))
		var chain []byte
		for _, c := range certs[1:] {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
		}
		out[AnnotationChain] = string(chain)
	}
	for _, e := range vm.GetTlogEntries() {
		set := e.GetInclusionPromise().GetSignedEntryTimestamp()
		if len(set) == 0 {
			continue
		}
		b, err := json.Marshal(cosignRekorBundle{
			SignedEntryTimestamp: set,
			Payload: cosignRekorPayload{
				Body:           base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()),
				IntegratedTime: e.GetIntegratedTime(),
				LogIndex:       e.GetLogIndex(),
				LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
			},
		})
		if err != nil {
			return nil, err
		}
		out[AnnotationBundle] = string(b)
		break
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 {
		b, err := json.Marshal(struct{ SignedRFC3161Timestamp []byte }{ts[0].GetSignedTimestamp()})
		if err != nil {
			return nil, err
		}
		out[AnnotationRFC3161Timestamp] = string(b)
	}
	return out, nil
}

// cosignRekorBundle is cosign's bundle.RekorBundle.
type cosignRekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              cosignRekorPayload
}

type cosignRekorPayload struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"`
}
