package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/verify"
)

// runSign signs images as `cosign sign` does, in the layout(s) cosign
// reads (oci.Sign's default unless --layout says otherwise). Every image
// is signed in this one process, with at most --concurrency requests in
// flight (a release's images in one run, not one process each); a failed
// image does not stop the others, and the error lists every one that
// failed.
func runSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sign", "(--key KEY | --kms REF | --keyless) [--recursive] [--layout legacy|referrers|both] IMAGE...", stderr)
	var sf signerFlags
	sf.register(fs)
	var reg registryFlags
	reg.register(fs)
	recursive := fs.Bool("recursive", false, "when an IMAGE names an index, sign it and every platform image it lists (cosign's --recursive)")
	concurrency := concurrencyFlag(fs)
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
	jobs := make([]oci.Job, fs.NArg())
	for i, ref := range fs.Args() {
		jobs[i] = oci.Job{Image: ref, Signer: s}
	}
	if *recursive {
		opts = append(opts, oci.WithRecursive())
	}
	results, err := oci.AttachAll(ctx, jobs, append(opts, oci.WithConcurrency(*concurrency))...)
	for _, r := range results {
		if r.Signed == nil || r.Err != nil {
			continue
		}
		for _, line := range signedLines(r.Signed) {
			fmt.Fprintln(stdout, line)
		}
	}
	return err
}

// cliConcurrency is the CLI's default --concurrency, above the library's
// oci.DefaultConcurrency (8). It bounds requests in flight, not images: an
// image waiting for its tag write to settle before the read-back holds no
// slot, so a whole release's images settle at once whatever the value.
// More slots still help where requests themselves are slow: against the
// distribution registry process a 30-index release (attest, then sign)
// took 427 ms per image at 32 and 557 at 8, 16–16.5 requests per image
// either way (e2e BenchmarkReleaseCLI, 2026-12-01, load average 17). The
// total number of requests, which is what registries rate-limit, does not
// depend on it.
const cliConcurrency = 32

// concurrencyFlag is --concurrency of the commands that write to many
// images: how many registry requests are in flight at once.
func concurrencyFlag(fs *flag.FlagSet) *int {
	return fs.Int("concurrency", cliConcurrency, "how many registry requests to have in flight at once; images waiting for their writes to settle hold none (each image's writes stay serialized)")
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
