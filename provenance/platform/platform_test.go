package platform

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

const (
	sha1Commit   = "c27d339ee6075c1f744c5d4b200f7901aad2c369"
	sha256Commit = "3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed"
	subjectHex   = "fe4fe40ac7250263c5dbe1cf3138912f3f416140aa248637a60d65fe22c47da4"
)

// badCommits are values a forged or broken environment puts where a full
// commit id belongs.
var badCommits = []string{
	"HEAD", "main", "c27d339", // not fixed commits
	strings.ToUpper(sha1Commit),       // git never prints uppercase
	sha1Commit[:39], sha1Commit + "0", // wrong length
	sha1Commit[:39] + "g",               // not hex
	" " + sha1Commit, sha1Commit + "\n", // padding
	sha1Commit + "@refs/heads/evil", // smuggled ref
	"sha1:" + sha1Commit,            // prefixed
}

// statementOf records the facts with one subject and returns the
// predicate as generic JSON: what a verifier reads.
func statementOf(t *testing.T, f *Facts) map[string]any {
	t.Helper()
	rec, err := f.NewRecorder()
	if err != nil {
		t.Fatalf("NewRecorder: %v", err)
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": subjectHex}}); err != nil {
		t.Fatal(err)
	}
	b, err := rec.MarshalStatement()
	if err != nil {
		t.Fatalf("MarshalStatement: %v", err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	pred, _ := st["predicate"].(map[string]any)
	return pred
}

// wantPredicate compares the predicate with the JSON text want.
func wantPredicate(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.MarshalIndent(got, "", "  ")
		e, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("predicate:\n%s\nwant:\n%s", g, e)
	}
}

// collectErr collects with p and checks the error matches sentinel and
// names variable.
func collectErr(t *testing.T, p Platform, env Env, sentinel error, variable string) {
	t.Helper()
	f, err := p.Collect(context.Background(), env)
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v (facts %+v), want %v", err, f, sentinel)
	}
	var fe *FactError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v is not a *FactError", err)
	}
	if variable != "" && !strings.Contains(fe.Variable, variable) {
		t.Errorf("error names %q, want %q", fe.Variable, variable)
	}
}

func cloneEnv(m MapEnv) MapEnv {
	c := MapEnv{Vars: map[string]string{}, Files: map[string][]byte{}}
	for k, v := range m.Vars {
		c.Vars[k] = v
	}
	for k, v := range m.Files {
		c.Files[k] = v
	}
	return c
}

func with(m MapEnv, kv ...string) MapEnv {
	c := cloneEnv(m)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Vars[kv[i]] = kv[i+1]
	}
	return c
}

func without(m MapEnv, keys ...string) MapEnv {
	c := cloneEnv(m)
	for _, k := range keys {
		delete(c.Vars, k)
	}
	return c
}

func TestDetectOnePlatform(t *testing.T) {
	for _, tc := range []struct {
		env  MapEnv
		want string
	}{
		{githubPushEnv(), "github-actions"},
		{gitlabBranchEnv(), "gitlab-ci"},
		{cloudBuildBranchEnv(), "cloud-build"},
		{tektonEnv(), "tekton"},
		{buildkiteEnv(), "buildkite"},
		{jenkinsEnv(), "jenkins"},
	} {
		p, err := Detect(tc.env, DefaultPlatforms()...)
		if err != nil || p.Name() != tc.want {
			t.Errorf("Detect = %v, %v; want %s", p, err, tc.want)
		}
	}
}

// A job showing two platforms' markers had one's set by hand: neither
// is believed, whichever order the platforms are listed in.
func TestDetectTwoPlatformsIsMismatch(t *testing.T) {
	envs := []MapEnv{githubPushEnv(), gitlabBranchEnv(), cloudBuildBranchEnv(), tektonEnv(), buildkiteEnv(), jenkinsEnv()}
	for i := range envs {
		for j := range envs {
			if i == j {
				continue
			}
			mixed := cloneEnv(envs[i])
			for k, v := range envs[j].Vars {
				if _, ok := mixed.Vars[k]; !ok {
					mixed.Vars[k] = v
				}
			}
			for k, v := range envs[j].Files {
				mixed.Files[k] = v
			}
			ps := DefaultPlatforms()
			if _, err := Detect(mixed, ps...); !errors.Is(err, ErrPlatformMismatch) {
				t.Errorf("env %d+%d: Detect err = %v, want ErrPlatformMismatch", i, j, err)
			}
			ps[0], ps[len(ps)-1] = ps[len(ps)-1], ps[0]
			if _, err := Collect(context.Background(), mixed, ps...); !errors.Is(err, ErrPlatformMismatch) {
				t.Errorf("env %d+%d: Collect err = %v, want ErrPlatformMismatch", i, j, err)
			}
		}
	}
}

