// Command release attests a Kubernetes-style release: one build that makes
// dozens of artifacts and an image, described by ONE signed provenance.
//
// It generates 40 release files, deterministically (client tarballs for 11
// platforms, node, server and test tarballs, the sources, and bare kubectl
// binaries), with a real Go program built by the local toolchain as
// bin/linux/amd64/kubectl; pushes an image holding that kubectl, built on a
// base image, to a registry (by default one it starts in-process on
// loopback); and records one provenance whose subjects are every release file
// (hashed in parallel) and the image by digest, with the base image as a
// material pinned by digest. It signs that provenance and an SPDX SBOM of
// kubectl, writes both as .intoto.jsonl, and attaches both to the image.
//
// Then it verifies as consumers would: every release file against the
// provenance, by its own digest and name; the image's attestations; and the
// image against a policy file (builder, build type, required provenance and
// SPDX SBOM, pinned materials, trusted signer for the registry).
//
// It writes into -out DIR (default: a temporary directory, removed at exit):
//
//	DIR/dist/...                    the release files
//	DIR/provenance.intoto.jsonl     the signed provenance
//	DIR/sbom.intoto.jsonl           the signed SPDX SBOM of kubectl
//	DIR/signer.pub                  the public key
//	DIR/policy.yaml                 the consumer's policy
//
// Usage:
//
//	go run ./examples/release [-out DIR] [-key PATH] [-registry HOST[:PORT]/REPO]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/slsakit/slsakit/internal/demo"
	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

const (
	builderID = "https://github.com/slsakit/slsakit/examples/release@v1"
	buildType = "https://github.com/slsakit/slsakit/examples/release/buildtype@v1"
	version   = "v1.31.0"
)

type config struct {
	out      string // empty: a temporary directory, removed at exit
	keyPath  string // empty: an ephemeral ECDSA P-256 key
	registry string // HOST[:PORT]/REPO; empty: an in-process registry
}

// summary is what run did, for the caller (and the test) to inspect.
type summary struct {
	Files    int    // release files, each verified against the provenance
	Subjects int    // provenance subjects: the files and the image
	Image    string // the image, by digest
	Base     string // the base image, by digest
}

