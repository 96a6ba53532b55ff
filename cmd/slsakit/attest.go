package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/platform"
	"github.com/slsakit/slsakit/sign"
)

const defaultBuildType = "https://github.com/slsakit/slsakit/cmd/slsakit/generic@v1"

type registryFlags struct {
	insecure bool
	format   string
	repo     string
	auth     registryAuthFlags
	keys     authn.Keychain // set by options
}

func (r *registryFlags) register(fs interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
}) {
	fs.BoolVar(&r.insecure, "insecure-registry", false, "allow plain-HTTP registries")
	fs.StringVar(&r.format, "layout", "", "attestation layout: referrers, legacy or both (default: write referrers, read both)")
	fs.StringVar(&r.repo, "attestation-repository", "", "store attestations in this repository (like COSIGN_REPOSITORY)")
	r.auth.register(fs)
}

// options returns the oci options of the flags; images are the --image
// references, whose registry explicit credentials are for.
func (r *registryFlags) options(ctx context.Context, images ...string) ([]oci.Option, error) {
	opts, err := r.authOptions(ctx, images)
	if err != nil {
		return nil, err
	}
	if r.insecure {
		opts = append(opts, oci.WithInsecure())
	}
	if r.repo != "" {
		opts = append(opts, oci.WithRepository(r.repo))
	}
	if r.format != "" {
		l, err := oci.ParseLayout(r.format)
		if err != nil {
			return nil, usagef("--layout: %v", err)
		}
		opts = append(opts, oci.WithLayout(l))
	}
	return opts, nil
}

