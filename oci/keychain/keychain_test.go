package keychain_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/keychain"
	"github.com/slsakit/slsakit/oci/ocitest"
)

// resolve returns what k answers for ref ("host/repo"), "" for anonymous.
func resolve(t *testing.T, k authn.Keychain, ref string) string {
	t.Helper()
	repo, err := name.NewRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.Resolve(repo)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", ref, err)
	}
	if a == authn.Anonymous {
		return ""
	}
	cfg, err := authn.Authorization(context.Background(), a)
	if err != nil {
		t.Fatalf("Authorization(%s): %v", ref, err)
	}
	switch {
	case cfg.Username != "":
		return cfg.Username + ":" + cfg.Password
	case cfg.IdentityToken != "":
		return "identity:" + cfg.IdentityToken
	case cfg.RegistryToken != "":
		return "registry:" + cfg.RegistryToken
	}
	return ""
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// noSecret fails the test if err's message holds any of secrets.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret (%q): %v", s, err)
		}
	}
}

func TestStatic(t *testing.T) {
	k, err := keychain.Static("registry.example.com:5000", "u", "pw-static")
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"registry.example.com:5000/app":    "u:pw-static",
		"registry.example.com/app":         "",
		"registry.example.com:5001/app":    "",
		"evil.registry.example.com:5000/a": "",
		"ghcr.io/o/app":                    "",
	} {
		if got := resolve(t, k, ref); got != want {
			t.Errorf("%s: %q, want %q", ref, got, want)
		}
	}
	hub, err := keychain.Static("docker.io", "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, hub, "library/nginx"); got != "u:p" {
		t.Errorf("docker.io credentials for library/nginx: %q", got)
	}
	for _, c := range []struct{ reg, user, pass string }{
		{"", "u", "pw-x"}, {"bad host/x", "u", "pw-x"}, {"r.example.com", "", "pw-x"}, {"r.example.com", "u", ""},
	} {
		_, err := keychain.Static(c.reg, c.user, c.pass)
		if !errors.Is(err, keychain.ErrInvalidArgument) {
			t.Errorf("Static(%q, %q, …): %v, want ErrInvalidArgument", c.reg, c.user, err)
		}
		noSecret(t, err, c.pass)
		_, err = keychain.New(keychain.WithStatic(c.reg, c.user, c.pass))
		if !errors.Is(err, keychain.ErrInvalidArgument) {
			t.Errorf("New(WithStatic(%q, %q, …)): %v, want ErrInvalidArgument", c.reg, c.user, err)
		}
		noSecret(t, err, c.pass)
	}
}

func TestGitHub(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		ref  string
		want string
	}{
		{map[string]string{"GITHUB_TOKEN": "ghs_tok", "GITHUB_ACTOR": "octocat"}, "ghcr.io/o/app", "octocat:ghs_tok"},
		{map[string]string{"GITHUB_TOKEN": "ghs_tok"}, "ghcr.io/o/app", "x-access-token:ghs_tok"},
		{map[string]string{}, "ghcr.io/o/app", ""},
		// The token is GitHub's: no other registry gets it, not even one
		// whose name starts or ends like GitHub's.
		{map[string]string{"GITHUB_TOKEN": "ghs_tok"}, "docker.pkg.github.com/o/r/app", ""},
		{map[string]string{"GITHUB_TOKEN": "ghs_tok"}, "ghcr.io.evil.example/o/app", ""},
		{map[string]string{"GITHUB_TOKEN": "ghs_tok"}, "ghcr.io:444/o/app", ""},
		{map[string]string{"GITHUB_TOKEN": "ghs_tok"}, "index.docker.io/o/app", ""},
	} {
		if got := resolve(t, keychain.GitHub(env(c.env)), c.ref); got != c.want {
			t.Errorf("%v %s: %q, want %q", c.env, c.ref, got, c.want)
		}
	}
}

// gate puts basic auth (user, pass) in front of an in-process registry
// once armed, and counts the requests refused.
func gate(user, pass string, armed *atomic.Bool, refused *atomic.Int32) ocitest.Option {
	return ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed.Load() {
				if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
					refused.Add(1)
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
}

// privateRegistry serves an in-process registry named host (through
// ocitest.HostsTransport) that wants user:pass, and returns an image in it
// and the options that reach it (plain HTTP, the name mapping).
func privateRegistry(t *testing.T, host, user, pass string, more map[string]string) (image string, opts []oci.Option) {
	t.Helper()
	var armed atomic.Bool
	var refused atomic.Int32
	r := ocitest.NewRegistry(t, gate(user, pass, &armed, &refused))
	image = strings.Replace(r.PushRandomImage(t, "team/app"), r.Host(), host, 1)
	armed.Store(true)
	hosts := map[string]string{strings.Split(host, ":")[0]: r.Host()}
	for k, v := range more {
		hosts[k] = v
	}
	return image, []oci.Option{oci.WithInsecure(), oci.WithTransport(ocitest.HostsTransport(hosts))}
}

// listWith lists image's attestations with keychain k.
func listWith(t *testing.T, image string, k authn.Keychain, opts []oci.Option) error {
	t.Helper()
	_, err := oci.List(context.Background(), image, append(opts, oci.WithKeychain(k))...)
	return err
}

func TestPrecedence(t *testing.T) {
	dockerConfig(t, `{"auths":{"ghcr.io":{"auth":"ZG9ja2VyOmZyb20tZG9ja2VyLWNvbmZpZw=="}}}`) // docker:from-docker-config
	secret := writeFile(t, `{"auths":{"ghcr.io":{"username":"secret","password":"from-secret"}}}`)
	gh := map[string]string{"GITHUB_TOKEN": "from-github-token"}
	cases := []struct {
		opts []keychain.Option
		want string
	}{
		{[]keychain.Option{keychain.WithStatic("ghcr.io", "cli", "from-stdin"), keychain.WithDockerConfigJSON(secret)}, "cli:from-stdin"},
		{[]keychain.Option{keychain.WithDockerConfigJSON(secret)}, "secret:from-secret"},
		{nil, "docker:from-docker-config"},
		{[]keychain.Option{keychain.WithoutDockerConfig()}, "x-access-token:from-github-token"},
		{[]keychain.Option{keychain.WithoutDockerConfig(), keychain.WithoutGitHub()}, ""},
	}
	for _, c := range cases {
		k, err := keychain.New(append(c.opts, keychain.WithGetenv(env(gh)), keychain.WithoutGoogle())...)
		if err != nil {
			t.Fatal(err)
		}
		if got := resolve(t, k, "ghcr.io/o/app"); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	// Each source answers for its registries only: the CLI's credentials
	// for ghcr.io do not reach another registry, which falls through to
	// the next source that has credentials for it.
	k, err := keychain.New(keychain.WithStatic("ghcr.io", "cli", "from-stdin"), keychain.WithGetenv(env(gh)), keychain.WithoutGoogle())
	if err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, k, "registry.example.com/app"); got != "" {
		t.Errorf("registry.example.com got %q", got)
	}
}

// dockerConfig isolates the test's credentials and writes config as the
// docker config.
func dockerConfig(t *testing.T, config string) {
	t.Helper()
	dir := ocitest.IsolateCredentials(t)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".dockerconfigjson")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRepo(t *testing.T, ref string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
