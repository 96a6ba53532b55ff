package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/signtest"
	"github.com/slsakit/slsakit/verify"
)

func newCA(t *testing.T) *testCA {
	t.Helper()
	ca, err := newTestCA(trustDomain)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issueSVID(t *testing.T, ca *testCA, id string, notBefore, notAfter time.Time, eku ...x509.ExtKeyUsage) *SVIDSigner {
	t.Helper()
	svid, err := ca.Issue(id, notBefore, notAfter, eku...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSVIDSigner(svid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRun(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run(context.Background(), config{out: out}, &stdout); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	for _, want := range []string{"signer:     " + builderID, "verification: PASS", "chain:      2 certificates"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	// The written files verify as a consumer would read them.
	jsonl, _ := os.ReadFile(filepath.Join(out, "provenance.intoto.jsonl"))
	envs, err := sign.ReadJSONL(bytes.NewReader(jsonl))
	if err != nil || len(envs) != 1 {
		t.Fatalf("provenance.intoto.jsonl: %d envelopes, %v", len(envs), err)
	}
	chain, err := parseChain(mustRead(t, filepath.Join(out, "svid-chain.pem")))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := parseChain(mustRead(t, filepath.Join(out, "bundle.pem")))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(bundle[0])
	if _, err := verifyChain(chain, roots, builderID, time.Now()); err != nil {
		t.Fatalf("written chain does not verify with the written bundle: %v", err)
	}
}

func TestConformance(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	signtest.Conformance(t, issueSVID(t, ca, builderID, now.Add(-time.Minute), now.Add(time.Hour)))
}

func TestNewSVIDSignerRejects(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	good, err := ca.Issue(builderID, now.Add(-time.Minute), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, svid := range map[string]*SVID{
		"nil":              nil,
		"no chain":         {Key: good.Key},
		"no key":           {Chain: good.Chain},
		"key of no leaf":   {Key: other, Chain: good.Chain},
		"not P-256":        {Key: p384, Chain: good.Chain},
		"CA as leaf":       {Key: good.Key, Chain: good.Chain[1:]},
		"leaf not first":   {Key: good.Key, Chain: []*x509.Certificate{good.Chain[1], good.Chain[0]}},
		"nil leaf pointer": {Key: good.Key, Chain: []*x509.Certificate{nil}},
	} {
		if _, err := NewSVIDSigner(svid); !errors.Is(err, ErrSVID) {
			t.Errorf("%s: err = %v, want ErrSVID", name, err)
		}
	}
}

// TestVerifyChainRejects: every check verifyChain claims, tampered one at a time.
func TestVerifyChainRejects(t *testing.T) {
	ca, otherCA := newCA(t), newCA(t)
	now := time.Now()
	valid := func(id string) *SVIDSigner { return issueSVID(t, ca, id, now.Add(-time.Minute), now.Add(time.Hour)) }

	if _, err := verifyChain(valid(builderID).CertificateChain(), ca.Roots(), builderID, now); err != nil {
		t.Fatalf("valid SVID rejected: %v", err)
	}
	cases := []struct {
		name  string
		chain []*x509.Certificate
		at    time.Time
		want  error
	}{
		{"wrong SPIFFE ID", valid("spiffe://example.org/ns/ci/sa/deployer").CertificateChain(), now, ErrSPIFFEID},
		{"SPIFFE ID with a suffix", valid(builderID + "-evil").CertificateChain(), now, ErrSPIFFEID},
		{"SPIFFE ID with an extra segment", valid(builderID + "/x").CertificateChain(), now, ErrSPIFFEID},
		{"other trust domain", valid("spiffe://example.org.evil.com/ns/ci/sa/builder").CertificateChain(), now, ErrSPIFFEID},
		{"cert from another CA", issueSVID(t, otherCA, builderID, now.Add(-time.Minute), now.Add(time.Hour)).CertificateChain(), now, ErrChain},
		{"expired leaf", issueSVID(t, ca, builderID, now.Add(-2*time.Hour), now.Add(-time.Hour)).CertificateChain(), now, ErrChain},
		{"leaf not yet valid", valid(builderID).CertificateChain(), now.Add(-time.Hour), ErrChain},
		{"serverAuth only", issueSVID(t, ca, builderID, now.Add(-time.Minute), now.Add(time.Hour), x509.ExtKeyUsageServerAuth).CertificateChain(), now, ErrChain},
		{"intermediate missing", valid(builderID).CertificateChain()[:1], now, ErrChain},
		{"intermediate as leaf", valid(builderID).CertificateChain()[1:], now, ErrChain},
		{"empty chain", nil, now, ErrChain},
	}
	for _, c := range cases {
		if _, err := verifyChain(c.chain, ca.Roots(), builderID, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestVerifyAttestationRejects: the full consumer check on envelopes.
func TestVerifyAttestationRejects(t *testing.T) {
	ctx := context.Background()
	ca, otherCA := newCA(t), newCA(t)
	now := time.Now()
	artifact := []byte("artifact")
	digest, _ := provenance.HashReader(bytes.NewReader(artifact))
	stmt, err := statement(ctx, "a.tar.gz", artifact)
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(s sign.Signer) []byte {
		env, err := sign.SignStatement(ctx, stmt, s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(env)
		return b
	}
	good := issueSVID(t, ca, builderID, now.Add(-time.Minute), now.Add(time.Hour))
	other := issueSVID(t, ca, builderID, now.Add(-time.Minute), now.Add(time.Hour))
	foreign := issueSVID(t, otherCA, builderID, now.Add(-time.Minute), now.Add(time.Hour))

	if _, err := verifyAttestation(ctx, envelope(good), encodeChain(good.CertificateChain()), ca.Roots(), builderID, now, digest); err != nil {
		t.Fatalf("valid attestation rejected: %v", err)
	}
	cases := []struct {
		name     string
		env      []byte
		chainPEM []byte
		subject  intoto.DigestSet
		want     error
	}{
		// A valid chain of the same identity does not vouch for another key.
		{"chain of another SVID", envelope(good), encodeChain(other.CertificateChain()), digest, verify.ErrSignature},
		{"signed under another CA", envelope(foreign), encodeChain(foreign.CertificateChain()), digest, ErrChain},
		{"other artifact", envelope(good), encodeChain(good.CertificateChain()), intoto.DigestSet{"sha256": strings.Repeat("0", 64)}, verify.ErrSubject},
		{"garbage chain", envelope(good), []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), digest, ErrChain},
		{"oversized chain", envelope(good), bytes.Repeat([]byte("A"), maxChainPEM+1), digest, ErrChain},
	}
	for _, c := range cases {
		if _, err := verifyAttestation(ctx, c.env, c.chainPEM, ca.Roots(), builderID, now, c.subject); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestRotationConcurrent signs from many goroutines while another rotates:
// every signature verifies with the chain of the snapshot that made it.
// Run with -race.
func TestRotationConcurrent(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t)
	src, err := NewSource(ctx, ca.Fetcher(builderID, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	first := src.Signer().KeyID()
	stop := make(chan struct{})
	var rotations sync.WaitGroup
	rotations.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				if err := src.Rotate(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var signers sync.WaitGroup
	for i := range 8 {
		signers.Go(func() {
			for j := range 10 {
				s := src.Signer()
				data := sign.PAE(sign.PayloadTypeInToto, []byte{byte(i), byte(j)})
				sig, err := s.Sign(ctx, data)
				if err != nil {
					t.Error(err)
					return
				}
				leaf, err := verifyChain(s.CertificateChain(), ca.Roots(), builderID, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				v, err := sign.NewVerifier(leaf.PublicKey, sign.ECDSAP256SHA256)
				if err == nil {
					err = v.Verify(ctx, data, sig)
				}
				if err != nil || v.KeyID() != s.KeyID() {
					t.Errorf("signature and chain of one snapshot disagree: %v", err)
				}
			}
		})
	}
	signers.Wait()
	close(stop)
	rotations.Wait()
	if src.Signer().KeyID() == first {
		t.Error("no rotation happened")
	}

	// A failed fetch keeps the current SVID.
	before := src.Signer()
	failing := &Source{fetch: func(context.Context) (*SVID, error) { return nil, errors.New("agent unavailable") }}
	failing.current.Store(before)
	if err := failing.Rotate(ctx); err == nil || failing.Signer() != before {
		t.Errorf("failed rotation: err = %v, signer replaced = %v", err, failing.Signer() != before)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