func main() {
	var cfg config
	flag.StringVar(&cfg.out, "out", "", "directory for the release files, attestations, key and policy (default: a temporary directory, removed at exit)")
	flag.StringVar(&cfg.keyPath, "key", "", "PEM private key to sign with (cosign's encrypted keys read COSIGN_PASSWORD); default: an ephemeral ECDSA P-256 key")
	flag.StringVar(&cfg.registry, "registry", "", "push the image to HOST[:PORT]/REPO (plain HTTP for loopback hosts); default: an in-process registry")
	flag.Parse()
	if _, err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, stdout io.Writer) (*summary, error) {
	out := cfg.out
	if out == "" {
		tmp, err := os.MkdirTemp("", "slsakit-release")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		out = tmp
	}
	dist := filepath.Join(out, "dist")
	tg, err := demo.NewTarget(cfg.registry, "k8s/kubectl")
	if err != nil {
		return nil, err
	}
	defer tg.Close()
	repo := tg.Repo
	var regOpts []oci.Option
	if tg.Insecure {
		regOpts = append(regOpts, oci.WithInsecure())
	}
	baseRepo := *tg // the base image goes to REPO-base
	baseRepo.Repo += "-base"

	// Build: the release files, a Go program among them, and the image.
	kubectl, note, err := buildKubectl(ctx, out)
	if err != nil {
		return nil, err
	}
	files, err := writeRelease(dist, kubectl)
	if err != nil {
		return nil, fmt.Errorf("release files: %w", err)
	}
	base, err := pushBase(ctx, baseRepo)
	if err != nil {
		return nil, err
	}
	img, err := pushImage(ctx, *tg, base, kubectl)
	if err != nil {
		return nil, err
	}

	// Record one provenance for the whole release.
	rec := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	rec.Start()
	if err := rec.SetExternalParameter("version", version); err != nil {
		return nil, err
	}
	if err := rec.SetExternalParameter("image", repo); err != nil {
		return nil, err
	}
	baseMaterial, err := provenance.ImageMaterial(ctx, base.ref) // a tag alone is refused
	if err != nil {
		return nil, err
	}
	if err := rec.AddMaterial(baseMaterial); err != nil {
		return nil, err
	}
	if err := rec.AddSubjectDir(ctx, dist); err != nil { // every file, hashed in parallel
		return nil, err
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: repo, Digest: intoto.DigestSet{"sha256": img.digest}}); err != nil {
		return nil, err
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return nil, err
	}
	parsed, err := provenance.Parse(stmt)
	if err != nil {
		return nil, err
	}

	// The SBOM of the Go program, about the image and the binary itself.
	kubectlDigest, err := verify.DigestOfFile(ctx, filepath.Join(dist, kubectlPath))
	if err != nil {
		return nil, err
	}
	bom, err := sbom.FromBinary(kubectl, sbom.WithMainVersion(version), sbom.WithToolName("slsakit-release-example", "v1"))
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	sbomStmt, err := bom.SPDXStatement(
		intoto.ResourceDescriptor{Name: repo, Digest: map[string]string{"sha256": img.digest}},
		intoto.ResourceDescriptor{Name: kubectlPath, Digest: kubectlDigest},
	)
	if err != nil {
		return nil, err
	}

	// Sign both, write them out, attach both to the image.
	signer, err := loadSigner(cfg.keyPath)
	if err != nil {
		return nil, err
	}
	pubPEM, err := sign.MarshalPublicKey(signer.Public())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, "signer.pub"), pubPEM, 0o644); err != nil {
		return nil, err
	}
	for name, s := range map[string][]byte{"provenance.intoto.jsonl": stmt, "sbom.intoto.jsonl": sbomStmt} {
		env, err := sign.SignStatement(ctx, s, signer)
		if err != nil {
			return nil, err
		}
		var jsonl bytes.Buffer
		if err := sign.WriteJSONL(&jsonl, env); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, name), jsonl.Bytes(), 0o644); err != nil {
			return nil, err
		}
		if _, err := oci.Attach(ctx, img.ref, &sign.Attestation{Envelope: env}, regOpts...); err != nil {
			return nil, fmt.Errorf("attach %s: %w", name, err)
		}
	}

	// Verify, as consumers would.
	n, err := verifyRelease(ctx, dist, filepath.Join(out, "provenance.intoto.jsonl"), pubPEM)
	if err != nil {
		return nil, err
	}
	verified, err := verifyImage(ctx, img.ref, pubPEM, regOpts)
	if err != nil {
		return nil, err
	}
	policyFile := filepath.Join(out, "policy.yaml")
	if err := os.WriteFile(policyFile, policyYAML(repo), 0o644); err != nil {
		return nil, err
	}
	report, err := evaluatePolicy(ctx, policyFile, img.ref, regOpts)
	if err != nil {
		if report != nil {
			fmt.Fprint(stdout, report)
		}
		return nil, fmt.Errorf("policy: %w", err)
	}

	fmt.Fprintf(stdout, "release:    %s, %d files in %s, each verified against the provenance\n", version, n, dist)
	fmt.Fprintf(stdout, "image:      %s\n", img.ref)
	fmt.Fprintf(stdout, "base:       %s (material, pinned by digest)\n", base.ref)
	fmt.Fprintf(stdout, "provenance: 1 statement, %d subjects (%d files and the image); signed by %s\n", len(parsed.Subjects), len(files), signer.KeyID())
	fmt.Fprintf(stdout, "attached:   provenance and SPDX SBOM of %s; %d attestations verified on the image\n", kubectlPath, verified)
	fmt.Fprintf(stdout, "policy:     %s: PASS (builder, build type, provenance + SPDX, pinned materials, signer for the registry)\n", policyFile)
	if note != "" {
		fmt.Fprintf(stdout, "note:       %s\n", note)
	}
	if cfg.out == "" {
		fmt.Fprintln(stdout, "all verified; give -out DIR to keep the files")
	} else {
		fmt.Fprintf(stdout, "all verified; wrote %s\n", filepath.Join(out, "{dist/,provenance.intoto.jsonl,sbom.intoto.jsonl,signer.pub,policy.yaml}"))
	}
	return &summary{Files: n, Subjects: len(parsed.Subjects), Image: img.ref, Base: base.ref}, nil
}

