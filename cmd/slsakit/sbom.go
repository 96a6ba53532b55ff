package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
)

func runSBOM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sbom", "[flags] (BINARY | TARBALL | --source DIR | --image REF)", stderr)
	var (
		format      = fs.String("format", "spdx", "spdx (2.3), cyclonedx (1.6) or cyclonedx-1.5")
		source      = fs.String("source", "", "describe the packages built from this module directory (go list -deps) instead of a binary")
		pattern     = fs.String("pattern", "./...", "with --source: the packages built")
		mainVersion = fs.String("main-version", "", "version of the main module (default: from VCS stamps)")
		out         = fs.String("out", "-", "write here ('-': stdout)")
		attach      = fs.Bool("attach", false, "attach the signed SBOM to every --image")
		images      list
		reg         registryFlags
		sf          signerFlags
	)
	fs.Var(&images, "image", "with BINARY or --source: also name this image (resolved to its digest) as a subject, repeatable; alone: describe this image (its OS packages and Go binaries)")
	reg.register(fs)
	sf.register(fs) // signing makes the output a signed in-toto statement (.intoto.jsonl)
	if err := parse(fs, args); err != nil {
		return err
	}
	imageMode := *source == "" && fs.NArg() == 0 && len(images) > 0
	if imageMode && len(images) != 1 {
		return usagef("describe one --image at a time")
	}
	if !imageMode && (*source == "") == (fs.NArg() != 1) {
		return usagef("give one BINARY, --source DIR or --image REF")
	}
	signing := sf.key != "" || sf.kms != "" || sf.keyless
	if (*attach || (len(images) > 0 && !imageMode)) && !signing {
		return usagef("--image and --attach need --key, --kms or --keyless: only signed SBOMs are attested")
	}
	regOpts, err := reg.options(ctx, images...)
	if err != nil {
		return err
	}
	var opts []sbom.Option
	if *mainVersion != "" {
		opts = append(opts, sbom.WithMainVersion(*mainVersion))
	}
	var s *sbom.SBOM
	var scanned *image // the image an image SBOM describes
	switch {
	case imageMode:
		s, scanned, err = imageSBOM(ctx, images[0], reg.insecure, append(opts, sbom.WithRemoteOptions(remote.WithAuthFromKeychain(reg.keys))))
		images = nil
	case *source != "":
		s, err = sbom.FromSource(ctx, *source, strings.Fields(*pattern), opts...)
	case isTarball(fs.Arg(0)):
		var ic *sbom.ImageContents
		if ic, err = sbom.FromTarball(ctx, fs.Arg(0), opts...); err == nil {
			s, err = ic.SBOM(filepath.Base(fs.Arg(0)), opts...)
		}
	default:
		s, err = sbom.FromBinary(fs.Arg(0), opts...)
	}
	if err != nil {
		return err
	}
	var cdxOpts []sbom.CycloneDXOption
	switch *format {
	case "spdx", "cyclonedx":
	case "cyclonedx-1.5":
		cdxOpts = append(cdxOpts, sbom.CycloneDXVersion(cdx.SpecVersion1_5))
	default:
		return usagef("--format %q: want spdx, cyclonedx or cyclonedx-1.5", *format)
	}
	if !signing {
		var doc []byte
		if *format == "spdx" {
			doc, err = s.SPDX()
		} else {
			doc, err = s.CycloneDX(cdxOpts...)
		}
		if err != nil {
			return err
		}
		return writeOut(*out, doc, stdout)
	}

	// Signed: an in-toto statement about the binary (if any) and images.
	var subjects []intoto.ResourceDescriptor
	var pinned []string
	switch {
	case scanned != nil:
		// The image scanned (for an index, the platform image resolved).
		subjects = append(subjects, intoto.ResourceDescriptor{Name: scanned.repo, Digest: map[string]string{"sha256": scanned.hex}})
		pinned = append(pinned, scanned.ref())
	case s.Root != nil:
		subjects = append(subjects, intoto.ResourceDescriptor{Name: filepath.Base(s.Root.Name), Digest: map[string]string{"sha256": s.Root.SHA256}})
	}
	imgs, err := resolveImages(ctx, images, regOpts)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		subjects = append(subjects, intoto.ResourceDescriptor{Name: img.repo, Digest: map[string]string{"sha256": img.hex}})
		pinned = append(pinned, img.ref())
	}
	if len(subjects) == 0 {
		return usagef("a signed SBOM needs a subject: a BINARY or --image")
	}
	var stmt []byte
	if *format == "spdx" {
		stmt, err = s.SPDXStatement(subjects...)
	} else {
		stmt, err = s.CycloneDXStatement(subjects, cdxOpts...)
	}
	if err != nil {
		return err
	}
	signer, release, err := sf.load(ctx)
	if err != nil {
		return err
	}
	defer release()
	att, err := sf.sign(ctx, stmt, signer)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := sign.WriteJSONL(&buf, att.Envelope); err != nil {
		return err
	}
	if err := writeOut(*out, buf.Bytes(), stdout); err != nil {
		return err
	}
	if *attach {
		return attachAll(ctx, att, pinned, regOpts, func(s string) { fmt.Fprintln(stderr, s) })
	}
	return nil
}

// imageSBOM scans the image ref names (one streaming pass over its
// layers) and returns its SBOM and the image it describes.
func imageSBOM(ctx context.Context, ref string, insecure bool, opts []sbom.Option) (*sbom.SBOM, *image, error) {
	repo, err := repository(ref)
	if err != nil {
		return nil, nil, err
	}
	if insecure {
		opts = append(opts, sbom.WithInsecureRegistry())
	}
	ic, err := sbom.FromImage(ctx, ref, opts...)
	if err != nil {
		return nil, nil, err
	}
	s, err := ic.SBOM(repo, opts...)
	if err != nil {
		return nil, nil, err
	}
	return s, &image{repo: repo, hex: s.Root.SHA256}, nil
}

// isTarball: release tarballs are named so; a Go binary never is.
func isTarball(p string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}
