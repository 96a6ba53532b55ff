package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// client speaks the distribution API for one call. It authenticates lazily
// (only after a 401, so anonymous registries cost no ping or token request),
// retries transient failures and counts every HTTP request it makes.
type client struct {
	o    *options
	hc   *http.Client
	reqs atomic.Int64

	mu      sync.Mutex
	auths   map[string]*authState // by registry host
	secrets []string              // credentials sent, for scrub
}

type authState struct {
	header string          // Authorization header value, "" if none yet
	scopes map[string]bool // scopes the token was requested for
}

type countingRT struct {
	inner http.RoundTripper
	n     *atomic.Int64
}

// originKey marks, in a request's context, the origin (scheme://host:port)
// of the registry whose credentials the request may carry.
type originKey struct{}

func (c countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	// Every request the client makes, redirects included (they inherit the
	// first request's context), passes here: this is the one place that
	// keeps registry credentials on the registry's origin. Blob GETs are
	// redirected to storage hosts and upload Locations may name another
	// host; net/http alone forwards Authorization to the same hostname on
	// another port and to subdomains, both other servers.
	if want, ok := r.Context().Value(originKey{}).(string); ok && r.Header.Get("Authorization") != "" && origin(r.URL) != want {
		r = r.Clone(r.Context())
		r.Header.Del("Authorization")
	}
	return c.inner.RoundTrip(r)
}

// origin returns scheme://host:port of u, lower case, with the scheme's
// default port made explicit so that "h" and "h:443" compare equal.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port
}

func newClient(o *options) *client {
	c := &client{o: o, auths: map[string]*authState{}}
	c.hc = &http.Client{
		Transport: countingRT{inner: o.transport, n: &c.reqs},
		// Registries redirect blob GETs to storage; never follow to plain
		// HTTP from HTTPS.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("oci: too many redirects")
			}
			if req.URL.Scheme == "http" && via[0].URL.Scheme == "https" && !o.insecure {
				return errors.New("oci: refusing redirect from https to http")
			}
			return nil
		},
	}
	return c
}

// origin is the registry's scheme://host:port, the one place its
// credentials may go.
func (c *client) origin(repo name.Repository) string {
	return origin(&url.URL{Scheme: c.scheme(), Host: repo.RegistryStr()})
}

// keepSecret records a credential the client sends, so that scrub removes
// it from what servers answer (a registry or proxy that echoes the
// request into an error body).
func (c *client) keepSecret(secrets ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		// The forms a server may echo it in: raw, base64 (a Basic
		// header), URL-query and JSON escaped.
		js, _ := json.Marshal(s)
		for _, v := range []string{s, base64Std([]byte(s)), url.QueryEscape(s), strings.Trim(string(js), `"`)} {
			if !slices.Contains(c.secrets, v) {
				c.secrets = append(c.secrets, v)
			}
		}
	}
	// Longest first, so that a secret containing another is removed whole.
	sort.Slice(c.secrets, func(i, j int) bool { return len(c.secrets[i]) > len(c.secrets[j]) })
}

// scrub replaces every credential the client has sent with "[REDACTED]".
func (c *client) scrub(s string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sec := range c.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

func (c *client) requests() int { return int(c.reqs.Load()) }

func (c *client) scheme() string {
	if c.o.insecure {
		return "http"
	}
	return "https"
}

func (c *client) url(repo name.Repository, path string) string {
	return c.scheme() + "://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr() + path
}

// request describes one registry call.
type request struct {
	method  string
	url     string
	repo    name.Repository
	push    bool
	body    []byte
	header  http.Header
	ok      []int // accepted status codes
	maxBody int64 // cap on the response body read; 0: discard body
}

type response struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL
}

// do runs r with retries on 429/5xx/network errors and one re-authentication
// on 401. Status codes outside r.ok become *RegistryError.
func (c *client) do(ctx context.Context, r request) (*response, error) {
	attempts := c.o.retries
	authed := 0
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := sleepBackoff(ctx, i); err != nil {
				return nil, err
			}
		}
		resp, err := c.once(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, ErrTooLarge) {
				return nil, err
			}
			lastErr = err
			continue
		}
		// Only the registry's own challenge is answered: a 401 from the
		// storage a redirect led to names a realm of that other host,
		// which must get no credentials.
		if resp.status == http.StatusUnauthorized && authed < 2 && !contains(r.ok, http.StatusUnauthorized) &&
			origin(resp.url) == c.origin(r.repo) {
			authed++
			if err := c.authenticate(ctx, r.repo, r.push, resp.header); err != nil {
				return nil, err
			}
			i-- // authentication does not consume a retry
			continue
		}
		if contains(r.ok, resp.status) {
			return resp, nil
		}
		rerr := &RegistryError{Method: r.method, URL: r.url, StatusCode: resp.status, Body: trim([]byte(c.scrub(string(resp.body))))}
		if resp.status == http.StatusTooManyRequests || resp.status >= 500 {
			lastErr = rerr
			continue
		}
		return nil, rerr
	}
	return nil, fmt.Errorf("oci: %s %s: giving up after %d attempts: %w", r.method, r.url, attempts, lastErr)
}

