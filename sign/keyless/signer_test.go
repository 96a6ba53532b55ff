package keyless_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/sign/signtest"
)

func newSigner(t testing.TB, svc *keylesstest.Services, opts ...keyless.Option) *keyless.Signer {
	t.Helper()
	tok, err := svc.Issuer.EmailToken("builder@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s, err := keyless.NewSigner(context.Background(), append([]keyless.Option{
		keyless.WithServices(svc.SigningServices()), keyless.WithToken(keyless.StaticToken(tok))}, opts...)...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func TestSignerConformance(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	signtest.Conformance(t, s)
	if s.Algorithm() != sign.ECDSAP256SHA256 || s.KeyID() != "" {
		t.Errorf("algorithm %q keyid %q", s.Algorithm(), s.KeyID())
	}
	chain := s.CertificateChain()
	if len(chain) != 1 || len(chain[0].EmailAddresses) != 1 || chain[0].EmailAddresses[0] != "builder@example.com" {
		t.Fatalf("chain = %v", chain)
	}
	if _, err := chain[0].Verify(x509Opts(svc)); err != nil {
		t.Errorf("certificate does not chain to the CA: %v", err)
	}
	if s.Claims().Issuer != svc.Issuer.URL() {
		t.Errorf("claims = %+v", s.Claims())
	}
	// Each signer has its own ephemeral key.
	if s2 := newSigner(t, svc); s2.Certificate().Equal(s.Certificate()) {
		t.Error("two signers share a certificate")
	}
}

