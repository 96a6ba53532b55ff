package main

import (
	"context"
	"errors"
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

// keylessAnchor is where keyless trust comes from: a trusted_root.json
// file, the trusted root of the TUF mirror the flags name, or by default
// the public-good instance's through TUF. It is a function so that only a
// verification that trusts identities pays for TUF (and needs its cache or
// the network): keys and key-only policies never call it.
func keylessAnchor(ctx context.Context, trustedRoot, mirror, rootFile, cache string) func() (verifykeyless.Option, error) {
	return func() (verifykeyless.Option, error) {
		if trustedRoot != "" {
			return verifykeyless.WithTrustedRootFile(trustedRoot), nil
		}
		t := trust.TUF{Mirror: mirror, CacheDir: cache}
		if mirror == "" && rootFile == "" && cache == "" {
			t = defaultTUF(ctx)
		}
		if rootFile != "" {
			var err error
			if t.Root, err = trust.RootFromFile(rootFile); err != nil {
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