func (c *client) once(ctx context.Context, r request) (*response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	regOrigin := c.origin(r.repo)
	req, err := http.NewRequestWithContext(context.WithValue(ctx, originKey{}, regOrigin), r.method, r.url, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.ContentLength = int64(len(r.body))
	}
	req.Header.Set("User-Agent", c.o.userAgent)
	// The registry's credentials go to the registry only, not to an upload
	// Location on another host.
	if origin(req.URL) == regOrigin {
		c.mu.Lock()
		if st := c.auths[r.repo.RegistryStr()]; st != nil && st.header != "" {
			req.Header.Set("Authorization", st.header)
		}
		c.mu.Unlock()
	}
	// The slot is held until the body is read and closed (defers run in
	// reverse), so the registry is never serving more than the gate allows.
	release, err := c.o.batch.request(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := &response{status: resp.StatusCode, header: resp.Header, url: resp.Request.URL}
	limit := r.maxBody
	if !contains(r.ok, resp.StatusCode) || limit <= 0 {
		limit = 4 << 10 // error bodies: keep the start for messages
	}
	if resp.StatusCode == http.StatusOK && r.maxBody > 0 && resp.ContentLength > r.maxBody {
		return nil, fmt.Errorf("%w: %s %s: %d bytes > limit %d", ErrTooLarge, r.method, r.url, resp.ContentLength, r.maxBody)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		if resp.StatusCode == http.StatusOK && r.maxBody > 0 {
			return nil, fmt.Errorf("%w: %s %s: more than %d bytes", ErrTooLarge, r.method, r.url, r.maxBody)
		}
		b = b[:limit]
	}
	out.body = b
	return out, nil
}

// authenticate answers a 401 challenge: Basic credentials or a bearer token
// exchanged for the challenged scope plus the ones we need.
func (c *client) authenticate(ctx context.Context, repo name.Repository, push bool, h http.Header) error {
	scheme, params := parseChallenge(h.Get("WWW-Authenticate"))
	reg := repo.Registry
	auth, err := c.authenticator(repo)
	if err != nil {
		return err
	}
	c.mu.Lock()
	st := c.auths[reg.RegistryStr()]
	if st == nil {
		st = &authState{scopes: map[string]bool{}}
		c.auths[reg.RegistryStr()] = st
	}
	action := "pull"
	if push {
		action = "pull,push"
	}
	st.scopes[repo.Scope(action)] = true
	if s := params["scope"]; s != "" {
		for _, sc := range strings.Fields(s) {
			st.scopes[sc] = true
		}
	}
	scopes := make([]string, 0, len(st.scopes))
	for s := range st.scopes {
		scopes = append(scopes, s)
	}
	c.mu.Unlock()
	sort.Strings(scopes)

	// One lookup per challenge: a credential source may fetch a token
	// (a cloud metadata server) for every call.
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return fmt.Errorf("oci: credentials for %s: %w", reg, err)
	}
	c.keepSecret(cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken)
	if cfg.Username != "" || cfg.Password != "" {
		c.keepSecret(basicValue(cfg.Username, cfg.Password)) // a Basic header
	}
	var header string
	switch strings.ToLower(scheme) {
	case "basic":
		if cfg.Username == "" && cfg.Password == "" {
			return fmt.Errorf("%w: %s asks for basic auth and no credentials are configured", ErrUnauthorized, reg)
		}
		header = "Basic " + basicValue(cfg.Username, cfg.Password)
	case "bearer":
		treg := reg
		if c.o.insecure {
			treg, _ = name.NewRegistry(reg.RegistryStr(), name.Insecure)
		}
		tok, err := transport.Exchange(ctx, treg, authn.FromConfig(*cfg), c.hc.Transport, scopes,
			&transport.Challenge{Scheme: scheme, Parameters: params, Insecure: c.o.insecure})
		if err != nil {
			// The token server's answer is in err: scrubbed like a
			// registry's.
			return fmt.Errorf("%w: token for %s: %s", ErrUnauthorized, reg, c.scrub(err.Error()))
		}
		t := tok.Token
		if t == "" {
			t = tok.AccessToken
		}
		c.keepSecret(t, tok.RefreshToken)
		header = "Bearer " + t
	default:
		return fmt.Errorf("%w: %s: unsupported auth challenge %q", ErrUnauthorized, reg, scheme)
	}
	c.mu.Lock()
	st.header = header
	c.mu.Unlock()
	return nil
}

func (c *client) authenticator(repo name.Repository) (authn.Authenticator, error) {
	if c.o.auth != nil {
		return c.o.auth, nil
	}
	a, err := c.o.keychain.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("oci: keychain for %s: %w", repo, err)
	}
	return a, nil
}

// parseChallenge parses `Bearer realm="x",service="y",scope="z"`.
func parseChallenge(s string) (string, map[string]string) {
	s = strings.TrimSpace(s)
	scheme, rest, _ := strings.Cut(s, " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		var val string
		if strings.HasPrefix(v, `"`) {
			end := 1
			var b strings.Builder
			for end < len(v) && v[end] != '"' {
				if v[end] == '\\' && end+1 < len(v) {
					end++
				}
				b.WriteByte(v[end])
				end++
			}
			val = b.String()
			rest = strings.TrimPrefix(strings.TrimSpace(v[min(end+1, len(v)):]), ",")
		} else {
			val, rest, _ = strings.Cut(v, ",")
		}
		params[k] = val
		rest = strings.TrimSpace(rest)
	}
	return scheme, params
}

func basicValue(u, p string) string {
	return base64Std([]byte(u + ":" + p))
}

// sleepBackoff waits 2^attempt*25ms (capped at 2s) with full jitter.
func sleepBackoff(ctx context.Context, attempt int) error {
	d := 25 * time.Millisecond << min(attempt, 7)
	d = min(d, 2*time.Second)
	return sleepCtx(ctx, time.Duration(rand.Int64N(int64(d))+1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

func sha256Digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}
