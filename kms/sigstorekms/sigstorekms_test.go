package sigstorekms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/slsakit/slsakit/kms/sigstorekms"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
)

const statement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"c0ffee"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`

func mustECDSA(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kmsLike gives an in-memory SignerVerifier the CryptoSigner method of
// sigstore's kms.SignerVerifier, like the AWS, Azure, GCP and Vault
// providers, and records the context SignMessage receives.
type kmsLike struct {
	signature.SignerVerifier
	signer  crypto.Signer
	opts    crypto.SignerOpts
	gotCtx  context.Context
	corrupt bool
}

func (k *kmsLike) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return k.signer, k.opts, nil
}

func (k *kmsLike) SignMessage(msg io.Reader, opts ...signature.SignOption) ([]byte, error) {
	for _, o := range opts {
		o.ApplyContext(&k.gotCtx)
	}
	sig, err := k.SignerVerifier.SignMessage(msg, opts...)
	if k.corrupt && err == nil {
		sig[len(sig)-1] ^= 1
	}
	return sig, err
}

type ctxKey struct{}

func signAndVerify(t *testing.T, s sign.Signer, alg sign.Algorithm) {
	t.Helper()
	ctx := context.Background()
	env, err := sign.SignStatement(ctx, []byte(statement), s)
	if err != nil {
		t.Fatalf("SignStatement: %v", err)
	}
	v, err := sign.NewVerifier(s.Public(), alg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, env.PAE(), env.Signatures[0].Sig); err != nil {
		t.Errorf("%s signature does not verify: %v", alg, err)
	}
	if env.Signatures[0].KeyID != s.KeyID() {
		t.Errorf("envelope keyid %q, signer %q", env.Signatures[0].KeyID, s.KeyID())
	}
}

func algorithmOf(s sign.Signer) (sign.Algorithm, bool) {
	as, ok := s.(sign.AlgorithmSigner)
	if !ok {
		return "", false
	}
	return as.Algorithm(), true
}

func TestInMemorySignerVerifiers(t *testing.T) {
	ctx := context.Background()
	p256 := mustECDSA(t, elliptic.P256())
	p384 := mustECDSA(t, elliptic.P384())
	rsaKey := mustRSA(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)

	ecSV, _ := signature.LoadECDSASignerVerifier(p256, crypto.SHA256)
	ec384With256, _ := signature.LoadECDSASignerVerifier(p384, crypto.SHA256)
	edSV, _ := signature.LoadED25519SignerVerifier(edKey)
	edphSV, _ := signature.LoadED25519phSignerVerifier(edKey)
	rsaSV, _ := signature.LoadRSAPKCS1v15SignerVerifier(rsaKey, crypto.SHA256)

	cases := []struct {
		name    string
		sv      signature.SignerVerifier
		opts    []sigstorekms.Option
		wantAlg sign.Algorithm // "" = not an AlgorithmSigner
		verify  sign.Algorithm // algorithm that verifies the signatures
	}{
		{"ECDSA P-256, hash unknown", ecSV, nil, "", sign.ECDSAP256SHA256},
		{"ECDSA P-256 named", ecSV, []sigstorekms.Option{sigstorekms.WithAlgorithm(sign.ECDSAP256SHA256)}, sign.ECDSAP256SHA256, sign.ECDSAP256SHA256},
		// The named algorithm's hash overrides the one the SignerVerifier was built with.
		{"ECDSA P-384 built with SHA-256, named SHA-384", ec384With256, []sigstorekms.Option{sigstorekms.WithAlgorithm(sign.ECDSAP384SHA384)}, sign.ECDSAP384SHA384, sign.ECDSAP384SHA384},
		{"Ed25519", edSV, nil, sign.Ed25519, sign.Ed25519},
		{"RSA PKCS#1 v1.5, hash unknown", rsaSV, nil, "", sign.RSAPKCS1v15SHA256},
		{"RSA PKCS#1 v1.5 SHA-512 named", rsaSV, []sigstorekms.Option{sigstorekms.WithAlgorithm(sign.RSAPKCS1v15SHA512)}, sign.RSAPKCS1v15SHA512, sign.RSAPKCS1v15SHA512},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sigstorekms.New(ctx, tc.sv, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			alg, ok := algorithmOf(s)
			if alg != tc.wantAlg || ok != (tc.wantAlg != "") {
				t.Errorf("algorithm %q (AlgorithmSigner %v), want %q", alg, ok, tc.wantAlg)
			}
			wantID, _ := sign.PublicKeyID(s.Public())
			if s.KeyID() != wantID {
				t.Errorf("KeyID %q, want %q", s.KeyID(), wantID)
			}
			signAndVerify(t, s, tc.verify)
			if ok || tc.verify == sign.ECDSAP256SHA256 || tc.verify == sign.RSAPKCS1v15SHA256 {
				// VerifierFor picks the key's default algorithm when the
				// signer does not name one: the conformance suite applies.
				signtest.Conformance(t, s, signtest.WithGoroutines(4))
			}
		})
	}

	// Ed25519ph is not the pure Ed25519 DSSE verifiers expect.
	s, err := sigstorekms.New(ctx, edphSV)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := algorithmOf(s); ok {
		t.Error("Ed25519ph SignerVerifier reported an algorithm")
	}
}

// TestKMSSignerVerifier: a SignerVerifier with CryptoSigner (every sigstore
// KMS provider) tells hash and padding; the context reaches SignMessage.
func TestKMSSignerVerifier(t *testing.T) {
	rsaKey := mustRSA(t)
	p256 := mustECDSA(t, elliptic.P256())
	pssSV, _ := signature.LoadRSAPSSSignerVerifier(rsaKey, crypto.SHA256, nil)
	pkcsSV, _ := signature.LoadRSAPKCS1v15SignerVerifier(rsaKey, crypto.SHA512)
	ecSV, _ := signature.LoadECDSASignerVerifier(p256, crypto.SHA256)
	ec384SV, _ := signature.LoadECDSASignerVerifier(p256, crypto.SHA384)

	cases := []struct {
		name string
		sv   *kmsLike
		want sign.Algorithm
	}{
		{"RSA PSS SHA-256", &kmsLike{SignerVerifier: pssSV, signer: rsaKey, opts: &rsa.PSSOptions{Hash: crypto.SHA256}}, sign.RSAPSSSHA256},
		{"RSA PKCS#1 SHA-512", &kmsLike{SignerVerifier: pkcsSV, signer: rsaKey, opts: crypto.SHA512}, sign.RSAPKCS1v15SHA512},
		{"ECDSA P-256 SHA-256", &kmsLike{SignerVerifier: ecSV, signer: p256, opts: crypto.SHA256}, sign.ECDSAP256SHA256},
		{"ECDSA P-256 SHA-384 (no DSSE algorithm)", &kmsLike{SignerVerifier: ec384SV, signer: p256, opts: crypto.SHA384}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), ctxKey{}, tc.name)
			s, err := sigstorekms.New(ctx, tc.sv, sigstorekms.WithKeyID("awskms:///alias/test"))
			if err != nil {
				t.Fatal(err)
			}
			if alg, _ := algorithmOf(s); alg != tc.want {
				t.Errorf("algorithm %q, want %q", alg, tc.want)
			}
			if s.KeyID() != "awskms:///alias/test" {
				t.Errorf("KeyID %q", s.KeyID())
			}
			if tc.want == "" {
				return
			}
			if _, err := s.Sign(ctx, []byte("m")); err != nil {
				t.Fatal(err)
			}
			if tc.sv.gotCtx == nil || tc.sv.gotCtx.Value(ctxKey{}) != tc.name {
				t.Error("SignMessage did not receive the caller's context")
			}
			signAndVerify(t, s, tc.want)

			// A bad signature from the SignerVerifier is caught.
			tc.sv.corrupt = true
			defer func() { tc.sv.corrupt = false }()
			if sig, err := s.Sign(ctx, []byte("m")); !errors.Is(err, sign.ErrInvalidSignature) || sig != nil {
				t.Errorf("corrupted signature: %x, %v; want sign.ErrInvalidSignature", sig, err)
			}
		})
	}
}

type failingSV struct {
	signature.SignerVerifier
	pubErr, signErr error
}

func (f failingSV) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	if f.pubErr != nil {
		return nil, f.pubErr
	}
	return f.SignerVerifier.PublicKey()
}

func (f failingSV) SignMessage(io.Reader, ...signature.SignOption) ([]byte, error) {
	return nil, f.signErr
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	p256 := mustECDSA(t, elliptic.P256())
	ecSV, _ := signature.LoadECDSASignerVerifier(p256, crypto.SHA256)
	boom := errors.New("boom")

	if _, err := sigstorekms.New(ctx, nil); !errors.Is(err, sigstorekms.ErrNoSignerVerifier) {
		t.Errorf("nil: %v", err)
	}
	if _, err := sigstorekms.New(ctx, failingSV{SignerVerifier: ecSV, pubErr: boom}); !errors.Is(err, boom) {
		t.Errorf("PublicKey error: %v", err)
	}
	if _, err := sigstorekms.New(ctx, ecSV, sigstorekms.WithAlgorithm(sign.RSAPSSSHA256)); !errors.Is(err, sign.ErrAlgorithmMismatch) {
		t.Errorf("mismatched algorithm: %v", err)
	}
	if _, err := sigstorekms.New(ctx, ecSV, sigstorekms.WithAlgorithm("md5-rsa")); !errors.Is(err, sign.ErrUnsupportedAlgorithm) {
		t.Errorf("unknown algorithm: %v", err)
	}
	p224 := mustECDSA(t, elliptic.P224())
	p224SV, _ := signature.LoadECDSASignerVerifier(p224, crypto.SHA256)
	if _, err := sigstorekms.New(ctx, p224SV); !errors.Is(err, sign.ErrUnsupportedKey) {
		t.Errorf("P-224 key: %v", err)
	}
	s, err := sigstorekms.New(ctx, failingSV{SignerVerifier: ecSV, signErr: boom})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, []byte("m")); !errors.Is(err, boom) {
		t.Errorf("SignMessage error: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Sign(cctx, []byte("m")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
