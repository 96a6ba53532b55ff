package keyless_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/digitorus/timestamp"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

func TestCosignAnnotations(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	ctx := context.Background()
	env, _ := sign.SignStatement(ctx, []byte(statement), s)
	b, err := keyless.Bundle(ctx, env, s)
	if err != nil {
		t.Fatal(err)
	}
	ann, err := keyless.CosignAnnotations(b)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(ann[keyless.AnnotationCertificate]))
	if blk == nil || !bytes.Equal(blk.Bytes, s.Certificate().Raw) {
		t.Error("certificate annotation is not the signer's certificate")
	}
	if v, ok := ann[keyless.AnnotationChain]; !ok || v != "" {
		t.Errorf("chain annotation = %q, want present and empty (Fulcio's chain is in the trusted root)", v)
	}
	// The Rekor bundle is what cosign checks: the log's signature over the
	// canonical JSON of the payload.
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              json.RawMessage
	}
	if err := json.Unmarshal([]byte(ann[keyless.AnnotationBundle]), &rb); err != nil {
		t.Fatal(err)
	}
	canon, err := jsoncanonicalizer.Transform(rb.Payload)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(canon)
	if !ecdsa.VerifyASN1(svc.Log.Public().(*ecdsa.PublicKey), d[:], rb.SignedEntryTimestamp) {
		t.Errorf("signed entry timestamp does not verify over %s", canon)
	}
	var ts struct{ SignedRFC3161Timestamp []byte }
	if err := json.Unmarshal([]byte(ann[keyless.AnnotationRFC3161Timestamp]), &ts); err != nil {
		t.Fatal(err)
	}
	parsed, err := timestamp.ParseResponse(ts.SignedRFC3161Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	sigHash := sha256.Sum256(env.Signatures[0].Sig)
	if !bytes.Equal(parsed.HashedMessage, sigHash[:]) {
		t.Error("timestamp is not over the signature")
	}

	kb, _ := keyless.KeyBundle(env, s.Public())
	if ann, err := keyless.CosignAnnotations(kb); err != nil || len(ann) != 0 {
		t.Errorf("key bundle annotations = %v, %v", ann, err)
	}
	if _, err := keyless.CosignAnnotations([]byte("{")); !errors.Is(err, keyless.ErrEnvelope) {
		t.Errorf("garbage: %v", err)
	}
}

func TestBundleRefusesExpiredCertificate(t *testing.T) {
	svc := keylesstest.New(t)
	svc.CA.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
	s := newSigner(t, svc)
	env, _ := sign.SignStatement(context.Background(), []byte(statement), s)
	if _, err := keyless.Bundle(context.Background(), env, s); !errors.Is(err, keyless.ErrCertificate) {
		t.Errorf("err = %v, want ErrCertificate", err)
	}
	if svc.Log.Size() != 0 || svc.TSA.Requests() != 0 {
		t.Error("services were called for a bundle that cannot verify")
	}
}

// A timestamp authority that stamps something else than the signature is
// caught when the bundle is made.
func TestBundleChecksTimestampIsOverSignature(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	other := sha256.Sum256([]byte("something else"))
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: other[:]}).Marshal()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := http.Post(svc.TSAURL(), "application/timestamp-query", bytes.NewReader(req))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer liar.Close()
	env, _ := sign.SignStatement(context.Background(), []byte(statement), s)
	_, err := keyless.Bundle(context.Background(), env, s, keyless.WithTSAURLs(liar.URL), keyless.WithRekorURLs())
	if !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("err = %v, want ErrTimestamp", err)
	}
	if svc.TSA.Requests() != 1 {
		t.Errorf("TSA requests = %d: the liar did not reach it", svc.TSA.Requests())
	}
}
