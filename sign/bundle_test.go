package sign_test

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign"
)

// bundleFiles lists every Sigstore bundle in the repository's test data:
// the conformance suite's and the public-good ones verify/keyless checks.
func bundleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"testdata/sigstore-conformance/*.sigstore.json", "../verify/keyless/testdata/*.sigstore.json"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found %d bundle files: the test is blind", len(files))
	}
	return files
}

// Every valid bundle of the Sigstore conformance suite (v0.1 to v0.3, both
// media type spellings, DSSE and message signatures, keys, certificates and
// chains, Rekor v1 and v2 entries, timestamps) parses, marshals, and parses
// back equal; marshaling is stable. The suite's malformed documents fail
// with ErrMalformedBundle.
func TestParseBundleConformance(t *testing.T) {
	for _, f := range bundleFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".sigstore.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := sign.ParseBundle(raw)
			if strings.HasSuffix(name, "_fail") {
				if !errors.Is(err, sign.ErrMalformedBundle) {
					t.Fatalf("err = %v, want ErrMalformedBundle", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := b.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			again, err := sign.ParseBundle(out)
			if err != nil {
				t.Fatalf("re-marshaled bundle does not parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(b, again) {
				t.Fatalf("round trip changed the bundle:\n%+v\n%+v", b, again)
			}
			out2, err := json.Marshal(again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("marshaling is not stable:\n%s\n%s", out, out2)
			}
			var generic map[string]any
			if err := json.Unmarshal(out, &generic); err != nil || generic["mediaType"] != b.MediaType {
				t.Errorf("output is not the bundle's JSON: %v", err)
			}
		})
	}
}

const validBundle = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",` +
	`"verificationMaterial":{"publicKey":{"hint":"k"},"tlogEntries":[{"logIndex":"1"}],` +
	`"timestampVerificationData":{"rfc3161Timestamps":[{"signedTimestamp":"dHM="}]}},` +
	`"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"c2ln"}]}}`

const validMessageBundle = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",` +
	`"verificationMaterial":{"certificate":{"rawBytes":"Y2VydA=="}},` +
	`"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"` +
	`AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"signature":"c2ln"}}`

// The codec refuses every way one bundle could read as two: key spellings
// protobuf also accepts (snake_case, other case), duplicates, nulls, two
// contents or materials, unknown versions, and malformed parts.
func TestParseBundleRejects(t *testing.T) {
	for _, ok := range []string{validBundle, validMessageBundle} {
		if _, err := sign.ParseBundle([]byte(ok)); err != nil {
			t.Fatalf("base case: %v", err)
		}
	}
	r := strings.NewReplacer
	for name, doc := range map[string]string{
		"snake_case media_type":    r(`"mediaType"`, `"media_type"`).Replace(validBundle),
		"snake_case dsse_envelope": r(`"dsseEnvelope"`, `"dsse_envelope"`).Replace(validBundle),
		"snake_case tlog_entries":  r(`"tlogEntries"`, `"tlog_entries"`).Replace(validBundle),
		"snake_case raw_bytes":     r(`"rawBytes"`, `"raw_bytes"`).Replace(validMessageBundle),
		"other case":               r(`"verificationMaterial"`, `"VerificationMaterial"`).Replace(validBundle),
		"DSSE other case":          r(`"payloadType"`, `"PayloadType"`).Replace(validBundle),
		"duplicate media type":     r(`{"mediaType"`, `{"mediaType":"x","mediaType"`).Replace(validBundle),
		"both spellings":           r(`{"mediaType"`, `{"media_type":"x","mediaType"`).Replace(validBundle),
		"duplicate hint":           r(`{"hint":"k"}`, `{"hint":"k","hint":"j"}`).Replace(validBundle),
		"unknown field":            r(`{"mediaType"`, `{"extra":1,"mediaType"`).Replace(validBundle),
		"unknown material field":   r(`"publicKey"`, `"extra":{},"publicKey"`).Replace(validBundle),
		"null tlog entry":          r(`[{"logIndex":"1"}]`, `[null]`).Replace(validBundle),
		"tlog entry not object":    r(`[{"logIndex":"1"}]`, `["x"]`).Replace(validBundle),
		"tlog snake_case":          r(`[{"logIndex":"1"}]`, `[{"log_index":"1"}]`).Replace(validBundle),
		"tlog both spellings":      r(`[{"logIndex":"1"}]`, `[{"logIndex":"1","log_index":"2"}]`).Replace(validBundle),
		"tlog other case":          r(`[{"logIndex":"1"}]`, `[{"logIndex":"1","LogIndex":"2"}]`).Replace(validBundle),
		"tlog unknown field":       r(`[{"logIndex":"1"}]`, `[{"logIndex":"1","extra":1}]`).Replace(validBundle),
		"tlog fraction":            r(`[{"logIndex":"1"}]`, `[{"logIndex":1.5}]`).Replace(validBundle),
		"tlog exponent":            r(`[{"logIndex":"1"}]`, `[{"logIndex":1e3}]`).Replace(validBundle),
		"tlog plus sign":           r(`[{"logIndex":"1"}]`, `[{"logIndex":"+1"}]`).Replace(validBundle),
		"tlog leading zero":        r(`[{"logIndex":"1"}]`, `[{"logIndex":"-01"}]`).Replace(validBundle),
		"tlog int64 overflow":      r(`[{"logIndex":"1"}]`, `[{"logIndex":"9223372036854775808"}]`).Replace(validBundle),
		"tlog int as bool":         r(`[{"logIndex":"1"}]`, `[{"logIndex":true}]`).Replace(validBundle),
		"tlog bad bytes":           r(`[{"logIndex":"1"}]`, `[{"canonicalizedBody":"!"}]`).Replace(validBundle),
		"tlog bad nested bytes":    r(`[{"logIndex":"1"}]`, `[{"inclusionProof":{"hashes":["AA","!"]}}]`).Replace(validBundle),
		"tlog string as number":    r(`[{"logIndex":"1"}]`, `[{"inclusionProof":{"checkpoint":{"envelope":5}}}]`).Replace(validBundle),
		"tlog message as string":   r(`[{"logIndex":"1"}]`, `[{"logId":"AAEC"}]`).Replace(validBundle),
		"tlog unknown nested":      r(`[{"logIndex":"1"}]`, `[{"kindVersion":{"kind":"dsse","Kind":"x"}}]`).Replace(validBundle),
		"both contents":            r(`"dsseEnvelope"`, `"messageSignature":{"signature":"c2ln"},"dsseEnvelope"`).Replace(validBundle),
		"no content":               r(`,"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"signature":"c2ln"}`, ``).Replace(validMessageBundle),
		"two materials":            r(`"publicKey"`, `"certificate":{"rawBytes":"Y2VydA=="},"publicKey"`).Replace(validBundle),
		"no material":              r(`"publicKey":{"hint":"k"},`, ``).Replace(validBundle),
		"no verificationMaterial":  `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"c2ln"}}`,
		"empty certificate":        r(`{"rawBytes":"Y2VydA=="}`, `{}`).Replace(validMessageBundle),
		"empty chain":              r(`"certificate":{"rawBytes":"Y2VydA=="}`, `"x509CertificateChain":{"certificates":[]}`).Replace(validMessageBundle),
		"empty chain member":       r(`"certificate":{"rawBytes":"Y2VydA=="}`, `"x509CertificateChain":{"certificates":[{}]}`).Replace(validMessageBundle),
		"version 0.4":              r(`v0.3`, `v0.4`).Replace(validBundle),
		"version 99.9":             r(`.v0.3+json`, `+json;version=99.9`).Replace(validBundle),
		"no media type":            r(`"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",`, ``).Replace(validBundle),
		"media type not a string":  r(`"application/vnd.dev.sigstore.bundle.v0.3+json"`, `3`).Replace(validBundle),
		"bad base64":               r(`"c2ln"`, `"c2ln!"`).Replace(validMessageBundle),
		"non-zero padding bits":    r(`"c2ln"`, `"c2lo="`).Replace(validMessageBundle),
		"empty signature":          r(`"signature":"c2ln"`, `"signature":""`).Replace(validMessageBundle),
		"empty timestamp":          r(`"dHM="`, `""`).Replace(validBundle),
		"unknown digest algorithm": r(`SHA2_256`, `MD5`).Replace(validMessageBundle),
		"enum as number":           r(`"SHA2_256"`, `1`).Replace(validMessageBundle),
		"short digest":             r(`AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`, `AAAA`).Replace(validMessageBundle),
		"DSSE without signatures":  r(`[{"sig":"c2ln"}]`, `[]`).Replace(validBundle),
		"DSSE empty sig":           r(`[{"sig":"c2ln"}]`, `[{"sig":""}]`).Replace(validBundle),
		"DSSE unknown field":       r(`"payloadType"`, `"extra":1,"payloadType"`).Replace(validBundle),
		"trailing data":            validBundle + `{}`,
		"array":                    `[` + validBundle + `]`,
		"not JSON":                 `{`,
		"empty":                    ``,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sign.ParseBundle([]byte(doc)); !errors.Is(err, sign.ErrMalformedBundle) {
				t.Errorf("err = %v, want ErrMalformedBundle\n%s", err, doc)
			}
			var b sign.Bundle
			if err := json.Unmarshal([]byte(doc), &b); err == nil {
				t.Error("json.Unmarshal into a Bundle accepted it")
			}
		})
	}
	if _, err := sign.ParseBundle([]byte(validBundle), sign.WithMaxSize(len(validBundle)-1)); !errors.Is(err, sign.ErrTooLarge) {
		t.Errorf("over the limit: err = %v, want ErrTooLarge", err)
	}
}

