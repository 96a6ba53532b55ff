package keylesstest

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/slsakit/slsakit/sign/keyless"
)

// Services is a loopback Sigstore: an OIDC issuer, a Fulcio-compatible CA,
// a Rekor v1 compatible log, a Rekor v2 compatible log and an RFC 3161
// timestamp authority, served by one
// HTTP server on 127.0.0.1 (a free port), each under its own path. The CA
// trusts the issuer. TrustedRootJSON describes all of them for offline
// verification.
type Services struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL    string
	Issuer *Issuer
	CA     *CA
	Log    *Log
	LogV2  *LogV2
	TSA    *TSA

	start time.Time
	srv   *http.Server
	mux   *http.ServeMux
	done  chan struct{}

	mu      sync.Mutex
	issuers map[string]*Issuer
}

// New starts the services for a test and stops them when it ends.
func New(tb testing.TB) *Services {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatalf("keylesstest: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts the services; the caller must Close them. Use it outside
// tests (an offline demo); tests use New.
func Start() (*Services, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Services{URL: "http://" + ln.Addr().String(), start: time.Now(), mux: http.NewServeMux(),
		done: make(chan struct{}), issuers: map[string]*Issuer{}}
	fail := func(err error) (*Services, error) { ln.Close(); return nil, err }
	if s.CA, err = newCA(s.start); err != nil {
		return fail(err)
	}
	if s.TSA, err = newTSA(s.start); err != nil {
		return fail(err)
	}
	if s.Log, err = newLog(strings.TrimPrefix(s.URL, "http://")); err != nil {
		return fail(err)
	}
	// A Rekor v2 checkpoint's origin is the host name of the log's URL.
	if s.LogV2, err = newLogV2("127.0.0.1"); err != nil {
		return fail(err)
	}
	s.mux.Handle("/rekorv2/", http.StripPrefix("/rekorv2", s.LogV2.handler()))
	s.mux.Handle("/fulcio/", http.StripPrefix("/fulcio", s.CA.handler()))
	s.mux.Handle("/rekor/", http.StripPrefix("/rekor", s.Log.handler()))
	s.mux.Handle("/tsa/", http.StripPrefix("/tsa", s.TSA.handler()))
	s.mux.HandleFunc("/oidc/", s.serveIssuer)
	if s.Issuer, err = s.NewIssuer("default"); err != nil {
		return fail(err)
	}
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server.
func (s *Services) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// NewIssuer adds an OIDC issuer at URL/oidc/name, trusted by the CA.
func (s *Services) NewIssuer(name string) (*Issuer, error) {
	if name == "" || strings.ContainsAny(name, "/?#") {
		return nil, errors.New("keylesstest: bad issuer name")
	}
	iss, err := newIssuer(s.URL + "/oidc/" + name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.issuers[name]; dup {
		return nil, fmt.Errorf("keylesstest: issuer %q exists", name)
	}
	s.issuers[name] = iss
	s.CA.TrustIssuer(iss)
	return iss, nil
}

func (s *Services) serveIssuer(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/oidc/")
	name, sub, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	iss := s.issuers[name]
	s.mu.Unlock()
	if iss == nil {
		http.NotFound(w, r)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + sub
	iss.handler().ServeHTTP(w, r2)
}

// FulcioURL is the CA's base URL.
func (s *Services) FulcioURL() string { return s.URL + "/fulcio" }

// RekorURL is the Rekor v1 log's base URL.
func (s *Services) RekorURL() string { return s.URL + "/rekor" }

// RekorV2URL is the Rekor v2 log's base URL.
func (s *Services) RekorV2URL() string { return s.URL + "/rekorv2" }

// TSAURL is the timestamp endpoint.
func (s *Services) TSAURL() string { return s.URL + "/tsa/api/v1/timestamp" }

// SigningServices returns the CA, the Rekor v1 log and the TSA.
func (s *Services) SigningServices() keyless.Services {
	return keyless.Services{FulcioURL: s.FulcioURL(), Rekor: []keyless.RekorLog{{URL: s.RekorURL(), APIVersion: keyless.RekorV1}},
		TSAURLs: []string{s.TSAURL()}}
}

// SigningServicesV2 returns the CA, the Rekor v2 log and the TSA.
func (s *Services) SigningServicesV2() keyless.Services {
	return keyless.Services{FulcioURL: s.FulcioURL(), Rekor: []keyless.RekorLog{{URL: s.RekorV2URL(), APIVersion: keyless.RekorV2}},
		TSAURLs: []string{s.TSAURL()}}
}

// TrustedRoot returns the trusted root of the CA, both logs and the TSA.
func (s *Services) TrustedRoot() (*root.TrustedRoot, error) {
	from := s.start.Add(-time.Hour)
	ca := &root.FulcioCertificateAuthority{
		Root: s.CA.rootCert, Intermediates: []*x509.Certificate{s.CA.interCert}, ValidityPeriodStart: from, URI: s.FulcioURL(),
	}
	tsa := &root.SigstoreTimestampingAuthority{
		Root: s.TSA.rootCert, Leaf: s.TSA.leafCert, ValidityPeriodStart: from, URI: s.TSAURL(),
	}
	tlog := &root.TransparencyLog{
		BaseURL: s.RekorURL(), ID: s.Log.LogID(), ValidityPeriodStart: from,
		HashFunc: crypto.SHA256, PublicKey: s.Log.Public(), SignatureHashFunc: crypto.SHA256,
	}
	tlog2 := &root.TransparencyLog{
		BaseURL: s.RekorV2URL(), ID: s.LogV2.LogID(), ValidityPeriodStart: from,
		HashFunc: crypto.SHA256, PublicKey: s.LogV2.Public(), SignatureHashFunc: crypto.SHA256,
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{ca}, map[string]*root.TransparencyLog{},
		[]root.TimestampingAuthority{tsa}, map[string]*root.TransparencyLog{
			hex.EncodeToString(tlog.ID): tlog, hex.EncodeToString(tlog2.ID): tlog2})
}

// TrustedRootJSON returns TrustedRoot as trusted_root.json.
func (s *Services) TrustedRootJSON() ([]byte, error) {
	tr, err := s.TrustedRoot()
	if err != nil {
		return nil, err
	}
	return json.Marshal(tr)
}

// SigningConfigJSON returns a signing_config.json (v0.2) naming the
// services: both logs, as the public-good instance advertises them, so
// that a client picks the highest API version it speaks.
func (s *Services) SigningConfigJSON() ([]byte, error) {
	v2 := service(s.RekorV2URL(), s.start)
	v2["majorApiVersion"] = 2
	doc := map[string]any{
		"mediaType":       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":          []any{service(s.FulcioURL(), s.start)},
		"oidcUrls":        []any{service(s.Issuer.URL(), s.start)},
		"rekorTlogUrls":   []any{v2, service(s.RekorURL(), s.start)},
		"tsaUrls":         []any{service(s.TSAURL(), s.start)},
		"rekorTlogConfig": map[string]any{"selector": "ANY"},
		"tsaConfig":       map[string]any{"selector": "ANY"},
	}
	return json.Marshal(doc)
}

func service(u string, start time.Time) map[string]any {
	return map[string]any{"url": u, "majorApiVersion": 1, "operator": "keylesstest",
		"validFor": map[string]any{"start": start.Add(-time.Hour).UTC().Format(time.RFC3339)}}
}
