package main

import (
	"bytes"
	"context"
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
