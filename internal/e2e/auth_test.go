package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/keychain"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
)

// The real registry's htpasswd users: one per credential source that
// fixes the username (GITHUB_TOKEN, Google tokens), one for the rest.
const (
	authUser     = "builder"
	authPass     = "e2e-registry-pw-4471"
	googleToken  = "ya29.e2e-google-token"
	githubToken  = "ghs_e2eGithubToken"
	storageUser  = "storage"
	storagePass  = "e2e-storage-pw-902"
	googleHost   = "us-docker.pkg.dev"
	githubHost   = "ghcr.io"
	registryRepo = "team/app"
)

// secureRegistry starts the real registry process with htpasswd auth
// behind TLS (a test CA), its certificate also valid for ghcr.io and
// us-docker.pkg.dev, which the returned transport dials on loopback.
func secureRegistry(t *testing.T) (*regproc.Registry, *http.Transport) {
	t.Helper()
	reg := regproc.Start(t, regproc.WithHTPasswd(map[string]string{
		authUser: authPass, "oauth2accesstoken": googleToken, "x-access-token": githubToken, storageUser: storagePass,
	}), regproc.WithTLS(githubHost, googleHost))
	tr := ocitest.HostsTransport(map[string]string{"127.0.0.1": reg.Host(), githubHost: reg.Host(), googleHost: reg.Host()})
	tr.TLSClientConfig = reg.Transport().TLSClientConfig
	return reg, tr
}

// attachAndVerify attaches a signed provenance to d over TLS with opts and
// verifies it back: listed, signed by kp, about d.
func attachAndVerify(t *testing.T, ctx context.Context, d name.Digest, kp keyPair, opts ...oci.Option) {
	t.Helper()
	env := kp.sign(t, statement(t, d, t.Name()))
	if _, err := oci.Attach(ctx, d.String(), &sign.Attestation{Envelope: env}, opts...); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	atts, err := oci.List(ctx, d.String(), append(opts, oci.WithPredicateType(slsaV1))...)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	ver, err := sign.NewVerifier(kp.signer.Public(), sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		if checkAttestation(ctx, ver, a.Envelope, digestHex(d)) == nil {
			return
		}
	}
	t.Fatalf("none of %d attestations verifies", len(atts))
}

// onHost returns d with its registry replaced by host.
func onHost(t *testing.T, d name.Digest, host string) name.Digest {
	t.Helper()
	out, err := name.NewDigest(host + "/" + d.Context().RepositoryStr() + "@" + d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegistryAuthSources attaches and verifies through the real registry
// (htpasswd, TLS) with each credential source of oci/keychain, and checks
// that a wrong or missing credential fails with oci.ErrUnauthorized and
// no secret in the message.
func TestRegistryAuthSources(t *testing.T) {
	reg, tr := secureRegistry(t)
	ctx := testCtx(t, 3*time.Minute)
	kp := newKeyPair(t)
	base := []oci.Option{oci.WithTransport(tr)} // HTTPS, no WithInsecure

	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "no flavor", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		json.NewEncoder(w).Encode(map[string]any{"access_token": googleToken, "expires_in": 3600, "token_type": "Bearer"})
	}))
	t.Cleanup(metadata.Close)

	newKeychain := func(t *testing.T, env map[string]string, opts ...keychain.Option) oci.Option {
		t.Helper()
		k, err := keychain.New(append(opts, keychain.WithGetenv(func(k string) string { return env[k] }))...)
		if err != nil {
			t.Fatal(err)
		}
		return oci.WithKeychain(k)
	}
	dockerAuth := base64.StdEncoding.EncodeToString([]byte(authUser + ":" + authPass))

	cases := []struct {
		name string
		host string // registry name in the reference ("" for 127.0.0.1:port)
		opt  func(t *testing.T, dockerDir string) oci.Option
	}{
		{"explicit WithAuth", "", func(t *testing.T, _ string) oci.Option {
			return oci.WithAuth(&authn.Basic{Username: authUser, Password: authPass})
		}},
		{"static (CLI --registry-password-stdin)", "", func(t *testing.T, _ string) oci.Option {
			return newKeychain(t, nil, keychain.WithStatic(reg.Host(), authUser, authPass))
		}},
		{"docker config auths (docker login)", "", func(t *testing.T, dir string) oci.Option {
			writeJSON(t, filepath.Join(dir, "config.json"), `{"auths":{"`+reg.Host()+`":{"auth":"`+dockerAuth+`"}}}`)
			return newKeychain(t, nil)
		}},
		{"docker config credential helper", "", func(t *testing.T, dir string) oci.Option {
			bin := t.TempDir()
			script := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r s\n[ \"$s\" = \"" + reg.Host() + "\" ] || { echo 'credentials not found in native keychain'; exit 1; }\n" +
				"printf '{\"ServerURL\":\"%s\",\"Username\":\"" + authUser + "\",\"Secret\":\"" + authPass + "\"}' \"$s\"\n"
			if err := os.WriteFile(filepath.Join(bin, "docker-credential-e2e"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			writeJSON(t, filepath.Join(dir, "config.json"), `{"credHelpers":{"`+reg.Host()+`":"e2e"}}`)
			return newKeychain(t, nil)
		}},
		{"mounted dockerconfigjson secret", "", func(t *testing.T, _ string) oci.Option {
			p := filepath.Join(t.TempDir(), ".dockerconfigjson")
			writeJSON(t, p, `{"auths":{"https://`+reg.Host()+`":{"username":"`+authUser+`","password":"`+authPass+`"}}}`)
			return newKeychain(t, nil, keychain.WithDockerConfigJSON(p))
		}},
		{"GITHUB_TOKEN for ghcr.io", githubHost, func(t *testing.T, _ string) oci.Option {
			return newKeychain(t, map[string]string{"GITHUB_TOKEN": githubToken})
		}},
		{"Google metadata server for pkg.dev", googleHost, func(t *testing.T, _ string) oci.Option {
			return newKeychain(t, map[string]string{"GCE_METADATA_HOST": strings.TrimPrefix(metadata.URL, "http://"), "HOME": t.TempDir()})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ocitest.IsolateCredentials(t)
			d := reg.PushRandomImage(t, registryRepo, 256)
			if c.host != "" {
				d = onHost(t, d, c.host)
			}
			opt := c.opt(t, dir)
			attachAndVerify(t, ctx, d, kp, append(base, opt)...)
		})
	}

	t.Run("refused", func(t *testing.T) {
		dir := ocitest.IsolateCredentials(t)
		d := reg.PushRandomImage(t, registryRepo, 256)
		const wrong = "wrong-" + authPass
		wrongFile := filepath.Join(t.TempDir(), ".dockerconfigjson")
		writeJSON(t, wrongFile, `{"auths":{"`+reg.Host()+`":{"username":"`+authUser+`","password":"`+wrong+`"}}}`)
		writeJSON(t, filepath.Join(dir, "config.json"), `{"auths":{}}`)
		for what, opt := range map[string]oci.Option{
			"no credentials":          newKeychain(t, nil),
			"wrong password":          oci.WithAuth(&authn.Basic{Username: authUser, Password: wrong}),
			"wrong secret file":       newKeychain(t, nil, keychain.WithDockerConfigJSON(wrongFile)),
			"another user's password": oci.WithAuth(&authn.Basic{Username: "nobody", Password: authPass}),
		} {
			env := kp.sign(t, statement(t, d, what))
			_, errAttach := oci.Attach(ctx, d.String(), &sign.Attestation{Envelope: env}, append(base, opt)...)
			_, errList := oci.List(ctx, d.String(), append(base, opt)...)
			_, errResolve := oci.Resolve(ctx, d.Context().Tag("latest").String(), append(base, opt)...)
			for _, err := range []error{errAttach, errList, errResolve} {
				if !errors.Is(err, oci.ErrUnauthorized) {
					t.Errorf("%s: %v, want oci.ErrUnauthorized", what, err)
					continue
				}
				for _, s := range []string{authPass, base64.StdEncoding.EncodeToString([]byte(authUser + ":" + wrong)), base64.StdEncoding.EncodeToString([]byte("nobody:" + authPass))} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("%s: the error holds a secret: %v", what, err)
					}
				}
			}
		}
	})
}

