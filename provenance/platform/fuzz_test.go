package platform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

// FuzzGitHubActions: whatever the variables and the event file hold,
// Collect does not panic, and what it accepts is consistent: the source
// is GITHUB_REPOSITORY at GITHUB_REF and GITHUB_SHA, a full commit, and
// the workflow is a file of that repository at that ref.
func FuzzGitHubActions(f *testing.F) {
	push := githubPushEnv()
	f.Add("push", "refs/heads/main", sha1Commit, "octocat/hello-world/.github/workflows/release.yml@refs/heads/main", string(push.Files["/ev/push-main.json"]))
	for name, payload := range push.Files {
		f.Add(strings.TrimSuffix(strings.TrimPrefix(name, "/ev/"), ".json"), "refs/pull/42/merge", sha1Commit,
			"octocat/hello-world/.github/workflows/release.yml@refs/pull/42/merge", string(payload))
	}
	f.Add("release", "refs/tags/v1.0.0", sha1Commit, "octocat/hello-world/.github/workflows/a@b.yml@refs/tags/v1.0.0", string(push.Files["/ev/release.json"]))
	f.Fuzz(func(t *testing.T, event, ref, sha, workflowRef, payload string) {
		env := with(push, "GITHUB_EVENT_NAME", event, "GITHUB_REF", ref, "GITHUB_SHA", sha, "GITHUB_WORKFLOW_REF", workflowRef, "GITHUB_EVENT_PATH", "/fuzz.json")
		env.Files["/fuzz.json"] = []byte(payload)
		facts, err := GitHubActions{}.Collect(context.Background(), env)
		if err != nil {
			return
		}
		want := Source{Repository: "https://github.com/octocat/hello-world", Ref: ref, Commit: sha}
		if facts.Source != want {
			t.Fatalf("source %+v, want %+v", facts.Source, want)
		}
		if !intoto.Strong(intoto.AlgGitCommit, sha) || !strings.HasPrefix(ref, "refs/") || strings.ContainsAny(ref, " ~^:?*[\\") {
			t.Fatalf("accepted commit %q at ref %q", sha, ref)
		}
		wf := facts.External["workflow"].(map[string]any)
		if !strings.EqualFold(workflowRef, "octocat/hello-world/"+wf["path"].(string)+"@"+ref) {
			t.Fatalf("workflow %q is not %v", workflowRef, wf)
		}
		if _, err := facts.NewRecorder(); err != nil && !(len(sha) == 64 && errors.Is(err, intoto.ErrInvalidDescriptor)) {
			t.Fatalf("NewRecorder: %v", err)
		}
	})
}

// FuzzAnyVariable sets one variable of one platform's fixture to any
// value: Collect refuses it with a *FactError, or the facts record into a
// valid statement.
func FuzzAnyVariable(f *testing.F) {
	f.Add(uint8(0), uint8(0), "\xff")
	f.Add(uint8(1), uint8(3), "refs/heads/a..b")
	f.Add(uint8(5), uint8(2), "https://ci.example.com/")
	f.Fuzz(func(t *testing.T, which, key uint8, value string) {
		ps := DefaultPlatforms()
		envs := []MapEnv{githubPushEnv(), gitlabMREnv("mallory/hello"), cloudBuildBranchEnv(), tektonEnv(), buildkiteEnv(), jenkinsEnv()}
		i := int(which) % len(ps)
		keys := sortedKeys(func() map[string]any {
			m := map[string]any{}
			for k := range envs[i].Vars {
				m[k] = nil
			}
			return m
		}())
		env := with(envs[i], keys[int(key)%len(keys)], value)
		facts, err := ps[i].Collect(context.Background(), env)
		if err != nil {
			var fe *FactError
			if !errors.As(err, &fe) {
				t.Fatalf("%v is not a *FactError", err)
			}
			return
		}
		rec, err := facts.NewRecorder()
		if len(facts.Source.Commit) == 64 && errors.Is(err, intoto.ErrInvalidDescriptor) {
			return // documented: in-toto's Go Validate takes 40-digit gitCommit only
		}
		if err != nil {
			t.Fatalf("NewRecorder: %v", err)
		}
		if err := rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": subjectHex}}); err != nil {
			t.Fatal(err)
		}
		if _, err := rec.MarshalStatement(); err != nil {
			t.Fatalf("MarshalStatement: %v", err)
		}
	})
}
