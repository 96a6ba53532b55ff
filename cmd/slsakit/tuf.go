package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

// defaultTUFKey carries, in a context, the TUF repository verify trusts
// when no keyless trust flag is given. Only tests set it (to a loopback
// repository, or to one that cannot be reached) so that no test ever
// contacts the public-good instance; main leaves it unset.
type defaultTUFKey struct{}

// withDefaultTUF makes f the default TUF repository of the commands run
// with ctx. f is called only when the default is used, so that tests can
// hand out a fresh cache directory without making one for every command.
func withDefaultTUF(ctx context.Context, f func() trust.TUF) context.Context {
	return context.WithValue(ctx, defaultTUFKey{}, f)
}

// defaultTUF is the repository keyless verification trusts without flags:
// the public-good Sigstore instance, through sigstore-go's embedded root
// and the cache cosign shares (~/.sigstore/root).
func defaultTUF(ctx context.Context) trust.TUF {
	if f, ok := ctx.Value(defaultTUFKey{}).(func() trust.TUF); ok && f != nil {
		return f()
	}
	return trust.TUF{}
}

// anchorFlagNames are the flags of keylessTrust, --trusted-root first.
var anchorFlagNames = []string{"trusted-root", "tuf-mirror", "tuf-root", "tuf-cache"}

// keylessTrust is where keyless trust comes from, the same flags for
// every command that verifies identities (verify, verify-blob,
// verify-bundle): a trusted_root.json file, or the trusted root of the TUF
// mirror the flags name, or by default the public-good instance's through
// TUF.
type keylessTrust struct {
	trustedRoot, mirror, rootFile, cache string
}

// register adds the flags; rootUsage is --trusted-root's help, which says
// what else the command does with a trusted root.
func (k *keylessTrust) register(fs *flag.FlagSet, rootUsage string) {
	fs.StringVar(&k.trustedRoot, "trusted-root", "", rootUsage)
	fs.StringVar(&k.mirror, "tuf-mirror", "", "keyless: fetch the trusted root over TUF from this repository (needs --tuf-root; default the public-good Sigstore instance)")
	fs.StringVar(&k.rootFile, "tuf-root", "", "keyless: initial root.json of --tuf-mirror")
	fs.StringVar(&k.cache, "tuf-cache", "", "keyless: TUF metadata cache directory (default ~/.sigstore/root); once filled, verification works offline until its timestamp expires")
}

// checkAnchorFlags refuses two trusted roots, and an anchor flag given
// an empty value (it would read as "not given" and fall back to the
// default). given maps the flags given to their values.
func checkAnchorFlags(given map[string]string) error {
	for _, n := range anchorFlagNames {
		if v, ok := given[n]; ok && v == "" {
			return usagef("--%s needs a value", n)
		}
	}
	if _, ok := given["trusted-root"]; ok {
		for _, n := range anchorFlagNames[1:] {
			if _, ok := given[n]; ok {
				return usagef("--trusted-root and --%s cannot be combined: trust one trusted root", n)
			}
		}
	}
	return nil
}

// flag is the first anchor flag given ("--tuf-cache"), or "" when keyless
// trust is the default.
func (k *keylessTrust) flag() string {
	for i, v := range []string{k.trustedRoot, k.mirror, k.rootFile, k.cache} {
		if v != "" {
			return "--" + anchorFlagNames[i]
		}
	}
	return ""
}

// anchor returns the trusted root as a verifier option. It is a function
// so that only a verification that trusts identities pays for TUF (and
// needs its cache or the network): keys and key-only policies never call
// it.
func (k *keylessTrust) anchor(ctx context.Context) func() (verifykeyless.Option, error) {
	return func() (verifykeyless.Option, error) {
		if k.trustedRoot != "" {
			return verifykeyless.WithTrustedRootFile(k.trustedRoot), nil
		}
		t := trust.TUF{Mirror: k.mirror, CacheDir: k.cache}
		if k.mirror == "" && k.rootFile == "" && k.cache == "" {
			t = defaultTUF(ctx)
		}
		if k.rootFile != "" {
			var err error
			if t.Root, err = trust.RootFromFile(k.rootFile); err != nil {
				return nil, usagef("%v", err)
			}
		}
		tr, err := trust.TrustedRoot(ctx, t)
		if errors.Is(err, trust.ErrConfig) {
			return nil, usagef("%v", err)
		} else if err != nil {
			return nil, err
		}
		return verifykeyless.WithTrustedMaterial(tr), nil
	}
}

// delegatedSigners reads the signer rules the TUF repository at mirror
// delegates per subproject. What it refuses (one subproject's bad rule)
// costs that subproject its trust and is reported on stderr; the command
// goes on with the rest, as trust.Delegations intends.
func delegatedSigners(ctx context.Context, stderr io.Writer, mirror, rootFile, cache string) ([]verify.SignerRule, error) {
	root, err := trust.RootFromFile(rootFile)
	if err != nil {
		return nil, usagef("%v", err)
	}
	d, err := trust.Delegations(ctx, trust.TUF{Mirror: mirror, Root: root, CacheDir: cache})
	if errors.Is(err, trust.ErrConfig) {
		return nil, usagef("%v", err)
	} else if err != nil {
		return nil, err
	}
	for _, r := range d.Refused {
		fmt.Fprintf(stderr, "slsakit verify: %s: %v\n", mirror, r)
	}
	return d.Rules, nil
}
