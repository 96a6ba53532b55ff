package main

import (
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

// runSignBlob signs a file: a Sigstore bundle (--bundle, what cosign v3
// sign-blob writes) and/or the detached forms Kubernetes publishes
// (--output-signature, --output-certificate); with none of them the base64
// signature goes to stdout, as cosign prints it.
func runSignBlob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sign-blob", "(--key KEY | --kms REF | --keyless) [--bundle OUT] [--output-signature SIG] [--output-certificate CERT] FILE", stderr)
	var sf signerFlags
	sf.registerSigning(fs)
	bundleOut := fs.String("bundle", "", "write the Sigstore bundle (v0.3, message signature) here")
	sigOut := fs.String("output-signature", "", "write the detached signature (base64, as cosign) here")
	certOut := fs.String("output-certificate", "", "write the signing certificate (PEM) here; keyless only")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give one FILE to sign; got %d", fs.NArg())
	}
	s, release, err := sf.load(ctx)
	if err != nil {
		return err
	}
	defer release()
	if *certOut != "" {
		if cs, ok := s.(sign.CertificateSigner); !ok || len(cs.CertificateChain()) == 0 {
			return usagef("--output-certificate: the signer has no certificate (a key signs without one)")
		}
	}
	b, err := signFile(ctx, fs.Arg(0), s)
	if err != nil {
		return err
	}
	sig, err := sign.DetachedSignature(b)
	if err != nil {
		return err
	}
	if *bundleOut != "" {
		raw, err := b.MarshalJSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*bundleOut, raw, 0o644); err != nil {
			return err
		}
	}
	if *sigOut != "" {
		if err := os.WriteFile(*sigOut, sig, 0o644); err != nil {
			return err
		}
	}
	if *certOut != "" {
		if err := os.WriteFile(*certOut, sign.DetachedCertificate(b), 0o644); err != nil {
			return err
		}
	}
	if *bundleOut == "" && *sigOut == "" {
		_, err = fmt.Fprintf(stdout, "%s\n", sig)
	}
	return err
}

// runSignBundle is the sigstore-conformance client's sign-bundle: a
// keyless blob signature with the given token, services from the signing
// config (default: the public-good instance).
func runSignBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sign-bundle", "--identity-token TOKEN --bundle OUT [--signing-config F] [--trusted-root F] FILE", stderr)
	token := fs.String("identity-token", "", "OIDC identity token")
	bundleOut := fs.String("bundle", "", "write the Sigstore bundle here")
	signingConfig := fs.String("signing-config", "", "signing_config.json naming Fulcio, Rekor and timestamp authorities")
	fs.String("trusted-root", "", "accepted for the protocol; signing does not verify")
	staging := fs.Bool("staging", false, "sign against Sigstore's staging instance (not supported: give --signing-config)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return usagef("give one FILE to sign; got %d", fs.NArg())
	case *token == "" || *bundleOut == "":
		return usagef("sign-bundle needs --identity-token and --bundle")
	case *staging:
		return usagef("--staging: slsakit has no staging defaults; give its --signing-config")
	}
	opts := []keyless.Option{keyless.WithToken(keyless.StaticToken(*token))}
	if *signingConfig != "" {
		opts = append(opts, keyless.WithSigningConfigFile(*signingConfig))
	}
	s, err := keyless.NewSigner(ctx, opts...)
	if err != nil {
		return err
	}
	b, err := signFile(ctx, fs.Arg(0), s)
	if err != nil {
		return err
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		return err
	}
	return os.WriteFile(*bundleOut, raw, 0o644)
}

// signFile signs the file at path, streamed.
func signFile(ctx context.Context, path string, s sign.Signer) (*sign.Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sign.SignBlob(ctx, f, s)
}

// blobFlags are the flags of verify-blob and verify-bundle.
type blobFlags struct {
	bundle, signature, certificate         string
	keys, kmsKeys                          list
	kmsEndpoint                            string
	identity, identityRe, issuer, issuerRe string
	trust                                  keylessTrust
	given                                  map[string]string // the flags given, by name
}

