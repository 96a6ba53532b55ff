package platform

import (
	"context"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
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
		if !intoto.Strong(provenance.AlgGitCommit, sha) || !strings.HasPrefix(ref, "refs/") || strings.ContainsAny(ref, " ~^:?*[\\") {
			t.Fatalf("accepted commit %q at ref %q", sha, ref)
		}
		wf := facts.External["workflow"].(map[string]any)
		if !strings.EqualFold(workflowRef, "octocat/hello-world/"+wf["path"].(string)+"@"+ref) {
			t.Fatalf("workflow %q is not %v", workflowRef, wf)
		}
		if _, err := facts.NewRecorder(); err != nil {
			t.Fatalf("NewRecorder: %v", err)
		}
	})
}
