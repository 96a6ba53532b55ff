package sigstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/internal/sigstack"
)

// TestSlsakitKeylessToCosign: slsakit signs a blob and attests a file
// keyless against the real Fulcio, Rekor v1 and TSA; slsakit and both
// cosigns verify the bundles for the signer's identity and refuse another
// identity and another file.
func TestSlsakitKeylessToCosign(t *testing.T) {
	st := stack.Get(t)
	rekorV1(t, st)
	sk := slsakitTool(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	blob := writeFile(t, dir, "blob", []byte("kubernetes-server-linux-amd64.tar.gz, signed by slsakit"))
	other := writeFile(t, dir, "other", []byte("another artifact"))
	keyless := []string{"--keyless", "--id-token", token(t, st, signerEmail),
		"--fulcio-url", st.FulcioURL, "--rekor-url", st.RekorV1URL, "--tsa-url", st.TSAURL}

	sk.mustRun(t, ctx, dir, append(append([]string{"sign-blob"}, keyless...), "--bundle", "blob.sigstore.json", blob)...)
	sk.mustRun(t, ctx, dir, append(append([]string{"attest", "--builder-id", "https://example.com/builder@v1",
		"--param", "target=blob"}, keyless...), "--out", "att.intoto.jsonl", "--bundle-out", "att.sigstore.json", blob)...)

	slsakitVerifiesSignerOnly(t, ctx, sk, st, dir, blob, other)
	for _, cv := range cosigns {
		t.Run("cosign-"+cv.version, func(t *testing.T) {
			cosignVerifiesSignerOnly(t, ctx, cosignTool(t, cv.env, cv.version), cv.version, st, dir, blob, other)
		})
	}
}

// TestCosignKeylessToSlsakit: each cosign signs a blob and attests it
// keyless against the same services; slsakit verifies both for the
// signer's identity only.
func TestCosignKeylessToSlsakit(t *testing.T) {
	st := stack.Get(t)
	rekorV1(t, st)
	sk := slsakitTool(t)
	for _, cv := range cosigns {
		t.Run("cosign-"+cv.version, func(t *testing.T) {
			c := cosignTool(t, cv.env, cv.version)
			ctx := testCtx(t, 5*time.Minute)
			dir := t.TempDir()
			blob := writeFile(t, dir, "blob", []byte("release artifact signed by cosign "+cv.version))
			writeFile(t, dir, "predicate.json", []byte(`{"builder":{"id":"https://example.com/cosign-builder"}}`))
			var signFlags []string
			// Both take the token only as a file (v3.1.3 too, despite its
			// help text).
			writeFile(t, dir, "token", []byte(token(t, st, signerEmail)))
			if strings.HasPrefix(cv.version, "v2") {
				// v2 takes the services as URLs; it would check the
				// (absent) SCT against TUF's CT keys without
				// --insecure-skip-verify.
				signFlags = []string{"--identity-token", filepath.Join(dir, "token"), "--fulcio-url", st.FulcioURL,
					"--rekor-url", st.RekorV1URL, "--timestamp-server-url", st.TSAURL,
					"--new-bundle-format", "--insecure-skip-verify", "--yes"}
			} else {
				sc, err := st.WriteSigningConfig(sigstack.RekorV1)
				if err != nil {
					t.Fatal(err)
				}
				signFlags = []string{"--identity-token", filepath.Join(dir, "token"), "--signing-config", sc,
					"--trusted-root", st.TrustedRootPath, "--yes"}
			}
			c.mustRun(t, ctx, dir, append(append([]string{"sign-blob", "--bundle", "blob.sigstore.json"}, signFlags...), blob)...)
			c.mustRun(t, ctx, dir, append(append([]string{"attest-blob", "--bundle", "att.sigstore.json",
				"--predicate", "predicate.json", "--type", "https://example.com/cosign-test/v1"}, signFlags...), blob)...)
			slsakitVerifiesSignerOnly(t, ctx, sk, st, dir, blob, "")
			// The bundles carry the real services' material: a Rekor v1
			// entry and an RFC 3161 timestamp.
			raw, err := os.ReadFile(filepath.Join(dir, "blob.sigstore.json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"tlogEntries"`, `"rfc3161Timestamps"`} {
				if !strings.Contains(string(raw), want) {
					t.Errorf("cosign %s bundle lacks %s:\n%s", cv.version, want, raw)
				}
			}
		})
	}
}
