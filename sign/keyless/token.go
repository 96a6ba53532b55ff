package keyless

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// MaxTokenSize is the largest ID token accepted, in bytes.
const MaxTokenSize = 64 << 10

// TokenSource yields an OIDC ID token for Fulcio. Token is called once per
// certificate request; a source that reads a file or an environment may
// return a fresh token every time.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// FromFunc returns a TokenSource that calls fn.
func FromFunc(fn func(ctx context.Context) (string, error)) TokenSource { return TokenFunc(fn) }

// StaticToken returns a TokenSource that always yields tok.
func StaticToken(tok string) TokenSource {
	return TokenFunc(func(context.Context) (string, error) {
		if strings.TrimSpace(tok) == "" {
			return "", fmt.Errorf("%w: static token is empty", ErrNoToken)
		}
		return strings.TrimSpace(tok), nil
	})
}

// EnvToken is the environment variable FromEnv reads, as cosign does.
const EnvToken = "SIGSTORE_ID_TOKEN"

// FromEnv returns a TokenSource that reads SIGSTORE_ID_TOKEN on every call.
func FromEnv() TokenSource {
	return TokenFunc(func(context.Context) (string, error) {
		tok := strings.TrimSpace(os.Getenv(EnvToken))
		if tok == "" {
			return "", fmt.Errorf("%w: %s is not set", ErrNoToken, EnvToken)
		}
		return tok, nil
	})
}

// FromFile returns a TokenSource that reads the token file at path on every
// call, so a rotated token (a projected Kubernetes service-account token is
// replaced in place by the kubelet) is always picked up. Surrounding white
// space is trimmed.
func FromFile(path string) TokenSource {
	return TokenFunc(func(context.Context) (string, error) {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoToken, err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxTokenSize+1))
		if err != nil {
			return "", fmt.Errorf("%w: reading %s: %v", ErrNoToken, path, err)
		}
		if len(b) > MaxTokenSize {
			return "", fmt.Errorf("%w: token file %s is over %d bytes", ErrTokenMalformed, path, MaxTokenSize)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("%w: token file %s is empty", ErrNoToken, path)
		}
		return tok, nil
	})
}

// GitHub Actions' OIDC request variables, set in jobs with
// "permissions: id-token: write".
const (
	EnvGitHubRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// TokenOption tunes the token sources that request a token: GitHubActions,
// GoogleMetadata, Buildkite and SPIFFE.
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	audience string
	client   *http.Client
}

func newTokenConfig(opts []TokenOption) tokenConfig {
	cfg := tokenConfig{audience: "sigstore", client: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// WithAudience sets the token audience (default "sigstore", what the
// public-good Fulcio accepts).
func WithAudience(aud string) TokenOption { return func(c *tokenConfig) { c.audience = aud } }

// WithTokenHTTPClient sets the HTTP client a token is requested with.
func WithTokenHTTPClient(hc *http.Client) TokenOption {
	return func(c *tokenConfig) {
		if hc != nil {
			c.client = hc
		}
	}
}

// GitHubActions returns a TokenSource that requests an ID token from the
// GitHub Actions runtime (ACTIONS_ID_TOKEN_REQUEST_URL with the bearer
// ACTIONS_ID_TOKEN_REQUEST_TOKEN), audience "sigstore" unless told
// otherwise. The variables are read on every call.
func GitHubActions(opts ...TokenOption) TokenSource {
	cfg := newTokenConfig(opts)
	return TokenFunc(func(ctx context.Context) (string, error) {
		reqURL, bearer := os.Getenv(EnvGitHubRequestURL), os.Getenv(EnvGitHubRequestToken)
		if reqURL == "" || bearer == "" {
			return "", fmt.Errorf("%w: %s/%s not set (does the job have permissions: id-token: write?)",
				ErrNoToken, EnvGitHubRequestURL, EnvGitHubRequestToken)
		}
		u, err := url.Parse(reqURL)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrNoToken, EnvGitHubRequestURL, err)
		}
		q := u.Query()
		q.Set("audience", cfg.audience)
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "bearer "+bearer)
		req.Header.Set("Accept", "application/json")
		resp, err := cfg.client.Do(req)
		if err != nil {
			return "", fmt.Errorf("%w: requesting GitHub Actions token: %v", ErrNoToken, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenSize+1024))
		if err != nil {
			return "", fmt.Errorf("%w: reading GitHub Actions token: %v", ErrNoToken, err)
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%w: GitHub Actions token endpoint returned %s", ErrNoToken, resp.Status)
		}
		var v struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
			return "", fmt.Errorf("%w: GitHub Actions token response has no value", ErrTokenMalformed)
		}
		return v.Value, nil
	})
}

