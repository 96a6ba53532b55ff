package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/keychain"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// TestWebhookRegistryAuthFile: with a mounted dockerconfigjson secret the
// webhook reads a private registry; without it, or with a wrong password,
// it denies the pod saying the registry refused, and the denial (which
// the pod's author reads) holds no password.
func TestWebhookRegistryAuthFile(t *testing.T) {
	const pass = "pull-secret-pw-8812"
	dir := ocitest.IsolateCredentials(t)
	var armed atomic.Bool
	reg := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); armed.Load() && (!ok || u != "puller" || p != pass) {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	ctx := context.Background()
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	good := reg.PushRandomImage(t, "team/app")
	name, hex, _ := strings.Cut(good, "@sha256:")
	if _, err := oci.Attach(ctx, good, &sign.Attestation{Envelope: signedProvenance(t, name, hex, demoBuilder, key)}, oci.WithInsecure()); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	policyPath, err := writeDemoPolicy(t.TempDir(), reg.Host(), key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := verify.LoadPolicyFile(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	secret := func(pw string) string {
		f := filepath.Join(t.TempDir(), ".dockerconfigjson")
		if err := os.WriteFile(f, []byte(`{"auths":{"`+reg.Host()+`":{"username":"puller","password":"`+pw+`"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	pod := map[string]any{"spec": map[string]any{"containers": []map[string]string{{"name": "app", "image": good}}}}
	for _, c := range []struct {
		name    string
		files   []string
		allowed bool
	}{
		{"secret mounted", []string{secret(pass)}, true},
		{"no secret", nil, false},
		{"wrong password", []string{secret("wrong-" + pass)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts, err := registryOptions(true, c.files)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(&Webhook{Engine: eng, Registry: opts})
			defer srv.Close()
			resp := post(t, srv.URL, "Pod", pod)
			if resp.Allowed != c.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", resp.Allowed, c.allowed, resp.Status)
			}
			if !c.allowed && (resp.Status == nil || !strings.Contains(strings.ToLower(resp.Status.Message), "unauthorized") || strings.Contains(resp.Status.Message, pass)) {
				t.Fatalf("denial %+v: want the registry's refusal, without the password", resp.Status)
			}
		})
	}
	// A broken or missing secret stops the webhook at start-up.
	for _, f := range []string{filepath.Join(dir, "missing"), secret(`"`)} {
		if _, err := registryOptions(true, []string{f}); !errors.Is(err, keychain.ErrInvalidConfig) {
			t.Errorf("registryOptions(%s): %v, want ErrInvalidConfig", f, err)
		}
	}
}
