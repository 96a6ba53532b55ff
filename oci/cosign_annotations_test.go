package oci_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// A tlog entry as protojson writes it: int64 as strings, bytes as base64.
const tlogEntry = `{"logIndex":"42","logId":{"keyId":"AAEC"},"kindVersion":{"kind":"dsse","version":"0.0.1"},` +
	`"integratedTime":"1700000000","inclusionPromise":{"signedEntryTimestamp":"c2V0"},"canonicalizedBody":"Ym9keQ=="}`

// keylessBundle is a bundle of env's first signature shaped like a keyless
// one: a certificate, a log entry with a signed entry timestamp, a
// timestamp. Nothing in it verifies; oci does not verify.
func keylessBundle(env *sign.Envelope) *sign.Bundle {
	return &sign.Bundle{
		MediaType: sign.MediaTypeBundle,
		VerificationMaterial: sign.VerificationMaterial{
			Certificate:       []byte("leaf DER"),
			TlogEntries:       []json.RawMessage{json.RawMessage(tlogEntry)},
			RFC3161Timestamps: [][]byte{[]byte("ts")},
		},
		DSSEEnvelope: &sign.Envelope{PayloadType: env.PayloadType, Payload: env.Payload, Signatures: env.Signatures[:1]},
	}
}

func TestCosignAnnotations(t *testing.T) {
	env := envelope(t, "img@sha256:"+strings.Repeat("a", 64), slsaV1, 1)
	ann, err := oci.CosignAnnotations(keylessBundle(env))
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode([]byte(ann[oci.AnnotationCertificate])); blk == nil || string(blk.Bytes) != "leaf DER" {
		t.Errorf("certificate annotation = %q", ann[oci.AnnotationCertificate])
	}
	if v, ok := ann[oci.AnnotationChain]; !ok || v != "" {
		t.Errorf("chain annotation = %q, %v; want present and empty (a Fulcio leaf alone)", v, ok)
	}
	// cosign's bundle.RekorBundle: field names and types as cosign reads them.
	const wantRekor = `{"SignedEntryTimestamp":"c2V0","Payload":{"body":"Ym9keQ==","integratedTime":1700000000,"logIndex":42,"logID":"000102"}}`
	if got := ann[oci.AnnotationRekorBundle]; got != wantRekor {
		t.Errorf("rekor bundle annotation\n got %s\nwant %s", got, wantRekor)
	}
	if got := ann[oci.AnnotationRFC3161Timestamp]; got != `{"SignedRFC3161Timestamp":"dHM="}` {
		t.Errorf("timestamp annotation = %s", got)
	}

	// The same entry written with numbers and URL-safe unpadded base64
	// (both valid protobuf JSON) gives the same annotation.
	b := keylessBundle(env)
	b.VerificationMaterial.TlogEntries = []json.RawMessage{json.RawMessage(
		`{"inclusionProof":{},"integratedTime":1700000000,"logIndex":42,"logId":{"keyId":"AAEC"},"inclusionPromise":{"signedEntryTimestamp":"c2V0"},"canonicalizedBody":"Ym9keQ"}`)}
	if ann, err := oci.CosignAnnotations(b); err != nil || ann[oci.AnnotationRekorBundle] != wantRekor {
		t.Errorf("numbers, unpadded base64: %v, %s", err, ann[oci.AnnotationRekorBundle])
	}

	// A chain (bundle v0.1/v0.2): leaf, then the rest.
	b = keylessBundle(env)
	b.VerificationMaterial.Certificate = nil
	b.VerificationMaterial.CertificateChain = [][]byte{[]byte("leaf"), []byte("inter")}
	ann, err = oci.CosignAnnotations(b)
	if blk, _ := pem.Decode([]byte(ann[oci.AnnotationChain])); err != nil || blk == nil || string(blk.Bytes) != "inter" {
		t.Errorf("chain: %v, %q", err, ann[oci.AnnotationChain])
	}

	// An entry without a signed entry timestamp (Rekor v2: a proof only) is
	// skipped for the next one.
	b = keylessBundle(env)
	b.VerificationMaterial.TlogEntries = []json.RawMessage{json.RawMessage(`{"logIndex":"1","inclusionProof":{}}`), json.RawMessage(tlogEntry)}
	if ann, err := oci.CosignAnnotations(b); err != nil || ann[oci.AnnotationRekorBundle] != wantRekor {
		t.Errorf("entry without promise first: %v, %s", err, ann[oci.AnnotationRekorBundle])
	}

	// A key bundle without log or timestamp: nothing for cosign.
	key := &sign.Bundle{MediaType: sign.MediaTypeBundle, VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: "k"}}, DSSEEnvelope: env}
	if ann, err := oci.CosignAnnotations(key); err != nil || len(ann) != 0 {
		t.Errorf("key bundle: %v, %v", ann, err)
	}

	for _, bad := range []string{
		`{"inclusionPromise":{"signedEntryTimestamp":"c2V0"},"logIndex":"x"}`,
		`{"inclusionPromise":{"signedEntryTimestamp":"c2V0"},"logIndex":"1","integratedTime":1.5}`,
		`{"inclusionPromise":{"signedEntryTimestamp":"c2V0"},"canonicalizedBody":"!"}`,
		`{"inclusionPromise":{"signedEntryTimestamp":"c2V0"},"logId":"AAEC"}`,
		`{"inclusionPromise":"c2V0"}`,
	} {
		b := keylessBundle(env)
		b.VerificationMaterial.TlogEntries = []json.RawMessage{json.RawMessage(bad)}
		if _, err := oci.CosignAnnotations(b); !errors.Is(err, oci.ErrInvalidBundle) {
			t.Errorf("%s: err = %v, want ErrInvalidBundle", bad, err)
		}
	}
	if _, err := oci.CosignAnnotations(nil); !errors.Is(err, oci.ErrInvalidBundle) {
		t.Errorf("nil: %v", err)
	}
}

