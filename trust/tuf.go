package trust

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Errors returned by TrustedRoot. Every failure wraps exactly one of them;
// match with errors.Is.
var (
	// ErrConfig is returned for an invalid TUF configuration (a private
	// mirror without its root.json, an unreadable root file).
	ErrConfig = errors.New("trust: invalid TUF configuration")
	// ErrExpired is returned when TUF metadata (root, timestamp, snapshot
	// or targets) has expired: a freeze attack or a stale mirror.
	ErrExpired = errors.New("trust: TUF metadata expired")
	// ErrRollback is returned when the repository serves metadata older
	// than the version already trusted (a rollback attack).
	ErrRollback = errors.New("trust: TUF metadata rolled back")
	// ErrMetadata is returned for any other TUF verification failure:
	// missing or bad signatures, a root update not signed by the previous
	// root's keys, hashes or lengths that do not match.
	ErrMetadata = errors.New("trust: TUF metadata verification failed")
	// ErrUnavailable is returned when the repository cannot be reached and
	// no usable cached metadata exists.
	ErrUnavailable = errors.New("trust: TUF repository unavailable")
	// ErrTarget is returned when the trusted root target is missing from
	// the repository or is not a valid trusted_root.json.
	ErrTarget = errors.New("trust: TUF trusted root target unusable")
)

// TrustedRootTarget is the TUF target name of the Sigstore trusted root.
const TrustedRootTarget = "trusted_root.json"

// TUF says which TUF repository to trust. The zero value is the Sigstore
// public-good instance with sigstore-go's embedded root, cached under
// ~/.sigstore/root.
type TUF struct {
	// Mirror is the repository's base URL; empty means the public-good
	// instance (tuf.DefaultMirror).
	Mirror string
	// Root is the initial trusted root.json. Required for any mirror but
	// the public-good one, where it defaults to the embedded root: trusting
	// a private mirror's own first root would be trust on first use.
	Root []byte
	// CacheDir holds the verified metadata and targets; empty means
	// ~/.sigstore/root (shared with cosign and sigstore-go).
	CacheDir string
}

// options turns t into sigstore-go client options.
func (t TUF) options(ctx context.Context) (*tuf.Options, error) {
	o := tuf.DefaultOptions().WithContext(ctx)
	if t.Mirror != "" && t.Mirror != tuf.DefaultMirror {
		if len(t.Root) == 0 {
			return nil, fmt.Errorf("%w: mirror %s needs its initial root.json", ErrConfig, t.Mirror)
		}
		o.RepositoryBaseURL = t.Mirror
	}
	if len(t.Root) > 0 {
		o.Root = t.Root
	}
	if t.CacheDir != "" {
		o.CachePath = t.CacheDir
	}
	o.Fetcher = fetcher.NewDefaultFetcher()
	return o, nil
}

// RootFromFile reads an initial root.json for TUF.Root.
func RootFromFile(path string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("%w: reading TUF root: %v", ErrConfig, err)
	}
	return b, nil
}

// TrustedRoot updates the TUF metadata of t's repository (falling back to
// the cache only when the repository cannot be reached) and returns its
// verified trusted_root.json. Pass it to keyless.WithTrustedMaterial.
func TrustedRoot(ctx context.Context, t TUF) (*root.TrustedRoot, error) {
	b, err := Target(ctx, t, TrustedRootTarget)
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTarget, err)
	}
	return tr, nil
}

// Target updates t's TUF metadata like TrustedRoot and returns the
// verified contents of the named target.
func Target(ctx context.Context, t TUF, name string) ([]byte, error) {
	o, err := t.options(ctx)
	if err != nil {
		return nil, err
	}
	c, err := tuf.New(o)
	if err != nil && unreachable(err) {
		// Offline: use what an earlier run verified and cached. The cached
		// metadata is re-verified on load (signatures, versions, expiry),
		// so this only stretches trust up to the cached timestamp's expiry.
		c, err = tuf.New(o.WithForceCache())
		if err != nil {
			// sigstore-go reports only its last (network) error: judge the
			// cache again to say why it is unusable (expired, say).
			return nil, offlineError(o.RepositoryBaseURL+" (cache "+o.CachePath+")", err, localRefresh(o))
		}
	}
	if err != nil {
		return nil, classify(err)
	}
	b, err := c.GetTarget(name)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, &metadata.ErrDownloadHTTP{}) {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, o.RepositoryBaseURL, err)
		}
		if errors.Is(err, &metadata.ErrRepository{}) || errors.Is(err, &metadata.ErrLengthOrHashMismatch{}) {
			return nil, classify(err)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrTarget, name, err)
	}
	return b, nil
}

// unreachable reports whether err is a transport failure rather than a
// verdict on the metadata: only those may fall back to the cache.
func unreachable(err error) bool {
	if errors.Is(err, &metadata.ErrRepository{}) || errors.Is(err, &metadata.ErrLengthOrHashMismatch{}) ||
		errors.Is(err, &metadata.ErrDownloadLengthMismatch{}) || errors.Is(err, &metadata.ErrValue{}) ||
		errors.Is(err, &metadata.ErrType{}) {
		return false
	}
	return true
}

// classify maps a go-tuf verification failure to this package's errors.
func classify(err error) error {
	switch {
	case errors.Is(err, &metadata.ErrExpiredMetadata{}):
		return fmt.Errorf("%w: %v", ErrExpired, err)
	case errors.Is(err, &metadata.ErrBadVersionNumber{}):
		return fmt.Errorf("%w: %v", ErrRollback, err)
	default:
		return fmt.Errorf("%w: %v", ErrMetadata, err)
	}
}

// localRefresh verifies the top-level metadata sigstore-go's client of o
// has cached (same layout and root), without the network: nil when it is
// usable, else why not.
func localRefresh(o *tuf.Options) error {
	dir := filepath.Join(o.CachePath, tuf.URLToPath(o.RepositoryBaseURL))
	if _, err := os.Stat(filepath.Join(dir, metadata.TIMESTAMP+".json")); err != nil {
		return err // nothing cached: go-tuf would report the missing file too
	}
	cfg, err := config.New(o.RepositoryBaseURL, o.Root)
	if err != nil {
		return err
	}
	cfg.LocalMetadataDir, cfg.LocalTargetsDir = dir, filepath.Join(dir, "targets")
	cfg.UnsafeLocalMode = true
	up, err := updater.New(cfg)
	if err != nil {
		return err
	}
	return up.Refresh()
}

// offlineError is the error for a repository that could not be reached
// (online is the transport failure) and whose cache could not be used
// (local is go-tuf's verdict on it): ErrUnavailable naming the mirror, so
// that an air-gapped machine knows which one to reach once, and, when
// something was cached, also the verdict (ErrExpired for a stale cache),
// so that a frozen or outdated cache is reported as such.
func offlineError(mirror string, online, local error) error {
	if local == nil || errors.Is(local, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s: %v (no usable cached metadata)", ErrUnavailable, mirror, online)
	}
	return fmt.Errorf("%w: %s: %v; cached metadata: %w", ErrUnavailable, mirror, online, classify(local))
}