func runAttest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("attest", "(--builder-id URI | --from-env) (--key KEY | --kms REF | --keyless) [flags] [FILE]...", stderr)
	var (
		fromEnv      = fs.Bool("from-env", false, "read builder ID, build type, invocation, source and parameters from the CI platform's environment (GitHub Actions, GitLab CI, Cloud Build, Tekton, Buildkite, Jenkins); explicit flags win and are recorded as overridden")
		builderID    = fs.String("builder-id", "", "builder ID URI (required without --from-env)")
		buildType    = fs.String("build-type", defaultBuildType, "build type URI")
		paramsJSON   = fs.String("params-json", "", "file holding a JSON object of external parameters")
		gitDir       = fs.String("git", "", "record this git checkout as the source material")
		goModDir     = fs.String("go-modules", "", "record the Go modules the packages of this module directory build with")
		started      = fs.String("started", "", "build start time, RFC 3339 (default: now)")
		finished     = fs.String("finished", "", "build finish time, RFC 3339 (default: now)")
		invocationID = fs.String("invocation-id", "", "the build system's ID of this build")
		out          = fs.String("out", "-", "write the signed envelope here as .intoto.jsonl ('-': stdout)")
		stmtOut      = fs.String("statement-out", "", "also write the unsigned statement here")
		attach       = fs.Bool("attach", false, "attach the envelope to every --image subject")
		concurrency  = concurrencyFlag(fs)
		recursive    = fs.Bool("recursive", false, "with --attach: attach to every platform image of an --image index too (cosign's --recursive)")
		signImages   = fs.Bool("sign", false, "with --attach: also sign every --image as `slsakit sign` does (and, with --recursive, every platform image), in the same run")
		withSHA512   = fs.Bool("sha512", false, "hash file subjects with SHA-512 too")
		resolveTags  = fs.Bool("resolve-tags", false, "resolve --base-image tags to digests in the registry (default: a tag-only base image is an error)")
		params       list
		materials    list
		images       list
		baseImages   list
		dirs         list
		goBinaries   list
		reg          registryFlags
		sf           signerFlags
	)
	fs.Var(&params, "param", "external parameter NAME=VALUE (VALUE read as JSON when it parses, else as a string); repeatable")
	fs.Var(&materials, "material", "resolved dependency URI=ALG:HEX, e.g. https://x/src.tar.gz=sha256:…; repeatable")
	fs.Var(&images, "image", "image subject; a tag is resolved to its digest once; repeatable")
	fs.Var(&baseImages, "base-image", "image material; must be pinned by digest (REPO@sha256:…); repeatable")
	fs.Var(&dirs, "dir", "every regular file under DIR is a subject; repeatable")
	fs.Var(&goBinaries, "go-binary", "record the Go modules in this binary's build info; repeatable")
	reg.register(fs)
	sf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *builderID == "" && !*fromEnv {
		return usagef("--builder-id is required (or --from-env in a CI job)")
	}
	if len(params) == 0 && *paramsJSON == "" && !*fromEnv {
		return usagef("SLSA provenance needs the build's external parameters (what it was asked to build): give --param NAME=VALUE or --params-json FILE")
	}
	if *recursive && !*attach {
		return usagef("--recursive has no effect without --attach")
	}
	if *signImages && !*attach {
		return usagef("--sign signs the images attached to: give --attach")
	}
	if fs.NArg() == 0 && len(images) == 0 && len(dirs) == 0 {
		return usagef("nothing to attest: give FILEs, --dir or --image")
	}
	regOpts, err := reg.options(ctx, images...)
	if err != nil {
		return err
	}
	// Loading the key (a cosign-encrypted key costs a second of scrypt)
	// overlaps with recording the build and resolving its images.
	type loaded struct {
		s       sign.Signer
		release func()
		err     error
	}
	signerc := make(chan loaded, 1)
	go func() {
		s, release, err := sf.load(ctx)
		signerc <- loaded{s, release, err}
	}()
	var signer sign.Signer
	var release func()
	waitSigner := func() error {
		if signerc == nil {
			return nil
		}
		l := <-signerc
		signerc = nil
		if l.err != nil {
			return l.err
		}
		signer = l.s
		release = l.release
		return nil
	}
	// Every return waits for the load, so that no key is left behind.
	defer func() {
		_ = waitSigner()
		if release != nil {
			release()
		}
	}()

	var opts []provenance.RecorderOption
	if *invocationID != "" {
		opts = append(opts, provenance.WithInvocationID(*invocationID))
	}
	times, err := clockFrom(*started, *finished)
	if err != nil {
		return err
	}
	if times != nil {
		opts = append(opts, provenance.WithClock(times))
	}
	extParams, err := readParams(params, *paramsJSON)
	if err != nil {
		return err
	}
	var rec *provenance.Recorder
	if *fromEnv {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		rec, err = recorderFromEnv(ctx, platform.OSEnv(), set, *builderID, *buildType, *invocationID, *gitDir != "", extParams, opts, stderr)
		if err != nil {
			return err
		}
	} else {
		rec = provenance.NewRecorder(provenance.Builder{ID: *builderID}, *buildType, opts...)
	}
	rec.Start()

	for _, p := range extParams {
		if err := rec.SetExternalParameter(p.name, p.value); err != nil {
			return err
		}
	}
	var imageOpts []provenance.ImageOption
	if *resolveTags {
		imageOpts = append(imageOpts, provenance.WithResolver(oci.NewResolver(regOpts...)))
	}
	if err := addMaterials(ctx, rec, materials, baseImages, imageOpts, *gitDir, *goModDir, goBinaries); err != nil {
		return err
	}
	var hashOpts []provenance.HashOption
	if *withSHA512 {
		hashOpts = append(hashOpts, provenance.WithSHA512())
	}
	for _, f := range fs.Args() {
		if err := rec.AddSubjectFile(ctx, f, hashOpts...); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if err := rec.AddSubjectDir(ctx, d, hashOpts...); err != nil {
			return err
		}
	}
	var pinned []string // image subjects by digest, for --attach
	// An index is recorded with every platform image it lists, so the
	// statement also names the image a node pulls. Images are resolved
	// concurrently (at most --concurrency at once) and recorded in the
	// order given.
	resolver := oci.NewResolver(regOpts...)
	resolved := make([][]intoto.ResourceDescriptor, len(images))
	errs := make([]error, len(images))
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(*concurrency, 1))
	for i, ref := range images {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			resolved[i], errs[i] = provenance.ImageSubjects(ctx, ref, resolver)
		}()
	}
	wg.Wait()
	if err := waitSigner(); err != nil {
		return err
	}
	for i, ref := range images {
		if errs[i] != nil {
			return fmt.Errorf("image %s: %w", ref, errs[i])
		}
		if err := rec.AddSubject(resolved[i]...); err != nil {
			return err
		}
		pinned = append(pinned, resolved[i][0].Name+"@sha256:"+resolved[i][0].Digest["sha256"])
	}
	rec.Finish()
	stmt, err := rec.MarshalStatement()
	if err != nil {
		return err
	}
	att, err := sf.sign(ctx, stmt, signer)
	if err != nil {
		return err
	}
	if *stmtOut != "" {
		if err := os.WriteFile(*stmtOut, stmt, 0o644); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := sign.WriteJSONL(&buf, att.Envelope); err != nil {
		return err
	}
	if err := writeOut(*out, buf.Bytes(), stdout); err != nil {
		return err
	}
	if *attach {
		if len(pinned) == 0 {
			return usagef("--attach needs at least one --image subject")
		}
		if *recursive {
			regOpts = append(regOpts, oci.WithRecursive())
		}
		var imageSigner sign.Signer
		if *signImages {
			imageSigner = signer
		}
		return attachAll(ctx, att, imageSigner, pinned, regOpts, *concurrency, func(s string) { fmt.Fprintln(stderr, s) })
	}
	return nil
}

func writeOut(path string, data []byte, stdout io.Writer) error {
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// image is an image reference resolved to its digest, once.
type image struct{ repo, hex string }

func (i image) ref() string { return i.repo + "@sha256:" + i.hex }

// resolveImages resolves each reference (a tag once) to its digest.
func resolveImages(ctx context.Context, refs []string, regOpts []oci.Option) ([]image, error) {
	out := make([]image, 0, len(refs))
	for _, ref := range refs {
		digest, err := oci.Resolve(ctx, ref, regOpts...)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		repo, err := repository(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, image{repo: repo, hex: strings.TrimPrefix(digest, "sha256:")})
	}
	return out, nil
}

// repository returns the registry/repository of an image reference, as
// the verify package names images.
func repository(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return "", usagef("image %q: %v", ref, err)
	}
	return r.Context().Name(), nil
}