func (f *blobFlags) register(fs *flag.FlagSet, detached bool) {
	fs.StringVar(&f.bundle, "bundle", "", "the bundle: a Sigstore bundle (v0.1 to v0.3), or cosign v2's sign-blob --bundle JSON")
	fs.Var(&f.keys, "key", "trusted PEM public key file")
	f.trust.register(fs, "trusted_root.json for identities (default: TUF, see --tuf-mirror); with --key, log entries and timestamps are verified too")
	fs.StringVar(&f.identity, "certificate-identity", "", "keyless: the signer's identity (certificate SAN), exactly")
	fs.StringVar(&f.identityRe, "certificate-identity-regexp", "", "keyless: a regular expression the whole SAN must match")
	fs.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the signer's OIDC issuer, exactly")
	fs.StringVar(&f.issuerRe, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the whole issuer must match")
	if detached {
		fs.StringVar(&f.signature, "signature", "", "detached signature file (base64, cosign sign-blob --output-signature)")
		fs.StringVar(&f.certificate, "certificate", "", "detached certificate file (PEM or base64 PEM) of a keyless --signature")
		fs.Var(&f.kmsKeys, "kms-key", "trusted GCP Cloud KMS key (gcpkms://…); repeatable")
		fs.StringVar(&f.kmsEndpoint, "kms-endpoint", "", "KMS endpoint for --kms-key")
	}
}

// check refuses every combination in which a flag would be ignored.
func (f *blobFlags) check(nargs int) error {
	keyed := len(f.keys) > 0 || len(f.kmsKeys) > 0
	ident := f.identity != "" || f.identityRe != "" || f.issuer != "" || f.issuerRe != ""
	if err := checkAnchorFlags(f.given); err != nil {
		return err
	}
	anchored := f.trust.flag() != ""
	switch {
	case nargs != 1:
		return usagef("give one FILE or sha256:DIGEST; got %d", nargs)
	case (f.bundle == "") == (f.signature == ""):
		return usagef("give exactly one of --bundle and --signature")
	case f.certificate != "" && f.signature == "":
		return usagef("--certificate goes with --signature; a bundle carries its own")
	case keyed == ident:
		return usagef("trust either --key/--kms-key or a keyless identity (--certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp])")
	case ident && (f.identity == "") == (f.identityRe == ""):
		return usagef("give exactly one of --certificate-identity and --certificate-identity-regexp")
	case ident && (f.issuer == "") == (f.issuerRe == ""):
		return usagef("give exactly one of --certificate-oidc-issuer and --certificate-oidc-issuer-regexp")
	case keyed && f.certificate != "":
		return usagef("--certificate is a keyless signer's; with --key the key is trusted")
	case keyed && anchored && (len(f.keys) != 1 || len(f.kmsKeys) > 0):
		return usagef("with %s, give one --key", f.trust.flag())
	}
	return nil
}

// authenticator builds the Authenticator the flags describe: the keys
// alone (signature only), or a Sigstore verifier of an identity or of one
// key under a trusted root (log entries and timestamps verified). Keys
// without a trust flag never reach for TUF: a key is trusted as it is.
func (f *blobFlags) authenticator(ctx context.Context) (verify.Authenticator, *verifykeyless.Verifier, error) {
	keyed := len(f.keys) > 0 || len(f.kmsKeys) > 0
	if keyed && f.trust.flag() == "" {
		a, err := authenticator(ctx, trustFlags{keys: f.keys, kmsKeys: f.kmsKeys, kmsEndpoint: f.kmsEndpoint, threshold: 1})
		return a, nil, err
	}
	root, err := f.trust.anchor(ctx)()
	if err != nil {
		return nil, nil, err
	}
	opts := []verifykeyless.Option{root}
	if len(f.keys) == 1 {
		pemBytes, err := os.ReadFile(f.keys[0])
		if err != nil {
			return nil, nil, err
		}
		pub, err := sign.LoadPublicKey(pemBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("--key %s: %w", f.keys[0], err)
		}
		opts = append(opts, verifykeyless.WithPublicKey(pub))
	} else {
		opts = append(opts, verifykeyless.WithIdentity(verify.Identity{
			Issuer: f.issuer, IssuerRegexp: f.issuerRe, Subject: f.identity, SubjectRegexp: f.identityRe}))
	}
	v, err := verifykeyless.NewVerifier(opts...)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return v, v, nil
}

func runVerifyBlob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return verifyBlobCommand(ctx, "verify-blob", args, stdout, stderr)
}

