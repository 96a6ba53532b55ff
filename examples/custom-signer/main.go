// Command custom-signer plugs a signer of your own into slsakit: here one
// shaped like a SPIFFE/SPIRE X.509-SVID signer. A build workload's identity
// is a short-lived X.509 certificate with a URI SAN such as
// spiffe://example.org/ns/ci/sa/builder; it signs the provenance with the
// SVID's key, and a consumer trusts the signature only after checking the
// certificate chain against the trust domain's bundle and the SPIFFE ID
// exactly.
//
// The program creates an in-memory CA (root and intermediate, as a SPIRE
// server with an upstream authority would), gets an SVID from it through a
// Source, signs a provenance statement, rotates the SVID, and verifies the
// envelope as a consumer would: chain, SPIFFE ID, then the DSSE signature
// with the leaf's key and the statement. It runs offline and writes nothing
// unless given -out DIR.
//
// # With a real SPIRE agent
//
// Only the FetchFunc and the trust bundle change; slsakit needs no SPIRE
// library. With go-spiffe v2 in your own module:
//
//	x509src, _ := workloadapi.NewX509Source(ctx) // SPIFFE_ENDPOINT_SOCKET
//	fetch := func(ctx context.Context) (*SVID, error) {
//		svid, err := x509src.GetX509SVID()
//		if err != nil {
//			return nil, err
//		}
//		key, ok := svid.PrivateKey.(*ecdsa.PrivateKey)
//		if !ok {
//			return nil, ErrSVID
//		}
//		return &SVID{Key: key, Chain: svid.Certificates}, nil
//	}
//	src, _ := NewSource(ctx, fetch)
//	// SPIRE rotates SVIDs at half their lifetime: follow it.
//	go func() { for range x509src.Updated() { src.Rotate(ctx) } }()
//
// Verifiers take the trust bundle from their own configuration (or from
// GetX509BundleForTrustDomain on a source they trust), never from the
// attestation. The chain travels next to the envelope (a PEM file here; a
// Sigstore bundle's certificate chain in OCI referrers).
//
// Short-lived SVIDs expire within hours: verifying later needs a trusted
// time of signing (an RFC 3161 timestamp or a transparency log entry),
// which verifyChain takes as its at argument. This program verifies at once.
//
// Usage:
//
//	go run ./examples/custom-signer [-out DIR]
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

const (
	trustDomain = "example.org"
	builderID   = "spiffe://example.org/ns/ci/sa/builder" // the signer's SPIFFE ID, also the provenance's builder.id
	buildType   = "https://github.com/slsakit/slsakit/examples/custom-signer/buildtype@v1"

	maxChainPEM  = 64 << 10
	maxChainCert = 8
)

var (
	// ErrChain: the certificate chain does not verify to the trust bundle
	// (another CA, expired, wrong key usage) or is malformed.
	ErrChain = errors.New("certificate chain not trusted")
	// ErrSPIFFEID: the leaf does not carry exactly the expected SPIFFE ID.
	ErrSPIFFEID = errors.New("unexpected SPIFFE ID")
)

type config struct {
	out string // write the envelope, chain and bundle here; empty: nothing written
}

