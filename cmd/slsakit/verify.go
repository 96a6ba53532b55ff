package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

// verifyMode is what verify trusts attestations by.
type verifyMode int

const (
	byKeys     verifyMode = iota // --key, --kms-key
	byIdentity                   // --certificate-oidc-issuer and an identity
	byPolicy                     // --policy
)

// Flags of verify by role, for checkVerifyFlags.
var (
	keylessFlags      = []string{"certificate-oidc-issuer", "certificate-identity", "certificate-identity-regexp"}
	registryFlagNames = []string{"insecure-registry", "layout", "attestation-repository"}
	trustRepoFlags    = []string{"trust-repo", "trust-repo-root", "trust-repo-cache"}
)

// checkVerifyFlags refuses every combination of verify's flags in which
// one would be ignored: each flag given takes part in the verification or
// the command is a usage error, so that no input (an attestation, a trust
// anchor, a requirement) is ever silently dropped and nothing passes
// unverified. given maps the flags given to their values, nargs is the
// number of FILE arguments.
func checkVerifyFlags(given map[string]string, nargs int) (verifyMode, error) {
	set := map[string]bool{}
	names := make([]string, 0, len(given))
	for n := range given {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// An empty value would read as "not given" further on (an empty
		// issuer or identity would match nothing, or anything).
		if given[n] == "" && n != "predicate-type" {
			return 0, usagef("--%s needs a value", n)
		}
		set[n] = true
	}
	layout := given["layout"]
	first := func(names ...string) string {
		for _, n := range names {
			if set[n] {
				return "--" + n
			}
		}
		return ""
	}
	// What is verified: one FILE with its attestations, or an image.
	switch {
	case nargs > 1:
		return 0, usagef("give one FILE; got %d", nargs)
	case nargs == 1 && set["image"]:
		return 0, usagef("give either FILE or --image, not both")
	case nargs == 0 && !set["image"]:
		return 0, usagef("give FILE (with --envelope or --bundle) or --image")
	case nargs == 1 && !set["envelope"] && !set["bundle"]:
		return 0, usagef("verifying FILE needs its attestations: --envelope or --bundle")
	case set["envelope"] && set["bundle"]:
		// Each would pass on its own; verify them one at a time.
		return 0, usagef("give --envelope or --bundle, not both")
	case set["image"] && (set["envelope"] || set["bundle"]):
		return 0, usagef("%s is FILE's attestation; an image's attestations are read from its registry", first("envelope", "bundle"))
	case set["signature"] && !set["image"]:
		return 0, usagef("--signature verifies an image's cosign signatures: give --image")
	case set["signature"] && set["policy"]:
		return 0, usagef("--signature and --policy cannot be combined: a policy judges attestations")
	case set["platform"] && !set["image"]:
		return 0, usagef("--platform selects an image in the index --image names")
	}

	// What attestations are trusted by: exactly one of keys, a keyless
	// identity, a policy.
	keys, keyless, policy := first("key", "kms-key"), first(keylessFlags...), first("policy")
	var modes []string
	for _, m := range []string{keys, keyless, policy} {
		if m != "" {
			modes = append(modes, m)
		}
	}
	switch len(modes) {
	case 0:
		return 0, usagef("give --key, --kms-key, --certificate-oidc-issuer with --certificate-identity, or --policy")
	case 1:
	default:
		return 0, usagef("%s and %s cannot be combined: trust either keys, a keyless identity or a policy", modes[0], modes[1])
	}

	// A registry is read for an image, and for a policy's dependencies.
	if f := first(registryFlagNames...); f != "" && !set["image"] && policy == "" {
		return 0, usagef("%s: verifying a file without --policy reads no registry", f)
	}
	// Delegated signer rules join a policy's own.
	if f := first(trustRepoFlags...); f != "" && policy == "" {
		return 0, usagef("%s adds signer rules to a policy: give --policy", f)
	}
	if f := first(trustRepoFlags[1:]...); f != "" && !set["trust-repo"] {
		return 0, usagef("%s needs --trust-repo", f)
	}
	if set["trust-repo"] && !set["trust-repo-root"] {
		return 0, usagef("--trust-repo needs --trust-repo-root: the repository's initial root.json")
	}
	// Keyless trust comes from one place: a trusted_root.json file or TUF.
	if err := checkAnchorFlags(given); err != nil {
		return 0, err
	}
	var mode verifyMode
	var unused []string // flags that have no effect in this mode
	switch {
	case policy != "":
		mode = byPolicy
		// The policy states the signers and requirements itself.
		unused = []string{"threshold", "builder-id", "build-type", "predicate-type", "bind-to-provenance"}
		if set["image"] {
			unused = append(unused, "name") // an image's name is its repository
		}
	case keyless != "":
		mode = byIdentity
		switch {
		case !set["certificate-oidc-issuer"]:
			return 0, usagef("%s needs --certificate-oidc-issuer", keyless)
		case set["certificate-identity"] == set["certificate-identity-regexp"]:
			return 0, usagef("keyless verification needs exactly one of --certificate-identity and --certificate-identity-regexp")
		case set["layout"] && layout != "referrers":
			return 0, usagef("--layout %s: keyless attestations are Sigstore bundles, which only the referrers layout holds", layout)
		case set["envelope"]:
			return 0, usagef("keyless verification reads a Sigstore bundle (--bundle), not a DSSE envelope (--envelope)")
		}
		unused = []string{"threshold", "name", "kms-endpoint"}
		if set["bind-to-provenance"] {
			// Binding is to a provenance, which the command then
			// requires: another predicate type would go unchecked.
			unused = append(unused, "predicate-type")
		}
	default:
		mode = byKeys
		unused = append([]string{"name", "bind-to-provenance"}, anchorFlagNames...)
		if !set["kms-key"] {
			unused = append(unused, "kms-endpoint")
		}
	}
	if set["signature"] {
		// A signature states the image digest only.
		unused = append(unused, "builder-id", "build-type", "predicate-type", "bind-to-provenance")
	}
	if f := first(unused...); f != "" {
		return 0, usagef("%s has no effect with %s: refusing rather than ignoring it", f, modes[0])
	}
	return mode, nil
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "(--key PUB | --kms-key REF | --certificate-oidc-issuer ISS --certificate-identity ID [--trusted-root F] | --policy FILE) [flags] (--envelope F FILE | --bundle B FILE | --image REF)", stderr)
	var (
		envelope      = fs.String("envelope", "", "attestations of FILE: .intoto.jsonl or a DSSE envelope JSON")
		image         = fs.String("image", "", "verify this image's attestations from its registry")
		platform      = fs.String("platform", "", "with --image naming an index: verify this platform's image (os/arch[/variant]); attestations on the index count only if they name its digest")
		policyPath    = fs.String("policy", "", "policy file (YAML/JSON) naming the trusted signers and requirements (excludes --key, --kms-key, the keyless identity flags and the requirement flags)")
		name          = fs.String("name", "", "with --policy: FILE's name for the policy's signer rules (default: FILE's base name)")
		threshold     = fs.Int("threshold", 1, "distinct --key/--kms-key signatures required")
		builderID     = fs.String("builder-id", "", "required builder ID (exact)")
		buildType     = fs.String("build-type", "", "required build type (exact)")
		predicateType = fs.String("predicate-type", provenance.PredicateSLSAProvenanceV1, "required predicate type ('' for any)")
		jsonOut       = fs.Bool("json", false, "print the result as JSON")
		signature     = fs.Bool("signature", false, "with --image: verify its cosign image signatures (.sig tag, v3 referrers) instead of its attestations")
		kmsEndpoint   = fs.String("kms-endpoint", "", "KMS endpoint for --kms-key and the policy's kms keys")
		bundlePath    = fs.String("bundle", "", "Sigstore bundle of FILE: keyless (with the identity flags), or its DSSE envelope verified with --key/--kms-key (its log entries are not checked)")
		trustRepo     = fs.String("trust-repo", "", "with --policy: also trust the signer rules this TUF repository delegates per subproject (see trust.Delegations)")
		trustRepoRoot = fs.String("trust-repo-root", "", "initial root.json of --trust-repo")
		trustRepoDir  = fs.String("trust-repo-cache", "", "TUF metadata cache directory of --trust-repo (default: the user cache directory)")
		issuer        = fs.String("certificate-oidc-issuer", "", "keyless: the signer's OIDC issuer, exactly")
		identity      = fs.String("certificate-identity", "", "keyless: the signer's identity (certificate SAN), exactly")
		identityRe    = fs.String("certificate-identity-regexp", "", "keyless: a regular expression the whole SAN must match")
		bind          = fs.String("bind-to-provenance", "", "keyless: require the signing certificate to agree with the provenance it signed on these facts, comma-separated: builder, source, ref, trigger (a policy signer rule's bindToProvenance); judged as that policy would be")
		kmsKeys       list
		keys          list
		reg           registryFlags
		kt            keylessTrust
	)
	kt.register(fs, "trusted_root.json for keyless verification (bundles, policy identities)")
	fs.Var(&keys, "key", "trusted PEM public key file; repeatable")
	fs.Var(&kmsKeys, "kms-key", "trusted KMS key: gcpkms://… (without a version: every enabled version), hashivault://KEY (every version Vault verifies with) or NAME://KEY (sigstore KMS plugin); repeatable")
	reg.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && f.Value.String() == "false" {
			return // --json=false, --insecure-registry=false: the default
		}
		given[f.Name] = f.Value.String()
	})
	mode, err := checkVerifyFlags(given, fs.NArg())
	if err != nil {
		return err
	}
	regOpts, err := reg.options(ctx, *image)
	if err != nil {
		return err
	}
	if mode == byIdentity && reg.format == "" {
		// Keyless attestations are Sigstore bundles, which only referrers
		// hold: do not download the legacy layout's envelopes to refuse them.
		regOpts = append(regOpts, oci.WithLayout(oci.Referrers))
	}

	// What is verified: the image, or FILE with its attestations.
	tgt := verifyTarget{image: *image}
	if *platform != "" {
		if _, err := oci.ParsePlatform(*platform); err != nil {
			return usagef("--platform: %v", err)
		}
		tgt.platform = *platform
	}
	if *image == "" {
		if tgt.art, tgt.atts, err = fileArtifact(ctx, fs.Arg(0), *envelope, *bundlePath, *name); err != nil {
			return err
		}
	}

	anchor := kt.anchor(ctx)

	// Whom to trust: a policy, or one Authenticator and the requirements.
	if mode == byPolicy {
		rootFlag := kt.flag()
		var delegated []verify.SignerRule
		if *trustRepo != "" {
			if delegated, err = delegatedSigners(ctx, stderr, *trustRepo, *trustRepoRoot, *trustRepoDir); err != nil {
				return err
			}
		}
		eng, err := policyEngine(ctx, *policyPath, delegated, anchor, rootFlag, *kmsEndpoint, regOpts)
		if err != nil {
			return err
		}
		return tgt.evaluate(ctx, stdout, *jsonOut, eng, regOpts)
	}
	var root verifykeyless.Option
	if mode == byIdentity {
		if *bind != "" {
			// Binding is a signer rule's: the policy the flags describe,
			// checked before the trusted root is fetched.
			p, err := boundPolicy(*bind, verify.Identity{Issuer: *issuer, Subject: *identity, SubjectRegexp: *identityRe}, *builderID, *buildType)
			if err != nil {
				return err
			}
			if root, err = anchor(); err != nil {
				return err
			}
			eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(verifykeyless.Identities(root)), verify.WithFetcher(verify.OCIFetcher(regOpts...)))
			if errors.Is(err, verify.ErrPolicy) {
				return usagef("%v", err)
			} else if err != nil {
				return err
			}
			return tgt.evaluate(ctx, stdout, *jsonOut, eng, regOpts)
		}
		if root, err = anchor(); err != nil {
			return err
		}
	}
	auth, err := authenticator(ctx, trustFlags{
		keys: keys, kmsKeys: kmsKeys, kmsEndpoint: *kmsEndpoint, threshold: *threshold,
		root: root, issuer: *issuer, identity: *identity, identityRe: *identityRe,
	})
	if err != nil {
		return err
	}
	if *signature {
		return verifySignatures(ctx, stdout, *jsonOut, auth, *image, regOpts)
	}
	want := verify.Expectations{PredicateType: *predicateType, BuilderID: *builderID, BuildType: *buildType}
	return tgt.verify(ctx, stdout, *jsonOut, auth, want, regOpts)
}

