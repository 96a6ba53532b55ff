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
		verifykeyless.WithIdentity(verifykeyless.Identity{Issuer: svc.Issuer.URL(), SAN: "builder@example.com"}))
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
