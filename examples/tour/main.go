// Command tour is examples/quickstart with every signing back end and more
// checks: a file or ephemeral key, a GCP Cloud KMS key (-kms), or Sigstore
// keyless (-keyless, with the services and trusted root given by flags);
// an artifact of your own (-artifact); and the keyless bundle read back
// from the registry and verified against a trusted root.
//
// Like quickstart, it runs slsakit's whole pipeline offline: it builds a small
// release artifact and an image holding it, records what the build used and
// made, produces SLSA v1 provenance, signs it as a DSSE envelope, pushes the
// image to a registry (by default one it starts in-process on loopback),
// attaches the provenance, fetches it back and verifies it. It writes:
//
//	DIR/provenance.json          the in-toto statement
//	DIR/provenance.intoto.jsonl  the signed envelope, one line
//	DIR/signer.pub               the PEM public key that verifies it
//	DIR/sbom.spdx.json           SPDX 2.3 SBOM of the Go program in the artifact
//	DIR/sbom.cdx.json            the same as CycloneDX 1.6
//
// The default artifact is a tarball holding a small Go program that
// tour builds with the local Go toolchain; its SBOM is attested and
// attached to the image next to the provenance, which names the SBOM as a
// byproduct.
//
// Usage:
//
//	go run ./examples/tour [-out DIR] [-key PATH] [-artifact PATH]
//	    [-registry HOST[:PORT]/REPO] [-format referrers|legacy|both]
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/slsakit/slsakit/internal/demo"
	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

const (
	builderID = "https://github.com/slsakit/slsakit/examples/tour@v1"
	buildType = "https://github.com/slsakit/slsakit/examples/tour/buildtype@v1"
)

type config struct {
	out      string
	keyPath  string
	artifact string
	registry string // HOST[:PORT]/REPO; empty: an in-process registry
	format   string // referrers, legacy or both
	kmsKey   string // gcpkms://… key to sign with instead of a file key
	kmsAddr  string // KMS endpoint (a loopback one is a test server: plaintext, no auth)

	keyless     bool   // sign with a Sigstore keyless identity
	idToken     string // OIDC ID token; default $SIGSTORE_ID_TOKEN or GitHub Actions
	fulcioURL   string // default: public good
	rekorURL    string // default: public good; "none" for no log entry
	tsaURL      string // default: none
	trustedRoot string // trusted_root.json to verify keyless bundles with
}