// runVerifyBundle is the sigstore-conformance client's verify-bundle: a
// bundle of a blob (message signature) or of an attestation (DSSE, the
// artifact one of its statement's subjects), by an identity or a key.
func runVerifyBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return verifyBlobCommand(ctx, "verify-bundle", args, stdout, stderr)
}

func verifyBlobCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	detached := name == "verify-blob"
	fs := newFlags(name, "(--key PUB | --certificate-identity ID --certificate-oidc-issuer ISS) [--trusted-root F | --tuf-mirror URL --tuf-root F] [--tuf-cache DIR] (--bundle B | --signature S [--certificate C]) FILE|sha256:HEX", stderr)
	var f blobFlags
	f.register(fs, detached)
	if err := parse(fs, args); err != nil {
		return err
	}
	f.given = map[string]string{}
	fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = fl.Value.String() })
	if err := f.check(fs.NArg()); err != nil {
		return err
	}
	auth, sv, err := f.authenticator(ctx)
	if err != nil {
		return err
	}
	var b *sign.Bundle
	var raw []byte
	var legacyErr error
	if f.bundle != "" {
		if raw, err = readLimited(f.bundle, sign.DefaultMaxBundleSize); err != nil {
			return err
		}
		if b, err = sign.ParseBundle(raw); err != nil {
			// Perhaps cosign v2's own bundle format, read once the
			// blob's digest is known (it records none).
			legacyErr = err
		}
	}
	if b != nil && b.DSSEEnvelope != nil && detached {
		return &rejected{fmt.Errorf("%s holds an attestation (DSSE), not a blob signature: use slsakit verify", f.bundle)}
	}
	if b != nil && b.DSSEEnvelope != nil && sv == nil {
		// A DSSE bundle by a key, without a root: sigstore's verifier
		// checks the envelope with the key.
		if sv, err = keyVerifier(f.keys[0]); err != nil {
			return err
		}
	}

	digest, err := artifactDigest(ctx, fs.Arg(0), f.hashes(b))
	if err != nil {
		return err
	}
	if b != nil && b.DSSEEnvelope != nil {
		if _, err := sv.Verify(ctx, raw, verifykeyless.WithArtifactDigest(intoto.AlgSHA256, digest[intoto.AlgSHA256])); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return &rejected{err}
		}
		_, err = fmt.Fprintln(stdout, "Verified OK")
		return err
	}
	switch {
	case legacyErr != nil:
		d, _ := hex.DecodeString(digest[intoto.AlgSHA256])
		if b, err = sign.ParseCosignBundle(raw, crypto.SHA256, d); err != nil {
			return &rejected{fmt.Errorf("%s: neither a Sigstore bundle (%w) nor cosign's bundle (%w)", f.bundle, legacyErr, err)}
		}
	case b == nil:
		if b, err = detachedBundle(f.signature, f.certificate, digest); err != nil {
			return err
		}
	}
	au, err := verify.VerifyBlob(ctx, auth, b, digest)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &rejected{err}
	}
	names := make([]string, len(au.Signers))
	for i, s := range au.Signers {
		names[i] = s.String()
	}
	fmt.Fprintf(stderr, "signed by %s\n", strings.Join(names, ", "))
	_, err = fmt.Fprintln(stdout, "Verified OK")
	return err
}

