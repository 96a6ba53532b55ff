package sigstorekms

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin"

	"github.com/slsakit/slsakit/sign"
)

// PluginPrefix starts the name of every KMS plugin program: the reference
// "NAME://KEY" runs "sigstore-kms-NAME" from PATH, as cosign does.
const PluginPrefix = cliplugin.PluginBinaryPrefix

// Errors of plugin references and programs.
var (
	// ErrInvalidPluginReference: the reference is not NAME://KEY with a
	// plain plugin name.
	ErrInvalidPluginReference = errors.New("sigstorekms: invalid plugin key reference")
	// ErrPluginNotFound: no sigstore-kms-NAME program on PATH.
	ErrPluginNotFound = errors.New("sigstorekms: KMS plugin program not found")
)

// maxPluginName bounds a plugin name; real ones are a word or two.
const maxPluginName = 64

// ParsePluginReference splits a plugin key reference "NAME://KEY" into the
// plugin name and the key reference passed to it. The name must be a plain
// program-name suffix (letters, digits, '-', '_', '.', not starting with
// '.' or '-'): it becomes part of a program name looked up on PATH, so a
// name with a path separator (or "..") could run any program on the
// machine, and is refused. Errors wrap ErrInvalidPluginReference.
func ParsePluginReference(ref string) (name, key string, err error) {
	name, key, ok := strings.Cut(ref, "://")
	switch {
	case !ok:
		return "", "", fmt.Errorf("%w: %q: want NAME://KEY", ErrInvalidPluginReference, truncate(ref, 100))
	case name == "" || len(name) > maxPluginName || name[0] == '.' || name[0] == '-' || strings.ContainsFunc(name, notPluginNameRune):
		return "", "", fmt.Errorf("%w: %q: the plugin name must be 1-%d letters, digits, '-', '_' or '.'", ErrInvalidPluginReference, truncate(name, 100), maxPluginName)
	case key == "":
		return "", "", fmt.Errorf("%w: %q: empty key", ErrInvalidPluginReference, truncate(ref, 100))
	}
	return name, key, nil
}

func notPluginNameRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

// LoadPlugin returns a Signer that signs with the KMS plugin program the
// reference names ("NAME://KEY" runs sigstore-kms-NAME from PATH with
// sigstore's plugin protocol, as cosign does). Each signature runs the
// program once. opts are New's (WithAlgorithm, WithKeyID).
//
// A plugin is a program you install and trust like the KMS it fronts:
// LoadPlugin runs it to read the public key, and the Signer checks every
// signature it returns against that key when the algorithm is known.
func LoadPlugin(ctx context.Context, ref string, opts ...Option) (sign.Signer, error) {
	name, _, err := ParsePluginReference(ref)
	if err != nil {
		return nil, err
	}
	sv, err := cliplugin.LoadSignerVerifier(ctx, ref, crypto.SHA256)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s%s (for %s://…)", ErrPluginNotFound, PluginPrefix, name, name)
		}
		return nil, fmt.Errorf("sigstorekms: plugin %s: %w", name, err)
	}
	return New(ctx, sv, opts...)
}

// PluginVerifier returns a Verifier for the public key of the plugin key
// ref, read once from the plugin; verification itself runs no program.
// Its KeyID is the key's sign.PublicKeyID.
func PluginVerifier(ctx context.Context, ref string, opts ...Option) (sign.Verifier, error) {
	s, err := LoadPlugin(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	return sign.VerifierFor(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
