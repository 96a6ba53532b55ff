package keyless_test

import (
	"crypto/x509"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

func x509Opts(svc *keylesstest.Services) x509.VerifyOptions {
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(svc.CA.Root())
	inters.AddCert(svc.CA.Intermediate())
	return x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
}

// statement is a minimal in-toto statement: sign.SignStatement refuses
// anything less.
const statement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"6ec2e1a8c53c5ab0c6c7b5c1e5e10e4bb8b2ee8c3d3b0c8bc41c0d87f5bd7f3a"}}],"predicateType":"https://example.com/p"}`
