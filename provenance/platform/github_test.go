package platform

import (
	"context"
	"strings"
	"testing"
)

// githubEnv is the environment of a run of octocat/hello-world's
// release.yml, as GitHub documents its default variables.
func githubEnv(event, ref, eventFile string) MapEnv {
	return MapEnv{Vars: map[string]string{
		"CI":                         "true",
		"GITHUB_ACTIONS":             "true",
		"GITHUB_SERVER_URL":          "https://github.com",
		"GITHUB_API_URL":             "https://api.github.com",
		"GITHUB_REPOSITORY":          "octocat/hello-world",
		"GITHUB_REPOSITORY_ID":       "1296269",
		"GITHUB_REPOSITORY_OWNER":    "octocat",
		"GITHUB_REPOSITORY_OWNER_ID": "583231",
		"GITHUB_REF":                 ref,
		"GITHUB_SHA":                 sha1Commit,
		"GITHUB_WORKFLOW":            "release",
		"GITHUB_WORKFLOW_REF":        "octocat/hello-world/.github/workflows/release.yml@" + ref,
		"GITHUB_WORKFLOW_SHA":        sha1Commit,
		"GITHUB_EVENT_NAME":          event,
		"GITHUB_EVENT_PATH":          eventFile,
		"GITHUB_RUN_ID":              "1536140711",
		"GITHUB_RUN_ATTEMPT":         "1",
		"GITHUB_ACTOR":               "octocat",
		"GITHUB_ACTOR_ID":            "583231",
		"RUNNER_ENVIRONMENT":         "github-hosted",
	}, Files: map[string][]byte{
		"/ev/push-main.json":    []byte(`{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"` + sha1Commit + `","repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/push-tag.json":     []byte(`{"ref":"refs/tags/v1.0.0","after":"` + sha1Commit + `","repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/sha256.json":       []byte(`{"ref":"refs/heads/main","after":"` + sha256Commit + `","repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/release.json":      []byte(`{"action":"published","release":{"tag_name":"v1.0.0","name":"v1.0.0","body":"","draft":false,"prerelease":true,"target_commitish":"main"},"repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/create-tag.json":   []byte(`{"ref":"v1.0.0","ref_type":"tag","master_branch":"main","repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/dispatch.json":     []byte(`{"ref":"refs/heads/main","inputs":{"deploy_target":"deployment_sys_1a","build_id":123456768,"empty":""},"repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/pr-fork.json":      []byte(`{"action":"opened","number":42,"pull_request":{"number":42,"head":{"ref":"main","sha":"` + sha1Commit + `","repo":{"id":99,"full_name":"mallory/hello-world"}},"base":{"ref":"main","sha":"` + sha1Commit + `","repo":{"id":1296269,"full_name":"octocat/hello-world"}}},"repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/pr-same.json":      []byte(`{"action":"opened","number":42,"pull_request":{"number":42,"head":{"ref":"feature","sha":"` + sha1Commit + `","repo":{"id":1296269,"full_name":"octocat/hello-world"}},"base":{"ref":"main","repo":{"id":1296269,"full_name":"octocat/hello-world"}}},"repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/pr-deleted.json":   []byte(`{"number":42,"pull_request":{"number":42,"head":{"ref":"main","sha":"` + sha1Commit + `","repo":null},"base":{"ref":"main","repo":{"id":1296269,"full_name":"octocat/hello-world"}}},"repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
		"/ev/other-repo.json":   []byte(`{"ref":"refs/heads/main","after":"` + sha1Commit + `","repository":{"id":5,"full_name":"mallory/hello-world"}}`),
		"/ev/other-repoid.json": []byte(`{"ref":"refs/heads/main","after":"` + sha1Commit + `","repository":{"id":5,"full_name":"octocat/hello-world"}}`),
		"/ev/not-json.json":     []byte(`{"ref":`),
		"/ev/schedule.json":     []byte(`{"schedule":"0 0 * * *","repository":{"id":1296269,"full_name":"octocat/hello-world"}}`),
	}}
}

func githubPushEnv() MapEnv { return githubEnv("push", "refs/heads/main", "/ev/push-main.json") }

func collectGitHub(t *testing.T, env MapEnv) map[string]any {
	t.Helper()
	f, err := GitHubActions{}.Collect(context.Background(), env)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return statementOf(t, f)
}

// The provenance of a push matches the SLSA GitHub Actions workflow build
// type's example field by field.
func TestGitHubPush(t *testing.T) {
	wantPredicate(t, collectGitHub(t, githubPushEnv()), `{
	  "buildDefinition": {
	    "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
	    "externalParameters": {
	      "workflow": {"ref": "refs/heads/main", "repository": "https://github.com/octocat/hello-world", "path": ".github/workflows/release.yml"}
	    },
	    "internalParameters": {
	      "github": {"event_name": "push", "repository_id": "1296269", "repository_owner_id": "583231", "actor_id": "583231", "runner_environment": "github-hosted"}
	    },
	    "resolvedDependencies": [
	      {"uri": "git+https://github.com/octocat/hello-world@refs/heads/main", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {
	    "builder": {"id": "https://github.com/octocat/hello-world/.github/workflows/release.yml@refs/heads/main"},
	    "metadata": {"invocationId": "https://github.com/octocat/hello-world/actions/runs/1536140711/attempts/1"}
	  }
	}`)
}

// A pushed tag with no release is recorded as the push it was: the tag
// ref, event "push", and no "release" parameter a policy could mistake
// for a release.
func TestGitHubTagPushIsNotARelease(t *testing.T) {
	pred := collectGitHub(t, githubEnv("push", "refs/tags/v1.0.0", "/ev/push-tag.json"))
	bd := pred["buildDefinition"].(map[string]any)
	ext := bd["externalParameters"].(map[string]any)
	if _, ok := ext["release"]; ok {
		t.Fatalf("tag push recorded with a release: %v", ext)
	}
	if got := ext["workflow"].(map[string]any)["ref"]; got != "refs/tags/v1.0.0" {
		t.Fatalf("ref = %v", got)
	}
	if got := bd["internalParameters"].(map[string]any)["github"].(map[string]any)["event_name"]; got != "push" {
		t.Fatalf("event_name = %v", got)
	}
	// The same for a tag created through the create event.
	pred = collectGitHub(t, githubEnv("create", "refs/tags/v1.0.0", "/ev/create-tag.json"))
	ext = pred["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)
	if _, ok := ext["release"]; ok {
		t.Fatalf("create of a tag recorded with a release: %v", ext)
	}
}

func TestGitHubRelease(t *testing.T) {
	pred := collectGitHub(t, githubEnv("release", "refs/tags/v1.0.0", "/ev/release.json"))
	wantPredicate(t, pred["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any), `{
	  "workflow": {"ref": "refs/tags/v1.0.0", "repository": "https://github.com/octocat/hello-world", "path": ".github/workflows/release.yml"},
	  "release": {"name": "v1.0.0", "prerelease": true, "target_commitish": "main"}
	}`)
}

func TestGitHubWorkflowDispatchInputs(t *testing.T) {
	pred := collectGitHub(t, githubEnv("workflow_dispatch", "refs/heads/main", "/ev/dispatch.json"))
	wantPredicate(t, pred["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any), `{
	  "workflow": {"ref": "refs/heads/main", "repository": "https://github.com/octocat/hello-world", "path": ".github/workflows/release.yml"},
	  "inputs": {"deploy_target": "deployment_sys_1a", "build_id": 123456768}
	}`)
}

// A fork's pull request runs at refs/pull/N/merge of the base repository;
// the provenance says so, names the fork and sets "fork": true, under a
// build type that is not the standard one (which forbids pull requests).
func TestGitHubForkPullRequest(t *testing.T) {
	pred := collectGitHub(t, githubEnv("pull_request", "refs/pull/42/merge", "/ev/pr-fork.json"))
	bd := pred["buildDefinition"].(map[string]any)
	if bd["buildType"] != GitHubEventBuildType {
		t.Fatalf("buildType = %v", bd["buildType"])
	}
	wantPredicate(t, bd["externalParameters"].(map[string]any), `{
	  "workflow": {"ref": "refs/pull/42/merge", "repository": "https://github.com/octocat/hello-world", "path": ".github/workflows/release.yml"},
	  "pull_request": {"number": "42", "fork": true, "base": {"ref": "refs/heads/main"},
	    "head": {"ref": "refs/heads/main", "sha": "`+sha1Commit+`", "repository": "https://github.com/mallory/hello-world"}}
	}`)
	deps := bd["resolvedDependencies"].([]any)
	if uri := deps[0].(map[string]any)["uri"]; uri != "git+https://github.com/octocat/hello-world@refs/pull/42/merge" {
		t.Fatalf("source = %v", uri)
	}

	same := collectGitHub(t, githubEnv("pull_request", "refs/pull/42/merge", "/ev/pr-same.json"))
	pr := same["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)["pull_request"].(map[string]any)
	if pr["fork"] != false {
		t.Fatalf("same-repository PR: fork = %v", pr["fork"])
	}
	gone := collectGitHub(t, githubEnv("pull_request", "refs/pull/42/merge", "/ev/pr-deleted.json"))
	pr = gone["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)["pull_request"].(map[string]any)
	if pr["fork"] != true {
		t.Fatalf("deleted head repository: fork = %v", pr["fork"])
	}
	// pull_request_target runs the base branch: recorded at it, still
	// with the fork's head.
	tgt := collectGitHub(t, githubEnv("pull_request_target", "refs/heads/main", "/ev/pr-fork.json"))
	ext := tgt["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)
	if ext["pull_request"].(map[string]any)["fork"] != true {
		t.Fatalf("pull_request_target: %v", ext)
	}
}

// Every event outside the standard build type's four gets slsakit's
// event build type, never the standard one.
func TestGitHubOtherEventsBuildType(t *testing.T) {
	for _, ev := range []string{"schedule", "merge_group", "workflow_run", "repository_dispatch", "issue_comment"} {
		f, err := GitHubActions{}.Collect(context.Background(), githubEnv(ev, "refs/heads/main", "/ev/schedule.json"))
		if err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		if f.BuildType != GitHubEventBuildType || f.Trigger != ev {
			t.Errorf("%s: build type %s, trigger %s", ev, f.BuildType, f.Trigger)
		}
	}
}

func TestGitHubForgedEnvironments(t *testing.T) {
	push := githubPushEnv()
	cases := []struct {
		name     string
		env      MapEnv
		sentinel error
		variable string
	}{
		{"workflow of another repository", with(push, "GITHUB_WORKFLOW_REF", "mallory/hello-world/.github/workflows/release.yml@refs/heads/main"), ErrPlatformMismatch, "GITHUB_WORKFLOW_REF"},
		{"workflow of a repository with our name as prefix", with(push, "GITHUB_WORKFLOW_REF", "octocat/hello-world-evil/.github/workflows/release.yml@refs/heads/main"), ErrPlatformMismatch, "GITHUB_WORKFLOW_REF"},
		{"workflow at another ref", with(push, "GITHUB_WORKFLOW_REF", "octocat/hello-world/.github/workflows/release.yml@refs/heads/dev"), ErrPlatformMismatch, "GITHUB_WORKFLOW_REF"},
		{"workflow outside .github/workflows", with(push, "GITHUB_WORKFLOW_REF", "octocat/hello-world/../x.yml@refs/heads/main"), ErrInvalidFact, "GITHUB_WORKFLOW_REF"},
		{"ref not the pushed ref", with(push, "GITHUB_REF", "refs/heads/release", "GITHUB_WORKFLOW_REF", "octocat/hello-world/.github/workflows/release.yml@refs/heads/release"), ErrPlatformMismatch, "GITHUB_REF"},
		{"sha not the pushed head", with(push, "GITHUB_SHA", strings.Repeat("a", 40)), ErrPlatformMismatch, "GITHUB_SHA"},
		{"event of another repository", with(push, "GITHUB_EVENT_PATH", "/ev/other-repo.json"), ErrPlatformMismatch, "GITHUB_EVENT_PATH"},
		{"event of another repository id", with(push, "GITHUB_EVENT_PATH", "/ev/other-repoid.json"), ErrPlatformMismatch, "GITHUB_REPOSITORY_ID"},
		{"event file missing", with(push, "GITHUB_EVENT_PATH", "/ev/none.json"), ErrPlatformMissing, "GITHUB_EVENT_PATH"},
		{"event file not JSON", with(push, "GITHUB_EVENT_PATH", "/ev/not-json.json"), ErrInvalidFact, "GITHUB_EVENT_PATH"},
		{"release of another tag", githubEnv("release", "refs/tags/v2.0.0", "/ev/release.json"), ErrPlatformMismatch, "GITHUB_REF"},
		{"release event without a release", githubEnv("release", "refs/tags/v1.0.0", "/ev/push-tag.json"), ErrPlatformMismatch, "GITHUB_EVENT_PATH"},
		{"create of another tag", githubEnv("create", "refs/tags/v9", "/ev/create-tag.json"), ErrPlatformMismatch, "GITHUB_REF"},
		{"pull request posing as a branch build", githubEnv("pull_request", "refs/heads/main", "/ev/pr-fork.json"), ErrPlatformMismatch, "GITHUB_REF"},
		{"pull request of another number", githubEnv("pull_request", "refs/pull/7/merge", "/ev/pr-fork.json"), ErrPlatformMismatch, "GITHUB_REF"},
		{"pull request event without a pull request", githubEnv("pull_request", "refs/pull/42/merge", "/ev/push-main.json"), ErrPlatformMismatch, "GITHUB_EVENT_PATH"},
		{"push event payload of a pull request", githubEnv("push", "refs/pull/42/merge", "/ev/pr-fork.json"), ErrPlatformMismatch, "GITHUB_EVENT_PATH"},
		{"dispatch at another ref", githubEnv("workflow_dispatch", "refs/heads/dev", "/ev/dispatch.json"), ErrPlatformMismatch, "GITHUB_REF"},
		{"server with credentials", with(push, "GITHUB_SERVER_URL", "https://user:tok@github.com"), ErrInvalidFact, "GITHUB_SERVER_URL"},
		{"server with a path", with(push, "GITHUB_SERVER_URL", "https://github.com/mallory"), ErrInvalidFact, "GITHUB_SERVER_URL"},
		{"plain http server", with(push, "GITHUB_SERVER_URL", "http://github.com"), ErrInvalidFact, "GITHUB_SERVER_URL"},
		{"repository path traversal", with(push, "GITHUB_REPOSITORY", "octocat/../mallory"), ErrInvalidFact, "GITHUB_REPOSITORY"},
		{"short ref", with(push, "GITHUB_REF", "main", "GITHUB_WORKFLOW_REF", "octocat/hello-world/.github/workflows/release.yml@main"), ErrInvalidFact, "GITHUB_REF"},
		{"ref with a second @", with(push, "GITHUB_REF", "refs/heads/x@{1}"), ErrInvalidFact, "GITHUB_REF"},
		{"run id not a number", with(push, "GITHUB_RUN_ID", "1/../2"), ErrInvalidFact, "GITHUB_RUN_ID"},
		{"GITHUB_ACTIONS not true", with(push, "GITHUB_ACTIONS", "false"), ErrPlatformMissing, "GITHUB_ACTIONS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { collectErr(t, GitHubActions{}, tc.env, tc.sentinel, tc.variable) })
	}
}

func TestGitHubMissingVariables(t *testing.T) {
	for _, k := range []string{"GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_SHA", "GITHUB_WORKFLOW_REF",
		"GITHUB_EVENT_NAME", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_EVENT_PATH"} {
		collectErr(t, GitHubActions{}, without(githubPushEnv(), k), ErrPlatformMissing, k)
	}
}