// boundPolicy is the policy verify's flags state with --bind-to-provenance
// (binds, comma-separated): the one signer rule a policy file would give
// for the identity, with its bindToProvenance, and the builder and build
// type required as the policy's own rules. A provenance is required:
// binding is to one.
func boundPolicy(binds string, id verify.Identity, builderID, buildType string) (*verify.Policy, error) {
	rule := verify.SignerRule{Artifacts: "**", Identities: []verify.Identity{id}}
	for _, b := range strings.Split(binds, ",") {
		rule.BindToProvenance = append(rule.BindToProvenance, strings.TrimSpace(b))
	}
	p := &verify.Policy{Version: verify.PolicyVersion, Signers: []verify.SignerRule{rule},
		RequiredPredicates: []string{provenance.PredicateSLSAProvenanceV1}}
	if builderID != "" {
		p.Builders = []verify.BuilderRule{{ID: builderID}}
	}
	if buildType != "" {
		p.BuildTypes = []string{buildType}
	}
	if err := p.Validate(); err != nil {
		var pe *verify.PolicyError
		if errors.As(err, &pe) && strings.Contains(pe.Field, "bindToProvenance") {
			return nil, usagef("--bind-to-provenance %s: %v", binds, pe.Err)
		}
		return nil, usagef("%v", err)
	}
	return p, nil
}

