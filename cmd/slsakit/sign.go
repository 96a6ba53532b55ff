package main

import (
	"context"
	"fmt"
	"io"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/verify"
)

// runSign signs images as `cosign sign` does, in the layout(s) cosign
// reads (oci.Sign's default unless --layout says otherwise).
func runSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sign", "(--key KEY | --kms REF | --keyless) [--layout legacy|referrers|both] IMAGE...", stderr)
	var sf signerFlags
	sf.register(fs)
	var reg registryFlags
	reg.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("give at least one IMAGE")
	}
	if sf.bundleOut != "" {
		// The bundle of an image signature lives in the registry.
		return usagef("--bundle-out has no effect with sign: refusing rather than ignoring it")
	}
	opts, err := reg.options(ctx, fs.Args()...)
	if err != nil {
		return err
	}
	s, release, err := sf.load(ctx)
	if err != nil {
		return err
	}
	defer release()
	for _, ref := range fs.Args() {
		res, err := oci.Sign(ctx, ref, s, opts...)
		if err != nil {
			return fmt.Errorf("sign %s: %w", ref, err)
		}
		where := ""
		if res.SigTag != "" {
			where += " " + res.SigTag
		}
		if res.Referrer != nil {
			where += " referrer " + res.Referrer.Digest.String()
		}
		fmt.Fprintf(stdout, "signed %s:%s\n", res.Image, where)
	}
	return nil
}

// verifySignatures is `slsakit verify --signature --image REF`: the image
// passes when one of its cosign signatures verifies with auth.
func verifySignatures(ctx context.Context, stdout io.Writer, asJSON bool, auth verify.Authenticator, image string, regOpts []oci.Option) error {
	res, err := verify.VerifyImageSignatures(ctx, auth, image, regOpts...)
	if res == nil {
		return err
	}
	var text string
	js := []any{}
	passed := 0
	for _, r := range res.Signatures {
		text += r.String()
		js = append(js, resultJSON(r))
		if r.Passed() {
			passed++
		}
	}
	if len(res.Signatures) == 0 {
		text = "no signatures found for " + res.Image + "\n"
	}
	if err := printResult(stdout, asJSON, map[string]any{"subject": res.Image, "digest": res.Digest, "passed": passed > 0, "signatures": js}, text); err != nil {
		return err
	}
	if passed == 0 {
		return &rejected{fmt.Errorf("no signature of %s verified", res.Image)}
	}
	return nil
}
