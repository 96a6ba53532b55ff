package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// ErrDelegation wraps every delegated signer rule Delegations refuses (in
// Delegated.Refused): a pattern it cannot scope, a document that is not a
// valid rule, a rule naming other artifacts than its delegation.
var ErrDelegation = errors.New("trust: delegated signer rule refused")

// Bounds of what one Delegations call reads from a repository, whoever
// controls it.
const (
	// MaxDelegations is how many targets roles one lookup may visit
	// (go-tuf's own bound on its delegation walk, which also bounds the
	// depth of the delegation tree).
	MaxDelegations = 32
	// MaxPatterns is how many delegated path patterns are looked up in
	// all; more are refused.
	MaxPatterns = 256
	// MaxRoles is how many targets roles are loaded in all (so at most
	// MaxRoles*MaxTargetsMetadata bytes of metadata); once more are, the
	// patterns left are refused.
	MaxRoles = 64
	// MaxTargetsMetadata is the largest targets metadata (top-level or
	// delegated) accepted, in bytes.
	MaxTargetsMetadata = 1 << 20
	// MaxSignerDocument is the largest signer rule document, in bytes.
	MaxSignerDocument = 64 << 10
)

// Delegated is the trust a TUF repository delegates per subproject.
type Delegated struct {
	// Rules are the accepted signer rules, one per delegated path
	// pattern, each with that pattern as its Artifacts (see Delegations).
	// Give them to verify.WithSigners.
	Rules []verify.SignerRule
	// Refused lists what was not accepted, each error wrapping
	// ErrDelegation: one subproject's mistake or attack costs that
	// subproject its trust, never the others theirs.
	Refused []error
}