// trustFlags are the flags that say whom to trust without a policy: keys
// and KMS keys with a threshold, or one keyless identity under a root
// (checkVerifyFlags lets only one kind through).
type trustFlags struct {
	keys, kmsKeys                []string
	kmsEndpoint                  string
	threshold                    int
	root                         verifykeyless.Option
	issuer, identity, identityRe string
}

// authenticator builds the one Authenticator the trust flags describe.
func authenticator(ctx context.Context, f trustFlags) (verify.Authenticator, error) {
	if f.issuer != "" {
		v, err := verifykeyless.NewVerifier(f.root,
			verifykeyless.WithIdentity(verify.Identity{Issuer: f.issuer, Subject: f.identity, SubjectRegexp: f.identityRe}))
		if err != nil {
			return nil, usagef("%v", err)
		}
		return v, nil
	}
	var pems [][]byte
	for _, k := range f.keys {
		b, err := os.ReadFile(k)
		if err != nil {
			return nil, err
		}
		pems = append(pems, b)
	}
	opts := []verify.KeyOption{verify.WithPublicKeyPEM(pems...), verify.WithThreshold(f.threshold)}
	for _, ref := range f.kmsKeys {
		kv, err := kmsResolver(f.kmsEndpoint)(ctx, ref)
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithKeys(kv))
	}
	a, err := verify.Keys(opts...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return a, nil
}

