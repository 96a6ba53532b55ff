package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Media types accepted when fetching manifests.
var manifestAccept = strings.Join([]string{
	mtOCIManifest, mtOCIIndex,
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// client speaks the distribution API for one call. It authenticates lazily
// (only after a 401, so anonymous registries cost no ping or token request),
// retries transient failures and counts every HTTP request it makes.
type client struct {
	o    *options
	hc   *http.Client
	reqs atomic.Int64

	mu    sync.Mutex
	auths map[string]*authState // by registry host
}

type authState struct {
	header string          // Authorization header value, "" if none yet
	scopes map[string]bool // scopes the token was requested for
}

type countingRT struct {
	inner http.RoundTripper
	n     *atomic.Int64
}

func (c countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.inner.RoundTrip(r)
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
		if resp.status == http.StatusUnauthorized && authed < 2 && !contains(r.ok, http.StatusUnauthorized) {
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
		rerr := &RegistryError{Method: r.method, URL: r.url, StatusCode: resp.status, Body: trim(resp.body)}
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
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
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
	c.mu.Lock()
	if st := c.auths[r.repo.RegistryStr()]; st != nil && st.header != "" {
		req.Header.Set("Authorization", st.header)
	}
	c.mu.Unlock()
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

	var header string
	switch strings.ToLower(scheme) {
	case "basic":
		cfg, err := authn.Authorization(ctx, auth)
		if err != nil {
			return fmt.Errorf("oci: credentials for %s: %w", reg, err)
		}
		if cfg.Username == "" && cfg.Password == "" {
			return fmt.Errorf("%w: %s asks for basic auth and no credentials are configured", ErrUnauthorized, reg)
		}
		header = "Basic " + basicValue(cfg.Username, cfg.Password)
	case "bearer":
		treg := reg
		if c.o.insecure {
			treg, _ = name.NewRegistry(reg.RegistryStr(), name.Insecure)
		}
		tok, err := transport.Exchange(ctx, treg, auth, c.hc.Transport, scopes,
			&transport.Challenge{Scheme: scheme, Parameters: params, Insecure: c.o.insecure})
		if err != nil {
			return fmt.Errorf("%w: token for %s: %v", ErrUnauthorized, reg, err)
		}
		t := tok.Token
		if t == "" {
			t = tok.AccessToken
		}
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

// --- registry operations ---

type manifestResp struct {
	body      []byte
	mediaType string
	digest    string
}

// getManifest fetches a manifest by tag or digest. A missing manifest is
// (nil, nil) when allowMissing.
func (c *client) getManifest(ctx context.Context, repo name.Repository, ref string, allowMissing bool) (*manifestResp, error) {
	return c.getManifestMax(ctx, repo, ref, allowMissing, c.o.maxManifest)
}

// getManifestOf fetches the manifest d names by digest, held to d's size
// as getBlob holds blobs: a registry cannot make us read more than the
// index it listed d in declared.
func (c *client) getManifestOf(ctx context.Context, repo name.Repository, d v1.Descriptor) (*manifestResp, error) {
	if d.Size <= 0 {
		return nil, fmt.Errorf("%w: manifest %s: descriptor size %d", ErrInvalidManifest, d.Digest, d.Size)
	}
	m, err := c.getManifestMax(ctx, repo, d.Digest.String(), false, min(d.Size, c.o.maxManifest))
	if errors.Is(err, ErrTooLarge) && d.Size <= c.o.maxManifest {
		return nil, fmt.Errorf("%w: manifest %s is longer than its descriptor's %d bytes: %w", ErrInvalidManifest, d.Digest, d.Size, err)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(m.body)) != d.Size {
		return nil, fmt.Errorf("%w: manifest %s is %d bytes, descriptor says %d", ErrInvalidManifest, d.Digest, len(m.body), d.Size)
	}
	return m, nil
}

func (c *client) getManifestMax(ctx context.Context, repo name.Repository, ref string, allowMissing bool, max int64) (*manifestResp, error) {
	ok := []int{http.StatusOK}
	if allowMissing {
		ok = append(ok, http.StatusNotFound)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet, url: c.url(repo, "/manifests/"+ref), repo: repo,
		header: http.Header{"Accept": {manifestAccept}}, ok: ok, maxBody: max,
	})
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNotFound {
		return nil, nil
	}
	d := sha256Digest(resp.body)
	if strings.HasPrefix(ref, "sha256:") && ref != d {
		return nil, fmt.Errorf("%w: manifest %s@%s has digest %s", ErrInvalidManifest, repo, ref, d)
	}
	return &manifestResp{body: resp.body, mediaType: resp.header.Get("Content-Type"), digest: d}, nil
}

// headManifest returns the descriptor fields of ref.
func (c *client) headManifest(ctx context.Context, repo name.Repository, ref string) (mediaType, digest string, size int64, err error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead, url: c.url(repo, "/manifests/"+ref), repo: repo,
		header: http.Header{"Accept": {manifestAccept}}, ok: []int{http.StatusOK},
	})
	if err != nil {
		return "", "", 0, err
	}
	mediaType = resp.header.Get("Content-Type")
	digest = resp.header.Get("Docker-Content-Digest")
	size, _ = strconv.ParseInt(resp.header.Get("Content-Length"), 10, 64)
	if digest == "" || size <= 0 || mediaType == "" {
		// Some registries omit headers on HEAD: fall back to GET.
		m, err := c.getManifest(ctx, repo, ref, false)
		if err != nil {
			return "", "", 0, err
		}
		return m.mediaType, m.digest, int64(len(m.body)), nil
	}
	if _, err := parseDigest(digest); err != nil {
		return "", "", 0, fmt.Errorf("%w: registry returned digest %q", ErrInvalidManifest, digest)
	}
	if strings.HasPrefix(ref, "sha256:") && ref != digest {
		return "", "", 0, fmt.Errorf("%w: HEAD %s@%s returned digest %s", ErrInvalidManifest, repo, ref, digest)
	}
	return mediaType, digest, size, nil
}

// putManifest uploads a manifest and returns the response headers.
func (c *client) putManifest(ctx context.Context, repo name.Repository, ref, mediaType string, body []byte) (http.Header, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodPut, url: c.url(repo, "/manifests/"+ref), repo: repo, push: true,
		body: body, header: http.Header{"Content-Type": {mediaType}},
		ok: []int{http.StatusCreated, http.StatusOK, http.StatusAccepted},
	})
	if err != nil {
		return nil, err
	}
	return resp.header, nil
}