func TestNewSignerChecksTokenBeforeNetwork(t *testing.T) {
	svc := keylesstest.New(t)
	ctx := context.Background()
	expired, err := svc.Issuer.Token(keylesstest.Claims{Email: "a@example.com", TTL: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		opts []keyless.Option
		want error
	}{
		"no token source": {nil, keyless.ErrNoToken},
		"expired":         {[]keyless.Option{keyless.WithToken(keyless.StaticToken(expired))}, keyless.ErrTokenExpired},
		"malformed":       {[]keyless.Option{keyless.WithToken(keyless.StaticToken("not.a-jwt"))}, keyless.ErrTokenMalformed},
		"source fails": {[]keyless.Option{keyless.WithToken(keyless.FromFunc(func(context.Context) (string, error) {
			return "", keyless.ErrNoToken
		}))}, keyless.ErrNoToken},
		"nil source": {[]keyless.Option{keyless.WithToken(nil)}, keyless.ErrConfig},
		"no CA":      {[]keyless.Option{keyless.WithFulcioURL(""), keyless.WithToken(keyless.StaticToken(expired))}, keyless.ErrConfig},
	} {
		_, err := keyless.NewSigner(ctx, append([]keyless.Option{keyless.WithServices(svc.SigningServices())}, tc.opts...)...)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if n := svc.CA.Requests(); n != 0 {
		t.Errorf("the CA got %d requests, want none", n)
	}
}

func TestNewSignerRefusedByCA(t *testing.T) {
	svc, other := keylesstest.New(t), keylesstest.New(t)
	tok, err := other.Issuer.EmailToken("a@example.com") // an issuer svc's CA does not trust
	if err != nil {
		t.Fatal(err)
	}
	_, err = keyless.NewSigner(context.Background(), keyless.WithServices(svc.SigningServices()), keyless.WithToken(keyless.StaticToken(tok)))
	if !errors.Is(err, keyless.ErrFulcio) {
		t.Errorf("err = %v, want ErrFulcio", err)
	}
	if svc.CA.Requests() != 1 {
		t.Errorf("CA requests = %d", svc.CA.Requests())
	}
}

func TestSigningConfig(t *testing.T) {
	svc := keylesstest.New(t)
	sc, err := svc.SigningConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := keyless.ServicesFromSigningConfig(sc, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The config advertises both logs: the highest API version is chosen.
	want := svc.SigningServicesV2()
	if got.FulcioURL != want.FulcioURL || len(got.Rekor) != 1 || got.Rekor[0] != want.Rekor[0] ||
		len(got.TSAURLs) != 1 || got.TSAURLs[0] != want.TSAURLs[0] {
		t.Errorf("services = %+v, want %+v", got, want)
	}
	path := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(path, sc, 0o600); err != nil {
		t.Fatal(err)
	}
	tok, _ := svc.Issuer.EmailToken("a@example.com")
	s, err := keyless.NewSigner(context.Background(), keyless.WithSigningConfigFile(path), keyless.WithToken(keyless.StaticToken(tok)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(context.Background(), []byte(statement), s); err != nil {
		t.Fatal(err)
	}
	if svc.LogV2.Size() != 1 || svc.Log.Size() != 0 || svc.TSA.Requests() != 1 {
		t.Errorf("v2 log size %d, v1 log size %d, TSA requests %d: the signing config's services were not used", svc.LogV2.Size(), svc.Log.Size(), svc.TSA.Requests())
	}
	for _, bad := range []string{`{}`, `not json`, `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json"}`} {
		if _, err := keyless.ServicesFromSigningConfig([]byte(bad), time.Now()); !errors.Is(err, keyless.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", bad, err)
		}
	}
	if _, err := keyless.NewSigner(context.Background(), keyless.WithSigningConfigFile(filepath.Join(t.TempDir(), "missing"))); !errors.Is(err, keyless.ErrConfig) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestBundleContents(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	ctx := context.Background()
	other, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	env, err := sign.SignStatement(ctx, []byte(statement), other, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.BundleEnvelope(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		t.Fatal(err)
	}
	if pb.MediaType != sign.MediaTypeBundle || len(pb.GetDsseEnvelope().GetSignatures()) != 1 {
		t.Fatalf("bundle = %v", &pb)
	}
	if string(pb.GetDsseEnvelope().Signatures[0].Sig) != string(env.Signatures[1].Sig) || pb.GetDsseEnvelope().Signatures[0].Keyid != "" {
		t.Error("the bundle does not hold the keyless signer's signature alone, without keyid")
	}
	if string(pb.GetVerificationMaterial().GetCertificate().GetRawBytes()) != string(s.Certificate().Raw) {
		t.Error("the bundle does not hold the certificate")
	}
	if len(pb.GetVerificationMaterial().GetTlogEntries()) != 1 || len(pb.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) != 1 {
		t.Error("want one log entry and one timestamp")
	}
	if err := (&sign.Attestation{Envelope: env, Bundle: b}).Validate(); err != nil {
		t.Errorf("the bundle does not carry the envelope: %v", err)
	}

	// An envelope the signer did not sign cannot be bundled with its
	// certificate.
	env2, _ := sign.SignStatement(ctx, []byte(statement), other)
	if _, err := s.BundleEnvelope(ctx, env2); !errors.Is(err, keyless.ErrEnvelope) {
		t.Errorf("foreign envelope: err = %v, want ErrEnvelope", err)
	}
	// Bundling the same envelope twice: the log answers 409 with the existing
	// entry, which sigstore-go fetches.
	if _, err := s.BundleEnvelope(ctx, env); err != nil {
		t.Errorf("second bundle of the same envelope: %v", err)
	}
	if svc.Log.Size() != 1 {
		t.Errorf("log size = %d, want 1", svc.Log.Size())
	}
}

func TestBundleServiceFailures(t *testing.T) {
	svc := keylesstest.New(t)
	s := newSigner(t, svc)
	ctx := context.Background()
	env, _ := sign.SignStatement(ctx, []byte(statement), s)
	if _, err := keyless.KeyBundle(ctx, env, s, keyless.WithTSAURLs(svc.URL+"/nowhere")); !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("bad TSA: err = %v, want ErrTimestamp", err)
	}
	if _, err := keyless.KeyBundle(ctx, env, s, keyless.WithTSAURLs(), keyless.WithRekorURLs(svc.URL+"/nowhere")); !errors.Is(err, keyless.ErrRekor) {
		t.Errorf("bad Rekor: err = %v, want ErrRekor", err)
	}
	bad := newSigner(t, svc, keyless.WithTSAURLs(svc.URL+"/nowhere"))
	if _, err := sign.Attest(ctx, []byte(statement), bad); !errors.Is(err, keyless.ErrTimestamp) {
		t.Errorf("Attest with a bad TSA: err = %v, want ErrTimestamp", err)
	}
	if _, err := s.BundleEnvelope(ctx, nil); !errors.Is(err, keyless.ErrEnvelope) {
		t.Errorf("nil envelope: err = %v", err)
	}
	if _, err := keyless.KeyBundle(ctx, env, nil); !errors.Is(err, keyless.ErrEnvelope) {
		t.Errorf("nil signer: err = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.BundleEnvelope(cctx, env); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}
