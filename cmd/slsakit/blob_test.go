package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// sign-blob and verify-blob with a key: the bundle, the detached .sig, the
// file or its digest; another file, key or signature is rejected.
func TestCLIBlobKey(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "release")
	_, otherPub := keys(t, dir, "other")
	art := filepath.Join(dir, "kubernetes.tar.gz")
	os.WriteFile(art, []byte("server binaries"), 0o644)
	bundle, sig := filepath.Join(dir, "k.sigstore.json"), filepath.Join(dir, "k.sig")
	slsakit(t, "sign-blob", "--key", key, "--bundle", bundle, "--output-signature", sig, art).want(t, exitOK)
	r := slsakit(t, "sign-blob", "--key", key, art).want(t, exitOK)
	if s, _ := os.ReadFile(sig); len(s) == 0 || strings.TrimSpace(r.stdout) == "" || strings.Contains(string(s), "\n") {
		t.Fatalf(".sig %q, stdout %q", s, r.stdout)
	}
	sum := sha256.Sum256([]byte("server binaries"))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for _, src := range [][]string{{"--bundle", bundle}, {"--signature", sig}} {
		for _, a := range []string{art, digest} {
			r := slsakit(t, append(append([]string{"verify-blob", "--key", pub}, src...), a)...).want(t, exitOK)
			if !strings.Contains(r.stdout, "Verified OK") {
				t.Errorf("stdout %q", r.stdout)
			}
		}
		slsakit(t, append(append([]string{"verify-blob", "--key", otherPub}, src...), art)...).want(t, exitRejected)
		slsakit(t, append(append([]string{"verify-blob", "--key", pub}, src...), "sha256:"+strings.Repeat("0", 64))...).want(t, exitRejected)
	}
	// The signature of another file does not verify this one.
	other := filepath.Join(dir, "other.tar.gz")
	os.WriteFile(other, []byte("other"), 0o644)
	slsakit(t, "verify-blob", "--key", pub, "--bundle", bundle, other).want(t, exitRejected)
	slsakit(t, "verify-blob", "--key", pub, "--signature", sig, other).want(t, exitRejected)
	// cosign v2's own --bundle JSON: the signature alone, with a key.
	sigText, _ := os.ReadFile(sig)
	legacy := filepath.Join(dir, "legacy.json")
	os.WriteFile(legacy, []byte(`{"base64Signature":"`+string(sigText)+`"}`), 0o644)
	slsakit(t, "verify-blob", "--key", pub, "--bundle", legacy, art).want(t, exitOK)
	slsakit(t, "verify-blob", "--key", pub, "--bundle", legacy, other).want(t, exitRejected)
	os.WriteFile(legacy, []byte(`{"base64Signature":"`+string(sigText)+`","x":1}`), 0o644)
	slsakit(t, "verify-blob", "--key", pub, "--bundle", legacy, art).want(t, exitRejected)
	// A garbled .sig is rejected.
	bad := filepath.Join(dir, "bad.sig")
	os.WriteFile(bad, []byte("not base64!"), 0o644)
	slsakit(t, "verify-blob", "--key", pub, "--signature", bad, art).want(t, exitRejected)
	// verify-bundle (the conformance client) reads the same bundle.
	slsakit(t, "verify-bundle", "--key", pub, "--bundle", bundle, art).want(t, exitOK)
	slsakit(t, "verify-bundle", "--key", otherPub, "--bundle", bundle, art).want(t, exitRejected)

	// Usage: every flag takes part or the command refuses.
	for _, args := range [][]string{
		{"verify-blob", "--key", pub, art},                                           // no signature
		{"verify-blob", "--key", pub, "--bundle", bundle, "--signature", sig, art},   // both
		{"verify-blob", "--bundle", bundle, art},                                     // no trust
		{"verify-blob", "--key", pub, "--signature", sig, "--certificate", sig, art}, // cert with a key
		{"verify-blob", "--key", pub, "--bundle", bundle, "--certificate", sig, art}, // cert with a bundle
		{"verify-blob", "--key", pub, "--bundle", bundle, "--certificate-identity", "a", art},
		{"verify-blob", "--key", pub, "--bundle", bundle},
		{"verify-blob", "--key", pub, "--bundle", bundle, "sha256:abc"},
		{"sign-blob", "--key", key},
		{"sign-blob", "--key", key, "--output-certificate", filepath.Join(dir, "c"), art}, // a key has no certificate
	} {
		slsakit(t, args...).want(t, exitUsage)
	}
}

// Keyless sign-blob against the loopback services: the bundle verifies
// offline with the trusted root for the identity; the detached .sig/.cert
// pair carries no signing time and is refused offline.
func TestCLIBlobKeyless(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	art := filepath.Join(dir, "kubectl")
	os.WriteFile(art, []byte("kubectl binary"), 0o644)
	bundle, sig, cert := filepath.Join(dir, "b.json"), filepath.Join(dir, "kubectl.sig"), filepath.Join(dir, "kubectl.cert")
	slsakit(t, "sign-blob", "--keyless", "--id-token", tok, "--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(),
		"--tsa-url", svc.TSAURL(), "--bundle", bundle, "--output-signature", sig, "--output-certificate", cert, art).want(t, exitOK)
	if c, _ := os.ReadFile(cert); !strings.HasPrefix(string(c), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf(".cert is not PEM: %.60s", c)
	}
	rootPath := writeTrustedRoot(t, svc, dir)
	id := []string{"--trusted-root", rootPath, "--certificate-oidc-issuer", svc.Issuer.URL()}
	verifyArgs := func(extra ...string) []string {
		return append(append([]string{"verify-blob"}, id...), extra...)
	}
	slsakit(t, verifyArgs("--certificate-identity", "ci@example.com", "--bundle", bundle, art)...).want(t, exitOK)
	slsakit(t, verifyArgs("--certificate-identity-regexp", ".*@example[.]com", "--bundle", bundle, art)...).want(t, exitOK)
	slsakit(t, verifyArgs("--certificate-identity", "mallory@example.com", "--bundle", bundle, art)...).want(t, exitRejected)
	r := slsakit(t, verifyArgs("--certificate-identity", "ci@example.com", "--signature", sig, "--certificate", cert, art)...).want(t, exitRejected)
	if !strings.Contains(r.stderr, "verify:") {
		t.Errorf("detached keyless pair: %s", r.stderr)
	}
	slsakit(t, "verify-bundle", "--certificate-identity", "ci@example.com", "--certificate-oidc-issuer", svc.Issuer.URL(),
		"--trusted-root", rootPath, "--bundle", bundle, art).want(t, exitOK)
	os.WriteFile(art, []byte("tampered"), 0o644)
	slsakit(t, verifyArgs("--certificate-identity", "ci@example.com", "--bundle", bundle, art)...).want(t, exitRejected)

	// sign-bundle, the conformance client's: keyless with a signing config.
	sc, err := svc.SigningConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	scPath := filepath.Join(dir, "signing_config.json")
	os.WriteFile(scPath, sc, 0o644)
	out := filepath.Join(dir, "sb.json")
	slsakit(t, "sign-bundle", "--identity-token", tok, "--bundle", out, "--signing-config", scPath, art).want(t, exitOK)
	slsakit(t, "verify-bundle", "--certificate-identity", "ci@example.com", "--certificate-oidc-issuer", svc.Issuer.URL(),
		"--trusted-root", rootPath, "--bundle", out, art).want(t, exitOK)
	slsakit(t, "sign-bundle", "--identity-token", tok, "--bundle", out, "--staging", art).want(t, exitUsage)
}