// maxPostBody is the largest blob sent with a single-POST upload.
const maxPostBody = 256 << 10

// uploadBlob uploads body with a single monolithic POST when the registry
// supports it (1 request), else POST then PUT (2 requests). With mount, the
// POST also asks to mount the blob from the same repository, which
// registries that keep it answer with 201 and no upload.
func (c *client) uploadBlob(ctx context.Context, repo name.Repository, digest string, body []byte, mount bool) error {
	var err error
	for i := 0; i < 3; i++ {
		var sessionErr bool
		sessionErr, err = c.uploadBlobOnce(ctx, repo, digest, body, mount)
		if err == nil || !sessionErr || ctx.Err() != nil {
			return err
		}
		// The upload session failed (perhaps after the registry stored the
		// blob and the response was lost): check, then start over.
		if ok, herr := c.blobExists(ctx, repo, digest); herr == nil && ok {
			return nil
		}
	}
	return err
}

func (c *client) blobExists(ctx context.Context, repo name.Repository, digest string) (bool, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodHead, url: c.url(repo, "/blobs/"+digest), repo: repo,
		ok: []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return false, err
	}
	return resp.status == http.StatusOK, nil
}

func (c *client) uploadBlobOnce(ctx context.Context, repo name.Repository, digest string, body []byte, mount bool) (sessionErr bool, err error) {
	q := url.Values{}
	// Registries that ignore the digest parameter (distribution) answer 202
	// and drop the body, so only small blobs ride on the POST.
	var postBody []byte
	if len(body) <= maxPostBody {
		q.Set("digest", digest)
		postBody = body
	}
	if mount {
		q.Set("mount", digest)
		q.Set("from", repo.RepositoryStr())
	}
	resp, err := c.do(ctx, request{
		method: http.MethodPost, url: c.url(repo, "/blobs/uploads/?"+q.Encode()), repo: repo, push: true,
		body: postBody, header: http.Header{"Content-Type": {"application/octet-stream"}},
		ok: []int{http.StatusCreated, http.StatusAccepted},
	})
	if err != nil {
		return false, err
	}
	if resp.status == http.StatusCreated {
		return false, nil
	}
	loc := resp.header.Get("Location")
	if loc == "" {
		return false, fmt.Errorf("%w: blob upload to %s: 202 without Location", ErrInvalidManifest, repo)
	}
	u, err := resp.url.Parse(loc)
	if err != nil {
		return false, fmt.Errorf("%w: blob upload Location %q: %v", ErrInvalidManifest, loc, err)
	}
	if u.Scheme == "http" && !c.o.insecure {
		return false, fmt.Errorf("oci: blob upload Location %q is plain HTTP", loc)
	}
	uq := u.Query()
	uq.Set("digest", digest)
	u.RawQuery = uq.Encode()
	_, err = c.do(ctx, request{
		method: http.MethodPut, url: u.String(), repo: repo, push: true,
		body: body, header: http.Header{"Content-Type": {"application/octet-stream"}},
		ok: []int{http.StatusCreated, http.StatusNoContent, http.StatusOK},
	})
	return err != nil, err
}

