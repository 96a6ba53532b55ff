package ocitest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// CopyAttestations puts an image's attestations, still about that image,
// where List finds them for another image: in both layouts, within a
// repository or across, with or without the referrers API.
func TestCopyAttestations(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	for _, on := range []bool{true, false} {
		for _, dstRepo := range []string{"app", "other"} {
			t.Run(fmt.Sprintf("referrers=%v/%s", on, dstRepo), func(t *testing.T) {
				reg := ocitest.NewRegistry(t, ocitest.WithReferrers(on))
				src := reg.PushRandomImage(t, "app")
				dst := reg.PushRandomImage(t, dstRepo)
				_, hex, _ := strings.Cut(src, "@sha256:")
				payload, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1",
					"subject":       []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": hex}}},
					"predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]any{}})
				env := &sign.Envelope{PayloadType: sign.PayloadTypeInToto, Payload: payload,
					Signatures: []sign.Signature{{Sig: ed25519.Sign(key, sign.PAE(sign.PayloadTypeInToto, payload))}}}
				if _, err := oci.Attach(context.Background(), src, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithLayout(oci.Both)); err != nil {
					t.Fatal(err)
				}
				if n := reg.CopyAttestations(t, src, dst); n != 2 {
					t.Fatalf("copied %d, want 2 (one per layout)", n)
				}
				atts, err := oci.List(context.Background(), dst, oci.WithInsecure())
				if err != nil || len(atts) != 1 || atts[0].Layout != oci.Both || !bytes.Equal(atts[0].Envelope.Payload, payload) {
					t.Fatalf("List(dst) = %+v, %v", atts, err)
				}
			})
		}
	}
}
