package keyless_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// The cosign annotations oci derives from a sign.Bundle (without
// sigstore-go) are what cosign v2 checks: the signer's certificate, a Rekor
// bundle whose signed entry timestamp the log's key verifies, a timestamp
// over the signature. They equal what the protobuf-based code they replace
// made from the same bundle.
func TestCosignAnnotations(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	ctx := context.Background()
	env, _ := sign.SignStatement(ctx, []byte(statement), s)
	b, err := s.BundleEnvelope(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	ann, err := oci.CosignAnnotations(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := referenceCosignAnnotations(t, raw); !reflect.DeepEqual(ann, want) {
		t.Errorf("annotations differ from the protobuf-based reference:\n got %v\nwant %v", ann, want)
	}
	blk, _ := pem.Decode([]byte(ann[oci.AnnotationCertificate]))
	if blk == nil || !bytes.Equal(blk.Bytes, s.Certificate().Raw) {
		t.Error("certificate annotation is not the signer's certificate")
	}
	if v, ok := ann[oci.AnnotationChain]; !ok || v != "" {
		t.Errorf("chain annotation = %q, want present and empty (Fulcio's chain is in the trusted root)", v)
	}
	// The Rekor bundle is what cosign checks: the log's signature over the
	// canonical JSON of the payload.
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              json.RawMessage
	}
	if err := json.Unmarshal([]byte(ann[oci.AnnotationRekorBundle]), &rb); err != nil {
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
	if err := json.Unmarshal([]byte(ann[oci.AnnotationRFC3161Timestamp]), &ts); err != nil {
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

	key, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	kenv, _ := sign.SignStatement(ctx, []byte(statement), key)
	kb, err := keyless.KeyBundle(ctx, kenv, key, keyless.WithRekorURLs())
	if err != nil {
		t.Fatal(err)
	}
	if ann, err := oci.CosignAnnotations(kb); err != nil || len(ann) != 0 {
		t.Errorf("key bundle annotations = %v, %v", ann, err)
	}
}

// referenceCosignAnnotations is keyless.CosignAnnotations as it was, over
// sigstore's protobuf types: the reference oci.CosignAnnotations is held to.
func referenceCosignAnnotations(t *testing.T, bundle []byte) map[string]string {
	t.Helper()
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(bundle, &pb); err != nil {
		t.Fatal(err)
	}
	vm := pb.GetVerificationMaterial()
	out := map[string]string{}
	var certs [][]byte
	if c := vm.GetCertificate(); c != nil {
		certs = append(certs, c.GetRawBytes())
	}
	for _, c := range vm.GetX509CertificateChain().GetCertificates() {
		certs = append(certs, c.GetRawBytes())
	}
	if len(certs) > 0 {
		out["dev.sigstore.cosign/certificate"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0]}))
		var chain []byte
		for _, c := range certs[1:] {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
		}
		out["dev.sigstore.cosign/chain"] = string(chain)
	}
	type payload struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	}
	for _, e := range vm.GetTlogEntries() {
		set := e.GetInclusionPromise().GetSignedEntryTimestamp()
		if len(set) == 0 {
			continue
		}
		b, _ := json.Marshal(struct {
			SignedEntryTimestamp []byte
			Payload              payload
		}{set, payload{base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()), e.GetIntegratedTime(), e.GetLogIndex(), hex.EncodeToString(e.GetLogId().GetKeyId())}})
		out["dev.sigstore.cosign/bundle"] = string(b)
		break
	}
	if ts := vm.GetTimestampVerificationData().GetRfc3161Timestamps(); len(ts) > 0 {
		b, _ := json.Marshal(struct{ SignedRFC3161Timestamp []byte }{ts[0].GetSignedTimestamp()})
		out["dev.sigstore.cosign/rfc3161timestamp"] = string(b)
	}
	return out
}

func TestBundleRefusesExpiredCertificate(t *testing.T) {
	svc := keylesstest.New(t)
	svc.CA.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
	s := newSigner(t, svc)
	env, _ := sign.SignStatement(context.Background(), []byte(statement), s)
	if _, err := s.BundleEnvelope(context.Background(), env); !errors.Is(err, keyless.ErrCertificate) {
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
	_, err := keyless.KeyBundle(context.Background(), env, s, keyless.WithTSAURLs(liar.URL), keyless.WithRekorURLs())
	if !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("err = %v, want ErrTimestamp", err)
	}
	if svc.TSA.Requests() != 1 {
		t.Errorf("TSA requests = %d: the liar did not reach it", svc.TSA.Requests())
	}
}
