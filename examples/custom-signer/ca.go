package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// testCA stands in for a SPIRE server: a root (the trust bundle a verifier
// holds) and an intermediate that issues X.509-SVIDs, all in memory.
type testCA struct {
	root     *x509.Certificate
	inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
}

func newTestCA(trustDomain string) (*testCA, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	td := &url.URL{Scheme: "spiffe", Host: trustDomain}
	rootTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"SPIRE"}, CommonName: trustDomain + " root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		URIs:                  []*url.URL{td},
	}
	root, err := issue(rootTmpl, nil, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	interTmpl := *rootTmpl
	interTmpl.Subject.CommonName = trustDomain + " intermediate"
	interTmpl.MaxPathLenZero = true
	inter, err := issue(&interTmpl, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	return &testCA{root: root, inter: inter, interKey: interKey}, nil
}

// Roots is the trust bundle of the trust domain.
func (ca *testCA) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

// Issue makes an X.509-SVID for id valid from notBefore to notAfter, with
// the key usages SPIRE gives workload SVIDs unless eku says otherwise.
func (ca *testCA) Issue(id string, notBefore, notAfter time.Time, eku ...x509.ExtKeyUsage) (*SVID, error) {
	u, err := url.Parse(id)
	if err != nil {
		return nil, err
	}
	if eku == nil {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := issue(&x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"SPIRE"}, Country: []string{"US"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
	}, ca.inter, &key.PublicKey, ca.interKey)
	if err != nil {
		return nil, err
	}
	return &SVID{Key: key, Chain: []*x509.Certificate{leaf, ca.inter}}, nil
}

// Fetcher issues a fresh SVID for id, valid for ttl, on every call: what a
// workload sees from the Workload API as SPIRE rotates its SVID.
func (ca *testCA) Fetcher(id string, ttl time.Duration) FetchFunc {
	return func(ctx context.Context) (*SVID, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now := time.Now()
		return ca.Issue(id, now.Add(-time.Minute), now.Add(ttl))
	}
}

// issue signs tmpl with parentKey (self-signed when parent is nil).
func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
