package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/provenance/platform"
)

const envCommit = "c27d339ee6075c1f744c5d4b200f7901aad2c369"

// githubJob sets the process environment of a GitHub Actions push to
// main of octocat/hello-world, with every other platform's markers
// cleared (the tests may themselves run in some CI).
func githubJob(t *testing.T) {
	t.Helper()
	githubJobAt(t, "push", "refs/heads/main", `{"ref":"refs/heads/main","after":"`+envCommit+`","repository":{"id":1296269,"full_name":"octocat/hello-world"}}`)
}

func githubJobAt(t *testing.T, event, ref, payload string) {
	t.Helper()
	for _, k := range []string{"GITLAB_CI", "BUILDER_OUTPUT", "BUILD_ID", "BUILDKITE", "JENKINS_URL", "BUILD_URL"} {
		t.Setenv(k, "")
	}
	ev := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(ev, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"GITHUB_ACTIONS":             "true",
		"GITHUB_SERVER_URL":          "https://github.com",
		"GITHUB_REPOSITORY":          "octocat/hello-world",
		"GITHUB_REPOSITORY_ID":       "1296269",
		"GITHUB_REPOSITORY_OWNER_ID": "583231",
		"GITHUB_REF":                 ref,
		"GITHUB_SHA":                 envCommit,
		"GITHUB_WORKFLOW_REF":        "octocat/hello-world/.github/workflows/release.yml@" + ref,
		"GITHUB_EVENT_NAME":          event,
		"GITHUB_EVENT_PATH":          ev,
		"GITHUB_RUN_ID":              "1536140711",
		"GITHUB_RUN_ATTEMPT":         "1",
		"GITHUB_ACTOR_ID":            "583231",
		"RUNNER_ENVIRONMENT":         "github-hosted",
	} {
		t.Setenv(k, v)
	}
}

// attestFromEnv runs attest --from-env with extra flags and returns the
// statement's predicate.
func attestFromEnv(t *testing.T, extra ...string) map[string]any {
	t.Helper()
	dir := t.TempDir()
	key, _ := keys(t, dir, "ci")
	art := filepath.Join(dir, "app")
	if err := os.WriteFile(art, []byte("app"), 0o644); err != nil {
		t.Fatal(err)
	}
	stmt := filepath.Join(dir, "stmt.json")
	args := append([]string{"attest", "--from-env", "--key", key, "--statement-out", stmt, "--out", filepath.Join(dir, "env.jsonl")}, extra...)
	slsakit(t, append(args, art)...).want(t, exitOK)
	data, err := os.ReadFile(stmt)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st["predicate"].(map[string]any)
}

func TestAttestFromEnvGitHub(t *testing.T) {
	githubJob(t)
	pred := attestFromEnv(t)
	bd := pred["buildDefinition"].(map[string]any)
	if bd["buildType"] != platform.GitHubWorkflowBuildType {
		t.Fatalf("buildType = %v", bd["buildType"])
	}
	wf := bd["externalParameters"].(map[string]any)["workflow"]
	if !reflect.DeepEqual(wf, map[string]any{"ref": "refs/heads/main", "repository": "https://github.com/octocat/hello-world", "path": ".github/workflows/release.yml"}) {
		t.Fatalf("workflow = %v", wf)
	}
	deps := bd["resolvedDependencies"].([]any)
	if len(deps) != 1 || deps[0].(map[string]any)["uri"] != "git+https://github.com/octocat/hello-world@refs/heads/main" {
		t.Fatalf("source = %v", deps)
	}
	if _, ok := bd["internalParameters"].(map[string]any)[platform.OverriddenKey]; ok {
		t.Fatalf("nothing was overridden: %v", bd["internalParameters"])
	}
	rd := pred["runDetails"].(map[string]any)
	if id := rd["builder"].(map[string]any)["id"]; id != "https://github.com/octocat/hello-world/.github/workflows/release.yml@refs/heads/main" {
		t.Fatalf("builder = %v", id)
	}
	if inv := rd["metadata"].(map[string]any)["invocationId"]; inv != "https://github.com/octocat/hello-world/actions/runs/1536140711/attempts/1" {
		t.Fatalf("invocation = %v", inv)
	}
}