// clockFrom returns a clock that answers the given start, then finish
// times (the Recorder asks at Start and at Finish), or nil for the real one.
func clockFrom(started, finished string) (func() time.Time, error) {
	if started == "" && finished == "" {
		return nil, nil
	}
	parse := func(flagName, v string) (time.Time, error) {
		if v == "" {
			return time.Now().UTC(), nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, usagef("--%s %q: want RFC 3339, e.g. 2026-11-23T10:00:00Z", flagName, v)
		}
		return t, nil
	}
	s, err := parse("started", started)
	if err != nil {
		return nil, err
	}
	f, err := parse("finished", finished)
	if err != nil {
		return nil, err
	}
	if f.Before(s) {
		return nil, usagef("--finished is before --started")
	}
	calls := 0
	return func() time.Time {
		calls++
		if calls == 1 {
			return s
		}
		return f
	}, nil
}

// param is one external parameter given on the command line.
type param struct {
	name  string
	value any
}

// readParams reads --params-json, then --param (which wins on a name
// given by both), in that order.
func readParams(params []string, file string) ([]param, error) {
	var out []param
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("--params-json %s: want a JSON object: %w", file, err)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, param{k, obj[k]})
		}
	}
	for _, p := range params {
		k, raw, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("--param %q: want NAME=VALUE", p)
		}
		var v any = raw
		var js any
		if json.Unmarshal([]byte(raw), &js) == nil {
			v = js
		}
		out = append(out, param{k, v})
	}
	return out, nil
}

// recorderFromEnv collects the CI platform's facts from env and applies
// the flags given explicitly (set), which win. Each fact a flag replaced
// or added is named in internalParameters (platform.OverriddenKey), so a
// reader can tell what the platform said from what the caller typed.
func recorderFromEnv(ctx context.Context, env platform.Env, set map[string]bool, builderID, buildType, invocationID string,
	gitSource bool, params []param, opts []provenance.RecorderOption, stderr io.Writer) (*provenance.Recorder, error) {
	facts, err := platform.Collect(ctx, env, platform.DefaultPlatforms()...)
	if err != nil {
		return nil, fmt.Errorf("--from-env: %w", err)
	}
	override := func(name string) { facts.Overridden = append(facts.Overridden, name) }
	if set["builder-id"] {
		facts.BuilderID = builderID
		override("builderID")
	}
	if set["build-type"] {
		facts.BuildType = buildType
		override("buildType")
	}
	if set["invocation-id"] {
		facts.InvocationID = invocationID
		override("invocationID")
	}
	if gitSource {
		// --git records the checkout as the source instead.
		facts.Source = platform.Source{}
		override("source")
	}
	seen := map[string]bool{}
	for _, p := range params {
		if !seen[p.name] {
			seen[p.name] = true
			override("externalParameters." + p.name)
		}
	}
	fmt.Fprintf(stderr, "attest: build platform %s, builder %s, source %s@%s\n", facts.Platform, facts.BuilderID, facts.Source.Repository, facts.Source.Ref)
	return facts.NewRecorder(opts...)
}

func addMaterials(ctx context.Context, rec *provenance.Recorder, materials, baseImages []string, imageOpts []provenance.ImageOption, gitDir, goModDir string, goBinaries []string) error {
	for _, m := range materials {
		uri, d, ok := strings.Cut(m, "=")
		alg, hex, ok2 := strings.Cut(d, ":")
		if !ok || !ok2 {
			return usagef("--material %q: want URI=ALG:HEX", m)
		}
		rd, err := provenance.URIMaterial(uri, intoto.DigestSet{alg: hex})
		if err != nil {
			return err
		}
		if err := rec.AddMaterial(rd); err != nil {
			return err
		}
	}
	for _, ref := range baseImages {
		rd, err := provenance.ImageMaterial(ctx, ref, imageOpts...)
		if err != nil {
			return fmt.Errorf("--base-image %s: %w", ref, err)
		}
		if err := rec.AddMaterial(rd); err != nil {
			return err
		}
	}
	if gitDir != "" {
		rd, err := provenance.GitMaterial(ctx, gitDir)
		if err != nil {
			return err
		}
		if err := rec.AddMaterial(rd); err != nil {
			return err
		}
	}
	if goModDir != "" {
		mods, err := provenance.GoModules(ctx, goModDir)
		if err != nil {
			return err
		}
		if err := rec.AddMaterial(mods...); err != nil {
			return err
		}
	}
	for _, b := range goBinaries {
		mods, err := provenance.GoModulesFromBinary(b)
		if err != nil {
			return err
		}
		if err := rec.AddMaterial(mods...); err != nil {
			return err
		}
	}
	return nil
}
