package oci_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// TestParseBundleAmbiguous: a bundle from a registry is read the way
// protojson readers (sigstore-go, cosign) read it, or not at all. At main
// 0a75f45, ParseBundle decoded with encoding/json's Decoder: it took the
// last of "dsseEnvelope" and "DsseEnvelope", read a lone "DSSEEnvelope"
// that protojson refuses, and ignored data after the bundle. A key
// spelled other than protojson writes it is an unknown field to
// sign.ParseBundle (ErrMalformedBundle).
func TestParseBundleAmbiguous(t *testing.T) {
	env := func(payload string) string {
		return `{"payload":"` + base64.StdEncoding.EncodeToString([]byte(payload)) +
			`","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"c2ln"}]}`
	}
	head := `{"mediaType":"` + sign.MediaTypeBundle + `","verificationMaterial":{"publicKey":{"hint":"k"},"tlogEntries":[]},`
	good := head + `"dsseEnvelope":` + env("good") + `}`
	e, err := oci.ParseBundle([]byte(good))
	if err != nil || string(e.Payload) != "good" {
		t.Fatalf("good bundle: %v %v", e, err)
	}
	for name, c := range map[string]struct {
		doc  string
		want error
	}{
		"dsseEnvelope and DsseEnvelope": {head + `"dsseEnvelope":` + env("good") + `,"DsseEnvelope":` + env("evil") + `}`, strictjson.ErrAmbiguousKey},
		"DSSEEnvelope alone":            {head + `"DSSEEnvelope":` + env("evil") + `}`, sign.ErrMalformedBundle},
		"dsse_envelope alone":           {head + `"dsse_envelope":` + env("evil") + `}`, sign.ErrMalformedBundle},
		"MediaType beside mediaType":    {strings.Replace(good, `"verificationMaterial"`, `"MediaType":"x","verificationMaterial"`, 1), strictjson.ErrAmbiguousKey},
		"a second bundle after it":      {good + head + `"dsseEnvelope":` + env("evil") + `}`, strictjson.ErrInvalid},
		"payload and Payload inside":    {strings.Replace(good, `"payloadType"`, `"Payload":"ZXZpbA==","payloadType"`, 1), strictjson.ErrAmbiguousKey},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := oci.ParseBundle([]byte(c.doc))
			if !errors.Is(err, oci.ErrInvalidBundle) || !errors.Is(err, c.want) {
				t.Fatalf("ParseBundle = %v, %v; want ErrInvalidBundle and %v", e, err, c.want)
			}
		})
	}
}
