package oci_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

// FuzzParseBundle: ParseBundle, which List runs on every referrer's bundle
// as the registry serves it, never panics, fails only with typed errors,
// accepts only strict JSON (the rule verifiers apply to bundles), and what
// it accepts is a well-formed envelope that survives being written into a
// bundle and read back.
//
//	go test -run '^$' -fuzz '^FuzzParseBundle$' -fuzztime 15s ./oci
func FuzzParseBundle(f *testing.F) {
	// Real bundles: public-good v0.1/v0.2 (verify/keyless/testdata), and
	// v0.3 keyless (keylesstest) and key-signed (keyless.KeyBundle) ones.
	seeds, err := filepath.Glob("../verify/keyless/testdata/*.sigstore.json")
	if err != nil {
		f.Fatal(err)
	}
	more, err := filepath.Glob("testdata/*.sigstore.json")
	if err != nil {
		f.Fatal(err)
	}
	if len(seeds)+len(more) < 4 {
		f.Fatalf("seed bundles missing: %v %v", seeds, more)
	}
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	env := `{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA","keyid":"k"}]}`
	for _, s := range []string{
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":` + env + `}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.2","verificationMaterial":{},"dsseEnvelope":` + env + `}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":` + env + `,"dsseEnvelope":` + env + `}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"DSSEEnvelope":` + env + `}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":` + env + `} {}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"messageSignature":{"signature":"AAAA"}}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":null,"dsseEnvelope":null}`,
		`null`, `[]`, `{}`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	const max = 1 << 16
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := oci.ParseBundle(raw, sign.WithMaxSize(max))
		if err != nil {
			if !errors.Is(err, oci.ErrInvalidBundle) {
				t.Fatalf("untyped error: %v", err)
			}
			if env != nil {
				t.Fatal("an envelope returned with an error")
			}
			return
		}
		if err := strictjson.Check(raw); err != nil {
			t.Fatalf("accepted a bundle that is not strict JSON (%v): verifiers read another document, or none", err)
		}
		if env == nil || env.PayloadType == "" || len(env.Signatures) == 0 {
			t.Fatalf("accepted envelope is not well-formed: %+v", env)
		}
		for i, s := range env.Signatures {
			if len(s.Sig) == 0 {
				t.Fatalf("accepted envelope has empty signature %d", i)
			}
		}
		// Written into a bundle and read back, it is the same envelope.
		b, err := json.Marshal(map[string]any{"mediaType": sign.MediaTypeBundle,
			"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "h"}}, "dsseEnvelope": env})
		if err != nil {
			t.Fatalf("accepted envelope does not marshal: %v", err)
		}
		again, err := oci.ParseBundle(b)
		if err != nil {
			t.Fatalf("re-wrapped envelope does not parse: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(env, again) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", env, again)
		}
	})
}
