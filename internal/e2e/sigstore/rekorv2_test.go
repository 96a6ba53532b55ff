package sigstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/internal/sigstack"
)

// cosignV3 is the cosign that speaks Rekor v2.
const cosignV3 = "v3.1.3"

// hasRekorV2Entry reports whether a bundle file holds a Rekor v2 entry (a
// hashedrekord v0.0.2 with a checkpoint, no integrated time) and an RFC
// 3161 timestamp.
func hasRekorV2Entry(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version":"0.0.2"`, `"checkpoint"`, `"rfc3161Timestamps"`} {
		if !strings.Contains(strings.ReplaceAll(string(raw), " ", ""), want) {
			t.Errorf("%s lacks %s:\n%.600s", filepath.Base(path), want, raw)
		}
	}
	if strings.Contains(string(raw), `"integratedTime":"1`) {
		t.Errorf("%s: a Rekor v2 entry with an integrated time", filepath.Base(path))
	}
}

// TestSlsakitRekorV2ToCosign: slsakit signs a blob and attests it keyless
// with the stack's signing config, which advertises Rekor v1 and v2, so it
// logs in the real Rekor v2 (rekor-tiles) and timestamps with the real
// TSA; slsakit and cosign v3.1.3 verify both bundles offline for the
// signer only.
func TestSlsakitRekorV2ToCosign(t *testing.T) {
	st := stack.Get(t)
	sk := slsakitTool(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	blob := writeFile(t, dir, "blob", []byte("kube-scheduler, signed by slsakit through Rekor v2"))
	other := writeFile(t, dir, "other", []byte("another artifact"))
	keyless := []string{"--keyless", "--id-token", token(t, st, signerEmail), "--signing-config", st.SigningConfigPath}

	sk.mustRun(t, ctx, dir, append(append([]string{"sign-blob"}, keyless...), "--bundle", "blob.sigstore.json", blob)...)
	sk.mustRun(t, ctx, dir, append(append([]string{"attest", "--builder-id", "https://example.com/builder@v1",
		"--param", "target=blob"}, keyless...), "--out", "att.intoto.jsonl", "--bundle-out", "att.sigstore.json", blob)...)
	hasRekorV2Entry(t, filepath.Join(dir, "blob.sigstore.json"))
	hasRekorV2Entry(t, filepath.Join(dir, "att.sigstore.json"))

	slsakitVerifiesSignerOnly(t, ctx, sk, st, dir, blob, other)
	cosignVerifiesSignerOnly(t, ctx, cosignTool(t, regproc.EnvCosignV3, cosignV3), cosignV3, st, dir, blob, other)
}

// TestCosignRekorV2ToSlsakit: cosign v3.1.3 signs a blob and attests it
// keyless with a signing config that names only the real Rekor v2 (and
// the TSA); slsakit verifies both for the signer only.
func TestCosignRekorV2ToSlsakit(t *testing.T) {
	st := stack.Get(t)
	sk := slsakitTool(t)
	c := cosignTool(t, regproc.EnvCosignV3, cosignV3)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	blob := writeFile(t, dir, "blob", []byte("release artifact signed by cosign v3 through Rekor v2"))
	writeFile(t, dir, "predicate.json", []byte(`{"builder":{"id":"https://example.com/cosign-builder"}}`))
	sc, err := st.WriteSigningConfig(sigstack.RekorV2)
	if err != nil {
		t.Fatal(err)
	}
	// cosign reads a token that looks like a path from a file: give it one.
	tok := writeFile(t, dir, "token", []byte(token(t, st, signerEmail)))
	signFlags := []string{"--identity-token", tok, "--signing-config", sc,
		"--trusted-root", st.TrustedRootPath, "--yes"}
	c.mustRun(t, ctx, dir, append(append([]string{"sign-blob", "--bundle", "blob.sigstore.json"}, signFlags...), blob)...)
	c.mustRun(t, ctx, dir, append(append([]string{"attest-blob", "--bundle", "att.sigstore.json",
		"--predicate", "predicate.json", "--type", "https://example.com/cosign-test/v1"}, signFlags...), blob)...)
	hasRekorV2Entry(t, filepath.Join(dir, "blob.sigstore.json"))
	hasRekorV2Entry(t, filepath.Join(dir, "att.sigstore.json"))
	slsakitVerifiesSignerOnly(t, ctx, sk, st, dir, blob, "")
}