// Claims are the unverified claims of an ID token that slsakit reads before
// asking Fulcio for a certificate. Fulcio verifies the token; these claims
// only make a clear error possible before any network call.
type Claims struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Audience      []string
	Expiry        time.Time
	IssuedAt      time.Time
}

// Identity returns the principal Fulcio certifies for these claims and
// the proof of possession signs: the email if there is one, else the
// subject.
func (c Claims) Identity() string {
	if c.Email != "" {
		return c.Email
	}
	return c.Subject
}

// ParseToken decodes the claims of a JWT without verifying its signature
// and checks that it is well formed (three base64url parts, a JSON payload
// with iss, exp and sub or email) and not expired at now. It returns
// ErrTokenMalformed or ErrTokenExpired.
func ParseToken(tok string, now time.Time) (Claims, error) {
	var c Claims
	if len(tok) > MaxTokenSize {
		return c, fmt.Errorf("%w: token is over %d bytes", ErrTokenMalformed, MaxTokenSize)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return c, fmt.Errorf("%w: not a JWT (want three dot-separated parts)", ErrTokenMalformed)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || !json.Valid(hdr) {
		return c, fmt.Errorf("%w: header is not base64url JSON", ErrTokenMalformed)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, fmt.Errorf("%w: payload is not base64url", ErrTokenMalformed)
	}
	var raw struct {
		Iss           string          `json:"iss"`
		Sub           string          `json:"sub"`
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Aud           json.RawMessage `json:"aud"`
		Exp           *json.Number    `json:"exp"`
		Iat           *json.Number    `json:"iat"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return c, fmt.Errorf("%w: payload is not a JSON object: %v", ErrTokenMalformed, err)
	}
	if raw.Iss == "" {
		return c, fmt.Errorf("%w: no iss claim", ErrTokenMalformed)
	}
	if raw.Sub == "" && raw.Email == "" {
		return c, fmt.Errorf("%w: no sub or email claim", ErrTokenMalformed)
	}
	if raw.Exp == nil {
		return c, fmt.Errorf("%w: no exp claim", ErrTokenMalformed)
	}
	exp, err := numericDate(*raw.Exp)
	if err != nil {
		return c, fmt.Errorf("%w: exp: %v", ErrTokenMalformed, err)
	}
	c = Claims{Issuer: raw.Iss, Subject: raw.Sub, Email: raw.Email, Expiry: exp}
	if raw.Iat != nil {
		if c.IssuedAt, err = numericDate(*raw.Iat); err != nil {
			return Claims{}, fmt.Errorf("%w: iat: %v", ErrTokenMalformed, err)
		}
	}
	switch v := strings.TrimSpace(string(raw.EmailVerified)); v {
	case "true", `"true"`:
		c.EmailVerified = true
	}
	if len(raw.Aud) > 0 {
		var one string
		if json.Unmarshal(raw.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if json.Unmarshal(raw.Aud, &c.Audience) != nil {
			return Claims{}, fmt.Errorf("%w: aud is neither a string nor a list of strings", ErrTokenMalformed)
		}
	}
	if !now.Before(c.Expiry) {
		return c, fmt.Errorf("%w: expired at %s (now %s)", ErrTokenExpired,
			c.Expiry.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return c, nil
}

func numericDate(n json.Number) (time.Time, error) {
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("not a NumericDate: %s", n)
	}
	return time.Unix(int64(f), 0), nil
}
