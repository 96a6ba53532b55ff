// Command slsakit records, signs, attaches and verifies supply-chain
// attestations from any build system, using only slsakit's public API.
//
//	slsakit attest  (--builder-id URI | --from-env) --key cosign.key [--image REF]... [FILE]...
//	slsakit verify  (--key cosign.pub | --policy policy.yaml | --certificate-oidc-issuer ISS ...) (--envelope F FILE | --bundle B FILE | --image REF [--signature])
//	slsakit attach  --envelope F --image REF
//	slsakit sign    (--key cosign.key | --kms REF | --keyless) IMAGE...
//	slsakit keygen  [--dir DIR] [--name cosign]
//	slsakit sbom    [--format spdx|cyclonedx] [--key KEY [--image REF --attach]] BINARY
//	slsakit sign-blob   (--key KEY | --kms REF | --keyless) [--bundle B] [--output-signature S] [--output-certificate C] FILE
//	slsakit verify-blob (--key PUB | --certificate-identity ID --certificate-oidc-issuer ISS) (--bundle B | --signature S [--certificate C]) FILE|sha256:HEX
//
// Keyless verification (verify, verify-blob, verify-bundle) trusts by
// default the public-good Sigstore instance's trusted root through TUF
// (sigstore-go's embedded root, cached in ~/.sigstore/root; offline once
// the cache is filled, until its timestamp expires); --trusted-root F or
// --tuf-mirror URL --tuf-root F [--tuf-cache DIR] name another. With
// --key and none of these, a key is trusted as it is and TUF is never
// contacted. verify --bind-to-provenance builder,source,ref,trigger (with
// a keyless identity) requires what a policy signer rule's
// bindToProvenance requires: the certificate agrees with the provenance.
//
// Exit codes: 0 success; 1 verification failed; 2 usage error; 3 any other
// error (I/O, network, bad input files).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// Exit codes scripts can rely on.
const (
	exitOK       = 0
	exitRejected = 1
	exitUsage    = 2
	exitError    = 3
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"attest":        {"record provenance for files and images, sign it, optionally attach it", runAttest},
		"verify":        {"verify attestations of a file or an image against keys and a policy", runVerify},
		"attach":        {"attach a signed envelope to an image", runAttach},
		"keygen":        {"generate a signing key pair (cosign-compatible files)", runKeygen},
		"sbom":          {"SPDX or CycloneDX SBOM of a Go binary or source tree, optionally signed and attached", runSBOM},
		"sign-blob":     {"sign a file: a Sigstore bundle and/or a detached .sig (+ .cert), as cosign sign-blob", runSignBlob},
		"verify-blob":   {"verify a file's signature (bundle or .sig/.cert) with keys or a keyless identity", runVerifyBlob},
		"sign-bundle":   {"sigstore-conformance client: keyless bundle of a file", runSignBundle},
		"verify-bundle": {"sigstore-conformance client: verify a bundle (blob or DSSE) for a file or sha256: digest", runVerifyBundle},
		"sign":          {"sign images as cosign sign does (.sig tag or v3 referrer)", runSign},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(withStdin(ctx, os.Stdin), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is an error in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// rejected is a verification failure (exit code 1).
type rejected struct{ err error }

func (e *rejected) Error() string { return e.err.Error() }
func (e *rejected) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: slsakit <command> [flags]\n\ncommands:")
		names := make([]string, 0, len(cmds))
		for n := range cmds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-13s %s\n", n, cmds[n].summary)
		}
		fmt.Fprintln(stderr, "\nexit codes: 0 success, 1 verification failed, 2 usage error, 3 other error\nRun 'slsakit <command> --help' for its flags.")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "slsakit: unknown command %q (run slsakit --help)\n", args[0])
		return exitUsage
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var ue *usageError
	var rj *rejected
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "slsakit %s: %v\n", args[0], err)
		return exitUsage
	case errors.As(err, &rj):
		fmt.Fprintf(stderr, "slsakit %s: %v\n", args[0], err)
		return exitRejected
	default:
		fmt.Fprintf(stderr, "slsakit %s: %v\n", args[0], err)
		return exitError
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: slsakit %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; a flag error becomes a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	return nil
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }
