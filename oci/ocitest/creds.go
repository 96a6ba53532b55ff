package ocitest

import (
	"path/filepath"
	"testing"
)

// IsolateCredentials points every place registry credentials are read
// from at nothing for the rest of the test: a fresh, empty DOCKER_CONFIG
// directory (returned, to write a config.json into), an empty HOME (no
// ~/.docker, no gcloud files), no Podman auth file, no GITHUB_TOKEN. Tests
// of credential lookups then see only what they configure, not the
// machine's logins.
func IsolateCredentials(t testing.TB) (dockerConfigDir string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "none.json"))
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	return dir
}
