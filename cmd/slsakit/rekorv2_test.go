package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// Every keyless signing command takes --signing-config (attest, sign and
// sign-blob fail on main: the flag did not exist) and, given one that
// advertises Rekor v1 and v2, logs in v2 with a timestamp; the results
// verify offline.
func TestCLISigningConfigRekorV2(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sc, err := svc.SigningConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	scPath := filepath.Join(dir, "signing_config.json")
	os.WriteFile(scPath, sc, 0o644)
	rootPath := writeTrustedRoot(t, svc, dir)
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	keyless := []string{"--keyless", "--id-token", tok, "--signing-config", scPath}
	id := []string{"--trusted-root", rootPath, "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", "ci@example.com"}

	attBundle := filepath.Join(dir, "att.sigstore.json")
	slsakit(t, append(append([]string{"attest", "--builder-id", builder, "--param", "a=b", "--bundle-out", attBundle,
		"--out", filepath.Join(dir, "app.intoto.jsonl")}, keyless...), art)...).want(t, exitOK)
	slsakit(t, append(append([]string{"verify", "--bundle", attBundle}, id...), art)...).want(t, exitOK)

	blobBundle := filepath.Join(dir, "blob.sigstore.json")
	slsakit(t, append(append([]string{"sign-blob", "--bundle", blobBundle}, keyless...), art)...).want(t, exitOK)
	slsakit(t, append(append([]string{"verify-blob", "--bundle", blobBundle}, id...), art)...).want(t, exitOK)

	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "team/v2")
	slsakit(t, append(append([]string{"sign", "--insecure-registry"}, keyless...), img)...).want(t, exitOK)
	slsakit(t, append([]string{"verify", "--signature", "--image", img, "--insecure-registry"}, id...)...).want(t, exitOK)

	if svc.LogV2.Size() != 3 || svc.Log.Size() != 0 {
		t.Errorf("v2 log %d, v1 log %d entries; want 3 and 0", svc.LogV2.Size(), svc.Log.Size())
	}
	for _, p := range []string{attBundle, blobBundle} {
		if b, _ := os.ReadFile(p); !bytes.Contains(b, []byte(`"version":"0.0.2"`)) {
			t.Errorf("%s has no Rekor v2 entry: %.300s", p, b)
		}
	}

	// The flag goes with --keyless and without the URL flags.
	slsakit(t, "sign-blob", "--keyless", "--id-token", tok, "--signing-config", scPath, "--rekor-url", svc.RekorURL(),
		"--bundle", blobBundle, art).want(t, exitUsage)
	slsakit(t, "sign-blob", "--key", "k.pem", "--signing-config", scPath, "--bundle", blobBundle, art).want(t, exitUsage)

	// A config that advertises a v2 log and no timestamp authority would
	// make bundles that never verify: refused, nothing logged.
	var doc map[string]any
	if err := json.Unmarshal(sc, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "tsaUrls")
	noTSA, _ := json.Marshal(doc)
	os.WriteFile(scPath, noTSA, 0o644)
	r := slsakit(t, append(append([]string{"sign-blob", "--bundle", blobBundle}, keyless...), art)...).want(t, exitError)
	if !strings.Contains(r.stderr, "timestamp authority") || svc.LogV2.Size() != 3 {
		t.Errorf("v2 without TSA: log %d entries; stderr: %s", svc.LogV2.Size(), r.stderr)
	}
}
