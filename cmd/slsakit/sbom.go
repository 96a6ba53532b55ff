package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sbom"
	"github.com/slsakit/slsakit/sign"
)

func runSBOM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sbom", "[flags] (BINARY | TARBALL | DIR | --source DIR | --image REF)", stderr)
	var (
		format      = fs.String("format", "spdx", "spdx (2.3), cyclonedx (1.6) or cyclonedx-1.5")
		source      = fs.String("source", "", "describe the packages built from this module directory (go list -deps) instead of a binary")
		pattern     = fs.String("pattern", "./...", "with --source: the packages built")
		mainVersion = fs.String("main-version", "", "version of the main module (default: from VCS stamps)")
		out         = fs.String("out", "-", "write here ('-': stdout)")
		attach      = fs.Bool("attach", false, "attach the signed SBOM to every --image")
		concurrency = concurrencyFlag(fs)
		platform    = fs.String("platform", "", "with --image alone: describe this platform's image of a multi-platform index (os/arch[/variant]; default linux/amd64)")
		multiArch   = fs.String("multi-arch", "", "with --image alone, for a multi-platform index: 'per-platform' (one SBOM per platform image; unsigned, --out is a directory) or 'index' (one SBOM for the index, naming each platform)")
		images      list
		reg         registryFlags
		sf          signerFlags
	)
	fs.Var(&images, "image", "with BINARY or --source: also name this image (resolved to its digest) as a subject, repeatable; alone: describe this image (its OS packages and Go binaries); docker-archive:PATH and oci-layout:DIR name an image on disk")
	reg.register(fs)
	sf.register(fs) // signing makes the output a signed in-toto statement (.intoto.jsonl)
	if err := parse(fs, args); err != nil {
		return err
	}
	imageMode := *source == "" && fs.NArg() == 0 && len(images) > 0
	if imageMode && len(images) != 1 {
		return usagef("describe one --image at a time")
	}
	if _, local := localImage(strings.Join(images, "")); imageMode && local && (*attach || *multiArch != "") {
		return usagef("an image on disk (docker-archive:, oci-layout:) is described only: no --attach, no --multi-arch")
	}
	if !imageMode && (*source == "") == (fs.NArg() != 1) {
		return usagef("give one BINARY, TARBALL, DIR, --source DIR or --image REF")
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
	if (*platform != "" || *multiArch != "") && !imageMode {
		return usagef("--platform and --multi-arch describe an --image given alone")
	}
	if *platform != "" {
		p, err := v1.ParsePlatform(*platform)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return usagef("--platform %q: want os/arch[/variant]", *platform)
		}
		opts = append(opts, sbom.WithPlatform(*p))
	}
	var cdxOpts []sbom.CycloneDXOption
	switch *format {
	case "spdx", "cyclonedx":
	case "cyclonedx-1.5":
		cdxOpts = append(cdxOpts, sbom.CycloneDXVersion(cdx.SpecVersion1_5))
	default:
		return usagef("--format %q: want spdx, cyclonedx or cyclonedx-1.5", *format)
	}
	encode := func(s *sbom.SBOM) ([]byte, error) {
		if *format == "spdx" {
			return s.SPDX()
		}
		return s.CycloneDX(cdxOpts...)
	}
	var s *sbom.SBOM
	var scanned *image // the image an image SBOM describes
	var also []image   // for an index SBOM: each platform image it describes
	switch {
	case imageMode && *multiArch == "per-platform":
		if signing || *out == "-" {
			return usagef("--multi-arch per-platform writes one unsigned SBOM per platform into the directory --out names (sign each with --platform)")
		}
		return perPlatformSBOMs(ctx, images[0], reg.insecure, opts, *out, *format, encode, stderr)
	case imageMode && *multiArch == "index":
		s, scanned, also, err = indexSBOM(ctx, images[0], reg.insecure, opts)
		images = nil
	case imageMode && *multiArch != "":
		return usagef("--multi-arch %q: want per-platform or index", *multiArch)
	case imageMode:
		s, scanned, err = imageSBOM(ctx, images[0], reg.insecure, append(opts, sbom.WithRemoteOptions(remote.WithAuthFromKeychain(reg.keys))))
		images = nil
	case *source != "":
		s, err = sbom.FromSource(ctx, *source, strings.Fields(*pattern), opts...)
	case isDir(fs.Arg(0)):
		var ic *sbom.ImageContents
		if ic, err = sbom.FromDirectory(ctx, fs.Arg(0), opts...); err == nil {
			s, err = ic.SBOM(filepath.Base(filepath.Clean(fs.Arg(0))), opts...)
		}
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
	if !signing {
		doc, err := encode(s)
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
		for _, img := range also {
			// An index SBOM describes each platform image too; it is
			// attached to the index only.
			subjects = append(subjects, intoto.ResourceDescriptor{Name: img.repo, Digest: map[string]string{"sha256": img.hex}})
		}
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
		return attachAll(ctx, att, nil, pinned, regOpts, *concurrency, func(s string) { fmt.Fprintln(stderr, s) })
	}
	return nil
}

