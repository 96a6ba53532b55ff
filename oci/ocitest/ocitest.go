// Package ocitest is a test kit for code that reads or writes attestations
// on images: an in-process OCI registry on 127.0.0.1 (go-containerregistry's
// pkg/registry, or cue-labs' ociserver over ocimem with WithImpl), helpers
// to push images and to copy attestations from one image to another (as a
// registry writer could, for verifier tests), and HTTP transports that
// count requests or inject faults.
//
// Two implementations, because either alone lets a client pass tests
// against behaviour real registries do not have: go-containerregistry's
// reports a wrong artifactType in the referrers list and ignores the
// artifactType filter; cue-labs' follows the distribution spec (filter,
// OCI-Filters-Applied, OCI-Subject). Impls lists them, for tests that loop
// over both.
package ocitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cuelabs.dev/go/oci/ociregistry/ocimem"
	"cuelabs.dev/go/oci/ociregistry/ociserver"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures NewRegistry.
type Option func(*config)

type config struct {
	referrers bool
	impl      Impl
	wrap      func(http.Handler) http.Handler
}

// Impl names a registry implementation.
type Impl string

// The implementations NewRegistry can start.
const (
	// GGCR is go-containerregistry's pkg/registry (the default), with the
	// OCI-Subject header added on manifest PUTs when referrers are on.
	GGCR Impl = "ggcr"
	// CueLabs is cuelabs.dev/go/oci/ociregistry's ociserver over ocimem.
	CueLabs Impl = "cuelabs"
)

// Impls returns every implementation, for tests that run against each.
func Impls() []Impl { return []Impl{GGCR, CueLabs} }

// WithImpl selects the registry implementation (default GGCR).
func WithImpl(i Impl) Option { return func(c *config) { c.impl = i } }

// WithReferrers turns the OCI 1.1 referrers API on (default) or off. With
// it off, clients must use the referrers tag schema (`sha256-<hex>`).
func WithReferrers(enabled bool) Option { return func(c *config) { c.referrers = enabled } }

// WithHandler wraps the registry's handler (for example to inject faults
// or record requests on the server side).
func WithHandler(wrap func(http.Handler) http.Handler) Option {
	return func(c *config) { c.wrap = wrap }
}

// Registry is an in-process registry served on 127.0.0.1.
type Registry struct {
	srv       *httptest.Server
	referrers bool
	impl      Impl
}

// NewRegistry starts a registry on a free 127.0.0.1 port; t.Cleanup stops it.
func NewRegistry(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	r := Start(opts...)
	t.Cleanup(r.Close)
	return r
}

// Start starts a registry on a free 127.0.0.1 port outside a test (for
// examples and demos). Call Close when done.
func Start(opts ...Option) *Registry {
	c := &config{referrers: true, impl: GGCR}
	for _, o := range opts {
		o(c)
	}
	var h http.Handler
	switch c.impl {
	case CueLabs:
		h = ociserver.New(ocimem.New(), &ociserver.Options{DisableReferrersAPI: !c.referrers})
	default:
		h = registry.New(
			registry.Logger(log.New(io.Discard, "", 0)),
			registry.WithReferrersSupport(c.referrers),
		)
		if c.referrers {
			h = ociSubject(h)
		}
	}
	if c.wrap != nil {
		h = c.wrap(h)
	}
	srv := httptest.NewServer(h) // httptest binds 127.0.0.1
	return &Registry{srv: srv, referrers: c.referrers, impl: c.impl}
}

// Impl returns the registry's implementation.
func (r *Registry) Impl() Impl { return r.impl }

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// Host returns "127.0.0.1:<port>".
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// URL returns "http://127.0.0.1:<port>".
func (r *Registry) URL() string { return r.srv.URL }

// Referrers reports whether the referrers API is on.
func (r *Registry) Referrers() bool { return r.referrers }

// Client returns an HTTP client for the registry.
func (r *Registry) Client() *http.Client { return r.srv.Client() }

// PushRandomImage pushes a small random image to repo and returns its
// reference by digest, "127.0.0.1:<port>/<repo>@sha256:<hex>". It also tags
// the image "latest".
func (r *Registry) PushRandomImage(t testing.TB, repo string) string {
	t.Helper()
	ref, err := r.PushImage(context.Background(), repo)
	if err != nil {
		t.Fatalf("ocitest: %v", err)
	}
	return ref
}