func main() {
	var cfg config
	flag.StringVar(&cfg.out, "out", "out", "directory to write the statement, envelope and public key to")
	flag.StringVar(&cfg.keyPath, "key", "", "PEM private key to sign with (cosign's encrypted keys read COSIGN_PASSWORD); default: an ephemeral ECDSA P-256 key")
	flag.StringVar(&cfg.artifact, "artifact", "", "file to attest; default: build a small release tarball in -out")
	flag.StringVar(&cfg.registry, "registry", "", "push the image to HOST[:PORT]/REPO (plain HTTP for loopback hosts); default: an in-process registry")
	flag.StringVar(&cfg.format, "format", "referrers", "attestation layout: referrers (OCI 1.1, cosign v3), legacy (cosign .att) or both")
	flag.StringVar(&cfg.kmsKey, "kms", "", "sign with this GCP Cloud KMS key, gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]")
	flag.StringVar(&cfg.kmsAddr, "kms-endpoint", "", "with -kms: the KMS endpoint HOST:PORT (a loopback address means a test server: plaintext, no credentials)")
	flag.BoolVar(&cfg.keyless, "keyless", false, "sign keyless: a Fulcio certificate for an OIDC identity, logged in Rekor and/or timestamped")
	flag.StringVar(&cfg.idToken, "id-token", "", "with -keyless: the OIDC ID token (default: $SIGSTORE_ID_TOKEN, or the GitHub Actions token)")
	flag.StringVar(&cfg.fulcioURL, "fulcio-url", "", "with -keyless: Fulcio URL (default: Sigstore public good)")
	flag.StringVar(&cfg.rekorURL, "rekor-url", "", "with -keyless: Rekor URL (default: public good; \"none\": no log entry)")
	flag.StringVar(&cfg.tsaURL, "tsa-url", "", "with -keyless: RFC 3161 timestamp authority URL (default: none)")
	flag.StringVar(&cfg.trustedRoot, "trusted-root", "", "with -keyless: trusted_root.json to verify the bundles with (default: not verified offline)")
	flag.Parse()
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, stdout io.Writer) error {
	layout, err := oci.ParseLayout(cmp.Or(cfg.format, "referrers"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	rec := provenance.NewRecorder(provenance.Builder{ID: builderID}, buildType)
	rec.Start()

	// Build (or take) the artifact, and an image holding it.
	var notes []string
	artifact, program := cfg.artifact, cfg.artifact
	if artifact == "" {
		var err error
		if program, err = demo.BuildHello(ctx, cfg.out); err != nil {
			notes = append(notes, "no Go program in the tarball, no SBOM: "+err.Error())
			program = ""
		}
		artifact = filepath.Join(cfg.out, "hello-1.0.0.tar.gz")
		if err := demo.Tarball(artifact, program); err != nil {
			return fmt.Errorf("build artifact: %w", err)
		}
	}
	if err := rec.SetExternalParameter("artifact", filepath.Base(artifact)); err != nil {
		return err
	}
	img, err := demo.Image(artifact)
	if err != nil {
		return fmt.Errorf("build image: %w", err)
	}

	// Where the image goes: the given registry, or one on loopback.
	tg, err := demo.NewTarget(cfg.registry, "slsakit/tour")
	if err != nil {
		return fmt.Errorf("-registry: %w", err)
	}
	defer tg.Close()
	repo := tg.Repo
	var regOpts []oci.Option
	if tg.Insecure {
		regOpts = append(regOpts, oci.WithInsecure())
	}
	if err := rec.SetExternalParameter("image", repo); err != nil {
		return err
	}

	// Materials: the enclosing git checkout, if any, and our own Go modules.
	if git, err := provenance.GitMaterial(ctx, "."); err == nil {
		if err := rec.AddMaterial(git); err != nil {
			return err
		}
	} else {
		notes = append(notes, "no git material: "+err.Error())
	}
	if exe, err := os.Executable(); err == nil {
		mods, err := provenance.GoModulesFromBinary(exe)
		if err != nil {
			notes = append(notes, "no Go module materials: "+err.Error())
		} else if err := rec.AddMaterial(mods...); err != nil {
			return err
		}
	}

	// Subjects: the artifact, hashed by streaming, and the image by digest.
	if err := rec.AddSubjectFile(ctx, artifact); err != nil {
		return err
	}
	imgDigest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: repo, Digest: intoto.DigestSet{"sha256": imgDigest.Hex}}); err != nil {
		return err
	}
	// The SBOM of the Go program the artifact carries: written out, named
	// in the provenance as a byproduct, attested about the same subjects.
	var sbomStmt []byte
	if program != "" {
		stmt, docs, err := makeSBOM(program, []intoto.ResourceDescriptor{
			{Name: repo, Digest: map[string]string{"sha256": imgDigest.Hex}},
			{Name: filepath.Base(artifact), Digest: fileDigest(ctx, artifact)},
		})
		switch {
		case errors.Is(err, sbom.ErrNotGoBinary):
			notes = append(notes, "no SBOM: "+artifact+" is not a Go binary")
		case err != nil:
			return fmt.Errorf("sbom: %w", err)
		default:
			sbomStmt = stmt
			for name, doc := range docs {
				if err := os.WriteFile(filepath.Join(cfg.out, name), doc.data, 0o644); err != nil {
					return err
				}
				sum, _ := provenance.HashReader(bytes.NewReader(doc.data))
				if err := rec.AddByproduct(intoto.ResourceDescriptor{Name: name, Digest: sum, MediaType: doc.mediaType}); err != nil {
					return err
				}
			}
		}
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return err
	}

	// Sign.
	signer, keylessID, closeSigner, err := loadSigner(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeSigner()
	att, err := sign.Attest(ctx, stmt, signer)
	if err != nil {
		return err
	}
	var bundle []byte // keyless only
	if att.Bundle != nil {
		if bundle, err = att.Bundle.MarshalJSON(); err != nil {
			return err
		}
	}
	pubPEM, err := sign.MarshalPublicKey(signer.Public())
	if err != nil {
		return err
	}
	var jsonl bytes.Buffer
	if err := sign.WriteJSONL(&jsonl, att.Envelope); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"provenance.json":          stmt,
		"provenance.intoto.jsonl":  jsonl.Bytes(),
		"signer.pub":               pubPEM,
		"provenance.sigstore.json": bundle, // keyless only
	} {
		if data == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(cfg.out, name), data, 0o644); err != nil {
			return err
		}
	}

	// Push the image and attach the provenance to it, by digest.
	ref, err := tg.Push(ctx, img, "tour")
	if err != nil {
		return err
	}
	if err := attach(ctx, ref, att, append(regOpts, oci.WithLayout(layout))); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	if sbomStmt != nil {
		sbomAtt, err := sign.Attest(ctx, sbomStmt, signer)
		if err != nil {
			return err
		}
		if err := attach(ctx, ref, sbomAtt, append(regOpts, oci.WithLayout(layout))); err != nil {
			return fmt.Errorf("attach SBOM: %w", err)
		}
	}
	keylessLine, err := verifyKeyless(ctx, cfg, keylessID, ref, layout, regOpts)
	if err != nil {
		return err
	}

	// Verify what was written, as consumers would: the artifact from the
	// files, the image from the registry.
	res, err := verifyFiles(ctx, cfg.out, artifact)
	if err != nil {
		fmt.Fprint(stdout, res)
		return err
	}
	imgRes, err := verifyImage(ctx, ref, pubPEM, provenance.PredicateSLSAProvenanceV1, regOpts)
	if err != nil {
		return fmt.Errorf("verify image provenance: %w", err)
	}
	sbomLine := ""
	if sbomStmt != nil {
		sbomRes, err := verifyImage(ctx, ref, pubPEM, sbom.PredicateSPDX, regOpts)
		if err != nil {
			return fmt.Errorf("verify image SBOM: %w", err)
		}
		sbomLine = fmt.Sprintf("sbom:       %s, %s (SPDX 2.3, CycloneDX 1.6); attested and attached, %d verified\n",
			filepath.Join(cfg.out, "sbom.spdx.json"), filepath.Join(cfg.out, "sbom.cdx.json"), len(sbomRes.Verified()))
	}
	st := res.Statement
	sub, _ := st.Subject(filepath.Base(artifact))
	fmt.Fprintf(stdout, "artifact:   %s sha256:%s\n", artifact, sub.Digest["sha256"])
	fmt.Fprintf(stdout, "image: %s\n", ref)
	fmt.Fprintf(stdout, "builder:    %s\n", st.Provenance.BuilderID)
	fmt.Fprintf(stdout, "materials:  %d (git checkout and Go modules)\n", len(st.Provenance.ResolvedDependencies))
	fmt.Fprintf(stdout, "signed by:  %s\n", signerName(signer))
	fmt.Fprintf(stdout, "attached:   %s layout; fetched back %d attestation(s), %d verified\n", layout, len(imgRes.Attestations), len(imgRes.Verified()))
	fmt.Fprint(stdout, sbomLine)
	fmt.Fprint(stdout, keylessLine)
	fmt.Fprintf(stdout, "wrote:      %s\n", filepath.Join(cfg.out, "{provenance.json,provenance.intoto.jsonl,signer.pub}"))
	for _, n := range notes {
		fmt.Fprintf(stdout, "note:       %s\n", n)
	}
	fmt.Fprint(stdout, res)
	return nil
}

