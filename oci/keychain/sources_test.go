package keychain_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/slsakit/slsakit/oci/keychain"
	"github.com/slsakit/slsakit/oci/ocitest"
)

const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// credHelper writes docker-credential-NAME, a credential helper that
// answers "get" for server with the JSON answer, and puts it on PATH.
func credHelper(t *testing.T, dir, helper, server, answer string) {
	t.Helper()
	script := `#!/bin/sh
[ "$1" = get ] || exit 1
read -r server
if [ "$server" = "` + server + `" ]; then
  printf '%s' '` + answer + `'
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+helper), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialHelpers: the docker config's credHelpers run the
// registry's helper, as docker does for ECR (docker-credential-ecr-login)
// and ACR (docker-credential-acr-env, whose "<token>" username marks an
// identity token), and the credentials reach the registry through oci.
func TestCredentialHelpers(t *testing.T) {
	bin := t.TempDir()
	credHelper(t, bin, "ecr-test", ecrHost, `{"ServerURL":"`+ecrHost+`","Username":"AWS","Secret":"ecr-password"}`)
	credHelper(t, bin, "acr-test", "myreg.azurecr.io", `{"ServerURL":"myreg.azurecr.io","Username":"<token>","Secret":"acr-refresh-token"}`)
	credHelper(t, bin, "broken-test", "broken.example.com", `not json`)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dockerConfig(t, `{"credHelpers": {"`+ecrHost+`": "ecr-test", "myreg.azurecr.io": "acr-test", "broken.example.com": "broken-test", "missing.example.com": "missing-test"}}`)

	k, err := keychain.New(keychain.WithGetenv(env(nil)), keychain.WithoutGoogle())
	if err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, k, ecrHost+"/team/app"); got != "AWS:ecr-password" {
		t.Errorf("ECR: %q", got)
	}
	if got := resolve(t, k, "myreg.azurecr.io/team/app"); got != "identity:acr-refresh-token" {
		t.Errorf("ACR: %q", got)
	}
	if got := resolve(t, k, "other.example.com/app"); got != "" {
		t.Errorf("a registry without a helper: %q", got)
	}
	for _, ref := range []string{"broken.example.com/app", "missing.example.com/app"} {
		if _, err := k.Resolve(mustRepo(t, ref)); err == nil {
			t.Errorf("%s: a failing helper resolved", ref)
		}
	}

	image, opts := privateRegistry(t, ecrHost, "AWS", "ecr-password", nil)
	if err := listWith(t, image, k, opts); err != nil {
		t.Fatalf("List through the ECR helper's credentials: %v", err)
	}
}

// metadataServer stands in for the GCE metadata server: it answers the
// default service account's token to requests with Metadata-Flavor.
func metadataServer(t *testing.T, status int, token string, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/token" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		if status != http.StatusOK {
			http.Error(w, "refused: "+token, status)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGoogleMetadata(t *testing.T) {
	var calls atomic.Int32
	meta := metadataServer(t, http.StatusOK, "ya29.metadata-token", &calls)
	ocitest.IsolateCredentials(t)
	getenv := env(map[string]string{"GCE_METADATA_HOST": strings.TrimPrefix(meta.URL, "http://"), "HOME": t.TempDir()})
	k, err := keychain.New(keychain.WithGetenv(getenv))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"gcr.io/p/app", "us.gcr.io/p/app", "us-docker.pkg.dev/p/r/app"} {
		if got := resolve(t, k, ref); got != "oauth2accesstoken:ya29.metadata-token" {
			t.Errorf("%s: %q", ref, got)
		}
	}
	calls.Store(0)
	for _, ref := range []string{"ghcr.io/o/app", "gcr.io.evil.example/p/app", "evilgcr.io/p/app", "pkg.dev.evil.example/p/app", "gcr.io:8443/p/app"} {
		if got := resolve(t, k, ref); got != "" {
			t.Errorf("%s got Google credentials %q", ref, got)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("the metadata server was asked %d times for other registries", calls.Load())
	}

	image, opts := privateRegistry(t, "us-docker.pkg.dev", "oauth2accesstoken", "ya29.metadata-token", nil)
	if err := listWith(t, image, k, opts); err != nil {
		t.Fatalf("List with the metadata server's token: %v", err)
	}
}

// serviceAccountKey writes a service account key file whose token_uri is
// tokenURL.
func serviceAccountKey(t *testing.T, tokenURL string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "builder@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURL,
	})
	p := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGoogleApplicationDefaultCredentials(t *testing.T) {
	const canary = "token-server-body-canary-51"
	var fail atomic.Bool
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Form.Get("assertion") == "" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		if fail.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"` + canary + `"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"ya29.sa-token","expires_in":3600,"token_type":"Bearer"}`))
	}))
	t.Cleanup(tokenSrv.Close)
	sa := serviceAccountKey(t, tokenSrv.URL+"/token")

	var calls atomic.Int32
	meta := metadataServer(t, http.StatusOK, "ya29.metadata-token", &calls)
	home := t.TempDir()
	vars := map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": sa, "GCE_METADATA_HOST": strings.TrimPrefix(meta.URL, "http://"), "HOME": home}
	// A fresh keychain per case: each caches its token.
	google := func() authn.Keychain { return keychain.Google(keychain.WithGoogleGetenv(env(vars))) }
	if got := resolve(t, google(), "gcr.io/p/app"); got != "oauth2accesstoken:ya29.sa-token" {
		t.Errorf("GOOGLE_APPLICATION_CREDENTIALS: %q", got)
	}
	// gcloud's well-known file, when the variable is unset.
	delete(vars, "GOOGLE_APPLICATION_CREDENTIALS")
	wk := filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
	if err := os.MkdirAll(filepath.Dir(wk), 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(sa)
	if err := os.WriteFile(wk, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, google(), "gcr.io/p/app"); got != "oauth2accesstoken:ya29.sa-token" {
		t.Errorf("well-known file: %q", got)
	}
	if calls.Load() != 0 {
		t.Errorf("metadata server asked although a credentials file exists")
	}

	// Failures are typed, and no secret or token server body is in them.
	fail.Store(true)
	vars["GOOGLE_APPLICATION_CREDENTIALS"] = sa
	checkTokenErr(t, google(), "token server refuses", canary)
	vars["GOOGLE_APPLICATION_CREDENTIALS"] = filepath.Join(home, "missing.json")
	checkTokenErr(t, google(), "missing file")
	broken := filepath.Join(home, "broken.json")
	os.WriteFile(broken, []byte(`{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\npk-canary-77\n-----END PRIVATE KEY-----\n","client_email":"x","token_uri":"`+tokenSrv.URL+`"}`), 0o600)
	vars["GOOGLE_APPLICATION_CREDENTIALS"] = broken
	checkTokenErr(t, google(), "broken key", "pk-canary-77")
	delete(vars, "GOOGLE_APPLICATION_CREDENTIALS")
	os.Remove(wk)
	refusing := metadataServer(t, http.StatusForbidden, "meta-canary-13", &calls)
	vars["GCE_METADATA_HOST"] = strings.TrimPrefix(refusing.URL, "http://")
	checkTokenErr(t, google(), "metadata server refuses", "meta-canary-13")
	refusing.Close()
	checkTokenErr(t, google(), "metadata host named and down")
}