// policyEngine loads the policy file and builds its engine: KMS keys
// through the endpoint, identities with the trusted root, dependencies
// fetched from registries.
func policyEngine(ctx context.Context, path string, delegated []verify.SignerRule, anchor func() (verifykeyless.Option, error), rootFlag, kmsEndpoint string, regOpts []oci.Option) (*verify.Engine, error) {
	p, err := verify.LoadPolicyFile(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	opts := []verify.EngineOption{verify.WithFetcher(verify.OCIFetcher(regOpts...)),
		verify.WithKeyResolver(kmsResolver(kmsEndpoint)), verify.WithSigners(delegated...)}
	if hasIdentities(p) || hasIdentities(&verify.Policy{Signers: delegated}) {
		root, err := anchor()
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithIdentities(verifykeyless.Identities(root)))
	} else if rootFlag != "" {
		return nil, usagef("%s has no effect: the policy trusts no keyless identity", rootFlag)
	}
	return verify.NewEngine(ctx, p, opts...)
}

// hasIdentities reports whether any signer rule of p or of its dependency
// policy trusts keyless identities: only then is a trusted root needed.
func hasIdentities(p *verify.Policy) bool {
	for p != nil {
		for _, r := range p.Signers {
			if len(r.Identities) > 0 {
				return true
			}
		}
		if p.Dependencies == nil {
			break
		}
		p = p.Dependencies.Policy
	}
	return false
}

