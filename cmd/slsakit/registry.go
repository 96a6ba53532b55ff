package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/keychain"
)

// stdinKey carries the command's standard input in its context, for
// --registry-password-stdin (main puts os.Stdin there, tests a reader).
type stdinKey struct{}

func withStdin(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, stdinKey{}, r)
}

// maxPasswordStdin bounds what --registry-password-stdin reads: registry
// tokens are a few KiB (a JWT with claims), nothing legitimate is larger.
const maxPasswordStdin = 64 << 10

// registryAuthFlags are the credential flags every registry command takes.
// Without them the registry's credentials come from where docker pull
// takes them, then from the CI environment (oci/keychain.New).
type registryAuthFlags struct {
	username      string
	passwordStdin bool
}

func (a *registryAuthFlags) register(fs interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&a.username, "registry-username", "", "username for the registry of --image (with --registry-password-stdin; default: docker config and credential helpers, then GITHUB_TOKEN for ghcr.io, then Google credentials for gcr.io and *.pkg.dev)")
	fs.BoolVar(&a.passwordStdin, "registry-password-stdin", false, "read the --registry-username password or token from standard input, like docker login --password-stdin")
}

// keychain builds the keychain of the command: the explicit credentials,
// bound to the one registry the --image references name, then the
// defaults. They are never sent to another registry (a --base-image's, or
// a second --image's), so several registries with explicit credentials is
// an error rather than a guess.
func (a *registryAuthFlags) keychain(ctx context.Context, images []string, insecure bool) (authn.Keychain, error) {
	if a.username == "" && !a.passwordStdin {
		return keychain.New()
	}
	if a.username == "" || !a.passwordStdin {
		return nil, usagef("--registry-username and --registry-password-stdin go together")
	}
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	regs := map[string]bool{}
	for _, img := range images {
		if img == "" {
			continue
		}
		ref, err := name.ParseReference(img, nopts...)
		if err != nil {
			return nil, usagef("--image %q: %v", img, err)
		}
		regs[ref.Context().RegistryStr()] = true
	}
	if len(regs) != 1 {
		names := make([]string, 0, len(regs))
		for r := range regs {
			names = append(names, r)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, usagef("--registry-username needs an --image: its registry is where the credentials go")
		}
		return nil, usagef("--registry-username is for one registry, the --image references name %s: log in to the others with docker login", strings.Join(names, ", "))
	}
	var reg string
	for r := range regs {
		reg = r
	}
	in, _ := ctx.Value(stdinKey{}).(io.Reader)
	if in == nil {
		return nil, usagef("--registry-password-stdin: no standard input")
	}
	b, err := io.ReadAll(io.LimitReader(in, maxPasswordStdin+1))
	if err != nil {
		return nil, fmt.Errorf("--registry-password-stdin: reading standard input: %w", err)
	}
	if len(b) > maxPasswordStdin {
		return nil, usagef("--registry-password-stdin: more than %d bytes on standard input", maxPasswordStdin)
	}
	// Like docker login: one trailing newline (echo, a heredoc) is not
	// part of the password.
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return nil, usagef("--registry-password-stdin: standard input is empty")
	}
	return keychain.New(keychain.WithStatic(reg, a.username, pw))
}

// authOptions returns the oci option that authenticates the command's
// registry calls, and records the keychain for the calls made outside
// oci (an image SBOM's layer downloads).
func (r *registryFlags) authOptions(ctx context.Context, images []string) ([]oci.Option, error) {
	k, err := r.auth.keychain(ctx, images, r.insecure)
	if err != nil {
		return nil, err
	}
	r.keys = k
	return []oci.Option{oci.WithKeychain(k)}, nil
}