// getBlob downloads the blob d names and holds it to d: the registry is
// asked for at most d.Size bytes (and never more than max), and what it
// sends must have d's size and digest. Reading up to max instead would let
// a registry or proxy make every List download max bytes per descriptor
// whatever the manifest's writer declared; a descriptor without a size or
// with a digest we cannot check names nothing we can hold it to.
func (c *client) getBlob(ctx context.Context, repo name.Repository, d v1.Descriptor, max int64) ([]byte, error) {
	digest := d.Digest.String()
	switch {
	case d.Size > max:
		return nil, fmt.Errorf("%w: blob %s is %d bytes > limit %d", ErrTooLarge, digest, d.Size, max)
	case d.Size <= 0:
		return nil, fmt.Errorf("%w: blob %s: descriptor size %d", ErrInvalidManifest, digest, d.Size)
	case d.Digest.Algorithm != "sha256":
		return nil, fmt.Errorf("%w: blob %s: unsupported digest algorithm", ErrInvalidManifest, digest)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodGet, url: c.url(repo, "/blobs/"+digest), repo: repo,
		ok: []int{http.StatusOK}, maxBody: d.Size,
	})
	if errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%w: blob %s is longer than its descriptor's %d bytes: %w", ErrInvalidManifest, digest, d.Size, err)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(resp.body)) != d.Size {
		return nil, fmt.Errorf("%w: blob %s is %d bytes, descriptor says %d", ErrInvalidManifest, digest, len(resp.body), d.Size)
	}
	if got := sha256Digest(resp.body); got != digest {
		return nil, fmt.Errorf("%w: blob %s has digest %s", ErrInvalidManifest, digest, got)
	}
	return resp.body, nil
}

// referrers calls the referrers API and merges its pages. supported is
// false when the registry does not implement it (404 or other non-200
// status per the spec, or a body that is not an image index). A registry
// that cannot return every descriptor at once pages the list with a Link
// header (rel="next", RFC 8288; distribution spec, "Listing Referrers"):
// the pages are followed on the same scheme and host only (a request
// carries the registry's credentials), and bounded together by
// WithMaxReferrers' pages and descriptors and the manifest size cap for
// all pages (ErrTooMany, ErrTooLarge), so that no registry makes
// us read forever.
func (c *client) referrers(ctx context.Context, repo name.Repository, digest string) (idx *v1.IndexManifest, supported bool, err error) {
	first := c.url(repo, "/referrers/"+digest)
	base, err := url.Parse(first)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %q: %v", ErrInvalidReference, first, err)
	}
	seen := map[string]int{}
	inIdx := map[v1.Hash]bool{}
	var total int64
	for page, next := 0, first; next != ""; page++ {
		if page == c.o.maxPages {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: more than %d pages", ErrTooMany, repo, digest, c.o.maxPages)
		}
		seen[next] = page
		if total >= c.o.maxManifest {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: more than %d bytes", ErrTooLarge, repo, digest, c.o.maxManifest)
		}
		ok := []int{http.StatusOK}
		if page == 0 {
			ok = append(ok, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed)
		}
		resp, err := c.do(ctx, request{
			method: http.MethodGet, url: next, repo: repo,
			header: http.Header{"Accept": {mtOCIIndex}}, ok: ok,
			maxBody: c.o.maxManifest - total, // one cap for the whole list
		})
		if err != nil {
			return nil, false, err
		}
		ct := resp.header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(ct, mtOCIIndex) || resp.status != http.StatusOK {
			if page == 0 {
				// Some registries answer unknown paths with 200 HTML.
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("%w: referrers page %d of %s@%s is %q", ErrInvalidManifest, page+1, repo, digest, ct)
		}
		total += int64(len(resp.body))
		pi, err := parseIndex(resp.body)
		if err != nil {
			return nil, false, err
		}
		if idx == nil {
			idx = &v1.IndexManifest{SchemaVersion: pi.SchemaVersion, MediaType: pi.MediaType, Annotations: pi.Annotations}
		}
		for _, d := range pi.Manifests {
			// A list that changes while it is paged can repeat an entry.
			if !inIdx[d.Digest] {
				inIdx[d.Digest] = true
				idx.Manifests = append(idx.Manifests, d)
			}
		}
		if len(idx.Manifests) > c.o.maxReferrers {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: more than %d descriptors", ErrTooMany, repo, digest, c.o.maxReferrers)
		}
		if next, err = nextPage(resp, base); err != nil {
			return nil, false, fmt.Errorf("referrers of %s@%s: %w", repo, digest, err)
		}
		if p, loop := seen[next]; loop && next != "" {
			return nil, false, fmt.Errorf("%w: referrers of %s@%s: page %d links back to page %d", ErrTooMany, repo, digest, page+1, p+1)
		}
	}
	return idx, true, nil
}

