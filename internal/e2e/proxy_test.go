package e2e

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is what the proxy does to one request.
type fault int

const (
	faultNone       fault = iota
	fault503              // answer 503 without forwarding
	faultReset            // reset the connection without forwarding
	faultDelay            // forward after a delay
	fault500After         // forward, then answer 500 (the write happened)
	faultResetAfter       // forward, then reset the connection (the write happened)
	numFaults
)

type faultKey struct{}

var errInjected = errors.New("injected fault")

// proxy is a reverse proxy on 127.0.0.1 in front of a registry that counts
// requests and, when asked, injects faults into a share of them.
type proxy struct {
	srv      *httptest.Server
	requests atomic.Int64
	faults   atomic.Int64

	mu        sync.Mutex
	rng       *rand.Rand
	rate      float64
	maxFaults int64
	byKind    [numFaults]int
}

// kinds returns how many faults of each kind were injected.
func (p *proxy) kinds() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := [numFaults]string{"", "503", "reset", "delay", "500-after-forward", "reset-after-forward"}
	m := map[string]int{}
	for f := fault503; f < numFaults; f++ {
		m[names[f]] = p.byKind[f]
	}
	return m
}

// newProxy starts a proxy to the registry at host. rate is the share of
// requests that get a fault (0 for none), at most maxFaults in all; seed
// makes the choices reproducible for a given request order.
func newProxy(t testing.TB, host string, rate float64, maxFaults int64, seed uint64) *proxy {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: host}
	p := &proxy{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), rate: rate, maxFaults: maxFaults}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Keep the client's Host so that the registry's Location
			// headers point back through the proxy.
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			switch resp.Request.Context().Value(faultKey{}) {
			case fault500After, faultResetAfter:
				return errInjected
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Value(faultKey{}) == faultResetAfter {
				reset(w)
				return
			}
			if errors.Is(err, errInjected) {
				http.Error(w, "injected fault after forwarding", http.StatusInternalServerError)
				return
			}
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.srv = &httptest.Server{
		Listener: l,
		Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.requests.Add(1)
			f := p.pick()
			switch f {
			case fault503:
				http.Error(w, "injected fault", http.StatusServiceUnavailable)
				return
			case faultReset:
				reset(w)
				return
			case faultDelay:
				p.mu.Lock()
				d := time.Duration(20+p.rng.IntN(130)) * time.Millisecond
				p.mu.Unlock()
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
			rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), faultKey{}, f)))
		})},
	}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) pick() fault {
	if p.rate == 0 {
		return faultNone
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.faults.Load() >= p.maxFaults || p.rng.Float64() >= p.rate {
		return faultNone
	}
	// The RNG decides whether; the kinds take turns, so that every kind
	// occurs once a handful of faults were injected.
	k := p.faults.Add(1)
	f := fault(1 + (k-1)%int64(numFaults-1))
	p.byKind[f]++
	return f
}

// Host returns the proxy's "127.0.0.1:<port>".
func (p *proxy) Host() string { return p.srv.Listener.Addr().String() }

// reset closes the client connection abruptly (RST where possible).
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// countingTransport counts the requests an http client makes and keeps
// the first few as "METHOD path" lines.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64

	mu  sync.Mutex
	log []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	c.mu.Lock()
	if len(c.log) < 64 {
		c.log = append(c.log, r.Method+" "+r.URL.Path)
	}
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// takeLog returns the logged requests and clears the log.
func (c *countingTransport) takeLog() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.log
	c.log = nil
	return l
}
