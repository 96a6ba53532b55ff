package keylesstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is an RFC 3161 timestamp authority with the HTTP API of Sigstore's
// timestamp-authority (POST /api/v1/timestamp, application/timestamp-query),
// answering with responses made by github.com/digitorus/timestamp, the
// library the real server uses, signed by an in-memory leaf certificate.
type TSA struct {
	rootCert, leafCert *x509.Certificate
	leafKey            *ecdsa.PrivateKey

	mu       sync.Mutex
	clock    func() time.Time
	requests int
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

func newTSA(start time.Time) (*TSA, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "keylesstest-tsa-root", Organization: []string{"slsakit test"}},
		NotBefore: start.Add(-48 * time.Hour), NotAfter: start.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootCert, err := createCert(rootT, rootT, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	leafT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "keylesstest-tsa", Organization: []string{"slsakit test"}},
		NotBefore: start.Add(-47 * time.Hour), NotAfter: start.Add(47 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
		// RFC 3161 requires the timeStamping EKU, critical.
		ExtraExtensions: []pkix.Extension{{Id: oidEKU, Critical: true, Value: eku}},
	}
	leafCert, err := createCert(leafT, rootCert, &leafKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	return &TSA{rootCert: rootCert, leafCert: leafCert, leafKey: leafKey, clock: time.Now}, nil
}

// Root is the TSA's root certificate; Leaf signs the timestamps.
func (t *TSA) Root() *x509.Certificate { return t.rootCert }

// Leaf is the timestamp signing certificate.
func (t *TSA) Leaf() *x509.Certificate { return t.leafCert }

// SetClock sets the time the TSA stamps (default time.Now).
func (t *TSA) SetClock(now func() time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clock = now
}

// Requests is the number of timestamp requests received.
func (t *TSA) Requests() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests
}

func (t *TSA) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/timestamp", func(w http.ResponseWriter, r *http.Request) {
		t.mu.Lock()
		t.requests++
		now := t.clock()
		t.mu.Unlock()
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			httpError(w, http.StatusBadRequest, "reading body")
			return
		}
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			httpError(w, http.StatusBadRequest, "bad timestamp request")
			return
		}
		ts := timestamp.Timestamp{
			HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage,
			Time: now, Nonce: req.Nonce, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
			AddTSACertificate: req.Certificates, ExtraExtensions: req.Extensions,
		}
		resp, err := ts.CreateResponseWithOpts(t.leafCert, t.leafKey, crypto.SHA256)
		if err != nil {
			httpError(w, http.StatusInternalServerError, "signing timestamp")
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(resp)
	})
	mux.HandleFunc("GET /api/v1/timestamp/certchain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pem-certificate-chain")
		_, _ = io.WriteString(w, pemCert(t.leafCert)+pemCert(t.rootCert))
	})
	return mux
}