// loadSigner returns the signer the flags ask for: a keyless identity (and
// its token's claims, to verify it by later), a KMS key, a key file, or an
// ephemeral ECDSA P-256 key.
func loadSigner(ctx context.Context, cfg config) (sign.Signer, *keyless.Claims, func(), error) {
	switch {
	case cfg.keyless && (cfg.kmsKey != "" || cfg.keyPath != ""):
		return nil, nil, nil, errors.New("-keyless excludes -kms and -key")
	case cfg.keyless:
		ts := keyless.AmbientToken(cfg.idToken)
		if ts == nil {
			return nil, nil, nil, errors.New("-keyless needs an OIDC token: -id-token, $SIGSTORE_ID_TOKEN, or a GitHub Actions job with id-token: write")
		}
		s, err := keyless.NewSigner(ctx, append(keyless.ServiceURLs(cfg.fulcioURL, cfg.rekorURL, cfg.tsaURL), keyless.WithToken(ts))...)
		if err != nil {
			return nil, nil, nil, err
		}
		id := s.Claims()
		return s, &id, func() {}, nil
	case cfg.kmsKey != "" && cfg.keyPath != "":
		return nil, nil, nil, errors.New("-kms and -key are exclusive")
	case cfg.kmsKey != "":
		var opts []option.ClientOption
		if cfg.kmsAddr != "" {
			opts = append(opts, option.WithEndpoint(cfg.kmsAddr))
			if demo.IsLoopback(cfg.kmsAddr) {
				opts = append(opts, option.WithoutAuthentication(),
					option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
			}
		}
		s, err := kms.NewSigner(ctx, cfg.kmsKey, kms.WithClientOptions(opts...))
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, func() { s.Close() }, nil
	case cfg.keyPath != "":
		s, err := sign.LoadPrivateKeyFile(cfg.keyPath, sign.WithPasswordEnv("COSIGN_PASSWORD"))
		return s, nil, func() {}, err
	default:
		s, err := sign.GenerateKey(sign.ECDSAP256SHA256)
		return s, nil, func() {}, err
	}
}

// verifyImage fetches the image's attestations of one predicate type and
// verifies them; provenance must also name our builder and build type.
func verifyImage(ctx context.Context, ref string, pubPEM []byte, predicateType string, opts []oci.Option) (*verify.ImageResult, error) {
	auth, err := verify.Keys(verify.WithPublicKeyPEM(pubPEM))
	if err != nil {
		return nil, err
	}
	want := verify.Expectations{PredicateType: predicateType}
	if predicateType == provenance.PredicateSLSAProvenanceV1 {
		want.BuilderID, want.BuildType = builderID, buildType
	}
	return verify.VerifyImage(ctx, auth, ref, want, opts...)
}

type sbomDoc struct {
	data      []byte
	mediaType string
}

// makeSBOM returns the SPDX statement about subjects and both documents.
func makeSBOM(program string, subjects []intoto.ResourceDescriptor) ([]byte, map[string]sbomDoc, error) {
	s, err := sbom.FromBinary(program, sbom.WithMainVersion("v1.0.0"), sbom.WithToolName("slsakit-tour", "v1"))
	if err != nil {
		return nil, nil, err
	}
	spdx, err := s.SPDX()
	if err != nil {
		return nil, nil, err
	}
	cdx, err := s.CycloneDX()
	if err != nil {
		return nil, nil, err
	}
	stmt, err := s.SPDXStatement(subjects...)
	if err != nil {
		return nil, nil, err
	}
	return stmt, map[string]sbomDoc{
		"sbom.spdx.json": {spdx, "application/spdx+json"},
		"sbom.cdx.json":  {cdx, "application/vnd.cyclonedx+json"},
	}, nil
}

func fileDigest(ctx context.Context, path string) map[string]string {
	d, err := provenance.HashFile(ctx, path)
	if err != nil {
		return nil
	}
	return d
}

func verifyFiles(ctx context.Context, dir, artifact string) (*verify.Result, error) {
	pub, err := os.ReadFile(filepath.Join(dir, "signer.pub"))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "provenance.intoto.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	envs, err := sign.ReadJSONL(f)
	if err != nil {
		return nil, err
	}
	if len(envs) != 1 {
		return nil, errors.New("want exactly one envelope")
	}
	auth, err := verify.Keys(verify.WithPublicKeyPEM(pub))
	if err != nil {
		return nil, err
	}
	digest, err := verify.DigestOfFile(ctx, artifact)
	if err != nil {
		return nil, err
	}
	return verify.Verify(ctx, auth, &sign.Attestation{Envelope: envs[0]}, verify.Expectations{
		SubjectDigest: digest,
		PredicateType: provenance.PredicateSLSAProvenanceV1,
		BuilderID:     builderID,
		BuildType:     buildType,
	})
}

// attach attaches att to ref; its Sigstore bundle, if any (keyless), is
// the referrer and gives the legacy layer cosign's annotations.
func attach(ctx context.Context, ref string, att *sign.Attestation, opts []oci.Option) error {
	_, err := oci.Attach(ctx, ref, att, opts...)
	return err
}

// verifyKeyless checks the bundle written to the registry against the
// trusted root and id, the keyless signer's own identity (nil: not keyless).
func verifyKeyless(ctx context.Context, cfg config, id *keyless.Claims, ref string, layout oci.Layout, regOpts []oci.Option) (string, error) {
	if id == nil {
		return "", nil
	}
	line := fmt.Sprintf("identity:   %s (issuer %s)\n", id.Identity(), id.Issuer)
	if cfg.trustedRoot == "" || layout&oci.Referrers == 0 {
		return line + "keyless:    bundle not verified here (give -trusted-root and a referrers layout)\n", nil
	}
	auth, err := verifykeyless.NewVerifier(verifykeyless.WithTrustedRootFile(cfg.trustedRoot),
		verifykeyless.WithIdentity(verify.Identity{Issuer: id.Issuer, Subject: id.Identity()}))
	if err != nil {
		return "", err
	}
	opts := append(regOpts[:len(regOpts):len(regOpts)], oci.WithLayout(oci.Referrers))
	res, err := verify.VerifyImage(ctx, auth, ref, verify.Expectations{PredicateType: provenance.PredicateSLSAProvenanceV1}, opts...)
	if err != nil {
		return "", fmt.Errorf("keyless bundle from the registry: %w", err)
	}
	r := res.Verified()[0]
	when := "at an unverified time"
	if len(r.Times) > 0 {
		when = "logged at " + r.Times[0].UTC().Format(time.RFC3339)
	}
	return line + fmt.Sprintf("keyless:    bundle from the registry verified against the trusted root: signed by %s, %s\n", r.Signers[0], when), nil
}

// signerName names the signer for the summary: a KMS key by its reference
// and key ID, any other by its key ID.
func signerName(s sign.Signer) string {
	if k, ok := s.(*kms.Signer); ok {
		return fmt.Sprintf("%s (key ID %s)", k.Ref(), k.KeyID())
	}
	return s.KeyID()
}
