// Command quickstart is slsakit's pipeline in one file: build, record SLSA
// v1 provenance and an SBOM, sign them with a key, attach them to the image
// in a registry (by default one started in-process) and verify them back.
// It writes provenance.json, provenance.intoto.jsonl, signer.pub and the
// SBOMs (sbom.spdx.json, sbom.cdx.json) to -out. examples/tour adds KMS and keyless signing.
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
	layout, err1 := oci.ParseLayout(format)
	signer, err2 := sign.GenerateKey(sign.ECDSAP256SHA256) // a new key, unless -key names one
	if keyPath != "" {
		signer, err2 = sign.LoadPrivateKeyFile(keyPath, sign.WithPasswordEnv("COSIGN_PASSWORD"))
	}
	if err := errors.Join(err1, err2); err != nil {
		return err
	}

	// 1. The build, a stand-in for yours: a release tarball and an image holding it, pushed.
	build, err := demo.NewBuild(ctx, out, registry, "slsakit/quickstart")
	if err != nil {
		return err
	}
	defer build.Close()

	// 2. Record what the build used (this git checkout, if any) and made,
	// and what the program in it is made of (an SBOM about the image).
	rec := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	rec.Start()
	var used []intoto.ResourceDescriptor
	if git, err := provenance.GitMaterial(ctx, "."); err == nil {
		used = append(used, git)
	}
	if err := errors.Join(rec.SetExternalParameter("artifact", filepath.Base(build.Tarball)), rec.AddMaterial(used...),
		rec.AddSubjectFile(ctx, build.Tarball), rec.AddSubject(build.Image)); err != nil {
		return err
	}
	rec.Finish()
	bom, err := sbom.FromBinary(build.Program, sbom.WithMainVersion("v1.0.0"))
	if err != nil {
		return err
	}
	stmt, err1 := rec.MarshalStatement()
	bomStmt, err2 := bom.SPDXStatement(build.Image)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}

	// 3. Sign both statements, 4. attach them to the image by digest.
	var atts []*sign.Attestation
	for _, st := range [][]byte{stmt, bomStmt} {
		att, err := sign.Attest(ctx, st, signer)
		if err != nil {
			return err
		}
		if _, err := oci.Attach(ctx, build.Ref, att, append(build.Options, oci.WithLayout(layout))...); err != nil {
			return err
		}
		atts = append(atts, att)
	}

	// 5. Verify from the registry as a consumer would: this key, this image, this builder.
	auth, err := verify.Keys(verify.WithPublicKeys(signer.Public()))
	if err != nil {
		return err
	}
	res, err := verify.VerifyImage(ctx, auth, build.Ref, verify.Expectations{
		PredicateType: provenance.PredicateSLSAProvenanceV1, BuilderID: builderID, BuildType: buildType}, build.Options...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "image: %s\nsigned by:  %s\nverified:   %d of %d provenance attestation(s) (%s layout)\nwrote:      %s\n",
		build.Ref, signer.KeyID(), len(res.Verified()), len(res.Attestations), layout, out)

	// 6. Write the statement, its envelope, the public key and the SBOMs.
	pub, err1 := sign.MarshalPublicKey(signer.Public())
	spdx, err2 := bom.SPDX()
	cdx, err3 := bom.CycloneDX()
	var jsonl bytes.Buffer
	if err := errors.Join(err1, err2, err3, sign.WriteJSONL(&jsonl, atts[0].Envelope)); err != nil {
		return err
	}
	return demo.WriteFiles(out, map[string][]byte{"provenance.json": stmt, "provenance.intoto.jsonl": jsonl.Bytes(),
		"signer.pub": pub, "sbom.spdx.json": spdx, "sbom.cdx.json": cdx})
}
