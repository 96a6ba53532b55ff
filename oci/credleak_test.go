package oci_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// storage stands for the other host a registry sends clients to: blob
// storage behind a redirect, or an upload service named by Location. It
// serves from the registry's own handler and records every Authorization
// header it is sent.
type storage struct {
	srv      *httptest.Server
	registry http.Handler // set once the registry's handler exists

	mu      sync.Mutex
	hits    int
	methods map[string]int
	leaked  []string
}

func newStorage(t *testing.T) *storage {
	s := &storage{methods: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		s.methods[r.Method]++
		if a := r.Header.Get("Authorization"); a != "" {
			s.leaked = append(s.leaked, r.Method+" "+r.URL.Path+": "+a)
		}
		s.mu.Unlock()
		s.registry.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *storage) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.methods[http.MethodGet] == 0 || s.methods[http.MethodPut] == 0 {
		t.Fatalf("the client reached the other host with %v, want GETs and PUTs: the test proves nothing", s.methods)
	}
	for _, l := range s.leaked {
		t.Errorf("credentials sent to another host: %s", l)
	}
}

// offHost puts basic auth (u:p) in front of the registry and sends blob
// GETs (307) and blob uploads (Location) to base, another host.
// Until armed it is a plain registry (to push the test image).
func offHost(s *storage, armed *atomic.Bool, base func(r *http.Request) string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		s.registry = h
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !armed.Load() {
				h.ServeHTTP(w, r)
				return
			}
			if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
				http.Redirect(w, r, base(r)+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
				// Answer like distribution, which ignores a monolithic
				// POST's digest: 202 and an upload Location.
				q := r.URL.Query()
				q.Del("digest")
				r2 := r.Clone(r.Context())
				r2.URL.RawQuery = q.Encode()
				r2.Body, r2.ContentLength = http.NoBody, 0
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r2)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				if loc := rec.Header().Get("Location"); loc != "" && rec.Code == http.StatusAccepted {
					if i := strings.Index(loc, "/v2/"); i >= 0 {
						w.Header().Set("Location", base(r)+loc[i:])
					}
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestCredentialsStayOnRegistry: the registry's credentials never reach
// another host, whatever the other host shares with it (IP address,
// parent domain), for redirected blob downloads and for uploads to a
// Location elsewhere. On main before this change the same-IP and subdomain
// cases leaked (net/http compares host names only and lets subdomains
// through) and uploads to a Location always carried the header.
func TestCredentialsStayOnRegistry(t *testing.T) {
	cases := []struct {
		name string
		// registry host in the image reference, storage base URL, dialer map
		setup func(reg, st string) (regHost, base string, rt http.RoundTripper)
	}{
		{"same IP, other port", func(reg, st string) (string, string, http.RoundTripper) {
			return reg, "http://" + st, nil
		}},
		{"other host name", func(reg, st string) (string, string, http.RoundTripper) {
			_, port, _ := net.SplitHostPort(st)
			return reg, "http://localhost:" + port, nil
		}},
		{"subdomain, same port", func(reg, st string) (string, string, http.RoundTripper) {
			return "registry.test", "http://blobs.registry.test", ocitest.HostsTransport(map[string]string{"registry.test": reg, "blobs.registry.test": st})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStorage(t)
			var base string
			var armed atomic.Bool
			r := ocitest.NewRegistry(t, ocitest.WithHandler(offHost(st, &armed, func(*http.Request) string { return base })))
			regHost, b, rt := tc.setup(r.Host(), st.srv.Listener.Addr().String())
			base = b
			image := strings.Replace(r.PushRandomImage(t, "app"), r.Host(), regHost, 1)
			armed.Store(true)

			opts := []oci.Option{oci.WithInsecure(), oci.WithAuth(&authn.Basic{Username: "u", Password: "p"})}
			if rt != nil {
				opts = append(opts, oci.WithTransport(rt))
			}
			ctx := context.Background()
			env := envelope(t, image, slsaV1, 1)
			if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, opts...); err != nil {
				t.Fatalf("Attach: %v", err)
			}
			atts, err := oci.List(ctx, image, opts...)
			if err != nil || len(atts) != 1 {
				t.Fatalf("List: %d, %v", len(atts), err)
			}
			st.check(t)
		})
	}
}

// echoGate refuses every credential and echoes what it was sent, in every
// encoding a careless server might use, into its error bodies: the
// registry's 401/403 and, for Bearer, the token server's 401. With
// grant, the token server grants token and the registry refuses it.
func echoGate(scheme, token string, grant bool) func(http.Handler) http.Handler {
	echo := func(w http.ResponseWriter, r *http.Request, status int) {
		u, p, _ := r.BasicAuth()
		body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
			"code":    "UNAUTHORIZED",
			"message": "refused " + r.Header.Get("Authorization") + " user " + u + " password " + p + " q=" + url.QueryEscape(p) + " b64=" + base64.StdEncoding.EncodeToString([]byte(p)),
		}}})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				if grant {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"token":"` + token + `"}`))
					return
				}
				echo(w, r, http.StatusUnauthorized)
				return
			}
			if scheme == "Bearer" {
				if r.Header.Get("Authorization") != "" {
					echo(w, r, http.StatusForbidden)
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="test"`)
			} else {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			}
			echo(w, r, http.StatusUnauthorized)
		})
	}
}

