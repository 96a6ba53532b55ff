package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "(--key PUB | --kms-key REF | --certificate-oidc-issuer ISS --certificate-identity ID | --policy FILE) [flags] (--envelope F FILE | --bundle B FILE | --image REF)", stderr)
	var (
		envelope      = fs.String("envelope", "", "attestations of FILE: .intoto.jsonl or a DSSE envelope JSON")
		image         = fs.String("image", "", "verify this image's attestations from its registry")
		policyPath    = fs.String("policy", "", "policy file (YAML/JSON); its signer rules replace --key")
		name          = fs.String("name", "", "artifact name for the policy's signer rules (default: FILE's base name)")
		threshold     = fs.Int("threshold", 1, "distinct --key signatures required")
		builderID     = fs.String("builder-id", "", "required builder ID (exact)")
		buildType     = fs.String("build-type", "", "required build type (exact)")
		predicateType = fs.String("predicate-type", provenance.PredicateSLSAProvenance1, "required predicate type ('' for any)")
		jsonOut       = fs.Bool("json", false, "print the result as JSON")
		kmsEndpoint   = fs.String("kms-endpoint", "", "KMS endpoint for --kms-key and the policy's kms keys")
		bundlePath    = fs.String("bundle", "", "Sigstore bundle of FILE (keyless, or key-based)")
		trustedRoot   = fs.String("trusted-root", "", "trusted_root.json for keyless verification (bundles, policy identities)")
		issuer        = fs.String("certificate-oidc-issuer", "", "keyless: the signer's OIDC issuer, exactly")
		identity      = fs.String("certificate-identity", "", "keyless: the signer's identity (certificate SAN), exactly")
		identityRe    = fs.String("certificate-identity-regexp", "", "keyless: a regular expression the whole SAN must match")
		kmsKeys       list
		keys          list
		reg           registryFlags
	)
	fs.Var(&keys, "key", "trusted PEM public key file; repeatable")
	fs.Var(&kmsKeys, "kms-key", "trusted GCP Cloud KMS key (gcpkms://…); repeatable")
	reg.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*image == "") == (fs.NArg() == 0) {
		return usagef("give either FILE (with --envelope or --bundle) or --image")
	}
	keylessMode := *issuer != ""
	if *policyPath == "" && len(keys) == 0 && len(kmsKeys) == 0 && !keylessMode {
		return usagef("give --key, --kms-key, --certificate-oidc-issuer with --certificate-identity, or --policy")
	}
	regOpts, err := reg.options()
	if err != nil {
		return err
	}

	if *policyPath != "" {
		p, err := verify.LoadPolicyFile(*policyPath)
		if err != nil {
			return usagef("%v", err)
		}
		engOpts := []verify.EngineOption{verify.WithFetcher(verify.OCIFetcher(regOpts...)),
			verify.WithKeyResolver(kms.Resolver(kmsOptions(*kmsEndpoint)))}
		if *trustedRoot != "" {
			engOpts = append(engOpts, verify.WithIdentityVerifier(verifykeyless.IdentityVerifier(verifykeyless.WithTrustedRootFile(*trustedRoot))))
		}
		eng, err := verify.NewEngine(ctx, p, engOpts...)
		if err != nil {
			return err
		}
		var rep *verify.Report
		if *image != "" {
			rep, err = eng.EvaluateImage(ctx, *image, regOpts...)
		} else {
			var art verify.Artifact
			var envs []*sign.Envelope
			if art, envs, err = fileArtifact(ctx, fs.Arg(0), *envelope, *name); err != nil {
				return err
			}
			rep, err = eng.Evaluate(ctx, art, envs)
		}
		if rep == nil {
			return err
		}
		if perr := printResult(stdout, *jsonOut, reportJSON(rep), rep.String()); perr != nil {
			return perr
		}
		if err != nil {
			return &rejected{errors.New("the policy is not met")}
		}
		return nil
	}

	want := verify.Expectations{PredicateType: *predicateType, BuilderID: *builderID, BuildType: *buildType}
	if keylessMode {
		return verifyKeyless(ctx, stdout, *jsonOut, keylessArgs{
			root: *trustedRoot, issuer: *issuer, identity: *identity, identityRe: *identityRe,
			image: *image, bundle: *bundlePath, file: fs.Arg(0), name: *name,
		}, want, regOpts)
	}
	var pems [][]byte
	for _, k := range keys {
		b, err := os.ReadFile(k)
		if err != nil {
			return err
		}
		pems = append(pems, b)
	}
	vopts := []verify.Option{verify.WithPublicKeyPEM(pems...), verify.WithThreshold(*threshold)}
	for _, ref := range kmsKeys {
		kv, err := kms.NewVerifier(ctx, ref, kmsOptions(*kmsEndpoint))
		if err != nil {
			return err
		}
		vopts = append(vopts, verify.WithKeys(kv))
	}
	v, err := verify.New(vopts...)
	if err != nil {
		return usagef("%v", err)
	}
	if *image != "" {
		res, err := v.VerifyImage(ctx, *image, want, regOpts...)
		if res == nil {
			return err
		}
		var text string
		var js []any
		for _, a := range res.Attestations {
			text += a.String()
			js = append(js, resultJSON(a))
		}
		if len(res.Attestations) == 0 {
			text = "no attestations found for " + res.Image + "\n"
		}
		if perr := printResult(stdout, *jsonOut, map[string]any{"image": res.Image, "passed": err == nil, "attestations": js}, text); perr != nil {
			return perr
		}
		if err != nil {
			return &rejected{fmt.Errorf("no attestation of %s verified", res.Image)}
		}
		return nil
	}
	art, envs, err := fileArtifact(ctx, fs.Arg(0), *envelope, *name)
	if err != nil {
		return err
	}
	want.SubjectDigest = art.Digest
	var text string
	var js []any
	passed := 0
	for _, env := range envs {
		r, err := v.VerifyEnvelope(ctx, env, want)
		text += r.String()
		js = append(js, resultJSON(r))
		if err == nil {
			passed++
		}
	}
	if perr := printResult(stdout, *jsonOut, map[string]any{"artifact": art.Name, "digest": art.Digest, "passed": passed > 0, "attestations": js}, text); perr != nil {
		return perr
	}
	if passed == 0 {
		return &rejected{fmt.Errorf("no attestation of %s verified", art.Name)}
	}
	return nil
}

