package main

import (
	"context"
	"os"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
)

// signerFlags choose how attest and sbom sign: a key file, a KMS key, or a
// keyless identity.
type signerFlags struct {
	key, passwordEnv   string
	kms, kmsEndpoint   string
	keyless            bool
	idToken            string
	oidcProvider       string
	fulcio, rekor, tsa string
	signingConfig      string
	bundleOut          string
}

type flagRegistrar interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
}

func (f *signerFlags) register(fs flagRegistrar) {
	f.registerSigning(fs)
	fs.StringVar(&f.bundleOut, "bundle-out", "", "with --keyless: also write the Sigstore bundle here")
}

// registerSigning registers the flags that choose the signer, for commands
// that write their own outputs (sign-blob).
func (f *signerFlags) registerSigning(fs flagRegistrar) {
	fs.StringVar(&f.key, "key", "", "PEM or cosign-encrypted private key to sign with")
	fs.StringVar(&f.passwordEnv, "password-env", "COSIGN_PASSWORD", "environment variable holding the key's password")
	fs.StringVar(&f.kms, "kms", "", "sign with this KMS key: gcpkms://… (GCP Cloud KMS), hashivault://KEY (Vault transit, $VAULT_ADDR/$VAULT_TOKEN) or NAME://KEY (the sigstore KMS plugin sigstore-kms-NAME on PATH)")
	fs.StringVar(&f.kmsEndpoint, "kms-endpoint", "", "KMS endpoint HOST:PORT (loopback: a test server, plaintext)")
	fs.BoolVar(&f.keyless, "keyless", false, "sign keyless: a Fulcio certificate for an OIDC identity, a Rekor entry and/or timestamp")
	fs.StringVar(&f.idToken, "id-token", "", "with --keyless: OIDC ID token (default: $SIGSTORE_ID_TOKEN, else GitHub Actions)")
	fs.StringVar(&f.oidcProvider, "oidc-provider", "", "with --keyless: where the token comes from: env, filesystem, github-actions, gitlab, buildkite-agent, spiffe or google (default: detected)")
	fs.StringVar(&f.fulcio, "fulcio-url", "", "with --keyless: Fulcio URL (default: Sigstore public good)")
	fs.StringVar(&f.rekor, "rekor-url", "", "with --keyless: Rekor URL (default: public good; 'none': no log entry)")
	fs.StringVar(&f.tsa, "tsa-url", "", "with --keyless: RFC 3161 timestamp authority URL")
	fs.StringVar(&f.signingConfig, "signing-config", "", "with --keyless: signing_config.json (v0.2) choosing Fulcio, the Rekor logs (highest API version: v2, else v1) and timestamp authorities, instead of the URL flags")
}

// load returns the chosen signer and a function that releases it.
func (f *signerFlags) load(ctx context.Context) (sign.Signer, func(), error) {
	n := 0
	for _, set := range []bool{f.key != "", f.kms != "", f.keyless} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, nil, usagef("sign with exactly one of --key, --kms and --keyless")
	}
	if f.signingConfig != "" && !f.keyless {
		return nil, nil, usagef("--signing-config chooses keyless services: give --keyless")
	}
	if f.signingConfig != "" && (f.fulcio != "" || f.rekor != "" || f.tsa != "") {
		// Mixing would leave unclear which log a URL flag replaces and
		// whether its API version still holds.
		return nil, nil, usagef("give --signing-config or the --fulcio-url/--rekor-url/--tsa-url flags, not both")
	}
	switch {
	case f.kms != "":
		return kmsSigner(ctx, f.kms, f.kmsEndpoint)
	case f.keyless:
		ts := keyless.AmbientToken(f.idToken)
		if f.oidcProvider != "" {
			if f.idToken != "" {
				return nil, nil, usagef("give --id-token or --oidc-provider, not both")
			}
			var err error
			if ts, err = keyless.TokenProvider(f.oidcProvider); err != nil {
				return nil, nil, usagef("%v", err)
			}
		}
		if ts == nil {
			return nil, nil, usagef("--keyless needs an OIDC token: --id-token, --oidc-provider, $SIGSTORE_ID_TOKEN, or a CI job that provides one (GitHub Actions with id-token: write, GitLab id_tokens, Buildkite, SPIFFE)")
		}
		opts := append(keyless.ServiceURLs(f.fulcio, f.rekor, f.tsa), keyless.WithToken(ts))
		if f.signingConfig != "" {
			opts = append(opts, keyless.WithSigningConfigFile(f.signingConfig))
		}
		s, err := keyless.NewSigner(ctx, opts...)
		return s, func() {}, err
	default:
		s, err := sign.LoadPrivateKeyFile(f.key, sign.WithPasswordEnv(f.passwordEnv))
		return s, func() {}, err
	}
}

// sign signs stmt into an attestation: a keyless signer's comes with its
// Sigstore bundle, written to --bundle-out if asked.
func (f *signerFlags) sign(ctx context.Context, stmt []byte, s sign.Signer) (*sign.Attestation, error) {
	att, err := sign.Attest(ctx, stmt, s)
	if err != nil {
		return nil, err
	}
	if f.bundleOut != "" && att.Bundle != nil {
		b, err := att.Bundle.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.bundleOut, b, 0o644); err != nil {
			return nil, err
		}
	}
	return att, nil
}

// attachAll attaches att to every image in one oci.AttachAll, at most
// concurrency requests in flight, and with a signer also signs each image
// there as `slsakit sign` does: a failed image does not stop the others,
// and the error lists every one that failed.
func attachAll(ctx context.Context, att *sign.Attestation, signer sign.Signer, images []string, opts []oci.Option, concurrency int, log func(string)) error {
	jobs := make([]oci.Job, len(images))
	for i, ref := range images {
		jobs[i] = oci.Job{Image: ref, Attestations: []*sign.Attestation{att}, Signer: signer}
	}
	results, err := oci.AttachAll(ctx, jobs, append(opts[:len(opts):len(opts)], oci.WithConcurrency(concurrency))...)
	for _, r := range results {
		for _, res := range r.Attached {
			log("attached to " + res.Image)
			for _, m := range res.Manifests {
				log("attached to " + m.Image)
			}
		}
		if r.Signed != nil && r.Err == nil {
			for _, line := range signedLines(r.Signed) {
				log(line)
			}
		}
	}
	return err
}

// signedLines says where oci.Sign put each signature of res (the image's
// and, recursively, its platform images').
func signedLines(res *oci.SignResult) []string {
	var out []string
	for _, r := range append([]*oci.SignResult{res}, res.Manifests...) {
		where := ""
		if r.SigTag != "" {
			where += " " + r.SigTag
		}
		if r.Referrer != nil {
			where += " referrer " + r.Referrer.Digest.String()
		}
		out = append(out, "signed "+r.Image+":"+where)
	}
	return out
}
