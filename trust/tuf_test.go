package trust

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/trust/tuftest"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func trustedRootJSON(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../verify/keyless/testdata/trusted-root-public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func client(r *tuftest.Repo, cache string) TUF {
	return TUF{Mirror: r.URL(), Root: r.InitialRoot(), CacheDir: cache}
}

// A first run fills the cache; a second run works with the server gone.
func TestTrustedRootCachedThenOffline(t *testing.T) {
	r := tuftest.New(t, map[string][]byte{TrustedRootTarget: trustedRootJSON(t)})
	cfg := client(r, t.TempDir())
	ctx := context.Background()
	tr, err := TrustedRoot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 {
		t.Fatal("trusted root has no Fulcio CA")
	}
	r.Server.Close()
	if _, err := TrustedRoot(ctx, cfg); err != nil {
		t.Fatalf("offline with a filled cache: %v", err)
	}
	// Without a cache there is nothing to trust.
	cfg.CacheDir = t.TempDir()
	if _, err := TrustedRoot(ctx, cfg); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("offline without cache: %v, want ErrUnavailable", err)
	}
}

func TestTrustedRootExpiredTimestamp(t *testing.T) {
	r := tuftest.New(t, map[string][]byte{TrustedRootTarget: trustedRootJSON(t)})
	cfg := client(r, t.TempDir())
	if _, err := TrustedRoot(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	r.Timestamp.Signed.Expires = time.Now().Add(-time.Hour)
	r.Bump()
	_, err := TrustedRoot(context.Background(), cfg)
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("expired timestamp: %v, want ErrExpired", err)
	}
	// A client with an empty cache is refused the same way.
	if _, err := TrustedRoot(context.Background(), client(r, t.TempDir())); !errors.Is(err, ErrExpired) {
		t.Fatalf("fresh client, expired timestamp: %v, want ErrExpired", err)
	}
}

// Offline with a cache whose timestamp has expired: refused, and the
// error says so (ErrExpired) besides naming the unreachable mirror.
func TestTrustedRootOfflineExpiredCache(t *testing.T) {
	r := tuftest.New(t, map[string][]byte{TrustedRootTarget: trustedRootJSON(t)})
	cfg := client(r, t.TempDir())
	if _, err := TrustedRoot(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	dir, _ := r.CacheDirs(cfg.CacheDir)
	r.AgeCache(dir)
	r.Server.Close()
	_, err := TrustedRoot(context.Background(), cfg)
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), r.URL()) {
		t.Fatalf("offline, expired cache: %v, want ErrExpired and ErrUnavailable naming the mirror", err)
	}
}

// Each kind of rollback: a snapshot older than the trusted one, targets
// older than the trusted one.
func TestTrustedRootRollback(t *testing.T) {
	for _, role := range []string{metadata.SNAPSHOT, metadata.TARGETS} {
		t.Run(role, func(t *testing.T) {
			r := tuftest.New(t, map[string][]byte{TrustedRootTarget: trustedRootJSON(t)})
			cfg := client(r, t.TempDir())
			r.Targets.Signed.Version, r.Snapshot.Signed.Version, r.Timestamp.Signed.Version = 5, 5, 5
			r.Publish()
			if _, err := TrustedRoot(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			// The attacker re-serves an older version under a newer
			// timestamp (signed: the timestamp key alone is online).
			r.Timestamp.Signed.Version++
			if role == metadata.SNAPSHOT {
				r.Snapshot.Signed.Version = 3
			} else {
				r.Targets.Signed.Version = 3
				r.Snapshot.Signed.Version++
			}
			r.Publish()
			if _, err := TrustedRoot(context.Background(), cfg); !errors.Is(err, ErrRollback) {
				t.Fatalf("rollback of %s: %v, want ErrRollback", role, err)
			}
		})
	}
}

// Root v2 with new keys, signed by v1's and v2's root keys, is followed;
// a v2 signed only by the new key is refused.
func TestTrustedRootKeyRotation(t *testing.T) {
	for _, crossSigned := range []bool{true, false} {
		r := tuftest.New(t, map[string][]byte{TrustedRootTarget: trustedRootJSON(t)})
		cfg := client(r, t.TempDir())
		if _, err := TrustedRoot(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		old := r.Signers[metadata.ROOT]
		oldID := r.Root.Signed.Roles[metadata.ROOT].KeyIDs[0]
		s, k := tuftest.NewKey(t)
		r.Root.Signed.Version = 2
		if err := r.Root.Signed.RevokeKey(oldID, metadata.ROOT); err != nil {
			t.Fatal(err)
		}
		if err := r.Root.Signed.AddKey(k, metadata.ROOT); err != nil {
			t.Fatal(err)
		}
		// Rotate the timestamp key too: only a client that followed the
		// root update accepts the new timestamp.
		oldTS := r.Root.Signed.Roles[metadata.TIMESTAMP].KeyIDs[0]
		tsS, tsK := tuftest.NewKey(t)
		if err := r.Root.Signed.RevokeKey(oldTS, metadata.TIMESTAMP); err != nil {
			t.Fatal(err)
		}
		if err := r.Root.Signed.AddKey(tsK, metadata.TIMESTAMP); err != nil {
			t.Fatal(err)
		}
		r.Signers[metadata.ROOT], r.Signers[metadata.TIMESTAMP] = s, tsS
		if crossSigned {
			r.WriteRoot(old)
		} else {
			r.WriteRoot()
		}
		r.Bump()
		_, err := TrustedRoot(context.Background(), cfg)
		switch {
		case crossSigned && err != nil:
			t.Fatalf("rotation signed by the old root: %v", err)
		case !crossSigned && !errors.Is(err, ErrMetadata):
			t.Fatalf("root v2 not signed by v1's keys: %v, want ErrMetadata", err)
		}
	}
}

func TestTrustedRootConfig(t *testing.T) {
	_, err := TrustedRoot(context.Background(), TUF{Mirror: "http://127.0.0.1:1", CacheDir: t.TempDir()})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("private mirror without root: %v, want ErrConfig", err)
	}
	if _, err := RootFromFile(t.TempDir() + "/missing.json"); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing root file: %v", err)
	}
}

func TestTrustedRootBadTarget(t *testing.T) {
	r := tuftest.New(t, map[string][]byte{TrustedRootTarget: []byte(`{"not":"a root"`)})
	if _, err := TrustedRoot(context.Background(), client(r, t.TempDir())); !errors.Is(err, ErrTarget) {
		t.Fatalf("bad trusted root target: %v, want ErrTarget", err)
	}
	r2 := tuftest.New(t, map[string][]byte{"other.json": []byte(`{}`)})
	if _, err := TrustedRoot(context.Background(), client(r2, t.TempDir())); !errors.Is(err, ErrTarget) {
		t.Fatalf("missing trusted root target: %v, want ErrTarget", err)
	}
}