func main() {
	var cfg config
	flag.StringVar(&cfg.out, "out", "", "write provenance.intoto.jsonl, svid-chain.pem and bundle.pem to DIR (default: nothing written)")
	flag.Parse()
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-signer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, stdout io.Writer) error {
	// The workload side: an SVID source and a statement to sign.
	ca, err := newTestCA(trustDomain)
	if err != nil {
		return err
	}
	src, err := NewSource(ctx, ca.Fetcher(builderID, time.Hour))
	if err != nil {
		return err
	}
	artifact := []byte("app 1.0.0, built by a workload with an X.509-SVID\n")
	stmt, err := statement(ctx, "app-1.0.0.tar.gz", artifact)
	if err != nil {
		return err
	}

	// Sign with one snapshot of the SVID: signature, key ID and chain belong
	// together even if the SVID rotates meanwhile.
	signer := src.Signer()
	env, err := sign.SignStatement(ctx, stmt, signer)
	if err != nil {
		return err
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return err
	}
	chainPEM := encodeChain(signer.CertificateChain())

	// SPIRE rotates the SVID: new key, new certificate. What was signed
	// before stays verifiable with the chain that travels with it.
	if err := src.Rotate(ctx); err != nil {
		return err
	}
	if src.Signer().KeyID() == signer.KeyID() {
		return errors.New("rotation kept the same key")
	}

	if cfg.out != "" {
		if err := writeFiles(cfg.out, env, chainPEM, ca); err != nil {
			return err
		}
	}

	// The consumer side: trust bundle and expected SPIFFE ID come from its
	// own configuration; envelope and chain from the producer.
	digest, err := provenance.HashReader(bytes.NewReader(artifact))
	if err != nil {
		return err
	}
	res, err := verifyAttestation(ctx, envJSON, chainPEM, ca.Roots(), builderID, time.Now(), digest)
	if err != nil {
		if res != nil {
			fmt.Fprint(stdout, res)
		}
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(stdout, "signer:     %s (key %s)\n", signer.SPIFFEID(), signer.KeyID())
	fmt.Fprintf(stdout, "chain:      %d certificates, leaf valid until %s\n", len(signer.CertificateChain()), signer.CertificateChain()[0].NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "rotated:    now key %s; the envelope still verifies with its own chain\n", src.Signer().KeyID())
	fmt.Fprintf(stdout, "verified:   chain to the %s bundle, SPIFFE ID, signature, statement\n", trustDomain)
	if cfg.out != "" {
		fmt.Fprintf(stdout, "wrote:      %s\n", filepath.Join(cfg.out, "{provenance.intoto.jsonl,svid-chain.pem,bundle.pem}"))
	}
	fmt.Fprint(stdout, res)
	return nil
}

// statement records a minimal provenance for one artifact.
func statement(ctx context.Context, name string, artifact []byte) ([]byte, error) {
	rec := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	rec.Start()
	if err := rec.SetExternalParameter("artifact", name); err != nil {
		return nil, err
	}
	if err := rec.AddSubjectReader(ctx, name, bytes.NewReader(artifact)); err != nil {
		return nil, err
	}
	rec.Finish()
	return rec.MarshalStatement()
}

// verifyAttestation is the consumer's whole check, in the only safe order:
// the chain and the SPIFFE ID first, then the signature with the key the
// leaf certifies (and no other), then the statement.
func verifyAttestation(ctx context.Context, envelope, chainPEM []byte, roots *x509.CertPool, wantID string, at time.Time, subject intoto.DigestSet) (*verify.Result, error) {
	chain, err := parseChain(chainPEM)
	if err != nil {
		return nil, err
	}
	leaf, err := verifyChain(chain, roots, wantID, at)
	if err != nil {
		return nil, err
	}
	key, err := sign.NewVerifier(leaf.PublicKey, sign.ECDSAP256SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: leaf key: %v", ErrChain, err)
	}
	auth, err := verify.Keys(verify.WithKeys(key))
	if err != nil {
		return nil, err
	}
	att, err := verify.ParseAttestation(envelope)
	if err != nil {
		return nil, err
	}
	return verify.Verify(ctx, auth, att, verify.Expectations{
		SubjectDigest: subject,
		PredicateType: provenance.PredicateSLSAProvenanceV1,
		BuilderID:     wantID, // who built it is who signed it
		BuildType:     buildType,
	})
}

// verifyChain checks an X.509-SVID chain (leaf first) against the trust
// bundle at time at, and that the leaf's SPIFFE ID is exactly wantID. It
// returns the leaf, whose public key alone may then verify signatures.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, wantID string, at time.Time) (*x509.Certificate, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: empty chain", ErrChain)
	}
	leaf := chain[0]
	// The X509-SVID spec: a leaf is not a CA and may sign.
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: leaf is a CA or lacks digitalSignature", ErrChain)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	// SPIRE's workload SVIDs carry serverAuth and clientAuth, not codeSigning:
	// require clientAuth, the workload authenticating itself.
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChain, err)
	}
	id, err := spiffeID(leaf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSPIFFEID, err)
	}
	if id != wantID { // exact: no prefix, no case folding, no path cleaning
		return nil, fmt.Errorf("%w: got %s, want %s", ErrSPIFFEID, id, wantID)
	}
	return leaf, nil
}

// spiffeID returns the leaf's one spiffe:// URI SAN.
func spiffeID(leaf *x509.Certificate) (string, error) {
	if len(leaf.URIs) != 1 {
		return "", fmt.Errorf("leaf has %d URI SANs, want exactly 1", len(leaf.URIs))
	}
	u := leaf.URIs[0]
	if u.Scheme != "spiffe" || u.Host == "" || u.Port() != "" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("URI SAN %q is not a SPIFFE ID", u.Redacted())
	}
	return u.String(), nil
}

func encodeChain(chain []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// parseChain reads PEM certificates, bounded in size and count; anything
// else in the input is an error.
func parseChain(data []byte) ([]*x509.Certificate, error) {
	if len(data) > maxChainPEM {
		return nil, fmt.Errorf("%w: chain over %d bytes", ErrChain, maxChainPEM)
	}
	var chain []*x509.Certificate
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: not a PEM certificate", ErrChain)
		}
		if len(chain) == maxChainCert {
			return nil, fmt.Errorf("%w: over %d certificates", ErrChain, maxChainCert)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrChain, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrChain)
	}
	return chain, nil
}

func writeFiles(dir string, env *sign.Envelope, chainPEM []byte, ca *testCA) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var jsonl bytes.Buffer
	if err := sign.WriteJSONL(&jsonl, env); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"provenance.intoto.jsonl": jsonl.Bytes(),
		"svid-chain.pem":          chainPEM,
		"bundle.pem":              encodeChain([]*x509.Certificate{ca.root}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
