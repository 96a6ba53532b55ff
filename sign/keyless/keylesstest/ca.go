package keylesstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Fulcio's certificate extension OIDs (1.3.6.1.4.1.57264.1.*).
var (
	oidIssuerV1         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidGitHubTrigger    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 2}
	oidGitHubSHA        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 3}
	oidGitHubName       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 4}
	oidGitHubRepository = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 5}
	oidGitHubRef        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 6}
)

func oidV2(n int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n} }

// CA is a Fulcio-compatible certificate authority: POST /api/v2/signingCert
// verifies the bearer ID token (signed by a trusted Issuer, audience
// "sigstore", not expired) and the proof of possession (the requester's
// signature over the token's email or subject), then issues a ten-minute
// code-signing certificate from an in-memory intermediate, with the SAN and
// OIDC issuer extensions Fulcio writes — and, for tokens with GitHub
// Actions claims, Fulcio's workflow extensions. It embeds no SCT: verify
// with a trusted root without CT logs, which then requires none.
type CA struct {
	rootCert, interCert *x509.Certificate
	interKey            *ecdsa.PrivateKey

	mu       sync.Mutex
	issuers  map[string]*Issuer
	clock    func() time.Time
	lifetime time.Duration
	requests int
}

func newCA(start time.Time) (*CA, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "keylesstest-fulcio-root", Organization: []string{"slsakit test"}},
		NotBefore: start.Add(-48 * time.Hour), NotAfter: start.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootCert, err := createCert(rootT, rootT, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	interT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "keylesstest-fulcio-intermediate", Organization: []string{"slsakit test"}},
		NotBefore: start.Add(-47 * time.Hour), NotAfter: start.Add(47 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	interCert, err := createCert(interT, rootCert, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	return &CA{rootCert: rootCert, interCert: interCert, interKey: interKey,
		issuers: map[string]*Issuer{}, clock: time.Now, lifetime: 10 * time.Minute}, nil
}

// Root is the CA's root certificate; Intermediate issues the leaves.
func (c *CA) Root() *x509.Certificate { return c.rootCert }

// Intermediate is the certificate that signs leaf certificates.
func (c *CA) Intermediate() *x509.Certificate { return c.interCert }

// TrustIssuer makes the CA accept tokens from iss.
func (c *CA) TrustIssuer(iss *Issuer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.issuers[iss.URL()] = iss
}

// SetClock sets the clock leaf certificates are dated from (default
// time.Now): a clock in the past issues certificates that have expired.
func (c *CA) SetClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = now
}

// Requests is the number of certificate requests received.
func (c *CA) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

type certRequest struct {
	Credentials *struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

func (c *CA) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests++
		now, lifetime := c.clock(), c.lifetime
		c.mu.Unlock()
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			httpError(w, http.StatusBadRequest, "reading body")
			return
		}
		var req certRequest
		if err := json.Unmarshal(body, &req); err != nil {
			httpError(w, http.StatusBadRequest, "bad request JSON")
			return
		}
		tok := ""
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimPrefix(h, "Bearer ")
		} else if req.Credentials != nil {
			tok = req.Credentials.OIDCIdentityToken
		}
		claims, err := c.verifyToken(tok)
		if err != nil {
			httpError(w, http.StatusUnauthorized, "invalid identity token: "+err.Error())
			return
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
		if err != nil {
			httpError(w, http.StatusBadRequest, "bad public key")
			return
		}
		principal := claimString(claims, "email")
		if principal == "" {
			principal = claimString(claims, "sub")
		}
		pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
		if err != nil || !verifyPoP(pub, []byte(principal), pop) {
			httpError(w, http.StatusBadRequest, "proof of possession does not verify")
			return
		}
		leaf, err := c.issue(pub, claims, now, lifetime)
		if err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		chain := []string{pemCert(leaf), pemCert(c.interCert), pemCert(c.rootCert)}
		writeJSON(w, http.StatusOK, map[string]any{
			"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
		})
	})
	mux.HandleFunc("GET /api/v2/trustBundle", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"chains": []map[string]any{{"certificates": []string{pemCert(c.interCert), pemCert(c.rootCert)}}}})
	})
	return mux
}