// Delegations reads per-subproject signer rules from the TUF repository
// t names (Mirror and Root are required: the public-good Sigstore
// repository holds no signer rules).
//
// The repository's top-level targets role delegates path patterns to
// subproject roles (`registry.k8s.io/kube-*` to one, `sigs.k8s.io/kind/*`
// to another), which may delegate further. For each delegated pattern P,
// the subproject publishes its signer rule as the target named P itself,
// a JSON document:
//
//	{"artifacts": "registry.k8s.io/kube-*",
//	 "keys": [{"pem": "-----BEGIN PUBLIC KEY-----\n…"}], "threshold": 1,
//	 "identities": [{"issuer": "https://accounts.google.com", "subject": "krel@k8s-releng-prod.iam.gserviceaccount.com"}]}
//
// with the fields of verify.SignerRule ("artifacts" optional, and if given
// equal to P; keys inline PEM only: a remote document must not make the
// verifier read local files or call a KMS). The target is looked up
// through go-tuf's delegation walk, which visits only the roles delegated
// a pattern matching P, in order, stops at a terminating delegation, and
// checks each role's signatures against its delegator's keys and
// threshold: so a subproject's rule is found only under a name its own
// delegation covers, and a rule it publishes under any other name is never
// asked for.
//
// The accepted rule applies to exactly the artifacts the TUF pattern P
// matches: P is split at "/" and each part matched as a shell pattern, so
// "*" never crosses "/" and "**" is the same as "*" (not recursive);
// matching is case-sensitive and literal ("..", "." and empty parts are
// refused, not resolved). Patterns with "?", "[" or "\" are refused:
// they have no equivalent in policy patterns, and go-tuf matches a
// delegation against a pattern-named target literally, which for those
// characters would let a narrower sub-delegation serve a broader pattern.
// For the same reason a pattern is refused when any delegation that
// could serve it uses such characters or hash-bin delegations.
//
// Revoking a delegation (new top-level targets metadata without it)
// revokes its rules at the next call: only delegations reachable from the
// current, verified metadata are read. The metadata and rule documents
// are cached in t.CacheDir (default: the user cache directory). When the
// repository cannot be reached, the cached metadata is used as long as it
// verifies and has not expired, like TrustedRoot's cache: expired cached
// metadata is an error wrapping both ErrUnavailable and ErrExpired, no
// cache at all ErrUnavailable; neither falls back to the policy alone.
func Delegations(ctx context.Context, t TUF) (*Delegated, error) {
	if t.Mirror == "" || len(t.Root) == 0 {
		return nil, fmt.Errorf("%w: delegated trust needs a repository and its initial root.json", ErrConfig)
	}
	up, err := delegationUpdater(t, false)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := up.Refresh(); err != nil {
		if !isTransport(err) {
			return nil, classify(err)
		}
		// Offline: the metadata an earlier run verified and cached, as
		// TrustedRoot falls back to its cache. go-tuf's local mode
		// re-verifies it (signatures against the cached root, versions,
		// expiry), so trust lasts at most until the cached timestamp
		// expires; a revocation published meanwhile takes effect at the
		// next refresh that reaches the mirror.
		if up, err = delegationUpdater(t, true); err != nil {
			return nil, err
		}
		if lerr := up.Refresh(); lerr != nil {
			return nil, offlineError(t.Mirror, err, lerr)
		}
	}
	d := &Delegated{}
	seen := map[string]bool{}
	accepted := map[string]string{} // policy pattern -> the TUF pattern it came from
	var queue []string
	// enqueue adds the patterns of every delegation loaded so far, from
	// the top-level targets role down, in the order the repository lists
	// them (so that which of two rules for the same artifacts is taken
	// does not depend on map order).
	enqueue := func() {
		eachDelegation(up, func(_ string, ds *metadata.Delegations) []string {
			var next []string
			for _, dr := range ds.Roles {
				for _, p := range dr.Paths {
					if !seen[p] {
						seen[p] = true
						queue = append(queue, p)
					}
				}
				next = append(next, dr.Name)
			}
			return next
		})
	}
	refuse := func(format string, args ...any) {
		d.Refused = append(d.Refused, fmt.Errorf("%w: "+format, append([]any{ErrDelegation}, args...)...))
	}
	// Top-level patterns first, in order; then the ones delegations
	// below them add as their roles are loaded.
	enqueue()
	for n := 0; len(queue) > 0; n++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		p := queue[0]
		queue = queue[1:]
		if n >= MaxPatterns {
			refuse("%q and %d more patterns: more than %d delegated patterns", p, len(queue), MaxPatterns)
			break
		}
		if why := unsafePattern(p); why != "" {
			refuse("pattern %q: %s", p, why)
			continue
		}
		tf, err := up.GetTargetInfo(p)
		enqueue()
		if n := len(up.GetTrustedMetadataSet().Targets); n > MaxRoles {
			refuse("%q and %d more patterns: %d roles loaded, more than %d", p, len(queue), n, MaxRoles)
			break
		}
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne):
				return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, t.Mirror, err)
			case err.Error() == fmt.Sprintf("target %s not found", p):
				// go-tuf's walk found no rule for p: none published, or
				// its role is shadowed by a terminating delegation.
				continue
			}
			// A subproject's metadata that does not verify (bad
			// signatures, below threshold, expired, missing) costs that
			// subproject its trust.
			refuse("pattern %q: %v", p, classify(err))
			continue
		}
		if why := unsafeServers(up, p); why != "" {
			refuse("pattern %q: %s", p, why)
			continue
		}
		if tf.Length > MaxSignerDocument {
			refuse("pattern %q: rule document of %d bytes, more than %d", p, tf.Length, MaxSignerDocument)
			continue
		}
		// A document cached by an earlier run is used when it has the
		// length and hashes the verified metadata states; otherwise (or
		// never fetched) it is downloaded.
		cached, b, err := up.FindCachedTarget(tf, "")
		if err == nil && cached == "" {
			_, b, err = up.DownloadTarget(tf, "", "")
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) {
				return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, t.Mirror, err)
			}
			refuse("pattern %q: %v", p, classify(err))
			continue
		}
		r, err := parseSignerDocument(p, b)
		if err != nil {
			refuse("pattern %q: %v", p, err)
			continue
		}
		if q, dup := accepted[r.Artifacts]; dup {
			refuse("pattern %q: the same artifacts as pattern %q", p, q)
			continue
		}
		accepted[r.Artifacts] = p
		d.Rules = append(d.Rules, r)
	}
	return d, nil
}

// delegationUpdater is a go-tuf client of t with bounds on what it reads,
// trusting the newest root an earlier run verified, or t.Root; with
// local, its Refresh reads the cached top-level metadata only.
func delegationUpdater(t TUF, local bool) (*updater.Updater, error) {
	dir := t.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("%w: no cache directory: %v", ErrConfig, err)
		}
		dir = filepath.Join(base, "slsakit", "trust")
	}
	dir = filepath.Join(dir, tuf.URLToPath(t.Mirror))
	root := t.Root
	if b, err := os.ReadFile(filepath.Join(dir, "metadata", "root.json")); err == nil {
		root = b // verified and persisted by go-tuf on an earlier run
	}
	cfg, err := config.New(t.Mirror, root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	cfg.LocalMetadataDir = filepath.Join(dir, "metadata")
	cfg.LocalTargetsDir = filepath.Join(dir, "targets")
	cfg.MaxDelegations = MaxDelegations
	cfg.TargetsMaxLength = MaxTargetsMetadata
	cfg.Fetcher = fetcher.NewDefaultFetcher()
	cfg.UnsafeLocalMode = local
	up, err := updater.New(cfg)
	if err != nil {
		return nil, classify(err)
	}
	return up, nil
}

