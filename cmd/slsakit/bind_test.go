package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// TestVerifyBindToProvenance: --bind-to-provenance makes flag-only keyless
// verification require what a policy's bindToProvenance requires. A
// GitHub-workflow certificate is admitted for a provenance naming its
// workflow as the builder and refused for one naming another builder
// (which the identity alone accepts), and an email certificate, which
// certifies no builder, is refused.
func TestVerifyBindToProvenance(t *testing.T) {
	svc := keylesstest.New(t)
	const repo, ref, sha = "kubernetes/release", "refs/heads/main", "0123456789abcdef0123456789abcdef01234567"
	wf := "https://github.com/" + repo + "/.github/workflows/release.yml@" + ref
	ghTok, err := svc.Issuer.GitHubToken(keylesstest.GitHubWorkflow{Repository: repo, Ref: ref, SHA: sha, WorkflowPath: ".github/workflows/release.yml"})
	if err != nil {
		t.Fatal(err)
	}
	mailTok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rootPath := writeTrustedRoot(t, svc, dir)
	art := filepath.Join(dir, "kubectl")
	if err := os.WriteFile(art, []byte("kubectl binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	attest := func(name, tok, builderID string) string {
		bundle := filepath.Join(dir, name+".sigstore.json")
		slsakit(t, "attest", "--builder-id", builderID, "--param", "a=b", "--keyless", "--id-token", tok,
			"--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(), "--tsa-url", svc.TSAURL(),
			"--bundle-out", bundle, "--out", filepath.Join(dir, name+".intoto.jsonl"), art).want(t, exitOK)
		return bundle
	}
	bound, unbound := attest("bound", ghTok, wf), attest("unbound", ghTok, builder)
	mail := attest("mail", mailTok, wf)
	gh := []string{"verify", "--trusted-root", rootPath, "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", wf}
	verifyArgs := func(id []string, bundle string, extra ...string) []string {
		return append(append(append([]string{}, id...), append([]string{"--bundle", bundle}, extra...)...), art)
	}

	// The identity alone accepts both provenances.
	slsakit(t, verifyArgs(gh, bound)...).want(t, exitOK)
	slsakit(t, verifyArgs(gh, unbound)...).want(t, exitOK)
	// Bound to the builder: only the provenance whose builder.id is the
	// certificate's build signer.
	slsakit(t, verifyArgs(gh, bound, "--bind-to-provenance", "builder")...).want(t, exitOK)
	slsakit(t, verifyArgs(gh, bound, "--bind-to-provenance", "builder", "--builder-id", wf)...).want(t, exitOK)
	r := slsakit(t, verifyArgs(gh, unbound, "--bind-to-provenance", "builder")...).want(t, exitRejected)
	if !strings.Contains(r.stdout, "binding builder") {
		t.Errorf("unbound builder not explained:\n%s", r.stdout)
	}
	// The requirements still apply next to the binding.
	slsakit(t, verifyArgs(gh, bound, "--bind-to-provenance", "builder", "--builder-id", builder)...).want(t, exitRejected)
	// Facts the provenance does not state fail: no source material here.
	slsakit(t, verifyArgs(gh, bound, "--bind-to-provenance", "builder,source")...).want(t, exitRejected)
	// An email certificate certifies no builder.
	mailID := []string{"verify", "--trusted-root", rootPath, "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", "ci@example.com"}
	slsakit(t, verifyArgs(mailID, mail)...).want(t, exitOK)
	slsakit(t, verifyArgs(mailID, mail, "--bind-to-provenance", "builder")...).want(t, exitRejected)

	// Usage: known names only, once each, with a keyless identity, on a
	// provenance.
	_, pub := keys(t, dir, "release")
	policy := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{file: "+pub+"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		verifyArgs(gh, bound, "--bind-to-provenance", "builderid"),
		verifyArgs(gh, bound, "--bind-to-provenance", "builder,"),
		verifyArgs(gh, bound, "--bind-to-provenance", "builder,builder"),
		verifyArgs(gh, bound, "--bind-to-provenance", ""),
		verifyArgs(gh, bound, "--bind-to-provenance", "builder", "--predicate-type", "https://example.com/other"),
		{"verify", "--key", pub, "--bundle", bound, "--bind-to-provenance", "builder", art},
		{"verify", "--policy", policy, "--bundle", bound, "--bind-to-provenance", "builder", art},
	} {
		slsakit(t, args...).want(t, exitUsage)
	}
}
