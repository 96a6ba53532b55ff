package keylesstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Issuer is a loopback OIDC identity provider: it signs ES256 ID tokens and
// serves its discovery document and JWKS under its issuer URL.
type Issuer struct {
	url   string
	key   *ecdsa.PrivateKey
	kid   string
	mu    sync.Mutex
	clock func() time.Time
}

func newIssuer(url string) (*Issuer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	x := k.PublicKey.X.FillBytes(make([]byte, 32))
	sum := sha256.Sum256(x)
	return &Issuer{url: url, key: k, kid: base64.RawURLEncoding.EncodeToString(sum[:8]), clock: time.Now}, nil
}

// URL is the issuer URL, the iss claim of its tokens.
func (i *Issuer) URL() string { return i.url }

// Public is the token signing key.
func (i *Issuer) Public() crypto.PublicKey { return &i.key.PublicKey }

// SetClock sets the clock that iat and exp are computed from.
func (i *Issuer) SetClock(now func() time.Time) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clock = now
}

func (i *Issuer) now() time.Time {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.clock()
}

// Claims are the claims of a token to issue. Extra claims (GitHub's
// job_workflow_ref, repository, sha and friends) go into Extra.
type Claims struct {
	Subject  string
	Email    string
	Audience string        // default "sigstore"
	TTL      time.Duration // default 10 minutes; negative for an expired token
	Extra    map[string]any
}

// Token returns a signed ID token with the given claims. Emails are marked
// verified.
func (i *Issuer) Token(c Claims) (string, error) {
	now := i.now()
	if c.Audience == "" {
		c.Audience = "sigstore"
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Minute
	}
	if c.Subject == "" {
		c.Subject = c.Email
	}
	claims := map[string]any{}
	for k, v := range c.Extra {
		claims[k] = v
	}
	claims["iss"] = i.url
	claims["sub"] = c.Subject
	claims["aud"] = c.Audience
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Add(-time.Minute).Unix()
	claims["exp"] = now.Add(c.TTL).Unix()
	if c.Email != "" {
		claims["email"] = c.Email
		claims["email_verified"] = true
	}
	return i.sign(claims)
}

// EmailToken is Token for an email identity.
func (i *Issuer) EmailToken(email string) (string, error) { return i.Token(Claims{Email: email}) }

// GitHubWorkflow describes a GitHub Actions run whose token GitHubToken
// makes, with the claims Fulcio maps onto its certificate extensions.
type GitHubWorkflow struct {
	Repository   string // owner/repo
	Ref          string // refs/heads/main
	SHA          string // commit
	WorkflowPath string // .github/workflows/build.yml
	EventName    string // push
	RunID        string
}

// GitHubToken returns a token shaped like GitHub Actions' (audience
// sigstore): its job_workflow_ref makes the CA issue a certificate with
// Fulcio's GitHub workflow extensions.
func (i *Issuer) GitHubToken(w GitHubWorkflow) (string, error) {
	if w.EventName == "" {
		w.EventName = "push"
	}
	if w.RunID == "" {
		w.RunID = "1"
	}
	owner, _, _ := strings.Cut(w.Repository, "/")
	wref := w.Repository + "/" + w.WorkflowPath + "@" + w.Ref
	return i.Token(Claims{
		Subject: "repo:" + w.Repository + ":ref:" + w.Ref,
		Extra: map[string]any{
			"repository": w.Repository, "repository_owner": owner, "repository_id": "1001",
			"repository_owner_id": "2002", "repository_visibility": "public",
			"ref": w.Ref, "sha": w.SHA, "event_name": w.EventName, "workflow": w.WorkflowPath,
			"job_workflow_ref": wref, "job_workflow_sha": w.SHA, "workflow_ref": wref, "workflow_sha": w.SHA,
			"run_id": w.RunID, "run_attempt": "1", "runner_environment": "github-hosted",
		},
	})
}

func (i *Issuer) sign(claims map[string]any) (string, error) {
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": i.kid})
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(hdr) + "." + b64(body)
	d := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, i.key, d[:])
	if err != nil {
		return "", err
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return signing + "." + b64(sig), nil
}

// verify checks an ES256 token signed by this issuer and returns its claims.
func (i *Issuer) verify(tok string, now time.Time) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("bad signature encoding")
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&i.key.PublicKey, d[:], r, s) {
		return nil, errors.New("token signature does not verify")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("bad payload encoding")
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, errors.New("payload is not JSON")
	}
	exp, _ := claims["exp"].(float64)
	if now.Unix() >= int64(exp) {
		return nil, errors.New("token expired")
	}
	if claims["iss"] != i.url {
		return nil, fmt.Errorf("issuer %v is not %s", claims["iss"], i.url)
	}
	return claims, nil
}

func (i *Issuer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": i.url, "jwks_uri": i.url + "/keys",
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		pub := i.key.PublicKey
		writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
			"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": i.kid,
			"x": b64(pub.X.FillBytes(make([]byte, 32))), "y": b64(pub.Y.FillBytes(make([]byte, 32))),
		}}})
	})
	return mux
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