// PushImage is PushRandomImage outside a test.
func (r *Registry) PushImage(ctx context.Context, repo string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", fmt.Errorf("random image: %w", err)
	}
	tag, err := name.NewTag(r.Host()+"/"+repo+":latest", name.Insecure)
	if err != nil {
		return "", fmt.Errorf("tag: %w", err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx), remote.WithTransport(r.srv.Client().Transport)); err != nil {
		return "", fmt.Errorf("push %s: %w", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return r.Host() + "/" + repo + "@" + d.String(), nil
}

// ociSubject makes the in-process registry answer manifest PUTs that carry
// a subject with the OCI-Subject header, as registries implementing the
// referrers API must (distribution spec 1.1, "Pushing Manifests with
// Subject").
func ociSubject(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPut || !strings.Contains(req.URL.Path, "/manifests/") {
			h.ServeHTTP(w, req)
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var m struct {
			Subject *struct {
				Digest string `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(body, &m) == nil && m.Subject != nil && m.Subject.Digest != "" {
			w.Header().Set("OCI-Subject", m.Subject.Digest)
		}
		h.ServeHTTP(w, req)
	})
}

// CountingTransport counts the HTTP requests it forwards. It is safe for
// concurrent use.
type CountingTransport struct {
	Inner http.RoundTripper // nil: http.DefaultTransport

	n        atomic.Int64
	mu       sync.Mutex
	byMethod map[string]int
}

// NewCountingTransport returns a CountingTransport over inner.
func NewCountingTransport(inner http.RoundTripper) *CountingTransport {
	return &CountingTransport{Inner: inner}
}

// RoundTrip implements http.RoundTripper.
func (c *CountingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	c.mu.Lock()
	if c.byMethod == nil {
		c.byMethod = map[string]int{}
	}
	c.byMethod[req.Method]++
	c.mu.Unlock()
	inner := c.Inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	return inner.RoundTrip(req)
}

// Count returns the number of requests so far.
func (c *CountingTransport) Count() int { return int(c.n.Load()) }

// ByMethod returns the request counts per HTTP method.
func (c *CountingTransport) ByMethod() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byMethod))
	for k, v := range c.byMethod {
		out[k] = v
	}
	return out
}

// Reset sets the counts to zero.
func (c *CountingTransport) Reset() {
	c.n.Store(0)
	c.mu.Lock()
	c.byMethod = nil
	c.mu.Unlock()
}

// FaultTransport fails a fraction of requests, deterministically for a
// seed: half of the faults are 503 responses that never reach the server,
// half are connection resets after the server handled the request (the
// client cannot tell whether the write happened).
type FaultTransport struct {
	inner  http.RoundTripper
	rate   float64
	mu     sync.Mutex
	rng    *rand.Rand
	faults atomic.Int64
}

// NewFaultTransport returns a FaultTransport over inner (nil:
// http.DefaultTransport) failing about rate (0..1) of requests.
func NewFaultTransport(inner http.RoundTripper, rate float64, seed uint64) *FaultTransport {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return &FaultTransport{inner: inner, rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Faults returns how many faults were injected.
func (f *FaultTransport) Faults() int { return int(f.faults.Load()) }

// errReset is the injected network error.
type errReset struct{}

func (errReset) Error() string   { return "ocitest: injected connection reset" }
func (errReset) Timeout() bool   { return false }
func (errReset) Temporary() bool { return true }

// RoundTrip implements http.RoundTripper.
func (f *FaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	p := f.rng.Float64()
	kind := f.rng.IntN(2)
	f.mu.Unlock()
	if p >= f.rate {
		return f.inner.RoundTrip(req)
	}
	f.faults.Add(1)
	if kind == 0 {
		if req.Body != nil {
			req.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable,
			Status:     "503 Service Unavailable",
			Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"text/plain"}},
			Body:    io.NopCloser(strings.NewReader("injected fault")),
			Request: req,
		}, nil
	}
	resp, err := f.inner.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil, errReset{}
}
