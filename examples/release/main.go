// Command release attests a Kubernetes-shaped release: one build that makes
// dozens of artifacts and 30 multi-platform images, described by ONE signed
// provenance.
//
// It generates 40 release files, deterministically (client tarballs for 11
// platforms, node, server and test tarballs, the sources, and bare kubectl
// binaries), with a real Go program built by the local toolchain as
// bin/linux/amd64/kubectl; builds 30 small images (kube-apiserver, …,
// kubectl) for linux/amd64, arm64, ppc64le, s390x and arm on a base image,
// each behind an OCI index, and pushes them to a registry (by default one it
// starts in-process on loopback); and records one provenance whose subjects
// are every release file (hashed in parallel), every index and every
// platform image it lists (provenance.AddSubjectImage), with the base image
// as a material pinned by digest. It signs that provenance, an SPDX SBOM of
// kubectl, and an SPDX SBOM of every platform image (sbom.ScanIndex), and
// attaches them in one oci.AttachAll: the provenance to each index and,
// recursively, its platform images; each SBOM to its platform image. It
// signs every index and platform image as cosign sign does (oci.Sign) and
// every release file as cosign sign-blob does (sign.SignBlob: a Sigstore
// bundle and a detached .sig).
//
// Then it verifies as consumers would: every release file against the
// provenance, by its own digest and name, and its blob signature; every
// image's signature; kubectl's linux/amd64 image through its index; and
// every platform image of every index against a policy file (builder, build type, required provenance and SPDX SBOM,
// pinned materials, trusted signer for the registry). Last, per-subproject
// trust delegated through TUF (delegation.go): a loopback TUF repository
// delegates the kube-* images to the kube subproject, whose rule alone
// admits them, until the delegation is revoked.
//
// It writes into -out DIR (default: a temporary directory, removed at exit):
//
//	DIR/dist/...                    the release files
//	DIR/provenance.intoto.jsonl     the signed provenance
//	DIR/sbom.intoto.jsonl           the signed SPDX SBOM of kubectl
//	DIR/image-sboms.intoto.jsonl    the signed SPDX SBOMs of the 150 platform images
//	DIR/signatures/...              FILE.sigstore.json and FILE.sig of every release file
//	DIR/signer.pub                  the public key
//	DIR/policy.yaml                 the consumer's policy
//
// With -registry HOST[:PORT]/DIR/kubectl, image NAME goes to
// HOST[:PORT]/DIR/NAME and the base image to HOST[:PORT]/DIR/kubectl-base.
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
	"sync"

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
	Files          int      // release files, each verified against the provenance
	Subjects       int      // provenance subjects: the files, indexes and platform images
	Image          string   // the kubectl index, by digest
	Images         []string // every index, by digest
	PlatformImages int      // platform images, each attested and checked against the policy
	Base           string   // the base image, by digest
	Requests       int      // registry requests of the one AttachAll
	SignedImages   int      // indexes and platform images signed and verified as cosign sign does
	SignedFiles    int      // release files signed and verified as cosign sign-blob does
	Delegation     *delegation
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
	images, err := buildImages(ctx, *tg, base, kubectl)
	if err != nil {
		return nil, err
	}
	var kubectlImage *releaseImage
	for _, img := range images {
		if img.name == "kubectl" {
			kubectlImage = img
		}
	}

	// Record one provenance for the whole release: every file, and every
	// image as its index and each platform image the index lists.
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
	resolver := oci.NewResolver(regOpts...)
	for _, img := range images {
		if err := rec.AddSubjectImage(ctx, img.ref, resolver); err != nil {
			return nil, err
		}
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

	// The SBOM of the Go program, about the release's kubectl binary.
	kubectlDigest, err := verify.DigestOfFile(ctx, filepath.Join(dist, kubectlPath))
	if err != nil {
		return nil, err
	}
	bom, err := sbom.FromBinary(kubectl, sbom.WithMainVersion(version), sbom.WithToolName("slsakit-release-example", "v1"))
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	sbomStmt, err := bom.SPDXStatement(intoto.ResourceDescriptor{Name: kubectlPath, Digest: kubectlDigest})
	if err != nil {
		return nil, err
	}

	// Sign both and write them out; an SBOM of every platform image.
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
	envs := map[string]*sign.Envelope{}
	for name, s := range map[string][]byte{"provenance.intoto.jsonl": stmt, "sbom.intoto.jsonl": sbomStmt} {
		env, err := sign.SignStatement(ctx, s, signer)
		if err != nil {
			return nil, err
		}
		envs[name] = env
		if err := writeJSONL(filepath.Join(out, name), env); err != nil {
			return nil, err
		}
	}
	sboms, err := imageSBOMs(ctx, images, signer)
	if err != nil {
		return nil, err
	}
	var all []*sign.Envelope
	for _, s := range sboms {
		all = append(all, s...)
	}
	if err := writeJSONL(filepath.Join(out, "image-sboms.intoto.jsonl"), all...); err != nil {
		return nil, err
	}

	// Attach it all in one call: the provenance to every index and
	// platform image, each SBOM to its platform image.
	requests, err := attachRelease(ctx, images, envs["provenance.intoto.jsonl"], sboms, regOpts)
	if err != nil {
		return nil, err
	}
	// Sign every image as cosign sign does, and every release file as
	// cosign sign-blob does.
	signedImages, err := signImages(ctx, images, signer, regOpts)
	if err != nil {
		return nil, err
	}
	sigDir := filepath.Join(out, "signatures")
	if err := signFiles(ctx, dist, sigDir, files, signer); err != nil {
		return nil, err
	}

	// Verify, as consumers would.
	n, err := verifyRelease(ctx, dist, filepath.Join(out, "provenance.intoto.jsonl"), pubPEM)
	if err != nil {
		return nil, err
	}
	verified, err := verifyImage(ctx, kubectlImage.ref, "linux/amd64", pubPEM, regOpts)
	if err != nil {
		return nil, err
	}
	blobSigs, imageSigs, err := verifySignatures(ctx, dist, sigDir, files, images, pubPEM, regOpts)
	if err != nil {
		return nil, err
	}
	policyFile := filepath.Join(out, "policy.yaml")
	if err := os.WriteFile(policyFile, policyYAML(repo), 0o644); err != nil {
		return nil, err
	}
	refs := make([]string, len(images))
	for i, img := range images {
		refs[i] = img.ref
	}
	checked, report, err := evaluatePolicy(ctx, policyFile, refs, regOpts)
	if err != nil {
		if report != nil {
			fmt.Fprint(stdout, report)
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	deleg, err := delegatedTrust(ctx, policyFile, pubPEM, images, regOpts)
	if err != nil {
		return nil, fmt.Errorf("delegated trust: %w", err)
	}

	platformImages := len(images) * len(imagePlatforms)
	fmt.Fprintf(stdout, "release:    %s, %d files in %s, each verified against the provenance\n", version, n, dist)
	fmt.Fprintf(stdout, "images:     %d images x %d platforms (%s) behind %d indexes, e.g. %s\n", len(images), len(imagePlatforms), strings.Join(imagePlatforms, ", "), len(images), kubectlImage.ref)
	fmt.Fprintf(stdout, "base:       %s (material, pinned by digest)\n", base.ref)
	fmt.Fprintf(stdout, "provenance: 1 statement, %d subjects (%d files, %d indexes, %d platform images); signed by %s\n", len(parsed.Subjects), len(files), len(images), platformImages, signer.KeyID())
	fmt.Fprintf(stdout, "attached:   provenance to %d indexes and %d platform images, %d SPDX image SBOMs; one AttachAll, %d requests (%.1f per image)\n",
		len(images), platformImages, platformImages, requests, float64(requests)/float64(len(images)+platformImages))
	fmt.Fprintf(stdout, "signed:     %d images (indexes and platform images) as cosign sign does; %d files as cosign sign-blob does, in %s\n", signedImages, len(files), sigDir)
	fmt.Fprintf(stdout, "verified:   kubectl linux/amd64 through its index: %d attestations; SPDX SBOM of %s; %d blob signatures; %d image signatures\n", verified, kubectlPath, blobSigs, imageSigs)
	fmt.Fprintf(stdout, "policy:     %s: PASS for %d platform images (builder, build type, provenance + SPDX, pinned materials, signer for the registry)\n", policyFile, checked)
	fmt.Fprintf(stdout, "delegated:  TUF delegates %s to the kube subproject: %d images admitted by its rule, %d others refused; %d admitted after revoking it\n",
		deleg.Pattern, deleg.Admitted, deleg.Refused, deleg.Revoked)
	if note != "" {
		fmt.Fprintf(stdout, "note:       %s\n", note)
	}
	if cfg.out == "" {
		fmt.Fprintln(stdout, "all verified; give -out DIR to keep the files")
	} else {
		fmt.Fprintf(stdout, "all verified; wrote %s\n", filepath.Join(out, "{dist/,provenance.intoto.jsonl,sbom.intoto.jsonl,image-sboms.intoto.jsonl,signer.pub,policy.yaml}"))
	}
	return &summary{Files: n, Subjects: len(parsed.Subjects), Image: kubectlImage.ref, Images: refs, Base: base.ref,
		PlatformImages: platformImages, Requests: requests, SignedImages: signedImages, SignedFiles: blobSigs, Delegation: deleg}, nil
}

func writeJSONL(path string, envs ...*sign.Envelope) error {
	var jsonl bytes.Buffer
	if err := sign.WriteJSONL(&jsonl, envs...); err != nil {
		return err
	}
	return os.WriteFile(path, jsonl.Bytes(), 0o644)
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

// verifyImage verifies the provenance and SBOM attestations of the
// platform image of the index ref from the registry and returns how many
// verified.
func verifyImage(ctx context.Context, ref, platform string, pubPEM []byte, regOpts []oci.Option) (int, error) {
	auth, err := verify.Keys(verify.WithPublicKeyPEM(pubPEM))
	if err != nil {
		return 0, err
	}
	opts := append(regOpts[:len(regOpts):len(regOpts)], oci.WithPlatform(platform))
	n := 0
	for _, want := range []verify.Expectations{
		{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID, BuildType: buildType},
		{PredicateType: sbom.PredicateSPDX},
	} {
		res, err := verify.VerifyImage(ctx, auth, ref, want, opts...)
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

// evaluatePolicy evaluates the image a node of each release platform
// pulls from each index in refs against the policy file, and returns how
// many passed, the report of the first that failed, and every failure.
func evaluatePolicy(ctx context.Context, policyFile string, refs []string, regOpts []oci.Option) (int, *verify.Report, error) {
	p, err := verify.LoadPolicyFile(policyFile)
	if err != nil {
		return 0, nil, err
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	var (
		mu     sync.Mutex
		passed int
		first  *verify.Report
		errs   []error
	)
	n := len(imagePlatforms)
	forEach(len(refs)*n, func(i int) error {
		ref, platform := refs[i/n], imagePlatforms[i%n]
		rep, err := eng.EvaluateImage(ctx, ref, append(regOpts[:len(regOpts):len(regOpts)], oci.WithPlatform(platform))...)
		if err == nil && !rep.Passed() {
			err = errors.New("policy not met")
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if first == nil {
				first = rep
			}
			errs = append(errs, fmt.Errorf("%s %s: %w", ref, platform, err))
		} else {
			passed++
		}
		return nil
	})
	return passed, first, errors.Join(errs...)
}
