package oci_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// authGate puts bearer-token or basic auth in front of the registry once
// armed; /token issues the token for user u, password p.
func authGate(scheme string, armed *atomic.Bool, tokens *atomic.Int32) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				u, p, ok := r.BasicAuth()
				if !ok || u != "u" || p != "p" {
					http.Error(w, "bad credentials", http.StatusUnauthorized)
					return
				}
				if !strings.Contains(r.URL.Query().Get("scope"), "repository:app:pull") {
					http.Error(w, "no scope", http.StatusBadRequest)
					return
				}
				tokens.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"token":"tok"}`))
				return
			}
			if armed.Load() {
				ok := false
				if scheme == "Bearer" {
					ok = r.Header.Get("Authorization") == "Bearer tok"
				} else {
					u, p, bok := r.BasicAuth()
					ok = bok && u == "u" && p == "p"
				}
				if !ok {
					if scheme == "Bearer" {
						w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="test",scope="repository:app:pull,push"`)
					} else {
						w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					}
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestAuth(t *testing.T) {
	for _, scheme := range []string{"Bearer", "Basic"} {
		t.Run(scheme, func(t *testing.T) {
			var armed atomic.Bool
			var tokens atomic.Int32
			reg := ocitest.NewRegistry(t, ocitest.WithHandler(authGate(scheme, &armed, &tokens)))
			image := reg.PushRandomImage(t, "app")
			armed.Store(true)
			ctx := context.Background()
			env := envelope(t, image, slsaV1, 1)

			_, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithKeychain(authn.NewMultiKeychain()))
			if !errors.Is(err, oci.ErrUnauthorized) {
				t.Fatalf("anonymous: err = %v, want ErrUnauthorized", err)
			}
			_, err = oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithAuth(&authn.Basic{Username: "u", Password: "wrong"}))
			if !errors.Is(err, oci.ErrUnauthorized) {
				t.Fatalf("wrong password: err = %v, want ErrUnauthorized", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error leaks the password: %v", err)
			}
			tokens.Store(0)
			ct := ocitest.NewCountingTransport(nil)
			res, err := oci.Attach(ctx, image, &sign.Attestation{Envelope: env}, oci.WithInsecure(), oci.WithLayout(oci.Both),
				oci.WithAuth(&authn.Basic{Username: "u", Password: "p"}), oci.WithTransport(ct))
			if err != nil {
				t.Fatal(err)
			}
			// One 401 then (for Bearer) one token request, reused for the
			// whole attach.
			extra := 1
			if scheme == "Bearer" {
				extra = 2
				if tokens.Load() != 1 {
					t.Errorf("%d token requests, want 1", tokens.Load())
				}
			}
			if res.Requests != 10+extra {
				t.Errorf("%d requests (%v), want %d", res.Requests, ct.ByMethod(), 10+extra)
			}
			atts, err := oci.List(ctx, image, oci.WithInsecure(), oci.WithAuth(&authn.Basic{Username: "u", Password: "p"}))
			if err != nil || len(atts) != 1 {
				t.Fatalf("List: %d, %v", len(atts), err)
			}
		})
	}
}