// An explicit flag wins over the platform, and the statement says which
// facts the caller typed.
func TestAttestFromEnvFlagsWinAndAreRecorded(t *testing.T) {
	githubJob(t)
	pred := attestFromEnv(t, "--builder-id", builder, "--param", "workflow=mine", "--param", "extra=1", "--invocation-id", "run-7")
	bd := pred["buildDefinition"].(map[string]any)
	if got := pred["runDetails"].(map[string]any)["builder"].(map[string]any)["id"]; got != builder {
		t.Fatalf("builder = %v", got)
	}
	if got := bd["externalParameters"].(map[string]any)["workflow"]; got != "mine" {
		t.Fatalf("workflow = %v", got)
	}
	want := []any{"builderID", "externalParameters.extra", "externalParameters.workflow", "invocationID"}
	if got := bd["internalParameters"].(map[string]any)[platform.OverriddenKey]; !reflect.DeepEqual(got, want) {
		t.Fatalf("overridden = %v, want %v", got, want)
	}
	// The build type's default is no override; an explicit one is.
	pred = attestFromEnv(t, "--build-type", "https://example.com/bt@v1")
	bd = pred["buildDefinition"].(map[string]any)
	if bd["buildType"] != "https://example.com/bt@v1" || !reflect.DeepEqual(bd["internalParameters"].(map[string]any)[platform.OverriddenKey], []any{"buildType"}) {
		t.Fatalf("build type override: %v", bd)
	}
}

func TestAttestFromEnvRefusesForgedOrAmbiguous(t *testing.T) {
	dir := t.TempDir()
	key, _ := keys(t, dir, "ci")
	art := filepath.Join(dir, "app")
	if err := os.WriteFile(art, []byte("app"), 0o644); err != nil {
		t.Fatal(err)
	}
	attest := func() result {
		return slsakit(t, "attest", "--from-env", "--key", key, "--out", filepath.Join(dir, "x.jsonl"), art)
	}
	githubJob(t)
	t.Setenv("GITHUB_WORKFLOW_REF", "mallory/hello-world/.github/workflows/release.yml@refs/heads/main")
	if r := attest().want(t, exitError); !strings.Contains(r.stderr, "contradict") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	githubJob(t)
	t.Setenv("GITLAB_CI", "true")
	if r := attest().want(t, exitError); !strings.Contains(r.stderr, "github-actions and gitlab-ci") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	githubJob(t)
	t.Setenv("GITHUB_ACTIONS", "")
	if r := attest().want(t, exitError); !strings.Contains(r.stderr, "not detected") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

// A policy written against the GitHub build type accepts what --from-env
// records for a push to main and refuses a fork's pull request, by the
// source rule and by the pull_request parameter alike.
func TestAttestFromEnvThenPolicy(t *testing.T) {
	dir := t.TempDir()
	key, _ := keys(t, dir, "release")
	art := filepath.Join(dir, "app")
	if err := os.WriteFile(art, []byte("app"), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := func(name, rules string) string {
		p := filepath.Join(dir, name)
		body := "version: 1\n" + rules + "signers:\n  - artifacts: app\n    keys: [{file: release.pub}]\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bySource := policy("source.yaml", "buildTypes: ["+platform.GitHubWorkflowBuildType+", "+platform.GitHubEventBuildType+"]\n"+
		"builders: [{id: https://github.com/octocat/hello-world/.github/workflows/release.yml, versions: [\"refs/heads/*\", \"refs/pull/*\"]}]\n"+
		"source: {repository: git+https://github.com/octocat/hello-world, refs: [refs/heads/main]}\n")
	byParam := policy("param.yaml", "parameters: [{name: pull_request, forbidden: true}]\n")
	env := filepath.Join(dir, "app.intoto.jsonl")
	attest := func() {
		slsakit(t, "attest", "--from-env", "--key", key, "--out", env, art).want(t, exitOK)
	}

	githubJob(t)
	attest()
	slsakit(t, "verify", "--policy", bySource, "--envelope", env, art).want(t, exitOK)
	slsakit(t, "verify", "--policy", byParam, "--envelope", env, art).want(t, exitOK)

	fork := `{"number":42,"pull_request":{"number":42,"head":{"ref":"main","sha":"` + envCommit + `","repo":{"full_name":"mallory/hello-world"}},` +
		`"base":{"ref":"main","repo":{"full_name":"octocat/hello-world"}}},"repository":{"id":1296269,"full_name":"octocat/hello-world"}}`
	githubJobAt(t, "pull_request", "refs/pull/42/merge", fork)
	attest()
	if r := slsakit(t, "verify", "--policy", bySource, "--envelope", env, art).want(t, exitRejected); !strings.Contains(r.stdout+r.stderr, "source") {
		t.Fatalf("fork PR refused for another reason:\n%s%s", r.stdout, r.stderr)
	}
	slsakit(t, "verify", "--policy", byParam, "--envelope", env, art).want(t, exitRejected)
}