func TestDetectNoPlatform(t *testing.T) {
	env := MapEnv{Vars: map[string]string{"CI": "true", "GITHUB_ACTIONS": "false", "GITLAB_CI": "1"}}
	if _, err := Detect(env, DefaultPlatforms()...); !errors.Is(err, ErrPlatformMissing) {
		t.Fatalf("err = %v, want ErrPlatformMissing", err)
	}
	if _, err := Detect(env); !errors.Is(err, ErrPlatformMissing) {
		t.Fatalf("empty list: err = %v, want ErrPlatformMissing", err)
	}
	// Generic is never detected, even alone.
	if _, err := Detect(env, Generic{BuilderID: "https://x"}); !errors.Is(err, ErrPlatformMissing) {
		t.Fatalf("generic: err = %v, want ErrPlatformMissing", err)
	}
}

// Each platform refuses to collect without its own markers, even when
// called directly.
func TestCollectWithoutMarkers(t *testing.T) {
	for _, p := range DefaultPlatforms() {
		if _, err := p.Collect(context.Background(), MapEnv{}); !errors.Is(err, ErrPlatformMissing) {
			t.Errorf("%s: err = %v, want ErrPlatformMissing", p.Name(), err)
		}
	}
}

func TestDefaultPlatformsIsFresh(t *testing.T) {
	a := DefaultPlatforms()
	a[0] = nil
	if DefaultPlatforms()[0] == nil {
		t.Fatal("DefaultPlatforms shares its slice")
	}
}

func TestOverriddenRecorded(t *testing.T) {
	f, err := GitHubActions{}.Collect(context.Background(), githubPushEnv())
	if err != nil {
		t.Fatal(err)
	}
	f.BuilderID = "https://example.com/my-builder"
	f.Overridden = []string{"builderID"}
	pred := statementOf(t, f)
	bd := pred["buildDefinition"].(map[string]any)
	got := bd["internalParameters"].(map[string]any)[OverriddenKey]
	if !reflect.DeepEqual(got, []any{"builderID"}) {
		t.Fatalf("overridden = %v", got)
	}
}

func TestBadCommitsRefusedEverywhere(t *testing.T) {
	cases := []struct {
		p   Platform
		env MapEnv
		key string
	}{
		{GitHubActions{}, githubPushEnv(), "GITHUB_SHA"},
		{GitLabCI{}, gitlabBranchEnv(), "CI_COMMIT_SHA"},
		{CloudBuild{}, cloudBuildBranchEnv(), "COMMIT_SHA"},
		{Tekton{}, tektonEnv(), "CHAINS_GIT_COMMIT"},
		{Buildkite{}, buildkiteEnv(), "BUILDKITE_COMMIT"},
		{Jenkins{}, jenkinsEnv(), "GIT_COMMIT"},
	}
	for _, tc := range cases {
		for _, bad := range badCommits {
			collectErr(t, tc.p, with(tc.env, tc.key, bad), ErrInvalidFact, tc.key)
		}
		collectErr(t, tc.p, with(tc.env, tc.key, ""), ErrPlatformMissing, tc.key)
	}
	// A SHA-256 repository's 64-digit commit is a full commit id.
	if _, err := (GitHubActions{}).Collect(context.Background(), with(githubPushEnv(), "GITHUB_SHA", sha256Commit, "GITHUB_EVENT_PATH", "/ev/sha256.json")); err != nil {
		t.Fatalf("64-digit commit: %v", err)
	}
}

func TestOSEnvReadsProcess(t *testing.T) {
	t.Setenv("SLSAKIT_PLATFORM_TEST", "x")
	if v, ok := OSEnv().LookupEnv("SLSAKIT_PLATFORM_TEST"); !ok || v != "x" {
		t.Fatalf("LookupEnv = %q, %v", v, ok)
	}
	if _, err := OSEnv().ReadFile(t.TempDir() + "/missing"); err == nil {
		t.Fatal("missing file read")
	}
}

// TestNoVariableBreaksRecording: a variable of any platform, emptied or
// given bytes that are not UTF-8 or a trailing newline, is either refused
// by Collect with a *FactError or yields facts a Recorder turns into a
// valid statement: nothing slips through to fail (or panic) later.
func TestNoVariableBreaksRecording(t *testing.T) {
	fixtures := map[Platform]MapEnv{
		GitHubActions{}: githubPushEnv(), GitLabCI{}: gitlabMREnv("mallory/hello"), CloudBuild{}: cloudBuildBranchEnv(),
		Tekton{}: tektonEnv(), Buildkite{}: buildkiteEnv(), Jenkins{}: jenkinsEnv(),
	}
	for p, env := range fixtures {
		for k, v := range env.Vars {
			for _, bad := range []string{"", "\xff", v + "\xff", "\xc3" + v, v + "\n", v + "\x00"} {
				f, err := p.Collect(context.Background(), with(env, k, bad))
				if err != nil {
					var fe *FactError
					if !errors.As(err, &fe) {
						t.Errorf("%s %s=%q: %v is not a *FactError", p.Name(), k, bad, err)
					}
					continue
				}
				rec, err := f.NewRecorder()
				if err == nil {
					err = rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": subjectHex}})
				}
				if err == nil {
					_, err = rec.MarshalStatement()
				}
				if err != nil {
					t.Errorf("%s %s=%q: collected, then %v", p.Name(), k, bad, err)
				}
			}
		}
	}
}