// verifyTarget is what verify checks: an image (its attestations come from
// its registry), or a file's artifact with the attestations given for it.
type verifyTarget struct {
	image    string
	platform string // with image: the platform manifest of that index
	art      intoto.ResourceDescriptor
	atts     []*sign.Attestation
}

// verify checks every attestation of the target with auth and want; the
// target passes when one does.
func (tg verifyTarget) verify(ctx context.Context, stdout io.Writer, asJSON bool, auth verify.Authenticator, want verify.Expectations, regOpts []oci.Option) error {
	subject, digest := tg.art.Name, tg.art.Digest
	var results []*verify.Result
	if tg.image != "" {
		res, err := verify.VerifyImage(ctx, auth, tg.image, want, tg.imageOptions(regOpts)...)
		// A registry that cannot be read (refused credentials, down) is an
		// error, not "no attestations": only verification failures are
		// reported as results.
		if res == nil || (err != nil && !errors.Is(err, verify.ErrNoAttestation)) {
			return err
		}
		subject, digest, results = res.Image, res.Digest, res.Attestations
	} else {
		want.SubjectDigest = digest
		for _, a := range tg.atts {
			r, _ := verify.Verify(ctx, auth, a, want)
			results = append(results, r)
		}
	}
	var text string
	var js []any
	passed := 0
	for _, r := range results {
		text += r.String()
		js = append(js, resultJSON(r))
		if r.Passed() {
			passed++
		}
	}
	if len(results) == 0 {
		text = "no attestations found for " + subject + "\n"
	}
	if err := printResult(stdout, asJSON, map[string]any{"subject": subject, "digest": digest, "passed": passed > 0, "attestations": js}, text); err != nil {
		return err
	}
	if passed == 0 {
		return &rejected{fmt.Errorf("no attestation of %s verified", subject)}
	}
	return nil
}

// evaluate judges the target by the policy engine.
func (tg verifyTarget) evaluate(ctx context.Context, stdout io.Writer, asJSON bool, eng *verify.Engine, regOpts []oci.Option) error {
	var rep *verify.Report
	var err error
	if tg.image != "" {
		rep, err = eng.EvaluateImage(ctx, tg.image, tg.imageOptions(regOpts)...)
	} else {
		rep, err = eng.Evaluate(ctx, tg.art, tg.atts)
	}
	if rep == nil {
		return err
	}
	if perr := printResult(stdout, asJSON, reportJSON(rep), rep.String()); perr != nil {
		return perr
	}
	if err != nil {
		return &rejected{errors.New("the policy is not met")}
	}
	return nil
}