// hashes are the hashes the blob is read with, in one pass: SHA-256, the
// bundle's digest algorithm and the hash of each trusted key (every one for
// KMS keys, which are not read before verifying).
func (f *blobFlags) hashes(b *sign.Bundle) []crypto.Hash {
	set := map[crypto.Hash]bool{crypto.SHA256: true}
	if b != nil && b.MessageSignature != nil && b.MessageSignature.MessageDigest != nil {
		set[b.MessageSignature.MessageDigest.Algorithm] = true
	}
	for _, k := range f.keys {
		if p, err := os.ReadFile(k); err == nil {
			if pub, err := sign.LoadPublicKey(p); err == nil {
				if alg, err := sign.DefaultAlgorithm(pub); err == nil && alg.Hash() != 0 {
					set[alg.Hash()] = true
				}
			}
		}
	}
	if len(f.kmsKeys) > 0 {
		set[crypto.SHA384], set[crypto.SHA512] = true, true
	}
	var out []crypto.Hash
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if set[h] {
			out = append(out, h)
		}
	}
	return out
}

// keyVerifier is a Sigstore verifier of one key without a trusted root.
func keyVerifier(path string) (*verifykeyless.Verifier, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := sign.LoadPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	v, err := verifykeyless.NewVerifier(verifykeyless.WithPublicKey(pub))
	if err != nil {
		return nil, usagef("%v", err)
	}
	return v, nil
}

// detachedBundle reads a detached .sig (and .cert) as a bundle over the
// blob's SHA-256 digest of the key's hash: the digest is ours, never
// read from the files.
func detachedBundle(sigPath, certPath string, digest intoto.DigestSet) (*sign.Bundle, error) {
	sigFile, err := readLimited(sigPath, sign.MaxDetachedSize)
	if err != nil {
		return nil, err
	}
	sig, err := sign.ParseDetachedSignature(sigFile)
	if err != nil {
		return nil, &rejected{fmt.Errorf("%s: %w", sigPath, err)}
	}
	h, alg := crypto.SHA256, intoto.AlgSHA256
	var certBytes []byte
	if certPath != "" {
		if certBytes, err = readLimited(certPath, sign.MaxDetachedSize); err != nil {
			return nil, err
		}
	}
	d, _ := hex.DecodeString(digest[alg])
	if certPath == "" {
		// With keys, the bundle's digest is only a hint: each key is
		// checked over the blob's digest of its own hash.
		return sign.DetachedBundle(sig, nil, h, d)
	}
	cert, err := sign.ParseDetachedCertificate(certBytes)
	if err != nil {
		return nil, &rejected{fmt.Errorf("%s: %w", certPath, err)}
	}
	return sign.DetachedBundle(sig, cert, h, d)
}

// artifactDigest is the digest set of FILE, hashed once with every hash,
// or the digest a "sha256:HEX" argument names when no such file exists.
func artifactDigest(ctx context.Context, arg string, hashes []crypto.Hash) (intoto.DigestSet, error) {
	if alg, hexd, ok := strings.Cut(arg, ":"); ok && alg == intoto.AlgSHA256 {
		if _, err := os.Stat(arg); errors.Is(err, os.ErrNotExist) {
			if !intoto.Strong(alg, hexd) {
				return nil, usagef("%s is not a file, nor a sha256 digest of 64 lowercase hex digits", arg)
			}
			return intoto.DigestSet{alg: hexd}, nil
		}
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums, err := sign.HashBlob(ctx, f, hashes...)
	if err != nil {
		return nil, err
	}
	names := map[crypto.Hash]string{crypto.SHA256: intoto.AlgSHA256, crypto.SHA384: "sha384", crypto.SHA512: "sha512"}
	out := intoto.DigestSet{}
	for i, h := range hashes {
		out[names[h]] = hex.EncodeToString(sums[i])
	}
	return out, nil
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, &rejected{fmt.Errorf("%s: %w: over %d bytes", path, sign.ErrTooLarge, max)}
	}
	return b, nil
}
