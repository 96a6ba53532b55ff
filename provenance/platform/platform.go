package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
)

// Sentinel errors. Every error of this package wraps one of them, most
// through a *FactError that names the platform and the variable.
var (
	// ErrPlatformMissing: the platform's markers or a variable the
	// platform always sets are absent (not running there, or a stripped
	// environment).
	ErrPlatformMissing = errors.New("platform: build platform not detected or variable missing")
	// ErrPlatformMismatch: the markers contradict each other (a ref that
	// is not the event's ref, a workflow of another repository, the
	// markers of two platforms at once).
	ErrPlatformMismatch = errors.New("platform: build platform markers contradict each other")
	// ErrInvalidFact: a variable is set but malformed (a commit that is not
	// 40 or 64 lowercase hex digits, a ref that is not a full ref, a URL
	// that is not https).
	ErrInvalidFact = errors.New("platform: malformed build platform value")
)

// FactError reports which variable of which platform could not be used.
// It wraps ErrPlatformMissing, ErrPlatformMismatch or ErrInvalidFact.
type FactError struct {
	Platform string // Platform.Name()
	Variable string // environment variable or file read, e.g. "GITHUB_REF"
	Reason   string
	Err      error // the sentinel
}

func (e *FactError) Error() string {
	return fmt.Sprintf("%v: %s %s: %s", e.Err, e.Platform, e.Variable, e.Reason)
}

func (e *FactError) Unwrap() error { return e.Err }

func factErr(sentinel error, platform, variable, format string, args ...any) error {
	return &FactError{Platform: platform, Variable: variable, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// Env is what a Platform reads: environment variables and files. Tests
// pass a MapEnv; the CLI passes OSEnv(). Nothing in this package reads the
// process environment on its own.
type Env interface {
	LookupEnv(key string) (string, bool)
	// ReadFile returns the file's contents; a missing file is an error
	// matching fs.ErrNotExist.
	ReadFile(name string) ([]byte, error)
}

// MapEnv is an Env held in memory, for tests and for callers that build
// the environment themselves.
type MapEnv struct {
	Vars  map[string]string
	Files map[string][]byte
}

// LookupEnv implements Env.
func (m MapEnv) LookupEnv(key string) (string, bool) {
	v, ok := m.Vars[key]
	return v, ok
}

// ReadFile implements Env.
func (m MapEnv) ReadFile(name string) ([]byte, error) {
	b, ok := m.Files[name]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return append([]byte(nil), b...), nil
}

// maxFileSize bounds the files a platform reads. GitHub caps webhook
// payloads at 25 MB; the event file holds one payload.
const maxFileSize = 32 << 20

// OSEnv returns the process environment and file system as an Env. Files
// larger than 32 MiB are refused with ErrInvalidFact.
func OSEnv() Env { return osEnv{} }

type osEnv struct{}

func (osEnv) LookupEnv(key string) (string, bool) { return os.LookupEnv(key) }

func (osEnv) ReadFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidFact, name, maxFileSize)
	}
	return b, nil
}

// Platform collects the facts of a build from the platform that runs it.
// A builder on a platform this package does not know implements it for
// its own platform and passes it to Detect with the others.
type Platform interface {
	// Name is a short lowercase name, e.g. "github-actions".
	Name() string
	// Detect reports whether env carries this platform's markers. It
	// reads nothing but markers and never fails: Collect checks the rest.
	Detect(env Env) bool
	// Collect reads the platform's facts. It fails with ErrPlatformMissing
	// when a variable the platform always sets is absent, with
	// ErrPlatformMismatch when variables contradict each other and with
	// ErrInvalidFact when one is malformed.
	Collect(ctx context.Context, env Env) (*Facts, error)
}

// Source is the source a build came from: the repository as an https URL
// without ".git", the full ref ("refs/heads/main", "refs/tags/v1",
// "refs/pull/7/merge") and the commit the platform checked out.
type Source struct {
	Repository string
	Ref        string
	Commit     string
}

// Material returns the source as a resolved dependency in SPDX download
// location form, "git+<repository>@<ref>", with digest {"gitCommit":
// commit}: what verify's source rule looks for.
func (s Source) Material() intoto.ResourceDescriptor {
	uri := "git+" + s.Repository
	if s.Ref != "" {
		uri += "@" + s.Ref
	}
	return intoto.ResourceDescriptor{URI: uri, Digest: intoto.DigestSet{intoto.AlgGitCommit: s.Commit}}
}

// Facts are what a platform says about a build, ready to fill a
// provenance.Recorder. External and Internal hold JSON-like values
// (strings, bools, float64, []any, map[string]any).
type Facts struct {
	Platform     string
	BuilderID    string
	BuildType    string
	InvocationID string
	// Source is recorded as a resolved dependency; Source.Commit is empty
	// for a Generic platform given no source.
	Source Source
	// Trigger is the platform's name for what started the build
	// ("push", "pull_request", "merge_request_event", "webhook", ...).
	Trigger  string
	External map[string]any
	Internal map[string]any
	// Overridden lists the facts a caller replaced with values of its own
	// (e.g. "builderID"); NewRecorder records them in internalParameters
	// so a reader can tell them from what the platform said.
	Overridden []string
}