// unsafePattern says why the delegated pattern p cannot be a signer
// rule's scope, or "" when it can.
func unsafePattern(p string) string {
	if p == "" || len(p) > 1024 {
		return "empty or longer than 1024 bytes"
	}
	if strings.ContainsAny(p, "?[]\\") {
		return `"?", "[" and "\" are not supported: use literal characters and "*"`
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return `empty, "." and ".." path parts are refused`
		}
	}
	return ""
}

// unsafeServers says why the target named p could have been served by a
// role whose own delegation is narrower than p, or "" when it could not.
// It follows the delegations go-tuf's walk could follow for the name p
// (those matching it, from the top-level targets role down): each must
// match with literal characters and "*" only, for then matching the name p
// literally implies covering every name p matches, and none may use hash
// bins. Delegations off that path (another subproject's) are not looked
// at: they cannot serve p, and must not be able to cost it its trust.
func unsafeServers(up *updater.Updater, p string) string {
	why := ""
	eachDelegation(up, func(name string, ds *metadata.Delegations) []string {
		if ds.SuccinctRoles != nil {
			why = fmt.Sprintf("role %q delegates by hash bins", name)
			return nil
		}
		var next []string
		for _, dr := range ds.Roles {
			if ok, _ := dr.IsDelegatedPath(p); !ok || why != "" {
				continue
			}
			if len(dr.PathHashPrefixes) > 0 {
				why = fmt.Sprintf("role %q delegates to %q by hash prefixes", name, dr.Name)
			}
			for _, q := range dr.Paths {
				one := metadata.DelegatedRole{Paths: []string{q}}
				if ok, _ := one.IsDelegatedPath(p); ok && unsafePattern(q) != "" && why == "" {
					why = fmt.Sprintf("role %q delegates %q to %q: %s", name, q, dr.Name, unsafePattern(q))
				}
			}
			next = append(next, dr.Name)
		}
		if why != "" {
			return nil
		}
		return next
	})
	return why
}

// eachDelegation calls f with the delegations of each loaded targets role,
// breadth-first from the top-level one, each role once; f returns the
// delegated roles to go on to. Roles go-tuf has not loaded (verified) are
// not gone into.
func eachDelegation(up *updater.Updater, f func(role string, ds *metadata.Delegations) []string) {
	loaded := up.GetTrustedMetadataSet().Targets
	visited := map[string]bool{}
	roles := []string{metadata.TARGETS}
	for len(roles) > 0 {
		name := roles[0]
		roles = roles[1:]
		md := loaded[name]
		if visited[name] || md == nil || md.Signed.Delegations == nil {
			continue
		}
		visited[name] = true
		roles = append(roles, f(name, md.Signed.Delegations)...)
	}
}

// parseSignerDocument reads the rule published under the TUF pattern p
// and scopes it to p.
func parseSignerDocument(p string, b []byte) (verify.SignerRule, error) {
	var r verify.SignerRule
	// Held to the rules of signed JSON first: encoding/json reads "Keys"
	// as "keys", keeps the last of two "keys" and a NUL in an identity,
	// where an auditor's reader of the same target sees other signers.
	if err := strictjson.Unmarshal(b, new(verify.SignerRule)); err != nil {
		return r, fmt.Errorf("not a signer rule: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a signer rule: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, errors.New("not a signer rule: data after the JSON value")
	}
	if r.Artifacts != "" && r.Artifacts != p {
		return r, fmt.Errorf("the rule names artifacts %q, outside its delegation", r.Artifacts)
	}
	r.Artifacts = policyPattern(p)
	for i, k := range r.Keys {
		if k.File != "" || k.KMS != "" || k.PEM == "" {
			return r, fmt.Errorf("keys[%d]: only inline pem keys are accepted from a repository", i)
		}
		if _, err := sign.LoadPublicKey([]byte(k.PEM)); err != nil {
			return r, fmt.Errorf("keys[%d]: %v", i, err)
		}
	}
	// The engine would refuse an invalid rule with the whole policy: check
	// it here, so that it costs this subproject alone.
	if err := (&verify.Policy{Version: verify.PolicyVersion, Signers: []verify.SignerRule{r}}).Validate(); err != nil {
		return r, err
	}
	return r, nil
}

// policyPattern is the policy pattern matching exactly the names the TUF
// pattern p (literal characters and "*") matches: a run of stars in TUF
// matches within one path part, as "*" does in a policy, while "**" in a
// policy would cross "/".
func policyPattern(p string) string {
	for strings.Contains(p, "**") {
		p = strings.ReplaceAll(p, "**", "*")
	}
	return p
}

// isTransport reports whether err is a failure to reach the repository
// rather than a verdict on what it served.
func isTransport(err error) bool {
	var ne net.Error
	var he *metadata.ErrDownloadHTTP
	return errors.As(err, &ne) || errors.As(err, &he)
}