// imageSBOM scans the image ref names (one streaming pass over its
// layers) and returns its SBOM and the image it describes.
func imageSBOM(ctx context.Context, ref string, insecure bool, opts []sbom.Option) (*sbom.SBOM, *image, error) {
	if p, ok := localImage(ref); ok {
		// An image on disk, named as syft names it: described, not attached.
		ic, err := p(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		s, err := ic.SBOM(filepath.Base(strings.SplitN(ref, ":", 2)[1]), opts...)
		if err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
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

// indexSBOM scans every platform image of the index ref names (or
// --platform's) into one SBOM of the index, and returns it, the index and
// the platform images it describes.
func indexSBOM(ctx context.Context, ref string, insecure bool, opts []sbom.Option) (*sbom.SBOM, *image, []image, error) {
	repo, err := repository(ref)
	if err != nil {
		return nil, nil, nil, err
	}
	if insecure {
		opts = append(opts, sbom.WithInsecureRegistry())
	}
	ic, err := sbom.FromIndex(ctx, ref, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	if ic.Kind != "index" {
		return nil, nil, nil, usagef("--multi-arch index: %s is a single image, not an index", ref)
	}
	s, err := ic.SBOM(repo, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	var also []image
	for _, p := range ic.Nested {
		also = append(also, image{repo: repo, hex: strings.TrimPrefix(p.Digest, "sha256:")})
	}
	return s, &image{repo: repo, hex: s.Root.SHA256}, also, nil
}

// perPlatformSBOMs writes one SBOM per platform image of the index ref
// names into dir, named <os>-<arch>[-<variant>].<format>.json.
func perPlatformSBOMs(ctx context.Context, ref string, insecure bool, opts []sbom.Option, dir, format string,
	encode func(*sbom.SBOM) ([]byte, error), stderr io.Writer) error {
	repo, err := repository(ref)
	if err != nil {
		return err
	}
	if insecure {
		opts = append(opts, sbom.WithInsecureRegistry())
	}
	ic, err := sbom.FromIndex(ctx, ref, opts...)
	if err != nil {
		return err
	}
	platforms := ic.Nested
	if ic.Kind != "index" {
		platforms = []*sbom.ImageContents{ic}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ext := map[string]string{"spdx": ".spdx.json", "cyclonedx": ".cdx.json", "cyclonedx-1.5": ".cdx15.json"}[format]
	for _, p := range platforms {
		s, err := p.SBOM(repo+"@"+p.Digest, opts...)
		if err != nil {
			return err
		}
		doc, err := encode(s)
		if err != nil {
			return err
		}
		file := strings.NewReplacer("/", "-").Replace(p.Platform)
		if file == "" {
			file = strings.TrimPrefix(p.Digest, "sha256:")
		}
		target := filepath.Join(dir, file+ext)
		if err := os.WriteFile(target, doc, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", target, "for", repo+"@"+p.Digest)
	}
	return nil
}

// localImage recognizes an image on disk: docker-archive:PATH (a `docker
// save` or `crane pull` tarball) or oci-layout:DIR (one platform: the
// --platform one when the layout holds several).
func localImage(ref string) (func(context.Context, []sbom.Option) (*sbom.ImageContents, error), bool) {
	if p, ok := strings.CutPrefix(ref, "docker-archive:"); ok {
		return func(ctx context.Context, opts []sbom.Option) (*sbom.ImageContents, error) {
			return sbom.FromImageTarball(ctx, p, opts...)
		}, true
	}
	if p, ok := strings.CutPrefix(ref, "oci-layout:"); ok {
		return func(ctx context.Context, opts []sbom.Option) (*sbom.ImageContents, error) {
			cs, err := sbom.FromOCILayout(ctx, p, opts...)
			if err != nil {
				return nil, err
			}
			if len(cs) != 1 {
				return nil, usagef("%s holds %d platform images: pick one with --platform", ref, len(cs))
			}
			return cs[0], nil
		}, true
	}
	return nil, false
}

// isDir: a directory is described as FromDirectory walks it (a rootfs or
// an unpacked release).
func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
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