// OverriddenKey is the internalParameters key under which NewRecorder
// records Facts.Overridden.
const OverriddenKey = "slsakitOverridden"

// NewRecorder returns a Recorder filled with the facts: builder ID, build
// type, invocation ID, external and internal parameters, and the source as
// a resolved dependency.
//
// A 64-digit commit (a SHA-256 repository) fails with
// intoto.ErrInvalidDescriptor: the in-toto Go library's Validate
// (v1.2.0) takes 40-digit gitCommit digests only, as GitMaterial notes.
func (f *Facts) NewRecorder(opts ...provenance.RecorderOption) (*provenance.Recorder, error) {
	if f.BuilderID == "" || f.BuildType == "" {
		return nil, factErr(ErrPlatformMissing, f.Platform, "builderID/buildType", "empty")
	}
	if f.InvocationID != "" {
		opts = append([]provenance.RecorderOption{provenance.WithInvocationID(f.InvocationID)}, opts...)
	}
	rec := provenance.NewRecorder(provenance.Builder{ID: f.BuilderID}, f.BuildType, opts...)
	for _, k := range sortedKeys(f.External) {
		if err := rec.SetExternalParameter(k, f.External[k]); err != nil {
			return nil, err
		}
	}
	for _, k := range sortedKeys(f.Internal) {
		if err := rec.SetInternalParameter(k, f.Internal[k]); err != nil {
			return nil, err
		}
	}
	if len(f.Overridden) > 0 {
		o := append([]string(nil), f.Overridden...)
		sort.Strings(o)
		if err := rec.SetInternalParameter(OverriddenKey, o); err != nil {
			return nil, err
		}
	}
	if f.Source.Commit != "" {
		if err := rec.AddMaterial(f.Source.Material()); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// DefaultPlatforms returns a fresh list of the platforms this package
// detects: GitHub Actions, GitLab CI, Google Cloud Build, Tekton,
// Buildkite and Jenkins. Generic is not among them: it has no markers.
func DefaultPlatforms() []Platform {
	return []Platform{GitHubActions{}, GitLabCI{}, CloudBuild{}, Tekton{}, Buildkite{}, Jenkins{}}
}

// Detect returns the one platform of platforms whose markers env carries.
// None is ErrPlatformMissing; more than one is ErrPlatformMismatch: a job
// that looks like two platforms has had one's variables set by hand, and
// which one is lying cannot be told.
func Detect(env Env, platforms ...Platform) (Platform, error) {
	var found []Platform
	for _, p := range platforms {
		if p != nil && p.Detect(env) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		names := make([]string, 0, len(platforms))
		for _, p := range platforms {
			if p != nil {
				names = append(names, p.Name())
			}
		}
		return nil, fmt.Errorf("%w: none of %s", ErrPlatformMissing, strings.Join(names, ", "))
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, p := range found {
		names[i] = p.Name()
	}
	return nil, fmt.Errorf("%w: markers of %s at once", ErrPlatformMismatch, strings.Join(names, " and "))
}

// Collect detects the platform among platforms and collects its facts.
func Collect(ctx context.Context, env Env, platforms ...Platform) (*Facts, error) {
	p, err := Detect(env, platforms...)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return p.Collect(ctx, env)
}

// reader reads one platform's variables, naming the platform in errors.
type reader struct {
	platform string
	env      Env
}

// need returns a variable that must be set and non-empty.
func (r reader) need(key string) (string, error) {
	v, ok := r.env.LookupEnv(key)
	if !ok || v == "" {
		return "", factErr(ErrPlatformMissing, r.platform, key, "not set")
	}
	return v, nil
}

// done checks the facts a platform read before handing them out: every
// string in them must be valid UTF-8, which environment variables need
// not be and provenance must be, so a malformed value fails here, named,
// rather than later in a Recorder.
func (r reader) done(f *Facts) (*Facts, error) {
	for name, v := range map[string]string{"builder ID": f.BuilderID, "invocation ID": f.InvocationID,
		"trigger": f.Trigger, "repository": f.Source.Repository, "ref": f.Source.Ref} {
		if !utf8.ValidString(v) {
			return nil, factErr(ErrInvalidFact, r.platform, name, "%q is not UTF-8", v)
		}
	}
	for name, m := range map[string]map[string]any{"externalParameters": f.External, "internalParameters": f.Internal} {
		if bad, ok := invalidUTF8(m); ok {
			return nil, factErr(ErrInvalidFact, r.platform, name, "%q is not UTF-8", bad)
		}
	}
	return f, nil
}

// invalidUTF8 returns the first string of v, key or value at any depth,
// that is not valid UTF-8.
func invalidUTF8(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, !utf8.ValidString(t)
	case map[string]any:
		for k, e := range t {
			if !utf8.ValidString(k) {
				return k, true
			}
			if bad, ok := invalidUTF8(e); ok {
				return bad, true
			}
		}
	case []any:
		for _, e := range t {
			if bad, ok := invalidUTF8(e); ok {
				return bad, true
			}
		}
	}
	return "", false
}

// needAll returns the variables keys, each of which must be set.
func (r reader) needAll(keys ...string) (map[string]string, error) {
	vals := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := r.need(k)
		if err != nil {
			return nil, err
		}
		vals[k] = v
	}
	return vals, nil
}

// numbers checks that the variables keys of vals are decimal numbers.
func (r reader) numbers(vals map[string]string, keys ...string) error {
	for _, k := range keys {
		if !isDigits(vals[k]) {
			return factErr(ErrInvalidFact, r.platform, k, "%q is not a number", vals[k])
		}
	}
	return nil
}

// optInto sets m[key] to the variable named by vars[key] for each one
// that is set and non-empty.
func (r reader) optInto(m map[string]any, vars map[string]string) {
	for key, v := range vars {
		if s := r.opt(v); s != "" {
			m[key] = s
		}
	}
}

// pullRequest records a pull request by its number (the variable
// numberVar), its base branch and its head repository (the variable
// headVar, a clone URL); "fork" is true when the head repository is not
// repo.
func (r reader) pullRequest(numberVar, baseBranch, headVar, repo string) (map[string]any, error) {
	number := r.opt(numberVar)
	if !isDigits(number) {
		return nil, factErr(ErrInvalidFact, r.platform, numberVar, "%q is not a number", number)
	}
	m := map[string]any{"number": number, "fork": false}
	if baseBranch != "" {
		m["baseRef"] = "refs/heads/" + baseBranch
	}
	if u := r.opt(headVar); u != "" {
		head, err := r.gitURL(headVar, u)
		if err != nil {
			return nil, err
		}
		m["headRepository"] = head
		m["fork"] = !strings.EqualFold(head, repo)
	}
	return m, nil
}

// opt returns a variable, "" when unset.
func (r reader) opt(key string) string {
	v, _ := r.env.LookupEnv(key)
	return v
}

// is reports whether key is set to want exactly.
func (r reader) is(key, want string) bool {
	v, ok := r.env.LookupEnv(key)
	return ok && v == want
}

// commit returns a variable holding a full commit id: 40 (SHA-1) or 64
// (SHA-256) lowercase hex digits. Short SHAs, "HEAD" and branch names are
// refused: they name no fixed commit.
func (r reader) commit(key string) (string, error) {
	v, err := r.need(key)
	if err != nil {
		return "", err
	}
	if !intoto.Strong(intoto.AlgGitCommit, v) {
		return "", factErr(ErrInvalidFact, r.platform, key, "%q is not a full commit id (40 or 64 lowercase hex digits)", v)
	}
	return v, nil
}

// fullRef checks that ref is a full git ref with no characters git
// forbids in ref names (so it cannot carry a second "@" reading).
func (r reader) fullRef(key, ref string) error {
	if !strings.HasPrefix(ref, "refs/") || !validRefName(ref) {
		return factErr(ErrInvalidFact, r.platform, key, "%q is not a full git ref", ref)
	}
	return nil
}

// validRefName applies git check-ref-format's rules that matter here: no
// control characters, space, "~^:?*[\", "..", "@{", "//", and no
// component starting with "." or ending with ".lock".
func validRefName(ref string) bool {
	if strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.Contains(ref, "//") ||
		strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") {
		return false
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, comp := range strings.Split(ref, "/") {
		if comp == "" || strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return false
		}
	}
	return true
}

// httpsURL checks that v is an https URL with a host and no user info,
// query or fragment, and returns it without a trailing "/" or ".git".
func (r reader) httpsURL(key, v string) (string, error) {
	u, err := provenance.PublicGitURL(v)
	if err != nil || !strings.HasPrefix(u, "https://") {
		return "", factErr(ErrInvalidFact, r.platform, key, "%q is not an https URL", v)
	}
	if u != strings.TrimSuffix(strings.TrimSuffix(v, "/"), ".git") {
		// Credentials, a query or a fragment were in the value: the
		// platform never writes those, so someone else did.
		return "", factErr(ErrInvalidFact, r.platform, key, "%q carries credentials, a query or a fragment", v)
	}
	return u, nil
}

// gitURL turns a clone URL of any form git accepts (ssh, scp-like,
// https) into the public https form, refusing local paths.
func (r reader) gitURL(key, v string) (string, error) {
	u, err := provenance.PublicGitURL(v)
	if err != nil || !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return "", factErr(ErrInvalidFact, r.platform, key, "%q is not a remote git URL", v)
	}
	return u, nil
}
