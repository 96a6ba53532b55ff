package oci_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// rawEnvelope signs payload as payloadType through the PAE, as any tool can:
// sign.SignStatement would refuse most of the payloads below.
func rawEnvelope(payloadType string, payload []byte) *sign.Envelope {
	sig := ed25519.Sign(testKey, sign.PAE(payloadType, payload))
	return &sign.Envelope{PayloadType: payloadType, Payload: payload, Signatures: []sign.Signature{{KeyID: "test-key", Sig: sig}}}
}

// statementAbout is an in-toto statement whose subjects have these digest
// sets.
func statementAbout(t *testing.T, digests ...map[string]string) []byte {
	t.Helper()
	var subs []any
	for i, d := range digests {
		subs = append(subs, map[string]any{"name": "s" + string(rune('a'+i)), "digest": d})
	}
	b, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "subject": subs,
		"predicateType": slsaV1, "predicate": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttachRefusesWhatConsumersReject: an envelope that List would skip
// or that no verifier of the image can accept is refused with a typed
// error before anything is written, in every layout, for a digest or a
// tag reference, with or without the referrers API.
func TestAttachRefusesWhatConsumersReject(t *testing.T) {
	for _, refOn := range []bool{true, false} {
		reg := ocitest.NewRegistry(t, ocitest.WithReferrers(refOn))
		image := reg.PushRandomImage(t, "app")
		other := reg.PushRandomImage(t, "other")
		_, hex, _ := strings.Cut(image, "@sha256:")
		_, otherHex, _ := strings.Cut(other, "@sha256:")
		good := envelope(t, image, slsaV1, 1)
		unsigned := *good
		unsigned.Signatures = nil
		emptySig := *good
		emptySig.Signatures = []sign.Signature{{KeyID: "k"}}
		untyped := *good
		untyped.PayloadType = ""
		cases := []struct {
			name string
			env  *sign.Envelope
			opts []oci.Option
			want error
		}{
			{"nil envelope", nil, nil, oci.ErrInvalidArgument},
			{"no signatures", &unsigned, nil, oci.ErrNotAttestation},
			{"empty signature", &emptySig, nil, oci.ErrNotAttestation},
			{"empty payload type", &untyped, nil, oci.ErrNotAttestation},
			{"over the size limit", good, []oci.Option{oci.WithMaxBytes(200)}, oci.ErrNotAttestation},
			// The legacy layout writes no bundle.
			{"bundle over the size limit (referrers)", good, []oci.Option{oci.WithMaxBytes(int64(len(mustJSON(t, good)) + 100)), oci.WithPublicKeyHint(strings.Repeat("h", 200))}, oci.ErrNotAttestation},
			{"another payload type", rawEnvelope("application/json", good.Payload), nil, oci.ErrNotAttestation},
			{"cosign simple signing", rawEnvelope("application/vnd.dev.cosign.simplesigning.v1+json", good.Payload), nil, oci.ErrNotAttestation},
			{"empty payload", rawEnvelope(sign.PayloadTypeInToto, nil), nil, intoto.ErrInvalidStatement},
			{"not JSON", rawEnvelope(sign.PayloadTypeInToto, []byte("hello")), nil, intoto.ErrInvalidStatement},
			{"JSON array", rawEnvelope(sign.PayloadTypeInToto, []byte(`[]`)), nil, intoto.ErrInvalidStatement},
			{"empty object", rawEnvelope(sign.PayloadTypeInToto, []byte(`{}`)), nil, intoto.ErrInvalidStatement},
			{"duplicate keys", rawEnvelope(sign.PayloadTypeInToto, []byte(strings.Replace(string(good.Payload), `"predicateType"`, `"predicateType":"x","predicateType"`, 1))), nil, intoto.ErrInvalidStatement},
			{"an envelope as payload", rawEnvelope(sign.PayloadTypeInToto, mustJSON(t, good)), nil, intoto.ErrInvalidStatement},
			{"no subject", rawEnvelope(sign.PayloadTypeInToto, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"}`)), nil, intoto.ErrInvalidStatement},
			{"about another image", rawEnvelope(sign.PayloadTypeInToto, statementAbout(t, map[string]string{"sha256": otherHex})), nil, oci.ErrSubjectMismatch},
			{"about another image, by tag", rawEnvelope(sign.PayloadTypeInToto, statementAbout(t, map[string]string{"sha256": otherHex})), nil, oci.ErrSubjectMismatch},
			{"sha512 only", rawEnvelope(sign.PayloadTypeInToto, statementAbout(t, map[string]string{"sha512": strings.Repeat(hex, 2)})), nil, oci.ErrSubjectMismatch},
			{"uppercase hex", rawEnvelope(sign.PayloadTypeInToto, statementAbout(t, map[string]string{"sha256": strings.ToUpper(hex)})), nil, oci.ErrSubjectMismatch},
			{"image digest under another algorithm", rawEnvelope(sign.PayloadTypeInToto, statementAbout(t, map[string]string{"sha384": hex})), nil, oci.ErrSubjectMismatch},
			{"digest prefixed", rawEnvelope(sign.PayloadTypeInToto, statementAbout(t, map[string]string{"sha256": "sha256:" + hex})), nil, oci.ErrSubjectMismatch},
		}
		for _, tc := range cases {
			for _, layout := range []oci.Layout{oci.Referrers, oci.Legacy} {
				if layout == oci.Legacy && strings.HasSuffix(tc.name, "(referrers)") {
					continue
				}
				ref := image
				if strings.HasSuffix(tc.name, "by tag") {
					ref = reg.Host() + "/app:latest"
				}
				ct := ocitest.NewCountingTransport(nil)
				opts := append([]oci.Option{oci.WithInsecure(), oci.WithLayout(layout), oci.WithTransport(ct)}, tc.opts...)
				_, err := oci.Attach(context.Background(), ref, &sign.Attestation{Envelope: tc.env}, opts...)
				if errors.Is(tc.want, intoto.ErrInvalidStatement) && !errors.Is(err, oci.ErrNotAttestation) {
					t.Errorf("referrersAPI=%v %v %s: err = %v, want ErrNotAttestation too", refOn, layout, tc.name, err)
				}
				if !errors.Is(err, tc.want) || !errors.Is(err, oci.ErrInvalidArgument) {
					t.Errorf("referrersAPI=%v %v %s: err = %v, want %v (and ErrInvalidArgument)", refOn, layout, tc.name, err, tc.want)
				}
				if m := ct.ByMethod(); m["PUT"]+m["POST"]+m["PATCH"] != 0 {
					t.Errorf("referrersAPI=%v %v %s: refused attach wrote: %v", refOn, layout, tc.name, m)
				}
			}
		}
		if atts := list(t, image); len(atts) != 0 {
			t.Fatalf("referrersAPI=%v: %d attestations stored by refused attaches", refOn, len(atts))
		}
		// A statement about several artifacts, the image among them, is
		// attached.
		multi := rawEnvelope(sign.PayloadTypeInToto, statementAbout(t,
			map[string]string{"sha256": otherHex}, map[string]string{"sha512": strings.Repeat("ab", 64), "sha256": hex}))
		attach(t, image, multi, oci.WithLayout(oci.Both))
		if atts := list(t, image); len(atts) != 1 {
			t.Fatalf("referrersAPI=%v: multi-subject statement: %d attestations", refOn, len(atts))
		}
	}
}

// paddedBundle is a bundle of env with pad bytes of public-key hint.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
