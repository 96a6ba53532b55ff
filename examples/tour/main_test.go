package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
)

func TestTourDefault(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := run(context.Background(), config{out: out}, &stdout); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	for _, f := range []string{"provenance.json", "provenance.intoto.jsonl", "signer.pub", "hello-1.0.0.tar.gz", "sbom.spdx.json", "sbom.cdx.json"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s missing or empty: %v", f, err)
		}
	}
	if !strings.Contains(stdout.String(), "verification: PASS") || !strings.Contains(stdout.String(), "1 attestation(s), 1 verified") {
		t.Fatalf("summary does not report a pass:\n%s", stdout.String())
	}
	if !regexp.MustCompile(`(?m)^image: 127\.0\.0\.1:\d+/slsakit/tour@sha256:[0-9a-f]{64}$`).MatchString(stdout.String()) {
		t.Fatalf("no image line:\n%s", stdout.String())
	}
	// The statement file is the envelope's payload, byte for byte.
	stmt, _ := os.ReadFile(filepath.Join(out, "provenance.json"))
	jsonl, _ := os.ReadFile(filepath.Join(out, "provenance.intoto.jsonl"))
	if bytes.Count(jsonl, []byte("\n")) != 1 {
		t.Fatalf("jsonl has %d lines, want 1", bytes.Count(jsonl, []byte("\n")))
	}
	envs, err := sign.ReadJSONL(bytes.NewReader(jsonl))
	if err != nil || !bytes.Equal(envs[0].Payload, stmt) {
		t.Fatalf("envelope payload differs from provenance.json (err %v)", err)
	}
	st, err := provenance.Parse(stmt)
	if err != nil {
		t.Fatal(err)
	}
	// Its own Go modules are recorded as materials.
	var goMods int
	for _, m := range st.Provenance.ResolvedDependencies {
		if strings.HasPrefix(m.URI, "pkg:golang/") {
			goMods++
		}
	}
	if goMods == 0 {
		t.Errorf("no Go module materials recorded: %+v", st.Provenance.ResolvedDependencies)
	}
	// The SBOM files are byproducts of the build, by digest.
	for _, name := range []string{"sbom.spdx.json", "sbom.cdx.json"} {
		data, _ := os.ReadFile(filepath.Join(out, name))
		sum, _ := provenance.HashReader(bytes.NewReader(data))
		found := false
		for _, b := range st.Provenance.Byproducts {
			found = found || b.Name == name && b.Digest.Matches(sum)
		}
		if !found {
			t.Errorf("%s is not a byproduct with its digest: %+v", name, st.Provenance.Byproducts)
		}
	}
	if err := sbom.ValidateSPDX(mustRead(t, filepath.Join(out, "sbom.spdx.json"))); err != nil {
		t.Errorf("SPDX document invalid: %v", err)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(out, "sbom.spdx.json"))), "pkg:golang/example.com/hello@v1.0.0") {
		t.Errorf("SBOM does not describe the hello program")
	}
	if !strings.Contains(stdout.String(), "attested and attached, 1 verified") {
		t.Errorf("SBOM attestation not verified from the registry:\n%s", stdout.String())
	}

	// A consumer holding a modified artifact is told so.
	art := filepath.Join(out, "hello-1.0.0.tar.gz")
	if err := os.WriteFile(art, []byte("evil"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyFiles(context.Background(), out, art); !errors.Is(err, verify.ErrSubject) {
		t.Fatalf("modified artifact: err = %v, want ErrSubject", err)
	}
}

func TestTourWithEncryptedKey(t *testing.T) {
	dir := t.TempDir()
	key, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sign.WriteKeyPair(dir, "cosign", key, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COSIGN_PASSWORD", "s3cret")
	out := filepath.Join(dir, "out")
	var stdout bytes.Buffer
	if err := run(context.Background(), config{out: out, keyPath: files.PrivateKey}, &stdout); err != nil {
		t.Fatalf("run: %v", err)
	}
	pub, _ := os.ReadFile(filepath.Join(out, "signer.pub"))
	want, _ := os.ReadFile(files.PublicKey)
	if !bytes.Equal(pub, want) {
		t.Fatalf("signer.pub is not the given key's public key")
	}
	if !strings.Contains(stdout.String(), key.KeyID()) {
		t.Fatalf("summary does not name the key %s", key.KeyID())
	}

	t.Setenv("COSIGN_PASSWORD", "wrong")
	if err := run(context.Background(), config{out: out, keyPath: files.PrivateKey}, &stdout); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestTourGivenArtifact(t *testing.T) {
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	if err := os.WriteFile(art, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), config{out: filepath.Join(dir, "out"), artifact: art}, &stdout); err != nil {
		t.Fatal(err)
	}
	sum, _ := provenance.HashFile(context.Background(), art)
	if !strings.Contains(stdout.String(), "artifact:   "+art+" sha256:"+sum["sha256"]) {
		t.Fatalf("summary:\n%s", stdout.String())
	}
}

func TestTourFormatsAndRegistry(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	for _, format := range []string{"referrers", "legacy", "both"} {
		t.Run(format, func(t *testing.T) {
			var stdout bytes.Buffer
			cfg := config{out: t.TempDir(), format: format, registry: reg.Host() + "/team/" + format}
			if err := run(context.Background(), cfg, &stdout); err != nil {
				t.Fatalf("run: %v\n%s", err, stdout.String())
			}
			ref := regexp.MustCompile(`(?m)^image: (\S+)$`).FindStringSubmatch(stdout.String())
			if ref == nil || !strings.HasPrefix(ref[1], reg.Host()+"/team/"+format+"@sha256:") {
				t.Fatalf("image line: %q", stdout.String())
			}
			// Provenance and SBOM are in the layout asked for, and only there.
			atts, err := oci.List(context.Background(), ref[1], oci.WithInsecure())
			if err != nil || len(atts) != 2 {
				t.Fatalf("list: %v, %d attestations", err, len(atts))
			}
			want := map[string]oci.Layout{"referrers": oci.Referrers, "legacy": oci.Legacy, "both": oci.Both}[format]
			types := map[string]bool{}
			for _, a := range atts {
				if a.Layout != want {
					t.Fatalf("%s found in %v, want %v", a.PredicateType, a.Layout, want)
				}
				types[a.PredicateType] = true
			}
			if !types[provenance.PredicateSLSAProvenanceV1] || !types[sbom.PredicateSPDX] {
				t.Fatalf("predicate types: %v", types)
			}
		})
	}
	if err := run(context.Background(), config{out: t.TempDir(), format: "sideways"}, io.Discard); err == nil {
		t.Fatal("bad -format accepted")
	}
	if err := run(context.Background(), config{out: t.TempDir(), registry: "not a repo"}, io.Discard); err == nil {
		t.Fatal("bad -registry accepted")
	}
}

func TestTourKMS(t *testing.T) {
	srv := kmstest.NewServer(t)
	version := srv.CreateKey("projects/acme/locations/global/keyRings/release", "provenance", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256)
	var stdout bytes.Buffer
	out := t.TempDir()
	cfg := config{out: out, kmsKey: srv.Ref(version), kmsAddr: srv.Addr()}
	if err := run(context.Background(), cfg, &stdout); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "signed by:  "+srv.Ref(version)+" (key ID SHA256:") {
		t.Fatalf("summary does not name the KMS key:\n%s", stdout.String())
	}
	// signer.pub is the KMS key's public key, and one sign call was made.
	pub, _ := os.ReadFile(filepath.Join(out, "signer.pub"))
	want, _ := sign.MarshalPublicKey(srv.PublicKey(version))
	if !bytes.Equal(pub, want) {
		t.Fatal("signer.pub is not the KMS public key")
	}
	if n := srv.Calls(kmstest.AsymmetricSign); n != 2 { // provenance and SBOM
		t.Fatalf("%d AsymmetricSign calls, want 2", n)
	}
	if err := run(context.Background(), config{out: out, kmsKey: srv.Ref(version), keyPath: "x"}, io.Discard); err == nil {
		t.Fatal("-kms with -key accepted")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTourKeyless(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("release@example.com")
	if err != nil {
		t.Fatal(err)
	}
	root, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rootPath := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(rootPath, root, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"referrers", "both"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(dir, format)
			cfg := config{out: out, format: format, keyless: true, idToken: tok,
				fulcioURL: svc.FulcioURL(), rekorURL: svc.RekorURL(), tsaURL: svc.TSAURL(), trustedRoot: rootPath}
			var stdout bytes.Buffer
			if err := run(context.Background(), cfg, &stdout); err != nil {
				t.Fatalf("run: %v\n%s", err, stdout.String())
			}
			for _, want := range []string{"identity:   release@example.com", "bundle from the registry verified against the trusted root"} {
				if !strings.Contains(stdout.String(), want) {
					t.Fatalf("summary lacks %q:\n%s", want, stdout.String())
				}
			}
			if b := mustRead(t, filepath.Join(out, "provenance.sigstore.json")); !bytes.Contains(b, []byte(`"certificate"`)) {
				t.Fatalf("bundle has no certificate: %.300s", b)
			}
		})
	}
	// The legacy layer carries cosign's certificate annotation.
	ref := regexp.MustCompile(`(?m)^image: (\S+)$`)
	var stdout bytes.Buffer
	reg := ocitest.NewRegistry(t)
	cfg := config{out: filepath.Join(dir, "legacy"), format: "legacy", keyless: true, idToken: tok, registry: reg.Host() + "/k",
		fulcioURL: svc.FulcioURL(), rekorURL: svc.RekorURL(), trustedRoot: rootPath}
	if err := run(context.Background(), cfg, &stdout); err != nil {
		t.Fatal(err)
	}
	m := ref.FindStringSubmatch(stdout.String())
	atts, err := oci.List(context.Background(), m[1], oci.WithInsecure(), oci.WithLayout(oci.Legacy))
	if err != nil || len(atts) != 2 {
		t.Fatalf("list: %v %d", err, len(atts))
	}
	if atts[0].Descriptor.Annotations["dev.sigstore.cosign/certificate"] == "" {
		t.Fatalf("legacy layer lacks the certificate annotation: %v", atts[0].Descriptor.Annotations)
	}
	// A malformed token is refused before any network call.
	if err := run(context.Background(), config{out: dir, keyless: true, idToken: "not.a.jwt"}, io.Discard); err == nil {
		t.Fatal("malformed token accepted")
	}
}
