package signtest

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign"
)

// Option tunes Conformance.
type Option func(*config)

type config struct {
	goroutines int
	hang       time.Duration
}

// WithGoroutines sets how many goroutines sign at once in the concurrency
// check (default 16). Run the test with -race for the check to catch data
// races, not only wrong results.
func WithGoroutines(n int) Option { return func(c *config) { c.goroutines = n } }

// WithHangTimeout sets how long Conformance waits for Sign to return once
// called with a canceled context before it reports a hang (default 30s).
// It guards against hangs; it is not a speed requirement.
func WithHangTimeout(d time.Duration) Option { return func(c *config) { c.hang = d } }

// samplePayload is the in-toto statement Conformance signs.
const samplePayload = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"conformance","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

// Conformance checks that s keeps the contract of the sign.Signer seam and
// reports every broken rule through tb.Errorf:
//
//   - KeyID returns the same value on every call;
//   - Public returns a non-nil key of a supported type and size (ECDSA
//     P-256/P-384/P-521, Ed25519, RSA of at least 2048 bits), the same on
//     every call; an AlgorithmSigner's Algorithm fits that key;
//   - a signature over the DSSE PAE of a sample envelope verifies with
//     sign.VerifierFor(s), also after a JSON round trip of the envelope;
//   - the signature binds the data: it fails to verify, with
//     sign.ErrInvalidSignature, over a changed payload or payload type;
//   - Sign with an already canceled context returns an error that wraps
//     context.Canceled (checking ctx.Err() first is enough) and does not
//     hang;
//   - concurrent Sign calls from 16 goroutines all produce valid signatures
//     (run with -race to catch data races too);
//   - a CertificateSigner returns a non-empty chain whose leaf certifies
//     Public();
//   - a BundleSigner's BundleEnvelope, given an envelope it signed beside
//     another signer, returns a well-formed bundle carrying that envelope
//     (sign.Attestation.Validate) with exactly one signature, its own and
//     without keyid (what Sigstore verifiers require), and fails for an
//     envelope it did not sign. Its services are called.
//
// Conformance never calls tb.Fatal: it stops early, after an Errorf, only
// where further checks would be meaningless.
func Conformance(tb testing.TB, s sign.Signer, opts ...Option) {
	tb.Helper()
	cfg := config{goroutines: 16, hang: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if s == nil {
		tb.Errorf("signtest: Conformance: signer is nil")
		return
	}
	ctx := context.Background()

	id := s.KeyID()
	for range 3 {
		if again := s.KeyID(); again != id {
			tb.Errorf("signtest: KeyID is not stable: %q, then %q", id, again)
			break
		}
	}

	pub := s.Public()
	if pub == nil {
		tb.Errorf("signtest: Public() returned nil")
		return
	}
	if _, err := sign.DefaultAlgorithm(pub); err != nil {
		tb.Errorf("signtest: Public() returned an unsupported key (%T): %v", pub, err)
		return
	}
	if !equalKeys(pub, s.Public()) {
		tb.Errorf("signtest: Public() is not stable: two calls returned different keys")
	}
	if as, ok := s.(sign.AlgorithmSigner); ok {
		if _, err := sign.NewVerifier(pub, as.Algorithm()); err != nil {
			tb.Errorf("signtest: Algorithm() %q does not fit Public(): %v", as.Algorithm(), err)
			return
		}
	}
	v, err := sign.VerifierFor(s)
	if err != nil {
		tb.Errorf("signtest: sign.VerifierFor: %v", err)
		return
	}

	payload := []byte(samplePayload)
	env, err := sign.SignEnvelope(ctx, sign.PayloadTypeInToto, payload, s)
	if err != nil {
		tb.Errorf("signtest: signing a sample envelope: %v", err)
		return
	}
	sig := env.Signatures[0].Sig
	if err := v.Verify(ctx, env.PAE(), sig); err != nil {
		tb.Errorf("signtest: the signature over the envelope's PAE does not verify with Public() (%s): %v%s", algorithmOf(s, pub), err, hint(s))
		return
	}
	checkRoundTrip(tb, env, v)
	checkBinding(tb, v, payload, sig)
	checkCanceled(tb, s, env.PAE(), cfg.hang)
	checkConcurrent(tb, s, v, cfg.goroutines)
	if cs, ok := s.(sign.CertificateSigner); ok {
		checkChain(tb, cs, pub)
	}
	if bs, ok := s.(sign.BundleSigner); ok {
		checkBundle(tb, bs, v)
	}
}

func checkBundle(tb testing.TB, bs sign.BundleSigner, v sign.Verifier) {
	tb.Helper()
	ctx := context.Background()
	other := NewSigner("signtest: the other signer")
	env, err := sign.SignEnvelope(ctx, sign.PayloadTypeInToto, []byte(samplePayload), other, bs)
	if err != nil {
		tb.Errorf("signtest: signing beside another signer: %v", err)
		return
	}
	b, err := bs.BundleEnvelope(ctx, env)
	if err != nil || b == nil {
		tb.Errorf("signtest: BundleEnvelope of an envelope it signed: %v, %v", b, err)
		return
	}
	if err := (&sign.Attestation{Envelope: env, Bundle: b}).Validate(); err != nil {
		tb.Errorf("signtest: BundleEnvelope's bundle does not carry the envelope: %v", err)
		return
	}
	if sigs := b.DSSEEnvelope.Signatures; len(sigs) != 1 || sigs[0].KeyID != "" || v.Verify(ctx, env.PAE(), sigs[0].Sig) != nil {
		tb.Errorf("signtest: a bundle must hold exactly its signer's signature, without keyid; it holds %d", len(sigs))
	}
	foreign, err := sign.SignEnvelope(ctx, sign.PayloadTypeInToto, []byte(samplePayload), other)
	if err != nil {
		tb.Errorf("signtest: %v", err)
		return
	}
	if b, err := bs.BundleEnvelope(ctx, foreign); err == nil {
		tb.Errorf("signtest: BundleEnvelope bundled an envelope it did not sign: %+v", b)
	}
}

func checkRoundTrip(tb testing.TB, env *sign.Envelope, v sign.Verifier) {
	tb.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		tb.Errorf("signtest: marshaling the sample envelope: %v", err)
		return
	}
	back, err := sign.ParseEnvelope(b)
	if err != nil {
		tb.Errorf("signtest: the sample envelope does not parse back: %v", err)
		return
	}
	if err := v.Verify(context.Background(), back.PAE(), back.Signatures[0].Sig); err != nil {
		tb.Errorf("signtest: the signature does not verify after a JSON round trip: %v", err)
	}
}

