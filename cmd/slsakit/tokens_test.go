package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// TestCLIOIDCProvider signs keyless in a GitLab-shaped job: the token comes
// from the job's id_tokens variable, is checked against the job's GitLab,
// and a token from another issuer is refused before any certificate.
func TestCLIOIDCProvider(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.Token(keylesstest.Claims{Email: "ci@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	sign := func(extra ...string) result {
		args := append([]string{"attest", "--builder-id", builder, "--param", "a=b", "--keyless",
			"--fulcio-url", svc.FulcioURL(), "--rekor-url", "none", "--tsa-url", svc.TSAURL(),
			"--out", filepath.Join(dir, "app.intoto.jsonl")}, extra...)
		return slsakit(t, append(args, art)...)
	}
	for _, v := range []string{"SIGSTORE_ID_TOKEN", "GITLAB_CI", "CI_SERVER_URL", "ACTIONS_ID_TOKEN_REQUEST_URL", "BUILDKITE", "SPIFFE_ENDPOINT_SOCKET", "GCE_METADATA_HOST"} {
		t.Setenv(v, "")
	}
	t.Setenv("GITLAB_CI", "true")
	t.Setenv("CI_SERVER_URL", svc.Issuer.URL())
	t.Setenv("SIGSTORE_ID_TOKEN", tok)
	sign("--oidc-provider", "gitlab").want(t, exitOK)
	sign().want(t, exitOK) // detected
	other, err := svc.NewIssuer("elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Token(keylesstest.Claims{Email: "ci@example.com"})
	t.Setenv("SIGSTORE_ID_TOKEN", foreign)
	if r := sign("--oidc-provider", "gitlab").want(t, exitError); !strings.Contains(r.stderr, "not this job's GitLab") {
		t.Errorf("foreign token: %s", r.stderr)
	}
	sign("--oidc-provider", "interactive").want(t, exitUsage)
	sign("--oidc-provider", "gitlab", "--id-token", tok).want(t, exitUsage)
}