func (c *CA) verifyToken(tok string) (map[string]any, error) {
	if tok == "" {
		return nil, fmt.Errorf("no token")
	}
	unverified, err := unverifiedClaims(tok)
	if err != nil {
		return nil, err
	}
	iss := claimString(unverified, "iss")
	c.mu.Lock()
	issuer := c.issuers[iss]
	c.mu.Unlock()
	if issuer == nil {
		return nil, fmt.Errorf("issuer %q is not trusted", iss)
	}
	claims, err := issuer.verify(tok, time.Now())
	if err != nil {
		return nil, err
	}
	if !hasAudience(claims["aud"], "sigstore") {
		return nil, fmt.Errorf("audience is not sigstore")
	}
	if claimString(claims, "email") != "" && claims["email_verified"] != true {
		return nil, fmt.Errorf("email not verified")
	}
	return claims, nil
}

func (c *CA) issue(pub crypto.PublicKey, claims map[string]any, now time.Time, lifetime time.Duration) (*x509.Certificate, error) {
	iss := claimString(claims, "iss")
	issV2, _ := asn1.MarshalWithParams(iss, "utf8")
	t := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    now, NotAfter: now.Add(lifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(iss)},
			{Id: oidIssuerV2, Value: issV2},
		},
	}
	switch {
	case claimString(claims, "email") != "":
		t.EmailAddresses = []string{claimString(claims, "email")}
	case claimString(claims, "job_workflow_ref") != "":
		gh := "https://github.com/"
		u, err := url.Parse(gh + claimString(claims, "job_workflow_ref"))
		if err != nil {
			return nil, err
		}
		t.URIs = []*url.URL{u}
		repo := claimString(claims, "repository")
		add := func(oid asn1.ObjectIdentifier, v string) {
			der, _ := asn1.MarshalWithParams(v, "utf8")
			t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oid, Value: der})
		}
		for _, e := range []struct {
			oid asn1.ObjectIdentifier
			v   string
		}{
			{oidGitHubTrigger, claimString(claims, "event_name")}, {oidGitHubSHA, claimString(claims, "sha")},
			{oidGitHubName, claimString(claims, "workflow")}, {oidGitHubRepository, repo},
			{oidGitHubRef, claimString(claims, "ref")},
		} {
			t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: e.oid, Value: []byte(e.v)})
		}
		add(oidV2(9), gh+claimString(claims, "job_workflow_ref"))
		add(oidV2(10), claimString(claims, "job_workflow_sha"))
		add(oidV2(11), claimString(claims, "runner_environment"))
		add(oidV2(12), gh+repo)
		add(oidV2(13), claimString(claims, "sha"))
		add(oidV2(14), claimString(claims, "ref"))
		add(oidV2(15), claimString(claims, "repository_id"))
		add(oidV2(16), gh+claimString(claims, "repository_owner"))
		add(oidV2(17), claimString(claims, "repository_owner_id"))
		add(oidV2(18), gh+claimString(claims, "workflow_ref"))
		add(oidV2(19), claimString(claims, "workflow_sha"))
		add(oidV2(20), claimString(claims, "event_name"))
		add(oidV2(21), gh+repo+"/actions/runs/"+claimString(claims, "run_id")+"/attempts/"+claimString(claims, "run_attempt"))
		add(oidV2(22), claimString(claims, "repository_visibility"))
	default:
		u, err := url.Parse(claimString(claims, "sub"))
		if err != nil || u.Scheme == "" {
			return nil, fmt.Errorf("subject %q is neither an email nor a URI", claimString(claims, "sub"))
		}
		t.URIs = []*url.URL{u}
	}
	return createCert(t, c.interCert, pub, c.interKey)
}

func verifyPoP(pub crypto.PublicKey, msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, d[:], sig)
	default:
		return false
	}
}

func unverifiedClaims(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("bad payload")
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad payload")
	}
	return m, nil
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if x == want {
				return true
			}
		}
	}
	return false
}

func claimString(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"code": code, "message": msg})
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

func createCert(t, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, t, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