func checkBinding(tb testing.TB, v sign.Verifier, payload, sig []byte) {
	tb.Helper()
	changed := append([]byte(nil), payload...)
	changed[len(changed)/2] ^= 0x01
	cases := []struct {
		what string
		data []byte
	}{
		{"a payload with one bit changed", sign.PAE(sign.PayloadTypeInToto, changed)},
		{"another payload type", sign.PAE("application/json", payload)},
	}
	for _, c := range cases {
		err := v.Verify(context.Background(), c.data, sig)
		if err == nil {
			tb.Errorf("signtest: the signature also verifies over %s: it does not bind the signed data", c.what)
		} else if !errors.Is(err, sign.ErrInvalidSignature) {
			tb.Errorf("signtest: verifying over %s failed with %v, want sign.ErrInvalidSignature", c.what, err)
		}
	}
}

func checkCanceled(tb testing.TB, s sign.Signer, data []byte, hang time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Sign(ctx, data)
		done <- err
	}()
	timer := time.NewTimer(hang)
	defer timer.Stop()
	select {
	case err := <-done:
		switch {
		case err == nil:
			tb.Errorf("signtest: Sign ignored a canceled context: it must return an error wrapping ctx.Err()")
		case !errors.Is(err, context.Canceled):
			tb.Errorf("signtest: Sign with a canceled context returned %q, which does not wrap context.Canceled", err)
		}
	case <-timer.C:
		tb.Errorf("signtest: Sign did not return within %v when called with a canceled context", hang)
	}
}

func checkConcurrent(tb testing.TB, s sign.Signer, v sign.Verifier, n int) {
	tb.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			data := sign.PAE(sign.PayloadTypeInToto, fmt.Appendf(nil, `{"goroutine":%d}`, i))
			sig, err := s.Sign(context.Background(), data)
			if err != nil {
				errs[i] = fmt.Errorf("Sign: %w", err)
				return
			}
			if err := v.Verify(context.Background(), data, sig); err != nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed < 3 {
				tb.Errorf("signtest: concurrent use: goroutine %d of %d: %v", i, n, err)
			}
			failed++
		}
	}
	if failed > 3 {
		tb.Errorf("signtest: concurrent use: %d of %d goroutines failed in all", failed, n)
	}
}

func checkChain(tb testing.TB, cs sign.CertificateSigner, pub crypto.PublicKey) {
	tb.Helper()
	chain := cs.CertificateChain()
	if len(chain) == 0 || chain[0] == nil {
		tb.Errorf("signtest: CertificateChain() is empty: a CertificateSigner must return its leaf certificate first")
		return
	}
	if !equalKeys(chain[0].PublicKey, pub) {
		tb.Errorf("signtest: the leaf certificate (subject %q) certifies another key than Public()", chain[0].Subject.String())
	}
}

func equalKeys(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func algorithmOf(s sign.Signer, pub crypto.PublicKey) sign.Algorithm {
	if as, ok := s.(sign.AlgorithmSigner); ok {
		return as.Algorithm()
	}
	alg, _ := sign.DefaultAlgorithm(pub)
	return alg
}

func hint(s sign.Signer) string {
	if _, ok := s.(sign.AlgorithmSigner); ok {
		return ""
	}
	return "; a signer that does not use its key's default algorithm must implement sign.AlgorithmSigner"
}
