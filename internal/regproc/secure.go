package regproc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/crypto/bcrypt"
)

// WithHTPasswd makes the registry require HTTP basic auth (distribution's
// htpasswd backend, bcrypt entries) for users, a map of username to
// password. The registry's own helpers (PushImage) log in as the first
// user in name order.
func WithHTPasswd(users map[string]string) Option {
	return func(c *config) { c.users = users }
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1, localhost and
// names (to be dialled through a name-mapping transport), issued by a CA
// made for this registry. Transport and CA give clients the trust.
func WithTLS(names ...string) Option {
	return func(c *config) { c.tls, c.tlsNames = true, names }
}

// CA is a test certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// NewCA makes a certificate authority valid for a day.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "slsakit regproc test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// PEM returns the CA certificate.
func (ca *CA) PEM() []byte { return ca.pem }

// Pool returns a pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Issue returns a server certificate and key (PEM) for 127.0.0.1,
// localhost and names.
func (ca *CA) Issue(names ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     append([]string{"localhost"}, names...),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// TLSConfig returns a server TLS configuration with a certificate from
// Issue(names...).
func (ca *CA) TLSConfig(names ...string) (*tls.Config, error) {
	c, k, err := ca.Issue(names...)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// secureConfig writes the htpasswd file and the TLS certificate into dir
// and returns the YAML to add to the registry configuration: an auth
// section and the http section's tls part (indented for http:).
func (r *Registry) secureConfig(dir string, c config) (auth, httpTLS string, err error) {
	if len(c.users) > 0 {
		names := make([]string, 0, len(c.users))
		for u := range c.users {
			if u == "" || strings.ContainsAny(u, ":\n") {
				return "", "", fmt.Errorf("htpasswd user %q", u)
			}
			names = append(names, u)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, u := range names {
			// The lowest cost: distribution checks the hash on every request.
			h, err := bcrypt.GenerateFromPassword([]byte(c.users[u]), bcrypt.MinCost)
			if err != nil {
				return "", "", err
			}
			fmt.Fprintf(&b, "%s:%s\n", u, h)
		}
		p := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			return "", "", err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: slsakit-regproc\n    path: %s\n", p)
		r.auth = &authn.Basic{Username: names[0], Password: c.users[names[0]]}
	}
	if c.tls {
		ca, err := NewCA()
		if err != nil {
			return "", "", err
		}
		certPEM, keyPEM, err := ca.Issue(c.tlsNames...)
		if err != nil {
			return "", "", err
		}
		cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(cp, certPEM, 0o600); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(kp, keyPEM, 0o600); err != nil {
			return "", "", err
		}
		httpTLS = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", cp, kp)
		r.ca = ca
	}
	return auth, httpTLS, nil
}

// CA returns the registry's certificate authority (nil without WithTLS).
func (r *Registry) CA() *CA { return r.ca }

// Scheme returns "https" with WithTLS, else "http".
func (r *Registry) Scheme() string {
	if r.ca != nil {
		return "https"
	}
	return "http"
}

// Transport returns a transport that trusts the registry's CA only (or
// the default transport's roots without WithTLS) and uses no proxy.
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if r.ca != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: r.ca.Pool(), MinVersion: tls.VersionTLS12}
	}
	return tr
}
