package keyless_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

// codecBundles lists real bundles: the conformance suite's and the
// public-good ones in this repository, and sigstore-go's own test bundles
// when the module is in the module cache.
func codecBundles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"../testdata/sigstore-conformance/*.sigstore.json", "../../verify/keyless/testdata/*.sigstore.json"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found %d bundles: the test is blind", len(files))
	}
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/sigstore/sigstore-go").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		for _, pat := range []string{"examples/bundle-*.json", "pkg/testing/data/bundles/*.json"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			files = append(files, m...)
		}
	}
	return files
}

// sign.Bundle's codec and protobuf's JSON mapping agree on every real
// bundle: what ParseBundle reads, protojson reads as the same message;
// MarshalJSON writes exactly what protojson writes for it (compacted, as
// protojson randomizes whitespace; log entries aside, which are kept as
// read); sigstore-go's bundle reader accepts
// the output exactly when it accepts the input; and no bundle sigstore-go
// accepts is refused here.
func TestBundleCodecMatchesSigstore(t *testing.T) {
	for _, f := range codecBundles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var theirs sgbundle.Bundle
			theirErr := theirs.UnmarshalJSON(raw)
			b, err := sign.ParseBundle(raw)
			if err != nil {
				if theirErr == nil {
					t.Fatalf("sigstore-go reads it, sign.ParseBundle refuses it: %v", err)
				}
				return
			}
			out, err := b.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			want, got := new(protobundle.Bundle), new(protobundle.Bundle)
			if err := protojson.Unmarshal(raw, want); err != nil {
				t.Fatalf("protojson refuses a bundle sign.ParseBundle read: %v", err)
			}
			if err := protojson.Unmarshal(out, got); err != nil {
				t.Fatalf("protojson refuses MarshalJSON's output: %v", err)
			}
			if !proto.Equal(want, got) {
				t.Fatalf("protojson reads another bundle:\n%v\n%v", want, got)
			}
			// Log entries are kept as read (compacted), so a producer's
			// spelling (nulls, \u escapes) survives in them; with them put
			// in protojson's spelling, the whole bundle is byte for byte
			// what protojson writes.
			norm := *b
			norm.VerificationMaterial.TlogEntries = nil
			for _, e := range want.GetVerificationMaterial().GetTlogEntries() {
				norm.VerificationMaterial.TlogEntries = append(norm.VerificationMaterial.TlogEntries, compactJSON(t, protojsonBytes(t, e)))
			}
			if n, _ := norm.MarshalJSON(); !bytes.Equal(n, compactJSON(t, protojsonBytes(t, want))) {
				t.Errorf("MarshalJSON differs from protojson:\n%s\n%s", n, compactJSON(t, protojsonBytes(t, want)))
			}
			var again sgbundle.Bundle
			if err := again.UnmarshalJSON(out); (err == nil) != (theirErr == nil) {
				t.Errorf("sigstore-go: original %v, re-marshaled %v", theirErr, err)
			}
		})
	}
}

func protojsonBytes(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compactJSON(t *testing.T, b []byte) json.RawMessage {
	t.Helper()
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		t.Fatal(err)
	}
	return c.Bytes()
}

// A keyless signer beside a key signer: the envelope carries both
// signatures, the bundle only the keyless one, and sigstore-go verifies it
// against the trusted root and identity. The same bundle with both
// signatures is what sigstore-go refuses, which is why Attest does not
// write it.
func TestAttestKeylessWithKeySigner(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	key, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	ctx := context.Background()
	sum := sha256.Sum256([]byte("artifact"))
	st := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` +
		hex.EncodeToString(sum[:]) + `"}}],"predicateType":"https://slsakit.dev/test","predicate":{}}`)
	att, err := sign.Attest(ctx, st, key, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(att.Envelope.Signatures) != 2 || att.Bundle == nil || len(att.Bundle.DSSEEnvelope.Signatures) != 1 ||
		!bytes.Equal(att.Bundle.DSSEEnvelope.Signatures[0].Sig, att.Envelope.Signatures[1].Sig) {
		t.Fatalf("attestation: %d envelope signatures, bundle %+v", len(att.Envelope.Signatures), att.Bundle)
	}
	tr, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifykeyless.NewVerifier(verifykeyless.WithTrustedRootJSON(tr),
		verifykeyless.WithIdentity(verify.Identity{Issuer: svc.Issuer.URL(), Subject: "builder@example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := att.Bundle.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, raw, verifykeyless.WithArtifactDigest("sha256", hex.EncodeToString(sum[:]))); err != nil {
		t.Fatalf("the bundle does not verify: %v", err)
	}
	// The key signature verifies from the envelope.
	kv, _ := sign.VerifierFor(key)
	if err := kv.Verify(ctx, att.Envelope.PAE(), att.Envelope.Signatures[0].Sig); err != nil {
		t.Errorf("key signature: %v", err)
	}

	both := *att.Bundle
	env := *both.DSSEEnvelope
	env.Signatures = []sign.Signature{{Sig: att.Envelope.Signatures[1].Sig}, {Sig: att.Envelope.Signatures[0].Sig}}
	both.DSSEEnvelope = &env
	raw, err = both.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, raw, verifykeyless.WithArtifactDigest("sha256", hex.EncodeToString(sum[:]))); err == nil {
		t.Error("sigstore-go verified a bundled envelope with two signatures")
	}
}

// Two bundle signers fail before either signs, logs or stamps anything.
func TestAttestTwoBundleSigners(t *testing.T) {
	svc := keylesstest.New(t)
	a, b := newSigner(t, svc), newSigner(t, svc)
	if _, err := sign.Attest(context.Background(), []byte(`{}`), a, b); !errors.Is(err, sign.ErrBundleSigners) {
		t.Fatalf("err = %v, want ErrBundleSigners", err)
	}
	if svc.Log.Size() != 0 || svc.TSA.Requests() != 0 {
		t.Errorf("log size %d, TSA requests %d: services were called", svc.Log.Size(), svc.TSA.Requests())
	}
}

// BenchmarkBundleCodec compares sign.Bundle's strict codec with protojson
// on the same bytes: a real keyless DSSE bundle, and one whose statement
// is 16 MiB (an SBOM of a large image).
func BenchmarkBundleCodec(b *testing.B) {
	small, err := os.ReadFile("../testdata/sigstore-conformance/rekor2-dsse-happy-path.sigstore.json")
	if err != nil {
		b.Fatal(err)
	}
	sb, err := sign.ParseBundle(small)
	if err != nil {
		b.Fatal(err)
	}
	big := *sb
	env := *sb.DSSEEnvelope
	env.Payload = append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 16<<20)...)
	env.Payload = append(env.Payload, `"}`...)
	big.DSSEEnvelope = &env
	large, err := big.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name string
		raw  []byte
	}{{"11KiB", small}, {"16MiB", large}} {
		parsed, _ := sign.ParseBundle(in.raw)
		pb := new(protobundle.Bundle)
		if err := protojson.Unmarshal(in.raw, pb); err != nil {
			b.Fatal(err)
		}
		b.Run(in.name+"/parse/sign", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sign.ParseBundle(in.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/parse/oci-before", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseBundleBefore(in.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/parse/protojson", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := protojson.Unmarshal(in.raw, new(protobundle.Bundle)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/marshal/sign", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parsed.MarshalJSON(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/marshal/protojson", func(b *testing.B) {
			b.SetBytes(int64(len(in.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := protojson.Marshal(pb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// parseBundleBefore is how oci.ParseBundle read a bundle before sign.Bundle
// (a lax decode, then sign.ParseEnvelope on the envelope): the baseline.
func parseBundleBefore(raw []byte) (*sign.Envelope, error) {
	var b struct {
		MediaType            string          `json:"mediaType"`
		VerificationMaterial json.RawMessage `json:"verificationMaterial"`
		DSSEEnvelope         json.RawMessage `json:"dsseEnvelope,omitempty"`
		MessageSignature     json.RawMessage `json:"messageSignature,omitempty"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&b); err != nil {
		return nil, err
	}
	return sign.ParseEnvelope(b.DSSEEnvelope)
}

// FuzzBundleAgainstProtojson: a bundle sign.ParseBundle accepts is one
// protojson accepts too, and reads as the same message as what
// MarshalJSON writes of it: the two readers never see two bundles.
func FuzzBundleAgainstProtojson(f *testing.F) {
	for _, name := range []string{"happy-path-v0.1", "managed-key-happy-path", "rekor2-dsse-happy-path", "intoto-with-custom-trust-root"} {
		if b, err := os.ReadFile("../testdata/sigstore-conformance/" + name + ".sigstore.json"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"},` +
		`"timestampVerificationData":null},"dsseEnvelope":{"payload":"e30=","payloadType":"t","signatures":[{"sig":"c2ln","keyid":null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := sign.ParseBundle(data)
		if err != nil {
			return
		}
		in := new(protobundle.Bundle)
		if err := protojson.Unmarshal(data, in); err != nil {
			t.Fatalf("sign.ParseBundle accepted what protojson refuses (%v):\n%s", err, data)
		}
		out, err := b.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again := new(protobundle.Bundle)
		if err := protojson.Unmarshal(out, again); err != nil {
			t.Fatalf("protojson refuses MarshalJSON's output: %v\n%s", err, out)
		}
		if !proto.Equal(in, again) {
			t.Fatalf("the readers disagree:\ninput  %s\noutput %s", data, out)
		}
	})
}
