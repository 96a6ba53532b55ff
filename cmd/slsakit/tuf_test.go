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
	"time"

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

// TestVerifyBlobDefaultTUF: verify-blob and verify-bundle take keyless
// trust as verify does: with no --trusted-root, the default TUF
// repository (a loopback stand-in here), offline once its cache is
// filled and until its timestamp expires; --tuf-* for a private mirror.
// A key alone never reaches for TUF.
func TestVerifyBlobDefaultTUF(t *testing.T) {
	svc, repo, dir, art, bundle := keylessBlobTUF(t)
	other := filepath.Join(dir, "kubelet")
	if err := os.WriteFile(other, []byte("kubelet binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	keyless := func(cmd, identity, file string, flags ...string) []string {
		return append(append([]string{cmd, "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", identity,
			"--bundle", bundle}, flags...), file)
	}
	cmds := []string{"verify-blob", "verify-bundle"}

	// A key without trust flags: the signature alone, no TUF at all (the
	// default repository fails the test if it is even asked for).
	key, pub := keys(t, dir, "release")
	keyBundle, keySig := filepath.Join(dir, "k.sigstore.json"), filepath.Join(dir, "k.sig")
	slsakit(t, "sign-blob", "--key", key, "--bundle", keyBundle, "--output-signature", keySig, art).want(t, exitOK)
	noTUF := withDefaultTUF(context.Background(), func() trust.TUF {
		t.Error("key-only verification asked for the default TUF repository")
		return trust.TUF{Mirror: unreachableMirror, Root: []byte("{}"), CacheDir: t.TempDir()}
	})
	for _, args := range [][]string{
		{"verify-blob", "--key", pub, "--bundle", keyBundle, art},
		{"verify-blob", "--key", pub, "--signature", keySig, art},
		{"verify-bundle", "--key", pub, "--bundle", keyBundle, art},
	} {
		slsakitCtx(t, noTUF, args...).want(t, exitOK)
	}

	// No cache, no network: an error naming the mirror, never a pass nor
	// a usage error.
	for _, cmd := range cmds {
		slsakit(t, keyless(cmd, "ci@example.com", art)...).want(t, exitError)
		var out, errOut bytes.Buffer
		err := commands()[cmd].run(testContext(t), keyless(cmd, "ci@example.com", art)[1:], &out, &errOut)
		if !errors.Is(err, trust.ErrUnavailable) || !strings.Contains(err.Error(), unreachableMirror) {
			t.Fatalf("%s, no cache, no network: %v, want trust.ErrUnavailable naming %s", cmd, err, unreachableMirror)
		}
	}

	cache := filepath.Join(dir, "tuf-cache")
	ctx := withDefaultTUF(context.Background(), func() trust.TUF {
		return trust.TUF{Mirror: repo.URL(), Root: repo.InitialRoot(), CacheDir: cache}
	})
	// A private mirror by flags, as verify takes it.
	rootFile := filepath.Join(dir, "tuf-root.json")
	if err := os.WriteFile(rootFile, repo.InitialRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	private := []string{"--tuf-mirror", repo.URL(), "--tuf-root", rootFile, "--tuf-cache", filepath.Join(dir, "private-cache")}
	for _, cmd := range cmds {
		slsakitCtx(t, ctx, keyless(cmd, "ci@example.com", art)...).want(t, exitOK) // fills the cache
		slsakit(t, keyless(cmd, "ci@example.com", art, private...)...).want(t, exitOK)
		// One trusted root: a file or TUF, not both.
		slsakit(t, keyless(cmd, "ci@example.com", art, "--trusted-root", rootFile, "--tuf-cache", cache)...).want(t, exitUsage)
		slsakit(t, keyless(cmd, "ci@example.com", art, "--tuf-cache", "")...).want(t, exitUsage)
		slsakit(t, cmd, "--key", pub, "--key", pub, "--tuf-cache", cache, "--bundle", keyBundle, art).want(t, exitUsage)
	}
	// Offline: the cache alone; another identity or file still fails.
	repo.Server.Close()
	for _, cmd := range cmds {
		slsakitCtx(t, ctx, keyless(cmd, "ci@example.com", art)...).want(t, exitOK)
		slsakitCtx(t, ctx, cmd, "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity-regexp", ".*@example[.]com",
			"--bundle", bundle, art).want(t, exitOK)
		slsakitCtx(t, ctx, keyless(cmd, "mallory@example.com", art)...).want(t, exitRejected)
		slsakitCtx(t, ctx, keyless(cmd, "ci@example.com", other)...).want(t, exitRejected)
		slsakit(t, keyless(cmd, "ci@example.com", art, private...)...).want(t, exitOK)
	}

	// The clock passes the cached timestamp's expiry: fails closed, and
	// says why.
	sigstoreDir, _ := repo.CacheDirs(cache)
	repo.AgeCache(sigstoreDir)
	for _, cmd := range cmds {
		slsakitCtx(t, ctx, keyless(cmd, "ci@example.com", art)...).want(t, exitError)
		var out, errOut bytes.Buffer
		err := commands()[cmd].run(ctx, keyless(cmd, "ci@example.com", art)[1:], &out, &errOut)
		if !errors.Is(err, trust.ErrExpired) || !strings.Contains(err.Error(), repo.URL()) {
			t.Fatalf("%s offline, expired cache: %v, want trust.ErrExpired naming %s", cmd, err, repo.URL())
		}
	}
}

// An expired timestamp served by a reachable mirror fails verify-blob
// closed with trust.ErrExpired, whatever the cache holds.
func TestVerifyBlobTUFExpiredTimestamp(t *testing.T) {
	svc, repo, dir, art, bundle := keylessBlobTUF(t)
	rootFile := filepath.Join(dir, "tuf-root.json")
	if err := os.WriteFile(rootFile, repo.InitialRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", "ci@example.com", "--bundle", bundle,
		"--tuf-mirror", repo.URL(), "--tuf-root", rootFile, "--tuf-cache", filepath.Join(dir, "cache"), art}
	var out, errOut bytes.Buffer
	if err := runVerifyBlob(context.Background(), args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	repo.Timestamp.Signed.Expires = time.Now().Add(-time.Hour)
	repo.Bump()
	if err := runVerifyBlob(context.Background(), args, &out, &errOut); !errors.Is(err, trust.ErrExpired) {
		t.Fatalf("expired timestamp: %v, want trust.ErrExpired", err)
	}
}

// keylessBlobTUF signs a file (art) keyless as ci@example.com against
// loopback services into bundle, and serves their trusted root from a
// loopback TUF repository.
func keylessBlobTUF(t *testing.T) (svc *keylesstest.Services, repo *tuftest.Repo, dir, art, bundle string) {
	t.Helper()
	svc = keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	art, bundle = filepath.Join(dir, "kubectl"), filepath.Join(dir, "kubectl.sigstore.json")
	if err := os.WriteFile(art, []byte("kubectl binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	slsakit(t, "sign-blob", "--keyless", "--id-token", tok, "--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(),
		"--tsa-url", svc.TSAURL(), "--bundle", bundle, art).want(t, exitOK)
	root, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	return svc, tuftest.New(t, map[string][]byte{trust.TrustedRootTarget: root}), dir, art, bundle
}