// Log entries are kept as read but hold to the protobuf schema of a
// transparency log entry, in every form protojson writes or reads alike.
func TestParseBundleLogEntries(t *testing.T) {
	for _, entry := range []string{
		`{"logIndex":1,"integratedTime":-5,"inclusionProof":null,"logId":{"keyId":"AAEC"}}`,
		`{"logIndex":"0","inclusionProof":{"logIndex":"9223372036854775807","hashes":["AA==","AAE"],"checkpoint":{"envelope":"x\n"}}}`,
		`{"kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"inclusionPromise":{"signedEntryTimestamp":"c2V0"},"canonicalizedBody":"e30-_w"}`,
		`{}`,
	} {
		doc := strings.Replace(validBundle, `{"logIndex":"1"}`, entry, 1)
		b, err := sign.ParseBundle([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", entry, err)
			continue
		}
		var want bytes.Buffer
		_ = json.Compact(&want, []byte(entry))
		if got := string(b.VerificationMaterial.TlogEntries[0]); got != want.String() {
			t.Errorf("entry kept as %s, want %s", got, want.String())
		}
	}
}

// A null field is an absent one, as protobuf's JSON mapping reads it: a null
// cannot hide a second verification material or content from one reader,
// nor stand in for a required one.
func TestParseBundleNullIsAbsent(t *testing.T) {
	r := strings.NewReplacer
	for _, tc := range []struct{ doc, same string }{
		{r(`"dsseEnvelope"`, `"messageSignature":null,"dsseEnvelope"`).Replace(validBundle), validBundle},
		{r(`"publicKey"`, `"certificate":null,"x509CertificateChain":null,"publicKey"`).Replace(validBundle), validBundle},
		{r(`{"rfc3161Timestamps":[{"signedTimestamp":"dHM="}]}`, `null`).Replace(validBundle),
			r(`,"timestampVerificationData":{"rfc3161Timestamps":[{"signedTimestamp":"dHM="}]}`, ``).Replace(validBundle)},
		{r(`"hint":"k"`, `"hint":null`).Replace(validBundle), r(`"hint":"k"`, ``).Replace(validBundle)},
	} {
		got, err := sign.ParseBundle([]byte(tc.doc))
		want, err2 := sign.ParseBundle([]byte(tc.same))
		if err != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v: %+v", tc.doc, err, err2, got)
		}
	}
	for _, doc := range []string{
		r(`"publicKey":{"hint":"k"}`, `"publicKey":null`).Replace(validBundle),
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":null,"messageSignature":{"signature":"c2ln"}}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":null}`,
		`{"mediaType":null,"verificationMaterial":{"publicKey":{}},"messageSignature":{"signature":"c2ln"}}`,
	} {
		if _, err := sign.ParseBundle([]byte(doc)); !errors.Is(err, sign.ErrMalformedBundle) {
			t.Errorf("%s: err = %v, want ErrMalformedBundle", doc, err)
		}
	}
}

// MarshalJSON writes what protojson writes, byte for byte (less its random
// whitespace): field order, padded standard base64, empty fields left out,
// strings escaped as protojson escapes them (no HTML escaping).
func TestMarshalBundleAsProtojson(t *testing.T) {
	b := &sign.Bundle{
		MediaType: sign.MediaTypeBundle,
		VerificationMaterial: sign.VerificationMaterial{
			PublicKey:         &sign.PublicKeyIdentifier{Hint: "a<b>&\"\\\x01\n\u2028é"},
			TlogEntries:       []json.RawMessage{json.RawMessage(`{ "logIndex" : "7" }`)},
			RFC3161Timestamps: [][]byte{{1}},
		},
		DSSEEnvelope: &sign.Envelope{PayloadType: "t", Payload: []byte{0xff}, Signatures: []sign.Signature{{Sig: []byte{1, 2}, KeyID: "id"}, {Sig: []byte{3}}}},
	}
	got, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"a<b>&\"\\\u0001\n` + "\u2028é" + `"},` +
		`"tlogEntries":[{"logIndex":"7"}],"timestampVerificationData":{"rfc3161Timestamps":[{"signedTimestamp":"AQ=="}]}},` +
		`"dsseEnvelope":{"payload":"/w==","payloadType":"t","signatures":[{"sig":"AQI=","keyid":"id"},{"sig":"Aw=="}]}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	m := &sign.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: sign.VerificationMaterial{CertificateChain: [][]byte{{1}, {2}}},
		MessageSignature:     &sign.MessageSignature{MessageDigest: &sign.MessageDigest{Algorithm: crypto.SHA384, Digest: make([]byte, 48)}, Signature: []byte{9}},
	}
	got, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","verificationMaterial":{"x509CertificateChain":{"certificates":[{"rawBytes":"AQ=="},{"rawBytes":"Ag=="}]}},` +
		`"messageSignature":{"messageDigest":{"algorithm":"SHA2_384","digest":"` + strings.Repeat("A", 64) + `"},"signature":"CQ=="}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// An empty timestampVerificationData object read is written back.
	in := strings.Replace(validBundle, `{"rfc3161Timestamps":[{"signedTimestamp":"dHM="}]}`, `{"rfc3161Timestamps":[]}`, 1)
	p, err := sign.ParseBundle([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := p.MarshalJSON(); !strings.Contains(string(out), `"timestampVerificationData":{}`) {
		t.Errorf("empty timestamp data lost: %s", out)
	}
}

// MarshalJSON never writes a bundle that ParseBundle refuses.
func TestMarshalBundleRefusesInvalid(t *testing.T) {
	env := &sign.Envelope{PayloadType: "t", Payload: []byte("p"), Signatures: []sign.Signature{{Sig: []byte("s")}}}
	hint := sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{}}
	for name, b := range map[string]sign.Bundle{
		"zero":              {},
		"no media type":     {VerificationMaterial: hint, DSSEEnvelope: env},
		"unknown version":   {MediaType: "application/vnd.dev.sigstore.bundle.v0.4+json", VerificationMaterial: hint, DSSEEnvelope: env},
		"no material":       {MediaType: sign.MediaTypeBundle, DSSEEnvelope: env},
		"two materials":     {MediaType: sign.MediaTypeBundle, VerificationMaterial: sign.VerificationMaterial{PublicKey: hint.PublicKey, Certificate: []byte{1}}, DSSEEnvelope: env},
		"empty certificate": {MediaType: sign.MediaTypeBundle, VerificationMaterial: sign.VerificationMaterial{Certificate: []byte{}}, DSSEEnvelope: env},
		"no content":        {MediaType: sign.MediaTypeBundle, VerificationMaterial: hint},
		"two contents":      {MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, DSSEEnvelope: env, MessageSignature: &sign.MessageSignature{Signature: []byte{1}}},
		"unsigned envelope": {MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, DSSEEnvelope: &sign.Envelope{PayloadType: "t"}},
		"untyped envelope":  {MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, DSSEEnvelope: &sign.Envelope{Signatures: env.Signatures}},
		"bad UTF-8":         {MediaType: sign.MediaTypeBundle, VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: "\xff"}}, DSSEEnvelope: env},
		"MD5 digest":        {MediaType: sign.MediaTypeBundle, VerificationMaterial: hint, MessageSignature: &sign.MessageSignature{MessageDigest: &sign.MessageDigest{Algorithm: crypto.MD5, Digest: make([]byte, 16)}, Signature: []byte{1}}},
		"bad tlog entry":    {MediaType: sign.MediaTypeBundle, VerificationMaterial: sign.VerificationMaterial{PublicKey: hint.PublicKey, TlogEntries: []json.RawMessage{json.RawMessage(`[`)}}, DSSEEnvelope: env},
	} {
		if out, err := b.MarshalJSON(); !errors.Is(err, sign.ErrMalformedBundle) {
			t.Errorf("%s: err = %v, want ErrMalformedBundle (wrote %s)", name, err, out)
		}
	}
}

// FuzzBundleRoundTrip: ParseBundle never panics, and a bundle it accepts
// marshals, parses back equal, and marshals to the same bytes.
func FuzzBundleRoundTrip(f *testing.F) {
	f.Add([]byte(validBundle))
	f.Add([]byte(validMessageBundle))
	for _, name := range []string{"happy-path-v0.1", "managed-key-happy-path", "rekor2-dsse-happy-path"} {
		if b, err := os.ReadFile("testdata/sigstore-conformance/" + name + ".sigstore.json"); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := sign.ParseBundle(data)
		if err != nil {
			if !errors.Is(err, sign.ErrMalformedBundle) && !errors.Is(err, sign.ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		out, err := b.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted bundle does not marshal: %v", err)
		}
		again, err := sign.ParseBundle(out)
		if err != nil {
			t.Fatalf("re-marshaled bundle %s does not parse: %v", out, err)
		}
		if !reflect.DeepEqual(b, again) {
			t.Fatalf("round trip changed the bundle:\n%+v\n%+v", b, again)
		}
		if out2, _ := again.MarshalJSON(); !bytes.Equal(out, out2) {
			t.Fatalf("marshaling is not stable:\n%s\n%s", out, out2)
		}
	})
}
