package main

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slsakit/slsakit/oci/ocitest"
)

// slsakitIn runs the CLI with stdin as its standard input.
func slsakitIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(withStdin(testContext(t), strings.NewReader(stdin)), args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// privateRegistry is an in-process registry that wants basic auth
// user:pass once the test image is pushed.
func privateRegistry(t *testing.T, user, pass string) (*ocitest.Registry, string) {
	t.Helper()
	var armed atomic.Bool
	reg := ocitest.NewRegistry(t, ocitest.WithHandler(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); armed.Load() && (!ok || u != user || p != pass) {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	app := reg.PushRandomImage(t, "team/app")
	armed.Store(true)
	return reg, app
}

// TestCLIRegistryCredentials: attest --attach, verify --image, attach and
// sbom --image reach a private registry with --registry-username and
// --registry-password-stdin, or with what docker login stored; without
// credentials or with a wrong password they fail (exit 3) and say so
// without the password.
func TestCLIRegistryCredentials(t *testing.T) {
	const pass = "s3cret-stdin-pw"
	dockerDir := ocitest.IsolateCredentials(t)
	reg, app := privateRegistry(t, "builder", pass)
	dir := t.TempDir()
	t.Setenv("COSIGN_PASSWORD", "pw")
	key, pub := keys(t, dir, "release")
	env := filepath.Join(dir, "app.intoto.jsonl")
	login := []string{"--registry-username", "builder", "--registry-password-stdin", "--insecure-registry"}

	attest := []string{"attest", "--builder-id", builder, "--key", key, "--image", app, "--attach", "--param", "image=app", "--out", env}
	// No credentials anywhere: refused, and the error says why.
	r := slsakit(t, append(attest, "--insecure-registry")...).want(t, exitError)
	if !strings.Contains(strings.ToLower(r.stderr), "unauthorized") {
		t.Errorf("anonymous attest: %s", r.stderr)
	}
	// A wrong password: refused, not echoed.
	for _, args := range [][]string{attest, {"verify", "--key", pub, "--image", app}} {
		r = slsakitIn(t, "wrong-"+pass+"\n", append(args, login...)...).want(t, exitError)
		if !strings.Contains(strings.ToLower(r.stderr), "unauthorized") || strings.Contains(r.stderr+r.stdout, pass) {
			t.Errorf("wrong password: %s", r.stderr)
		}
	}
	// The password on stdin, with the newline echo adds.
	slsakitIn(t, pass+"\n", append(attest, login...)...).want(t, exitOK)
	slsakitIn(t, pass, append([]string{"verify", "--key", pub, "--image", app}, login...)...).want(t, exitOK)
	slsakitIn(t, pass+"\r\n", append([]string{"attach", "--envelope", env, "--image", app}, login...)...).want(t, exitOK)
	slsakitIn(t, pass, append([]string{"sbom", "--image", app}, login...)...).want(t, exitOK)

	// What docker login stores in the docker config: verify finds it with
	// no credential flags, like docker pull.
	auth := base64.StdEncoding.EncodeToString([]byte("builder:" + pass))
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"auths":{"`+reg.Host()+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	slsakit(t, "verify", "--key", pub, "--image", app, "--insecure-registry").want(t, exitOK)
	slsakit(t, "sbom", "--image", app, "--insecure-registry").want(t, exitOK)
}

func TestCLIRegistryCredentialFlags(t *testing.T) {
	ocitest.IsolateCredentials(t)
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"pw", []string{"--registry-username", "u"}},
		{"pw", []string{"--registry-password-stdin"}},
		{"", []string{"--registry-username", "u", "--registry-password-stdin"}},
		{"\n", []string{"--registry-username", "u", "--registry-password-stdin"}},
		{strings.Repeat("x", 65<<10), []string{"--registry-username", "u", "--registry-password-stdin"}},
	} {
		args := append([]string{"verify", "--key", "k.pub", "--image", "registry.example.com/app@sha256:" + strings.Repeat("a", 64)}, c.args...)
		r := slsakitIn(t, c.stdin, args...).want(t, exitUsage)
		if c.stdin != "" && len(c.stdin) < 100 && strings.Contains(r.stderr, strings.TrimSpace(c.stdin)) && strings.TrimSpace(c.stdin) != "" {
			t.Errorf("usage error echoes stdin: %s", r.stderr)
		}
	}
	// Explicit credentials are for one registry: two --image registries
	// (or none) is a usage error, not a guess.
	slsakitIn(t, "pw", "attest", "--builder-id", builder, "--key", "k", "--param", "a=b",
		"--image", "a.example.com/app@sha256:"+strings.Repeat("a", 64), "--image", "b.example.com/app@sha256:"+strings.Repeat("b", 64),
		"--registry-username", "u", "--registry-password-stdin").want(t, exitUsage)
}
