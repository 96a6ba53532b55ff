package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/trust/tuftest"
)

// TestVerifyDefaultTUF: keyless verification with no --trusted-root and no
// TUF flag trusts the default TUF repository (the public-good instance in
// main; here a loopback stand-in through the same seam), works offline
// once its cache is filled, and without a cache and a network says which
// mirror it could not reach.
func TestVerifyDefaultTUF(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	art, bundle := filepath.Join(dir, "app.bin"), filepath.Join(dir, "app.sigstore.json")
	if err := os.WriteFile(art, []byte("bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	slsakit(t, "attest", "--builder-id", builder, "--param", "a=b", "--keyless", "--id-token", tok,
		"--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(), "--tsa-url", svc.TSAURL(),
		"--bundle-out", bundle, "--out", filepath.Join(dir, "app.intoto.jsonl"), art).want(t, exitOK)
	root, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    identities:\n      - issuer: "+
		svc.Issuer.URL()+"\n        subject: ci@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keyless := func(identity string, flags ...string) []string {
		return append(append([]string{"verify", "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", identity, "--bundle", bundle}, flags...), art)
	}
	byPolicy := []string{"verify", "--policy", policy, "--bundle", bundle, art}

	// No network, empty cache: a typed error naming the mirror, not a
	// usage error and never a pass.
	var out, errOut bytes.Buffer
	err = runVerify(testContext(t), keyless("ci@example.com")[1:], &out, &errOut)
	if !errors.Is(err, trust.ErrUnavailable) || !strings.Contains(err.Error(), unreachableMirror) {
		t.Fatalf("no cache, no network: %v, want trust.ErrUnavailable naming %s", err, unreachableMirror)
	}
	slsakit(t, keyless("ci@example.com")...).want(t, exitError)
	slsakit(t, byPolicy...).want(t, exitError)

	// The repository up: the first run fills the cache.
	repo := tuftest.New(t, map[string][]byte{trust.TrustedRootTarget: root})
	cache := filepath.Join(dir, "tuf-cache")
	ctx := withDefaultTUF(context.Background(), func() trust.TUF {
		return trust.TUF{Mirror: repo.URL(), Root: repo.InitialRoot(), CacheDir: cache}
	})
	slsakitCtx(t, ctx, keyless("ci@example.com")...).want(t, exitOK)
	// Offline: the cache alone, for identities and for policies.
	repo.Server.Close()
	slsakitCtx(t, ctx, keyless("ci@example.com")...).want(t, exitOK)
	slsakitCtx(t, ctx, byPolicy...).want(t, exitOK)
	slsakitCtx(t, ctx, keyless("mallory@example.com")...).want(t, exitRejected)
	// A trusted root given explicitly replaces the default: another
	// instance's root does not verify this bundle.
	other, err := keylesstest.New(t).TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(dir, "other-root.json")
	if err := os.WriteFile(otherPath, other, 0o644); err != nil {
		t.Fatal(err)
	}
	slsakitCtx(t, ctx, keyless("ci@example.com", "--trusted-root", otherPath)...).want(t, exitRejected)
	// A trust anchor flag next to a policy without identities would be
	// ignored: refused.
	keyPolicy := filepath.Join(dir, "keys.yaml")
	_, pub := keys(t, dir, "release")
	if err := os.WriteFile(keyPolicy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{file: "+pub+"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	slsakitCtx(t, ctx, "verify", "--policy", keyPolicy, "--trusted-root", otherPath, "--bundle", bundle, art).want(t, exitUsage)
}

// TestVerifyTrustRepo: --trust-repo adds the signer rules a TUF
// repository delegates per subproject to the policy's own, for the names
// each delegation covers, until the delegation is revoked.
func TestVerifyTrustRepo(t *testing.T) {
	dir := t.TempDir()
	kubeKey, kubePub := keys(t, dir, "kube")
	_, projectPub := keys(t, dir, "project")
	art := filepath.Join(dir, "app.bin")
	if err := os.WriteFile(art, []byte("bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "app.intoto.jsonl")
	slsakit(t, "attest", "--builder-id", builder, "--key", kubeKey, "--param", "a=b", "--out", env, art).want(t, exitOK)
	pemOf := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	repo := tuftest.New(t, map[string][]byte{})
	doc, err := json.Marshal(map[string]any{"keys": []map[string]string{{"pem": pemOf(kubePub)}}})
	if err != nil {
		t.Fatal(err)
	}
	repo.Delegate("targets", "kube", []string{"registry.k8s.io/kube-*"}, false).Files["registry.k8s.io/kube-*"] = doc
	// kube also publishes a rule for a name it was not delegated.
	repo.Roles["kube"].Files["registry.k8s.io/*"] = doc
	repo.Bump()
	root := filepath.Join(dir, "trust-root.json")
	if err := os.WriteFile(root, repo.InitialRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{file: "+projectPub+"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	verifyAs := func(name string, extra ...string) []string {
		return append(append([]string{"verify", "--policy", policy, "--envelope", env, "--name", name}, extra...), art)
	}
	viaRepo := []string{"--trust-repo", repo.URL(), "--trust-repo-root", root, "--trust-repo-cache", filepath.Join(dir, "trust-cache")}

	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver")...).want(t, exitRejected) // the policy alone: the project's key
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", viaRepo...)...).want(t, exitOK)
	// A second machine whose cache is filled now, before the revocation.
	other := []string{"--trust-repo", repo.URL(), "--trust-repo-root", root, "--trust-repo-cache", filepath.Join(dir, "other-cache")}
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", other...)...).want(t, exitOK)
	slsakit(t, verifyAs("registry.k8s.io/pause", viaRepo...)...).want(t, exitRejected)            // not kube's
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver/x", viaRepo...)...).want(t, exitRejected) // "*" stays in one part
	// Revoked: new top-level targets without the delegation.
	repo.Undelegate("targets", "kube")
	repo.Bump()
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", viaRepo...)...).want(t, exitRejected)

	// Usage: the repository's flags belong to a policy, with its root.
	slsakit(t, append([]string{"verify", "--key", projectPub, "--envelope", env}, append(viaRepo, art)...)...).want(t, exitUsage)
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", "--trust-repo", repo.URL())...).want(t, exitUsage)
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", "--trust-repo-root", root)...).want(t, exitUsage)
	// Unreachable: each cache as its last refresh verified it (the
	// revocation stands where it was seen; the other machine sees it at
	// its next successful refresh); without a cache an error, never the
	// policy alone.
	repo.Server.Close()
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", viaRepo...)...).want(t, exitRejected)
	slsakit(t, verifyAs("registry.k8s.io/kube-apiserver", other...)...).want(t, exitOK)
	none := []string{"--trust-repo", repo.URL(), "--trust-repo-root", root, "--trust-repo-cache", filepath.Join(dir, "empty-cache")}
	slsakit(t, verifyAs("registry.k8s.io/pause", none...)...).want(t, exitError)
}