// nextPage returns the absolute URL of the response's Link rel="next"
// target, "" if there is none. The target is resolved against the URL
// that answered and must stay on base's scheme and host, under /v2/.
func nextPage(resp *response, base *url.URL) (string, error) {
	var targets []string
	for _, v := range resp.header.Values("Link") {
		links, err := parseLinks(v)
		if err != nil {
			return "", fmt.Errorf("%w: Link header %q: %v", ErrInvalidManifest, v, err)
		}
		for _, l := range links {
			if l.next {
				targets = append(targets, l.target)
			}
		}
	}
	if len(targets) == 0 {
		return "", nil
	}
	var out string
	for _, t := range targets {
		u, err := resp.url.Parse(t)
		if err != nil {
			return "", fmt.Errorf("%w: Link target %q: %v", ErrInvalidManifest, t, err)
		}
		u.Fragment, u.RawFragment = "", ""
		switch {
		case u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) || u.User != nil:
			return "", fmt.Errorf("%w: Link target %q leaves %s://%s", ErrInvalidManifest, t, base.Scheme, base.Host)
		case !strings.HasPrefix(u.EscapedPath(), "/v2/"):
			return "", fmt.Errorf("%w: Link target %q is not a registry API path", ErrInvalidManifest, t)
		case out != "" && out != u.String():
			return "", fmt.Errorf("%w: two next pages: %q and %q", ErrInvalidManifest, out, u.String())
		}
		out = u.String()
	}
	return out, nil
}

// link is one link-value of a Link header.
type link struct {
	target string
	next   bool // rel includes "next"
}

// parseLinks parses a Link header value (RFC 8288, section 3):
// comma-separated `<URI-Reference> *( ";" param )`, param values tokens or
// quoted strings, in which commas and semicolons do not separate.
func parseLinks(v string) ([]link, error) {
	var out []link
	s := v
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		if s[0] == ',' { // empty list elements are allowed
			s = s[1:]
			continue
		}
		if s[0] != '<' {
			return nil, errors.New("link-value does not start with <")
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return nil, errors.New("unterminated <URI-Reference>")
		}
		l := link{target: strings.TrimSpace(s[1:end])}
		s = s[end+1:]
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] == ',' {
				break
			}
			if s[0] != ';' {
				return nil, fmt.Errorf("unexpected %q after a link parameter", s[0])
			}
			s = strings.TrimLeft(s[1:], " \t")
			i := strings.IndexAny(s, "=;,")
			if i < 0 {
				i = len(s)
			}
			name := strings.ToLower(strings.TrimSpace(s[:i]))
			s = s[i:]
			var val string
			if s != "" && s[0] == '=' {
				s = strings.TrimLeft(s[1:], " \t")
				if s != "" && s[0] == '"' {
					var b strings.Builder
					j := 1
					for ; j < len(s) && s[j] != '"'; j++ {
						if s[j] == '\\' && j+1 < len(s) {
							j++
						}
						b.WriteByte(s[j])
					}
					if j == len(s) {
						return nil, errors.New("unterminated quoted string")
					}
					val, s = b.String(), s[j+1:]
				} else {
					k := strings.IndexAny(s, ";,")
					if k < 0 {
						k = len(s)
					}
					val, s = strings.TrimSpace(s[:k]), s[k:]
				}
			}
			if name == "rel" {
				for _, r := range strings.Fields(val) {
					l.next = l.next || strings.EqualFold(r, "next")
				}
			}
		}
		out = append(out, l)
	}
}
