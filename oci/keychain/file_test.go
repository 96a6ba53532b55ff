package keychain_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slsakit/slsakit/oci/keychain"
)

func TestDockerConfigJSONMatching(t *testing.T) {
	p := writeFile(t, `{"auths": {
		"registry.example.com": {"username": "host", "password": "p1"},
		"registry.example.com:5000": {"username": "port", "password": "p2"},
		"https://registry.example.com/team": {"username": "team", "password": "p3"},
		"registry.example.com/team/special": {"auth": "c3BlY2lhbDpwNA=="},
		"*.mirror.example.com": {"username": "wild", "password": "p5"},
		"https://index.docker.io/v1/": {"username": "hub", "password": "p6"},
		"token.example.com": {"identitytoken": "refresh-token"}
	}}`)
	k, err := keychain.DockerConfigJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"registry.example.com/app":              "host:p1",
		"registry.example.com:5000/app":         "port:p2",
		"registry.example.com:5001/app":         "",
		"registry.example.com/team/app":         "team:p3",
		"registry.example.com/teamx/app":        "host:p1",
		"registry.example.com/team/special/app": "special:p4",
		"eu.mirror.example.com/app":             "wild:p5",
		"mirror.example.com/app":                "",
		"a.b.mirror.example.com/app":            "",
		"evilregistry.example.com/app":          "",
		"registry.example.com.evil.example/app": "",
		"library/nginx":                         "hub:p6",
		"docker.io/o/app":                       "hub:p6",
		"token.example.com/app":                 "identity:refresh-token",
		"other.example.com/app":                 "",
	} {
		if got := resolve(t, k, ref); got != want {
			t.Errorf("%s: %q, want %q", ref, got, want)
		}
	}

	// Legacy .dockercfg: the map itself.
	legacy, err := keychain.DockerConfigJSON(writeFile(t, `{"registry.example.com": {"auth": "dTpw"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, legacy, "registry.example.com/app"); got != "u:p" {
		t.Errorf("legacy: %q", got)
	}
}

// TestDockerConfigJSONRotation: a rotated secret (the kubelet swaps the
// mounted file) is used without a restart.
func TestDockerConfigJSONRotation(t *testing.T) {
	p := writeFile(t, `{"auths":{"r.example.com":{"username":"u","password":"old"}}}`)
	k, err := keychain.DockerConfigJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, k, "r.example.com/app"); got != "u:old" {
		t.Fatalf("%q", got)
	}
	if err := os.WriteFile(p, []byte(`{"auths":{"r.example.com":{"username":"u","password":"new"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, k, "r.example.com/app"); got != "u:new" {
		t.Fatalf("after rotation: %q", got)
	}
	// A file broken later fails the lookup (typed), not silently anonymous.
	if err := os.WriteFile(p, []byte(`{"auths":{"r.example.com":{"password":"pw-broken-9f2"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = k.Resolve(mustRepo(t, "r.example.com/app"))
	if !errors.Is(err, keychain.ErrInvalidConfig) {
		t.Fatalf("broken file: %v, want ErrInvalidConfig", err)
	}
	noSecret(t, err, "pw-broken-9f2")
}

// TestDockerConfigJSONInvalid: every way a secret file can be broken fails
// with ErrInvalidConfig, at construction, with no secret in the message.
func TestDockerConfigJSONInvalid(t *testing.T) {
	const pw = "pw-leak-canary-7c1"
	// base64("user:pw-leak-canary-7c1") and of the password alone.
	const b64 = "dXNlcjpwdy1sZWFrLWNhbmFyeS03YzE="
	const b64NoColon = "cHctbGVhay1jYW5hcnktN2Mx"
	for name, content := range map[string]string{
		"not JSON":             `{"auths": {"r.example.com": {"password": "` + pw + `"`,
		"auths not a map":      `{"auths": ["` + pw + `"]}`,
		"entry not an object":  `{"auths": {"r.example.com": "` + pw + `"}}`,
		"password not string":  `{"auths": {"r.example.com": {"username": "u", "password": ["` + pw + `"]}}}`,
		"password only":        `{"auths": {"r.example.com": {"password": "` + pw + `"}}}`,
		"username only":        `{"auths": {"r.example.com": {"username": "` + pw + `"}}}`,
		"auth not base64":      `{"auths": {"r.example.com": {"auth": "` + pw + `!"}}}`,
		"auth without colon":   `{"auths": {"r.example.com": {"auth": "` + b64NoColon + `"}}}`,
		"auth contradicts":     `{"auths": {"r.example.com": {"auth": "` + b64 + `", "username": "u", "password": "x"}}}`,
		"no credentials":       `{"auths": {"r.example.com": {"email": "` + pw + `"}}}`,
		"key with userinfo":    `{"auths": {"user:` + pw + `@r.example.com": {"username": "u", "password": "p"}}}`,
		"key with query":       `{"auths": {"r.example.com/?` + pw + `": {"username": "u", "password": "p"}}}`,
		"credsStore":           `{"auths": {}, "credsStore": "` + pw + `"}`,
		"credHelpers":          `{"auths": {}, "credHelpers": {"r.example.com": "` + pw + `"}}`,
		"empty file":           ``,
		"top level not object": `"` + pw + `"`,
	} {
		_, err := keychain.DockerConfigJSON(writeFile(t, content))
		if !errors.Is(err, keychain.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
			continue
		}
		noSecret(t, err, pw, b64, b64NoColon)
		_, err = keychain.New(keychain.WithDockerConfigJSON(writeFile(t, content)))
		if !errors.Is(err, keychain.ErrInvalidConfig) {
			t.Errorf("New, %s: %v, want ErrInvalidConfig", name, err)
		}
	}
	_, err := keychain.DockerConfigJSON(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, keychain.ErrInvalidConfig) {
		t.Errorf("missing file: %v", err)
	}
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = ' '
	}
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keychain.DockerConfigJSON(p); !errors.Is(err, keychain.ErrInvalidConfig) {
		t.Errorf("2 MiB file: %v", err)
	}
}