func writeJSON(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// storageHost stands for blob storage on another host: it receives
// redirected blob GETs and relocated blob uploads, records any
// Authorization header it is sent, and forwards to the registry with
// its own credentials.
type storageHost struct {
	srv *httptest.Server

	mu      sync.Mutex
	methods map[string]int
	leaked  []string
}

// TestRegistryAuthRedirect: the real registry, behind a TLS proxy that
// redirects blob GETs and relocates blob uploads to a second listener on
// the same IP address (another port: a host net/http alone would send the
// header to), never sends that listener the registry's credentials, and
// attach and verify still work through it.
func TestRegistryAuthRedirect(t *testing.T) {
	reg, _ := secureRegistry(t)
	ctx := testCtx(t, 3*time.Minute)
	kp := newKeyPair(t)
	target := &url.URL{Scheme: "https", Host: reg.Host()}
	tlsCfg, err := reg.CA().TLSConfig()
	if err != nil {
		t.Fatal(err)
	}

	st := &storageHost{methods: map[string]int{}}
	storageProxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.SetBasicAuth(storageUser, storagePass)
		},
		Transport: reg.Transport(),
	}
	st.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.methods[r.Method]++
		if a := r.Header.Get("Authorization"); a != "" {
			st.leaked = append(st.leaked, r.Method+" "+r.URL.Path+": "+a)
		}
		st.mu.Unlock()
		storageProxy.ServeHTTP(w, r)
	}))
	st.srv.TLS = tlsCfg
	st.srv.StartTLS()
	t.Cleanup(st.srv.Close)
	storageBase := "https://" + st.srv.Listener.Addr().String()

	front := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // Locations point back through the proxy
		},
		Transport: reg.Transport(),
		ModifyResponse: func(resp *http.Response) error {
			// Uploads continue on the storage host.
			if resp.Request.Method == http.MethodPost && resp.StatusCode == http.StatusAccepted {
				if loc, err := resp.Request.URL.Parse(resp.Header.Get("Location")); err == nil {
					resp.Header.Set("Location", storageBase+loc.RequestURI())
				}
			}
			return nil
		},
	}
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") && r.Header.Get("Authorization") != "" {
			http.Redirect(w, r, storageBase+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		front.ServeHTTP(w, r)
	}))
	proxy.TLS = tlsCfg
	proxy.StartTLS()
	t.Cleanup(proxy.Close)

	d := onHost(t, reg.PushRandomImage(t, registryRepo, 256), proxy.Listener.Addr().String())
	opts := []oci.Option{oci.WithTransport(reg.Transport()), oci.WithAuth(&authn.Basic{Username: authUser, Password: authPass}), oci.WithLayout(oci.Both)}
	attachAndVerify(t, ctx, d, kp, opts...)

	st.mu.Lock()
	defer st.mu.Unlock()
	if st.methods[http.MethodGet] == 0 || st.methods[http.MethodPut] == 0 {
		t.Fatalf("the storage host saw %v, want redirected GETs and relocated PUTs: the test proves nothing", st.methods)
	}
	for _, l := range st.leaked {
		t.Errorf("registry credentials sent to the storage host: %s", l)
	}
}
