// Command quickstart is slsakit's pipeline in one file: build a release
// tarball and an image holding it, record SLSA v1 provenance and an SBOM,
// sign them with a key, attach them to the image in a registry (by default
// one started in-process) and verify them back as a consumer would. It
// writes provenance.json, provenance.intoto.jsonl, signer.pub,
// sbom.spdx.json and sbom.cdx.json to -out. examples/tour adds KMS and
// keyless signing.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	builderID = "https://github.com/slsakit/slsakit/examples/quickstart@v1"
	buildType = "https://github.com/slsakit/slsakit/examples/quickstart/buildtype@v1"
)

func main() {
	out := flag.String("out", "out", "directory to write the statement, envelope, public key and SBOMs to")
	key := flag.String("key", "", "PEM private key to sign with (cosign's encrypted keys read COSIGN_PASSWORD); default: a new ECDSA P-256 key")
	registry := flag.String("registry", "", "push the image to HOST[:PORT]/REPO (plain HTTP on loopback); default: an in-process registry")
	format := flag.String("format", "referrers", "attestation layout: referrers (OCI 1.1, cosign v3), legacy (cosign .att) or both")
	flag.Parse()
	if err := run(context.Background(), *out, *key, *registry, *format, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, keyPath, registry, format string, stdout io.Writer) error {
	layout, err := oci.ParseLayout(format)
	if err != nil {
		return err
	}
	signer, err := sign.GenerateKey(sign.ECDSAP256SHA256) // a new key, unless -key names one
	if keyPath != "" {
		signer, err = sign.LoadPrivateKeyFile(keyPath, sign.WithPasswordEnv("COSIGN_PASSWORD"))
	}
	if err != nil {
		return err
	}

	// 1. The build: a tarball holding a Go program, pushed as an image.
	tarball, program, img, err := demo.Release(ctx, out)
	if err != nil {
		return err
	}
	ref, regOpts, stop, err := demo.Push(ctx, registry, "slsakit/quickstart", img) // ref: REPO@sha256:…
	if err != nil {
		return err
	}
	defer stop()
	repo, hex, _ := strings.Cut(ref, "@sha256:")
	image := intoto.ResourceDescriptor{Name: repo, Digest: intoto.DigestSet{"sha256": hex}}

	// 2. Record what the build used (this git checkout, if any) and made.
	rec := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	rec.Start()
	var used []intoto.ResourceDescriptor
	if git, err := provenance.GitMaterial(ctx, "."); err == nil {
		used = append(used, git)
	}
	if err := errors.Join(rec.SetExternalParameter("artifact", filepath.Base(tarball)), rec.AddMaterial(used...),
		rec.AddSubjectFile(ctx, tarball), rec.AddSubject(image)); err != nil {
		return err
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return err
	}
	// ... and what the program inside is made of.
	bom, err := sbom.FromBinary(program, sbom.WithMainVersion("v1.0.0"))
	if err != nil {
		return err
	}
	bomStmt, err := bom.SPDXStatement(intoto.ResourceDescriptor{Name: repo, Digest: image.Digest})
	if err != nil {
		return err
	}

	// 3. Sign both statements, 4. attach them to the image by digest.
	var atts []*sign.Attestation
	for _, st := range [][]byte{stmt, bomStmt} {
		att, err := sign.Attest(ctx, st, signer)
		if err != nil {
			return err
		}
		if _, err := oci.Attach(ctx, ref, att, append(regOpts, oci.WithLayout(layout))...); err != nil {
			return err
		}
		atts = append(atts, att)
	}

	// 5. Verify from the registry, as a consumer would: signed by this key,
	// about this image, by this builder.
	auth, err := verify.Keys(verify.WithPublicKeys(signer.Public()))
	if err != nil {
		return err
	}
	want := verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID, BuildType: buildType}
	res, err := verify.VerifyImage(ctx, auth, ref, want, regOpts...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "image: %s\nsigned by:  %s\nverified:   %d of %d provenance attestation(s) (%s layout)\nwrote:      %s\n",
		ref, signer.KeyID(), len(res.Verified()), len(res.Attestations), layout, out)
	return writeFiles(out, stmt, atts[0].Envelope, signer, bom)
}

// writeFiles writes the statement, its envelope, the public key and the
// SBOM in both formats to dir.
func writeFiles(dir string, stmt []byte, env *sign.Envelope, signer sign.Signer, bom *sbom.SBOM) error {
	var jsonl bytes.Buffer
	pub, err1 := sign.MarshalPublicKey(signer.Public())
	spdx, err2 := bom.SPDX()
	cdx, err3 := bom.CycloneDX()
	if err := errors.Join(err1, err2, err3, sign.WriteJSONL(&jsonl, env)); err != nil {
		return err
	}
	files := map[string][]byte{"provenance.json": stmt, "provenance.intoto.jsonl": jsonl.Bytes(),
		"signer.pub": pub, "sbom.spdx.json": spdx, "sbom.cdx.json": cdx}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