func loadSigner(keyPath string) (sign.Signer, error) {
	if keyPath != "" {
		return sign.LoadPrivateKeyFile(keyPath, sign.WithPasswordEnv("COSIGN_PASSWORD"))
	}
	return sign.GenerateKey(sign.ECDSAP256SHA256)
}

// verifyRelease checks every file under dist against the provenance, as a
// user who downloaded it would: by the file's own digest, then that the
// provenance records it under the same name (a kubectl for linux must not
// pass as the one for darwin). It returns how many files it verified.
func verifyRelease(ctx context.Context, dist, provenanceFile string, pubPEM []byte) (int, error) {
	envelope, err := os.ReadFile(provenanceFile)
	if err != nil {
		return 0, err
	}
	auth, err := verify.Keys(verify.WithPublicKeyPEM(pubPEM))
	if err != nil {
		return 0, err
	}
	att, err := verify.ParseAttestation(envelope)
	if err != nil {
		return 0, err
	}
	n := 0
	err = filepath.WalkDir(dist, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dist, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		digest, err := verify.DigestOfFile(ctx, path)
		if err != nil {
			return err
		}
		res, err := verify.Verify(ctx, auth, att, verify.Expectations{
			SubjectDigest: digest,
			PredicateType: provenance.PredicateSLSAProvenanceV1,
			BuilderID:     builderID,
			BuildType:     buildType,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if sub, ok := res.Statement.Subject(rel); !ok || !sub.Digest.Matches(digest) {
			return fmt.Errorf("%s: %w: the provenance records this file under another name", rel, verify.ErrSubject)
		}
		n++
		return nil
	})
	return n, err
}

// verifyImage verifies the image's provenance and SBOM attestations from
// the registry and returns how many verified.
func verifyImage(ctx context.Context, ref string, pubPEM []byte, regOpts []oci.Option) (int, error) {
	auth, err := verify.Keys(verify.WithPublicKeyPEM(pubPEM))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, want := range []verify.Expectations{
		{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID, BuildType: buildType},
		{PredicateType: sbom.PredicateSPDX},
	} {
		res, err := verify.VerifyImage(ctx, auth, ref, want, regOpts...)
		if err != nil {
			return 0, fmt.Errorf("verify image %s: %w", want.PredicateType, err)
		}
		n += len(res.Verified())
	}
	return n, nil
}

// policyYAML is the consumer's policy: who builds, what must be attached,
// whom to trust for images in the release's registry.
func policyYAML(repo string) []byte {
	registryHost, _, _ := strings.Cut(repo, "/")
	return fmt.Appendf(nil, `version: 1
builders:
  - id: %s
buildTypes: [%s]
requiredPredicates: [%s, %s]
materials:
  requireImageDigests: true
parameters:
  - name: version
    pattern: v1\.[0-9]+\.[0-9]+
signers:
  - artifacts: "%s/**"
    keys:
      - file: signer.pub
`, builderID, buildType, provenance.PredicateSLSAProvenanceV1, sbom.PredicateSPDX, registryHost)
}

func evaluatePolicy(ctx context.Context, policyFile, ref string, regOpts []oci.Option) (*verify.Report, error) {
	p, err := verify.LoadPolicyFile(policyFile)
	if err != nil {
		return nil, err
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		return nil, err
	}
	rep, err := eng.EvaluateImage(ctx, ref, regOpts...)
	if err == nil && !rep.Passed() {
		err = errors.New("policy not met")
	}
	return rep, err
}
