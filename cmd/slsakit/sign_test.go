package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// TestCLISign: sign images with a key, a KMS key and keyless, verify their
// signatures with --signature, and refuse a signature moved to another
// image and flags that would be ignored.
func TestCLISign(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	dir := t.TempDir()
	key, pub := keys(t, dir, "release")
	_, strangerPub := keys(t, dir, "stranger")
	app := reg.PushRandomImage(t, "team/app")
	other := reg.PushRandomImage(t, "team/other")

	r := slsakit(t, "sign", "--key", key, "--insecure-registry", reg.Host()+"/team/app:latest").want(t, exitOK)
	if !strings.Contains(r.stdout, "signed "+app) || !strings.Contains(r.stdout, ".sig") {
		t.Fatalf("sign output: %s", r.stdout)
	}
	slsakit(t, "verify", "--signature", "--key", pub, "--image", app, "--insecure-registry").want(t, exitOK)
	slsakit(t, "verify", "--signature", "--key", strangerPub, "--image", app, "--insecure-registry").want(t, exitRejected)
	// No attestation was written: verifying attestations still fails.
	slsakit(t, "verify", "--key", pub, "--image", app, "--insecure-registry").want(t, exitRejected)

	// A signature copied onto another image is refused there.
	reg.CopyAttestations(t, app, other)
	r = slsakit(t, "verify", "--signature", "--key", pub, "--image", other, "--insecure-registry").want(t, exitRejected)
	if !strings.Contains(r.stdout, "subject digest mismatch") {
		t.Fatalf("moved signature: %s", r.stdout)
	}

	// cosign v3's layout.
	v3 := reg.PushRandomImage(t, "team/v3")
	r = slsakit(t, "sign", "--key", key, "--layout", "referrers", "--insecure-registry", v3).want(t, exitOK)
	if !strings.Contains(r.stdout, "referrer sha256:") || strings.Contains(r.stdout, ".sig") {
		t.Fatalf("sign --layout referrers output: %s", r.stdout)
	}
	slsakit(t, "verify", "--signature", "--key", pub, "--image", v3, "--insecure-registry", "--json").want(t, exitOK)

	// KMS.
	srv := kmstest.NewServer(t)
	ref := srv.Ref(srv.CreateKey("projects/p/locations/global/keyRings/r", "img", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256))
	kmsImg := reg.PushRandomImage(t, "team/kms")
	slsakit(t, "sign", "--kms", ref, "--kms-endpoint", srv.Addr(), "--insecure-registry", kmsImg).want(t, exitOK)
	slsakit(t, "verify", "--signature", "--kms-key", ref, "--kms-endpoint", srv.Addr(), "--image", kmsImg, "--insecure-registry").want(t, exitOK)

	// Flags that would be ignored, and missing inputs.
	slsakit(t, "verify", "--signature", "--key", pub, "--image", app, "--builder-id", builder, "--insecure-registry").want(t, exitUsage)
	slsakit(t, "verify", "--signature", "--key", pub, "--envelope", "x", "f").want(t, exitUsage)
	slsakit(t, "verify", "--signature", "--policy", "p.yaml", "--image", app).want(t, exitUsage)
	slsakit(t, "sign", "--key", key).want(t, exitUsage)
	slsakit(t, "sign", "--key", key, "--bundle-out", "b.json", app).want(t, exitUsage)
	slsakit(t, "sign", "--key", key, "--keyless", app).want(t, exitUsage)
	slsakit(t, "sign", "--key", key, "--layout", "sideways", app).want(t, exitUsage)
}

// TestCLISignKeyless: a keyless image signature (a referrer bundle with
// certificate, log entry and timestamp) verifies for its identity only.
func TestCLISignKeyless(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "team/keyless")
	slsakit(t, "sign", "--keyless", "--id-token", tok, "--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(),
		"--tsa-url", svc.TSAURL(), "--insecure-registry", img).want(t, exitOK)
	sigs, err := oci.ListSignatures(context.Background(), img, oci.WithInsecure())
	if err != nil || len(sigs) != 1 || sigs[0].Layout != oci.Referrers || sigs[0].Attestation.Bundle == nil {
		t.Fatalf("ListSignatures: %v %+v", err, sigs)
	}
	root, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	rootPath := filepath.Join(t.TempDir(), "trusted_root.json")
	os.WriteFile(rootPath, root, 0o644)
	id := []string{"verify", "--signature", "--trusted-root", rootPath, "--certificate-oidc-issuer", svc.Issuer.URL(), "--image", img, "--insecure-registry"}
	slsakit(t, append(id, "--certificate-identity", "ci@example.com")...).want(t, exitOK)
	slsakit(t, append(id, "--certificate-identity", "mallory@example.com")...).want(t, exitRejected)
}