// TestGoogleTokenCache: one keychain fetches a token once while it is
// fresh (a webhook resolves for every review), and again when it is close
// to expiry.
func TestGoogleTokenCache(t *testing.T) {
	for _, c := range []struct {
		expiresIn int
		want      int32
	}{{3600, 1}, {60, 3}} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Metadata-Flavor", "Google")
			json.NewEncoder(w).Encode(map[string]any{"access_token": "ya29.t", "expires_in": c.expiresIn})
		}))
		k := keychain.Google(keychain.WithGoogleGetenv(env(map[string]string{"GCE_METADATA_HOST": strings.TrimPrefix(srv.URL, "http://")})))
		for range 3 {
			if got := resolve(t, k, "gcr.io/p/app"); got != "oauth2accesstoken:ya29.t" {
				t.Fatalf("%q", got)
			}
		}
		srv.Close()
		if calls.Load() != c.want {
			t.Errorf("expires_in %d: %d metadata requests for 3 lookups, want %d", c.expiresIn, calls.Load(), c.want)
		}
	}
}

func checkTokenErr(t *testing.T, k authn.Keychain, what string, secrets ...string) {
	t.Helper()
	a, err := k.Resolve(mustRepo(t, "gcr.io/p/app"))
	if err == nil {
		_, err = a.Authorization()
	}
	if !errors.Is(err, keychain.ErrToken) {
		t.Errorf("%s: %v, want ErrToken", what, err)
	}
	noSecret(t, err, secrets...)
}
