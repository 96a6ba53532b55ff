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
