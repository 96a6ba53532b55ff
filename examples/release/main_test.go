package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// released runs the example against a registry that outlives run, so the
// test can keep checking the image afterwards.
func released(t *testing.T) (out string, sum *summary, stdout string) {
	t.Helper()
	reg := ocitest.NewRegistry(t)
	out = t.TempDir()
	var buf bytes.Buffer
	sum, err := run(context.Background(), config{out: out, registry: reg.Host() + "/k8s/kubectl"}, &buf)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, buf.String())
	}
	return out, sum, buf.String()
}

// The default configuration (no flags: a temporary -out, an in-process
// registry) has no test of its own here: CI's examples step runs it
// (`go run .`, which exits 1 unless every check passes), without the race
// detector, and a second full release under -race here proved nothing
// TestRelease does not. TestRelease checks the counts; internal/demo's
// TestTarget the in-process registry.

// TestRelease runs the release once (it is the costly part) and checks
// it, then tampers with its files and its policy.
func TestRelease(t *testing.T) {
	out, sum, stdout := released(t)
	t.Run("released", func(t *testing.T) { checkRelease(t, out, sum, stdout) })
	t.Run("signatures", func(t *testing.T) { checkSignatures(t, out, sum) })
	t.Run("tampered", func(t *testing.T) { checkTampered(t, out) })
	t.Run("policy rejects", func(t *testing.T) { checkPolicyRejects(t, out, sum) })
}