type keylessArgs struct {
	root, issuer, identity, identityRe string
	image, bundle, file, name          string
}

// verifyKeyless checks Sigstore bundles against a trusted root and one
// signer identity: the image's referrer bundles, or FILE's --bundle.
func verifyKeyless(ctx context.Context, stdout io.Writer, asJSON bool, a keylessArgs, want verify.Expectations, regOpts []oci.Option) error {
	if a.root == "" || (a.identity == "") == (a.identityRe == "") {
		return usagef("keyless verification needs --trusted-root and exactly one of --certificate-identity and --certificate-identity-regexp")
	}
	kv, err := verifykeyless.NewVerifier(verifykeyless.WithTrustedRootFile(a.root),
		verifykeyless.WithIdentity(verifykeyless.Identity{Issuer: a.issuer, SAN: a.identity, SANRegexp: a.identityRe}))
	if err != nil {
		return usagef("%v", err)
	}
	var results []*verify.Result
	subject := a.image
	if a.image != "" {
		res, err := verify.VerifyImageBundles(ctx, a.image, kv, want, regOpts...)
		if res == nil {
			return err
		}
		results, subject = res.Attestations, res.Image
	} else {
		if a.bundle == "" {
			return usagef("keyless verification of a file needs --bundle")
		}
		raw, err := os.ReadFile(a.bundle)
		if err != nil {
			return err
		}
		if want.SubjectDigest, err = verify.DigestOfFile(ctx, a.file); err != nil {
			return err
		}
		r, _ := verify.VerifyBundle(ctx, kv, raw, want)
		results, subject = []*verify.Result{r}, a.file
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
		text = "no Sigstore bundles found for " + subject + "\n"
	}
	if err := printResult(stdout, asJSON, map[string]any{"subject": subject, "passed": passed > 0, "attestations": js}, text); err != nil {
		return err
	}
	if passed == 0 {
		return &rejected{fmt.Errorf("no bundle of %s verified for that identity", subject)}
	}
	return nil
}

// fileArtifact hashes a file and reads its attestations.
func fileArtifact(ctx context.Context, path, envelopePath, name string) (verify.Artifact, []*sign.Envelope, error) {
	if envelopePath == "" {
		return verify.Artifact{}, nil, usagef("verifying a file needs --envelope")
	}
	digest, err := verify.DigestOfFile(ctx, path)
	if err != nil {
		return verify.Artifact{}, nil, err
	}
	if name == "" {
		name = filepath.Base(path)
	}
	f, err := os.Open(envelopePath)
	if err != nil {
		return verify.Artifact{}, nil, err
	}
	defer f.Close()
	envs, err := sign.ReadJSONL(f)
	if err != nil {
		return verify.Artifact{}, nil, err
	}
	if len(envs) == 0 {
		return verify.Artifact{}, nil, fmt.Errorf("%s holds no envelope", envelopePath)
	}
	return verify.Artifact{Name: name, Digest: digest}, envs, nil
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
	m := map[string]any{"passed": r.Passed(), "checks": checksJSON(r.Checks), "signers": r.Signers}
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
