package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir locates the sigstore-conformance test data: ../shared
// next to the repository root (the same in CI), or
// $SLSAKIT_SIGSTORE_CONFORMANCE.
func conformanceDir(t *testing.T) string {
	if d := os.Getenv("SLSAKIT_SIGSTORE_CONFORMANCE"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "sigstore-conformance")
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test's directory")
		}
	}
}

const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = "https://token.actions.githubusercontent.com"
)

// Every offline bundle-verify case of the Sigstore conformance suite, run
// as the suite drives a client (verify-bundle, once with the file, once
// with its sha256: digest): a case named *_fail must be rejected (exit 1,
// or 3 for an unreadable key; never a usage error), every other must
// verify.
func TestSigstoreConformance(t *testing.T) {
	base := conformanceDir(t)
	cases, err := filepath.Glob(filepath.Join(base, "bundle-verify", "*", "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Skipf("no sigstore-conformance test data at %s (set SLSAKIT_SIGSTORE_CONFORMANCE)", base)
	}
	read := func(path, def string) string {
		if b, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(b))
		}
		return def
	}
	right, total := 0, 0
	for _, bundle := range cases {
		dir := filepath.Dir(bundle)
		name := filepath.Base(dir)
		root := filepath.Join(base, "trusted-root-public-good.json")
		if _, err := os.Stat(filepath.Join(dir, "trusted_root.json")); err == nil {
			root = filepath.Join(dir, "trusted_root.json")
		}
		artifact := filepath.Join(dir, "artifact")
		if _, err := os.Stat(artifact); err != nil {
			artifact = filepath.Join(base, "bundle-verify", "a.txt")
		}
		content, err := os.ReadFile(artifact)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(content)
		trust := []string{"--certificate-identity", read(filepath.Join(dir, "identity"), conformanceIdentity),
			"--certificate-oidc-issuer", read(filepath.Join(dir, "issuer"), conformanceIssuer)}
		if _, err := os.Stat(filepath.Join(dir, "key.pub")); err == nil {
			trust = []string{"--key", filepath.Join(dir, "key.pub")}
		}
		for _, art := range []string{artifact, "sha256:" + hex.EncodeToString(sum[:])} {
			total++
			args := append(append([]string{"verify-bundle", "--bundle", bundle}, trust...), "--trusted-root", root, art)
			r := slsakit(t, args...)
			wantFail := strings.HasSuffix(name, "_fail")
			switch {
			case r.code == exitUsage:
				t.Errorf("%s (%s): usage error: %s", name, filepath.Base(art), r.stderr)
			case wantFail && r.code == exitOK:
				t.Errorf("%s (%s): verified, must be rejected", name, filepath.Base(art))
			case !wantFail && r.code != exitOK:
				t.Errorf("%s (%s): rejected, must verify: %s", name, filepath.Base(art), r.stderr)
			default:
				right++
			}
		}
	}
	t.Logf("sigstore-conformance: %d of %d right (%d cases, each with the file and its digest)", right, total, len(cases))
}