// fileArtifact hashes a file and reads its attestations: the envelopes of
// envelopePath, or the Sigstore bundle at bundlePath with its DSSE
// envelope (unauthenticated until verified).
func fileArtifact(ctx context.Context, path, envelopePath, bundlePath, name string) (intoto.ResourceDescriptor, []*sign.Attestation, error) {
	digest, err := verify.DigestOfFile(ctx, path)
	if err != nil {
		return intoto.ResourceDescriptor{}, nil, err
	}
	if name == "" {
		name = filepath.Base(path)
	}
	art := intoto.ResourceDescriptor{Name: name, Digest: digest}
	if bundlePath != "" {
		raw, err := os.ReadFile(bundlePath)
		if err != nil {
			return intoto.ResourceDescriptor{}, nil, err
		}
		b, err := sign.ParseBundle(raw)
		if err != nil {
			return intoto.ResourceDescriptor{}, nil, fmt.Errorf("%s: %w", bundlePath, err)
		}
		if b.DSSEEnvelope == nil {
			return intoto.ResourceDescriptor{}, nil, fmt.Errorf("%s: the bundle holds a message signature, not an attestation", bundlePath)
		}
		return art, []*sign.Attestation{{Envelope: b.DSSEEnvelope, Bundle: b}}, nil
	}
	f, err := os.Open(envelopePath)
	if err != nil {
		return intoto.ResourceDescriptor{}, nil, err
	}
	defer f.Close()
	envs, err := sign.ReadJSONL(f)
	if err != nil {
		return intoto.ResourceDescriptor{}, nil, err
	}
	if len(envs) == 0 {
		return intoto.ResourceDescriptor{}, nil, fmt.Errorf("%s holds no envelope", envelopePath)
	}
	atts := make([]*sign.Attestation, len(envs))
	for i, env := range envs {
		atts[i] = &sign.Attestation{Envelope: env}
	}
	return art, atts, nil
}

func printResult(w io.Writer, asJSON bool, js any, text string) error {
	if !asJSON {
		_, err := io.WriteString(w, text)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(js)
}

type checkJSON struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Want    string `json:"want,omitempty"`
	Got     string `json:"got,omitempty"`
	Error   string `json:"error,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func checksJSON(cs []verify.Check) []checkJSON {
	out := make([]checkJSON, 0, len(cs))
	for _, c := range cs {
		j := checkJSON{Name: c.Name, Outcome: string(c.Outcome), Want: c.Want, Got: c.Got, Reason: c.Reason}
		if c.Err != nil {
			j.Error = c.Err.Error()
		}
		out = append(out, j)
	}
	return out
}

func resultJSON(r *verify.Result) map[string]any {
	m := map[string]any{"passed": r.Passed(), "checks": checksJSON(r.Checks), "signers": r.Signers, "times": r.Times}
	if r.Statement != nil {
		m["predicateType"] = r.Statement.PredicateType
	}
	return m
}

func reportJSON(r *verify.Report) map[string]any {
	atts := make([]any, 0, len(r.Attestations))
	for _, a := range r.Attestations {
		atts = append(atts, resultJSON(a))
	}
	deps := make([]any, 0, len(r.Dependencies))
	for _, d := range r.Dependencies {
		deps = append(deps, reportJSON(d))
	}
	return map[string]any{
		"artifact": r.Artifact.Name, "digest": r.Artifact.Digest, "passed": r.Passed(), "rule": r.Rule,
		"checks": checksJSON(r.Checks), "attestations": atts, "dependencies": deps,
	}
}

// imageOptions are regOpts for reading the image verified: with its
// platform. Dependencies are named by digest and read without it.
func (tg verifyTarget) imageOptions(regOpts []oci.Option) []oci.Option {
	if tg.platform == "" {
		return regOpts
	}
	return append(regOpts[:len(regOpts):len(regOpts)], oci.WithPlatform(tg.platform))
}
