package signtest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

func TestNewSignerDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b, c := signtest.NewSigner("alice"), signtest.NewSigner("alice"), signtest.NewSigner("bob")
	if a.KeyID() != b.KeyID() {
		t.Errorf("same seed, different key IDs: %s %s", a.KeyID(), b.KeyID())
	}
	if a.KeyID() == c.KeyID() {
		t.Error("different seeds share a key ID")
	}
	sa, _ := a.Sign(ctx, []byte("m"))
	sb, _ := b.Sign(ctx, []byte("m"))
	if string(sa) != string(sb) {
		t.Error("same seed and message give different signatures")
	}
	if err := signtest.NewVerifier("alice").Verify(ctx, []byte("m"), sa); err != nil {
		t.Errorf("NewVerifier(alice): %v", err)
	}
	if err := signtest.NewVerifier("bob").Verify(ctx, []byte("m"), sa); err == nil {
		t.Error("bob's verifier accepted alice's signature")
	}
	if err := signtest.Verifier(t, a).Verify(ctx, []byte("m"), sa); err != nil {
		t.Errorf("Verifier(t, a): %v", err)
	}
	if _, ok := a.Public().(ed25519.PublicKey); !ok {
		t.Errorf("Public() is %T, want ed25519", a.Public())
	}
	if as, ok := a.(sign.AlgorithmSigner); !ok || as.Algorithm() != sign.Ed25519 {
		t.Error("NewSigner is not an Ed25519 AlgorithmSigner")
	}
}

// TestConformanceKeySigner runs Conformance against the file-key signer for
// every algorithm.
func TestConformanceKeySigner(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range sign.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			var s *sign.KeySigner
			var err error
			if alg.Hash() != 0 && strings.HasPrefix(string(alg), "rsa") {
				s, err = sign.NewKeySigner(rsaKey, sign.WithAlgorithm(alg))
			} else {
				s, err = sign.GenerateKey(alg)
			}
			if err != nil {
				t.Fatal(err)
			}
			signtest.Conformance(t, s)
		})
	}
	t.Run("signtest.NewSigner", func(t *testing.T) { signtest.Conformance(t, signtest.NewSigner("x")) })
	t.Run("certificate signer", func(t *testing.T) { signtest.Conformance(t, newCertSigner(t, false)) })
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errors) > 0
}

// runConformance runs Conformance on a recorder in its own goroutine (so a
// Fatal would not stop the real test) and returns what it reported.
func runConformance(t *testing.T, s sign.Signer, opts ...signtest.Option) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		signtest.Conformance(r, s, opts...)
	}()
	<-done
	return r.errors
}

// base is a correct signer that the broken ones below modify.
type base struct{ *sign.KeySigner }

func newBase(t *testing.T) base {
	s, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base{s}
}

type wrongPublic struct {
	base
	other crypto.PublicKey
}

func (w wrongPublic) Public() crypto.PublicKey { return w.other }

type signsOtherData struct{ base }

func (s signsOtherData) Sign(ctx context.Context, _ []byte) ([]byte, error) {
	return s.base.Sign(ctx, []byte("always the same message"))
}

type unstableKeyID struct {
	base
	n *atomic.Int64
}

func (u unstableKeyID) KeyID() string { return fmt.Sprintf("key-%d", u.n.Add(1)) }

type ignoresCtx struct{ base }

func (i ignoresCtx) Sign(_ context.Context, data []byte) ([]byte, error) {
	return i.base.Sign(context.Background(), data)
}

type unwrappedCancel struct{ base }

func (u unwrappedCancel) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("rpc error: code = Canceled")
	}
	return u.base.Sign(ctx, data)
}

type hangs struct{ base }

func (h hangs) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if ctx.Err() != nil {
		select {} // never returns
	}
	return h.base.Sign(ctx, data)
}

type racy struct {
	base
	calls *int // guarded by mu
	mu    *sync.Mutex
}

func (r racy) Sign(ctx context.Context, data []byte) ([]byte, error) {
	r.mu.Lock()
	*r.calls++
	n := *r.calls
	r.mu.Unlock()
	if n > 3 { // a resource pool that breaks under load: later calls fail
		return nil, fmt.Errorf("pool exhausted")
	}
	return r.base.Sign(ctx, data)
}

type wrongAlgorithm struct{ base }

func (wrongAlgorithm) Algorithm() sign.Algorithm { return sign.ECDSAP384SHA384 }

type nilPublic struct{ base }

func (nilPublic) Public() crypto.PublicKey { return nil }

type weakKey struct{ base }

func (weakKey) Public() crypto.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
}

// certSigner is a CertificateSigner.
type certSigner struct {
	base
	chain []*x509.Certificate
}

func (c certSigner) CertificateChain() []*x509.Certificate { return c.chain }