// TestErrorsHoldNoCredentials: whatever a registry or token server echoes
// back, the error the caller gets is typed and holds neither the password
// (raw, base64, URL- or JSON-escaped) nor the Basic header nor the token.
// On main before this change every case leaked through RegistryError.Body
// or the token error.
func TestErrorsHoldNoCredentials(t *testing.T) {
	const user, pass, token = "builder", `pw-canary"31/4+1&`, "tok-canary-2718"
	js, _ := json.Marshal(pass)
	secrets := []string{pass, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)),
		base64.StdEncoding.EncodeToString([]byte(pass)), url.QueryEscape(pass), strings.Trim(string(js), `"`), token}
	for _, c := range []struct {
		name, scheme string
		grant        bool
	}{
		{"basic refused", "Basic", false},
		{"token refused", "Bearer", false},
		{"token granted, registry refuses it", "Bearer", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var armed atomic.Bool
			r := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
				gated := echoGate(c.scheme, token, c.grant)(h)
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if armed.Load() {
						gated.ServeHTTP(w, req)
						return
					}
					h.ServeHTTP(w, req)
				})
			}))
			image := r.PushRandomImage(t, "app")
			armed.Store(true)
			opts := []oci.Option{oci.WithInsecure(), oci.WithAuth(&authn.Basic{Username: user, Password: pass}), oci.WithRetry(1)}
			ctx := context.Background()
			_, errAttach := oci.Attach(ctx, image, &sign.Attestation{Envelope: envelope(t, image, slsaV1, 1)}, opts...)
			_, errList := oci.List(ctx, image, opts...)
			repo, _, _ := strings.Cut(image, "@")
			_, errResolve := oci.Resolve(ctx, repo+":latest", opts...)
			for i, err := range []error{errAttach, errList, errResolve} {
				if !errors.Is(err, oci.ErrUnauthorized) {
					t.Errorf("%s: err = %v, want ErrUnauthorized", []string{"Attach", "List", "Resolve"}[i], err)
					continue
				}
				for _, s := range secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error holds %q: %v", s, err)
					}
				}
			}
		})
	}
}

// TestForeignChallengeGetsNothing: a 401 from the host a redirect led to
// (blob storage) is not answered with the registry's credentials, not
// even through a token realm on that host.
func TestForeignChallengeGetsNothing(t *testing.T) {
	var realmHits atomic.Int32
	var leaked atomic.Value
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			realmHits.Add(1)
			if a := r.Header.Get("Authorization"); a != "" {
				leaked.Store(a)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token":"storage-token"}`))
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://storage.test/token",service="storage"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(storage.Close)
	var armed atomic.Bool
	r := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if armed.Load() {
				if u, p, ok := req.BasicAuth(); !ok || u != "u" || p != "p" {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:") {
					http.Redirect(w, req, "http://storage.test"+req.URL.Path, http.StatusTemporaryRedirect)
					return
				}
			}
			h.ServeHTTP(w, req)
		})
	}))
	image := r.PushRandomImage(t, "app")
	ctx := context.Background()
	rt := ocitest.HostsTransport(map[string]string{"registry.test": r.Host(), "storage.test": storage.Listener.Addr().String()})
	opts := []oci.Option{oci.WithInsecure(), oci.WithAuth(&authn.Basic{Username: "u", Password: "p"}), oci.WithTransport(rt), oci.WithRetry(1)}
	image = strings.Replace(image, r.Host(), "registry.test", 1)
	if _, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: envelope(t, image, slsaV1, 1)}, opts...); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	_, err := oci.List(ctx, image, opts...)
	if !errors.Is(err, oci.ErrUnauthorized) {
		t.Fatalf("List: %v, want ErrUnauthorized from the storage host", err)
	}
	if realmHits.Load() != 0 {
		t.Errorf("the storage host's realm was asked for a token %d times (Authorization %v)", realmHits.Load(), leaked.Load())
	}
}