// An attestation with a bundle gets cosign's annotations on its legacy
// layer from the bundle alone. Before, a caller had to derive and pass
// them by hand.
func TestAttachDerivesLegacyAnnotations(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "keyless")
	env := envelope(t, img, slsaV1, 1)
	attachAtt(t, img, &sign.Attestation{Envelope: env, Bundle: keylessBundle(env)}, oci.WithLayout(oci.Both))
	man := legacyManifest(t, img, "")
	if len(man.Layers) != 1 {
		t.Fatalf("%d layers", len(man.Layers))
	}
	ann := man.Layers[0].Annotations
	want, _ := oci.CosignAnnotations(keylessBundle(env))
	for k, v := range want {
		if ann[k] != v {
			t.Errorf("layer annotation %s = %q, want %q", k, ann[k], v)
		}
	}
	if len(ann) != len(want)+2 || ann[oci.AnnotationPredicateType] != slsaV1 || ann[oci.AnnotationSignature] != "" {
		t.Errorf("annotations %v", ann)
	}
	atts := list(t, img)
	if len(atts) != 1 || atts[0].Layout != oci.Both {
		t.Fatalf("list: %+v", atts)
	}
	if b := atts[0].Bundle; b == nil || b.VerificationMaterial.RFC3161Timestamps == nil {
		t.Errorf("referrer bundle: %+v", b)
	}
}

// A bundle carries one signature of a many-signature envelope (a keyless
// signer beside key signers: Sigstore bundles hold exactly one). Attach
// accepts it; a bundle with a signature the envelope lacks, or another
// payload, is refused before any request.
func TestAttachBundleOfEnvelope(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "multi")
	env := envelope(t, img, slsaV1, 1)
	env.Signatures = append(env.Signatures, sign.Signature{KeyID: "keyless", Sig: []byte("second signature")})
	one := keylessBundle(env)
	one.DSSEEnvelope.Signatures = []sign.Signature{{Sig: env.Signatures[1].Sig}}
	attachAtt(t, img, &sign.Attestation{Envelope: env, Bundle: one})

	foreign := keylessBundle(env)
	foreign.DSSEEnvelope.Signatures = []sign.Signature{{Sig: []byte("not in the envelope")}}
	other := keylessBundle(envelope(t, img, slsaV1, 2))
	ct := ocitest.NewCountingTransport(nil)
	for name, tc := range map[string]struct {
		b    *sign.Bundle
		want error
	}{
		"foreign signature": {b: foreign, want: sign.ErrBundleMismatch},
		"other payload":     {b: other, want: sign.ErrBundleMismatch},
		"no material":       {b: &sign.Bundle{MediaType: sign.MediaTypeBundle}, want: sign.ErrMalformedBundle},
	} {
		_, err := oci.Attach(context.Background(), img, &sign.Attestation{Envelope: env, Bundle: tc.b}, oci.WithInsecure(), oci.WithTransport(ct))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
		if !errors.Is(err, oci.ErrInvalidArgument) && !errors.Is(err, oci.ErrInvalidBundle) {
			t.Errorf("%s: err = %v, want an oci error", name, err)
		}
	}
	if ct.Count() != 0 {
		t.Errorf("%d requests for attestations refused up front", ct.Count())
	}
}