func newCertSigner(t *testing.T, wrongLeaf bool) certSigner {
	b := newBase(t)
	pub := b.Public()
	if wrongLeaf {
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub = other.Public()
	}
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, ca)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certSigner{b, []*x509.Certificate{leaf}}
}

// bundler is a BundleSigner; mode breaks its contract in one way.
type bundler struct {
	base
	mode string
}

func (b bundler) BundleEnvelope(ctx context.Context, env *sign.Envelope) (*sign.Bundle, error) {
	v, err := sign.VerifierFor(b)
	if err != nil {
		return nil, err
	}
	var mine []sign.Signature
	for _, s := range env.Signatures {
		if b.mode == "all" || b.mode == "anything" || v.Verify(ctx, env.PAE(), s.Sig) == nil {
			mine = append(mine, sign.Signature{Sig: s.Sig})
		}
	}
	if len(mine) == 0 {
		return nil, errors.New("not signed by me")
	}
	payload := env.Payload
	if b.mode == "other payload" {
		payload = []byte("{}")
	}
	return &sign.Bundle{
		MediaType:            sign.MediaTypeBundle,
		VerificationMaterial: sign.VerificationMaterial{PublicKey: &sign.PublicKeyIdentifier{Hint: b.KeyID()}},
		DSSEEnvelope:         &sign.Envelope{PayloadType: env.PayloadType, Payload: payload, Signatures: mine},
	}, nil
}

// TestConformanceCatchesBrokenSigners: each broken signer is reported, with
// a reason that names the broken rule.
func TestConformanceCatchesBrokenSigners(t *testing.T) {
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	cases := []struct {
		name   string
		signer sign.Signer
		opts   []signtest.Option
		reason string
	}{
		{"wrong public key", wrongPublic{newBase(t), other.Public()}, nil, "does not verify with Public()"},
		{"signature over different data", signsOtherData{newBase(t)}, nil, "does not verify"},
		{"unstable key ID", unstableKeyID{newBase(t), new(atomic.Int64)}, nil, "KeyID is not stable"},
		{"ignores canceled ctx", ignoresCtx{newBase(t)}, nil, "ignored a canceled context"},
		{"cancel error not wrapped", unwrappedCancel{newBase(t)}, nil, "does not wrap context.Canceled"},
		{"hangs on canceled ctx", hangs{newBase(t)}, []signtest.Option{signtest.WithHangTimeout(50 * time.Millisecond)}, "did not return"},
		{"fails under concurrency", racy{newBase(t), &calls, &sync.Mutex{}}, nil, "concurrent use"},
		{"algorithm does not fit key", wrongAlgorithm{newBase(t)}, nil, "does not fit Public()"},
		{"nil public key", nilPublic{newBase(t)}, nil, "Public() returned nil"},
		{"weak key", weakKey{newBase(t)}, nil, "unsupported key"},
		{"leaf certifies another key", newCertSigner(t, true), nil, "certifies another key"},
		{"nil signer", nil, nil, "signer is nil"},
		{"bundles every signature", bundler{newBase(t), "all"}, nil, "exactly its signer's signature"},
		{"bundles what it did not sign", bundler{newBase(t), "anything"}, nil, "did not sign"},
		{"bundles another payload", bundler{newBase(t), "other payload"}, nil, "does not carry the envelope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := runConformance(t, c.signer, c.opts...)
			if len(errs) == 0 {
				t.Fatalf("Conformance passed a broken signer")
			}
			found := false
			for _, e := range errs {
				found = found || strings.Contains(e, c.reason)
			}
			if !found {
				t.Errorf("no failure mentions %q; got:\n%s", c.reason, strings.Join(errs, "\n"))
			}
		})
	}
	// And a correct signer produces no report at all.
	for _, good := range []sign.Signer{newBase(t), bundler{newBase(t), ""}} {
		if errs := runConformance(t, good); len(errs) != 0 {
			t.Errorf("correct signer %T reported:\n%s", good, strings.Join(errs, "\n"))
		}
	}
}

func TestNewFailingSigner(t *testing.T) {
	boom := errors.New("kms unavailable")
	s := signtest.NewFailingSigner("alice", boom)
	if s.KeyID() != signtest.NewSigner("alice").KeyID() {
		t.Error("failing signer has another key than NewSigner(seed)")
	}
	_, err := sign.SignEnvelope(context.Background(), "text/plain", []byte("x"), signtest.NewSigner("ok"), s)
	if !errors.Is(err, boom) {
		t.Errorf("SignEnvelope err = %v, want the signer's error", err)
	}
	errs := runConformance(t, s)
	if len(errs) == 0 {
		t.Error("Conformance passed a signer that cannot sign")
	}
}