func checkRelease(t *testing.T, out string, sum *summary, stdout string) {
	ctx := context.Background()
	dist := filepath.Join(out, "dist")
	if d := sum.Delegation; d == nil || d.Admitted != 7 || d.Refused != 23 || d.Revoked != 0 {
		t.Errorf("delegated trust: %+v, want the 7 kube-* images admitted, 23 refused, none after revocation", d)
	}
	for _, want := range []string{"all verified", "40 files in " + dist, "220 subjects", "2 attestations", "PASS for 150 platform images", sum.Image, "7 images admitted by its rule"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}

	// One provenance: every file of dist by its own digest, the image by its
	// digest, the base image as a pinned material.
	prov := payload(t, filepath.Join(out, "provenance.intoto.jsonl"))
	st, err := provenance.Parse(prov)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(dist, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dist, path)
		want, err := provenance.HashFile(ctx, path)
		if err != nil {
			return err
		}
		if sub, ok := st.Subject(filepath.ToSlash(rel)); !ok || !sub.Digest.Matches(want) {
			t.Errorf("%s: no subject with its digest", rel)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 40 || len(st.Subjects) != 220 || sum.Files != 40 || sum.Subjects != 220 || sum.PlatformImages != 150 || len(sum.Images) != 30 {
		t.Errorf("%d files, %d subjects, summary %d files, %d subjects, %d platform images, %d indexes; want 40, 220, 40, 220, 150, 30",
			files, len(st.Subjects), sum.Files, sum.Subjects, sum.PlatformImages, len(sum.Images))
	}
	// Every index and every platform image it lists is a subject, and
	// holds the provenance and (platform images) its SPDX SBOM.
	for _, ref := range sum.Images {
		repo, indexDigest, _ := strings.Cut(ref, "@")
		if sub, ok := st.Subject(repo); !ok || "sha256:"+sub.Digest["sha256"] != indexDigest {
			t.Errorf("index subject %s: %+v, want %s", repo, sub, indexDigest)
		}
		idx, err := oci.ReadIndex(ctx, ref, oci.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		if len(idx.Manifests) != 5 {
			t.Errorf("%s: %d platform images", ref, len(idx.Manifests))
		}
		for _, m := range idx.Manifests {
			p := oci.PlatformString(m.Platform)
			if sub, ok := st.Subject(provenance.PlatformSubjectName(repo, indexDigest, p)); !ok || sub.Digest["sha256"] != m.Descriptor.Digest.Hex {
				t.Errorf("%s %s: subject %+v, want %s", ref, p, sub, m.Descriptor.Digest)
			}
			atts, err := oci.List(ctx, m.Ref(repo), oci.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]bool{}
			for _, a := range atts {
				types[a.PredicateType] = true
			}
			if len(atts) != 2 || !types[provenance.PredicateSLSAProvenanceV1] || !types[sbom.PredicateSPDX] {
				t.Errorf("%s %s: attestations %v", ref, p, types)
			}
		}
	}
	baseRepo, baseDigest, _ := strings.Cut(sum.Base, "@sha256:")
	found := false
	for _, m := range st.Provenance.ResolvedDependencies {
		found = found || m.URI == "oci://"+baseRepo && m.Digest["sha256"] == baseDigest
	}
	if !found {
		t.Errorf("base image %s not a pinned material: %+v", sum.Base, st.Provenance.ResolvedDependencies)
	}

	// The SBOM: SPDX, about the image and kubectl, describing the Go program.
	sbomStmt, err := provenance.Parse(payload(t, filepath.Join(out, "sbom.intoto.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	kubectlDigest, _ := provenance.HashFile(ctx, filepath.Join(dist, kubectlPath))
	if sub, ok := sbomStmt.Subject(kubectlPath); sbomStmt.PredicateType != sbom.PredicateSPDX || !ok || !sub.Digest.Matches(kubectlDigest) {
		t.Errorf("SBOM statement: predicate %s, kubectl subject %+v", sbomStmt.PredicateType, sub)
	}
	if !strings.Contains(stdout, "note:") && !bytes.Contains(sbomStmt.Predicate, []byte("pkg:golang/k8s.io/kubectl@"+version)) {
		t.Errorf("SBOM does not describe the kubectl program")
	}

	// The files are reproducible: the same kubectl gives the same bytes.
	again := t.TempDir()
	if _, err := writeRelease(again, filepath.Join(dist, kubectlPath)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kubernetes-server-linux-amd64.tar.gz", "kubernetes-client-linux-amd64.tar.gz", "bin/windows/arm64/kubectl.exe"} {
		a, _ := os.ReadFile(filepath.Join(dist, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s is not reproducible", name)
		}
	}
}

func checkTampered(t *testing.T, out string) {
	ctx := context.Background()
	dist := filepath.Join(out, "dist")
	provFile := filepath.Join(out, "provenance.intoto.jsonl")
	pub := mustRead(t, filepath.Join(out, "signer.pub"))
	if _, err := verifyRelease(ctx, dist, provFile, pub); err != nil {
		t.Fatalf("untouched release: %v", err)
	}

	cases := []struct {
		name   string
		tamper func(t *testing.T) (undo func())
	}{
		{"modified tarball", func(t *testing.T) func() {
			return replace(t, filepath.Join(dist, "kubernetes-server-linux-amd64.tar.gz"), []byte("a backdoored server"))
		}},
		// A genuine file under another file's name: its digest is a subject,
		// but not under this name.
		{"swapped platforms", func(t *testing.T) func() {
			return replace(t, filepath.Join(dist, "bin/darwin/arm64/kubectl"), mustRead(t, filepath.Join(dist, "bin/linux/arm64/kubectl")))
		}},
		{"file not in the release", func(t *testing.T) func() {
			path := filepath.Join(dist, "kubernetes-extra.tar.gz")
			if err := os.WriteFile(path, []byte("extra"), 0o644); err != nil {
				t.Fatal(err)
			}
			return func() { os.Remove(path) }
		}},
	}
	for _, c := range cases {
		undo := c.tamper(t)
		_, err := verifyRelease(ctx, dist, provFile, pub)
		undo()
		if !errors.Is(err, verify.ErrSubject) {
			t.Errorf("%s: err = %v, want verify.ErrSubject", c.name, err)
		}
	}

	// Another key: no file verifies.
	other, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := sign.MarshalPublicKey(other.Public())
	if _, err := verifyRelease(ctx, dist, provFile, otherPub); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("other key: err = %v, want verify.ErrSignature", err)
	}
}

func checkPolicyRejects(t *testing.T, out string, sum *summary) {
	ctx := context.Background()
	policy := string(mustRead(t, filepath.Join(out, "policy.yaml")))
	other, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := sign.MarshalPublicKey(other.Public())
	if err := os.WriteFile(filepath.Join(out, "other.pub"), otherPub, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new string
		want           error
	}{
		{"CycloneDX required too", "requiredPredicates: [", "requiredPredicates: [" + sbom.PredicateCycloneDX + ", ", verify.ErrMissingPredicate},
		{"another builder", "- id: " + builderID, "- id: " + builderID + "-fork", verify.ErrBuilder},
		{"another signer", "file: signer.pub", "file: other.pub", verify.ErrNoAttestation},
		{"no rule for the registry", `artifacts: "`, `artifacts: "registry.example.com/`, verify.ErrNoTrustedSigners},
	}
	regOpts := []oci.Option{oci.WithInsecure()}
	for _, c := range cases {
		if !strings.Contains(policy, c.old) {
			t.Fatalf("%s: policy lacks %q", c.name, c.old)
		}
		file := filepath.Join(out, "policy-tampered.yaml")
		if err := os.WriteFile(file, []byte(strings.Replace(policy, c.old, c.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := evaluatePolicy(ctx, file, sum.Images[:2], regOpts); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func payload(t *testing.T, jsonl string) []byte {
	t.Helper()
	envs, err := sign.ReadJSONL(bytes.NewReader(mustRead(t, jsonl)))
	if err != nil || len(envs) != 1 {
		t.Fatalf("%s: %d envelopes, %v", jsonl, len(envs), err)
	}
	return envs[0].Payload
}

// replace overwrites a file and returns a function that restores it.
func replace(t *testing.T, path string, data []byte) func() {
	t.Helper()
	orig := mustRead(t, path)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Error(err)
		}
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

// checkSignatures: every image and release file is signed by the release
// key and nothing else passes: another key, or one file's signature
// presented for another file.
func checkSignatures(t *testing.T, out string, sum *summary) {
	ctx := context.Background()
	if sum.SignedImages != 180 || sum.SignedFiles != 40 {
		t.Errorf("signed %d images and %d files, want 180 and 40", sum.SignedImages, sum.SignedFiles)
	}
	pub, err := os.ReadFile(filepath.Join(out, "signer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	dist, sigDir := filepath.Join(out, "dist"), filepath.Join(out, "signatures")
	files := []string{kubectlPath, "kubernetes.tar.gz"}
	var images []*releaseImage
	for _, ref := range sum.Images[:2] {
		repo, _, _ := strings.Cut(ref, "@")
		idx, err := oci.ReadIndex(ctx, ref, oci.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		img := &releaseImage{ref: ref, platforms: map[string]string{}}
		for _, m := range idx.Manifests {
			img.platforms[oci.PlatformString(m.Platform)] = m.Ref(repo)
		}
		images = append(images, img)
	}
	if _, _, err := verifySignatures(ctx, dist, sigDir, files, images, pub, []oci.Option{oci.WithInsecure()}); err != nil {
		t.Fatalf("the release's own signatures: %v", err)
	}
	other, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _ := sign.MarshalPublicKey(other.Public())
	if _, _, err := verifySignatures(ctx, dist, sigDir, files[:1], nil, otherPub, nil); !errors.Is(err, verify.ErrSignature) {
		t.Errorf("another key: err = %v, want ErrSignature", err)
	}
	if _, _, err := verifySignatures(ctx, dist, sigDir, nil, images[:1], otherPub, []oci.Option{oci.WithInsecure()}); err == nil {
		t.Error("another key verified an image signature")
	}
	// kubectl's bundle presented as kubernetes.tar.gz's.
	moved := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(sigDir, filepath.FromSlash(kubectlPath)) + ".sigstore.json")
	os.WriteFile(filepath.Join(moved, "kubernetes.tar.gz.sigstore.json"), b, 0o644)
	if _, _, err := verifySignatures(ctx, dist, moved, []string{"kubernetes.tar.gz"}, nil, pub, nil); !errors.Is(err, verify.ErrSubject) && !errors.Is(err, verify.ErrSignature) {
		t.Errorf("a signature moved to another file: err = %v, want ErrSubject or ErrSignature", err)
	}
}
