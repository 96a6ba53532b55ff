package platform

import (
	"context"
	"testing"
)

// gitlabBranchEnv is a branch pipeline of gitlab-org/hello on gitlab.com,
// with GitLab's predefined variables.
func gitlabBranchEnv() MapEnv {
	return MapEnv{Vars: map[string]string{
		"CI":                      "true",
		"GITLAB_CI":               "true",
		"CI_SERVER_URL":           "https://gitlab.com",
		"CI_PROJECT_PATH":         "gitlab-org/hello",
		"CI_PROJECT_URL":          "https://gitlab.com/gitlab-org/hello",
		"CI_PROJECT_ID":           "278964",
		"CI_COMMIT_SHA":           sha1Commit,
		"CI_COMMIT_REF_NAME":      "main",
		"CI_COMMIT_BRANCH":        "main",
		"CI_COMMIT_REF_PROTECTED": "true",
		"CI_PIPELINE_SOURCE":      "push",
		"CI_PIPELINE_ID":          "1000",
		"CI_JOB_ID":               "2000",
		"CI_JOB_URL":              "https://gitlab.com/gitlab-org/hello/-/jobs/2000",
		"CI_JOB_NAME":             "build",
		"CI_CONFIG_PATH":          ".gitlab-ci.yml",
		"CI_RUNNER_ID":            "12270807",
	}}
}

func gitlabMREnv(sourceProject string) MapEnv {
	e := without(gitlabBranchEnv(), "CI_COMMIT_BRANCH")
	return with(e,
		"CI_PIPELINE_SOURCE", "merge_request_event",
		"CI_COMMIT_REF_NAME", "feature",
		"CI_COMMIT_REF_PROTECTED", "false",
		"CI_MERGE_REQUEST_IID", "7",
		"CI_MERGE_REQUEST_REF_PATH", "refs/merge-requests/7/head",
		"CI_MERGE_REQUEST_PROJECT_PATH", "gitlab-org/hello",
		"CI_MERGE_REQUEST_SOURCE_PROJECT_PATH", sourceProject,
		"CI_MERGE_REQUEST_SOURCE_PROJECT_URL", "https://gitlab.com/"+sourceProject,
		"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature",
		"CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
}

func TestGitLabBranch(t *testing.T) {
	f, err := GitLabCI{}.Collect(context.Background(), gitlabBranchEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantPredicate(t, statementOf(t, f), `{
	  "buildDefinition": {
	    "buildType": "https://github.com/slsakit/slsakit/buildtypes/gitlab-ci@v1",
	    "externalParameters": {
	      "source": {"repository": "https://gitlab.com/gitlab-org/hello", "ref": "refs/heads/main"},
	      "job": "build", "pipelineSource": "push", "configPath": ".gitlab-ci.yml"
	    },
	    "internalParameters": {"pipelineID": "1000", "jobID": "2000", "runnerID": "12270807", "projectID": "278964", "protectedRef": true},
	    "resolvedDependencies": [
	      {"uri": "git+https://gitlab.com/gitlab-org/hello@refs/heads/main", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {
	    "builder": {"id": "https://gitlab.com/-/runners/12270807"},
	    "metadata": {"invocationId": "https://gitlab.com/gitlab-org/hello/-/jobs/2000"}
	  }
	}`)
}

func TestGitLabTagAndMergeRequests(t *testing.T) {
	tag := with(without(gitlabBranchEnv(), "CI_COMMIT_BRANCH"), "CI_COMMIT_TAG", "v1.0.0", "CI_COMMIT_REF_NAME", "v1.0.0")
	f, err := GitLabCI{}.Collect(context.Background(), tag)
	if err != nil || f.Source.Ref != "refs/tags/v1.0.0" {
		t.Fatalf("tag: %+v, %v", f, err)
	}
	f, err = GitLabCI{}.Collect(context.Background(), gitlabMREnv("mallory/hello"))
	if err != nil {
		t.Fatal(err)
	}
	ext := statementOf(t, f)["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)
	wantPredicate(t, ext["mergeRequest"].(map[string]any), `{"iid": "7", "fork": true,
	  "sourceProject": "https://gitlab.com/mallory/hello", "sourceRef": "refs/heads/feature",
	  "targetProject": "https://gitlab.com/gitlab-org/hello", "targetRef": "refs/heads/main"}`)
	if f.Source.Ref != "refs/merge-requests/7/head" {
		t.Fatalf("ref = %s", f.Source.Ref)
	}
	f, err = GitLabCI{}.Collect(context.Background(), gitlabMREnv("gitlab-org/hello"))
	if err != nil || f.External["mergeRequest"].(map[string]any)["fork"] != false {
		t.Fatalf("same-project MR: %+v, %v", f, err)
	}
}

func TestGitLabForged(t *testing.T) {
	b := gitlabBranchEnv()
	cases := []struct {
		name     string
		env      MapEnv
		sentinel error
		variable string
	}{
		{"tag and branch at once", with(b, "CI_COMMIT_TAG", "v1"), ErrPlatformMismatch, "CI_COMMIT_TAG"},
		{"branch and merge request at once", with(gitlabMREnv("mallory/hello"), "CI_COMMIT_BRANCH", "main"), ErrPlatformMismatch, "CI_COMMIT_BRANCH"},
		{"ref name not the branch", with(b, "CI_COMMIT_REF_NAME", "dev"), ErrPlatformMismatch, "CI_COMMIT_REF_NAME"},
		{"tag posing as a branch", with(without(b, "CI_COMMIT_BRANCH"), "CI_COMMIT_TAG", "v1"), ErrPlatformMismatch, "CI_COMMIT_REF_NAME"},
		{"project URL of another project", with(b, "CI_PROJECT_URL", "https://gitlab.com/mallory/hello"), ErrPlatformMismatch, "CI_PROJECT_URL"},
		{"job of another project", with(b, "CI_JOB_URL", "https://gitlab.com/mallory/hello/-/jobs/1"), ErrPlatformMismatch, "CI_JOB_URL"},
		{"merge request variables in a push pipeline", with(gitlabMREnv("mallory/hello"), "CI_PIPELINE_SOURCE", "push"), ErrPlatformMismatch, "CI_PIPELINE_SOURCE"},
		{"merge request ref of another MR", with(gitlabMREnv("mallory/hello"), "CI_MERGE_REQUEST_REF_PATH", "refs/merge-requests/8/head"), ErrPlatformMismatch, "CI_MERGE_REQUEST_REF_PATH"},
		{"merge request source URL of another project", with(gitlabMREnv("mallory/hello"), "CI_MERGE_REQUEST_SOURCE_PROJECT_URL", "https://gitlab.com/gitlab-org/hello"), ErrPlatformMismatch, "CI_MERGE_REQUEST_SOURCE_PROJECT_URL"},
		{"no branch, tag or MR", without(b, "CI_COMMIT_BRANCH"), ErrPlatformMissing, "CI_COMMIT_BRANCH"},
		{"missing runner", without(b, "CI_RUNNER_ID"), ErrPlatformMissing, "CI_RUNNER_ID"},
		{"branch that git refuses", with(b, "CI_COMMIT_BRANCH", "a..b", "CI_COMMIT_REF_NAME", "a..b"), ErrInvalidFact, "CI_COMMIT_REF_NAME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { collectErr(t, GitLabCI{}, tc.env, tc.sentinel, tc.variable) })
	}
}

// cloudBuildBranchEnv is a GitHub-triggered Cloud Build step with
// options.automapSubstitutions: true.
func cloudBuildBranchEnv() MapEnv {
	return MapEnv{Vars: map[string]string{
		"BUILDER_OUTPUT":            "/builder/outputs",
		"PROJECT_ID":                "my-project",
		"PROJECT_NUMBER":            "123456789",
		"LOCATION":                  "us-central1",
		"BUILD_ID":                  "0e1c7f1c-6e3a-4a8e-9a4e-4c0a2b6d6f00",
		"COMMIT_SHA":                sha1Commit,
		"SHORT_SHA":                 sha1Commit[:7],
		"REPO_NAME":                 "hello-world",
		"REPO_FULL_NAME":            "octocat/hello-world",
		"BRANCH_NAME":               "main",
		"REF_NAME":                  "main",
		"TRIGGER_NAME":              "release",
		"TRIGGER_BUILD_CONFIG_PATH": "cloudbuild.yaml",
	}}
}

func TestCloudBuildBranch(t *testing.T) {
	f, err := CloudBuild{}.Collect(context.Background(), cloudBuildBranchEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantPredicate(t, statementOf(t, f), `{
	  "buildDefinition": {
	    "buildType": "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1",
	    "externalParameters": {
	      "buildConfigSource": {"repository": "git+https://github.com/octocat/hello-world", "ref": "refs/heads/main", "path": "cloudbuild.yaml"}
	    },
	    "internalParameters": {"systemSubstitutions": {"BUILD_ID": "0e1c7f1c-6e3a-4a8e-9a4e-4c0a2b6d6f00", "PROJECT_ID": "my-project", "PROJECT_NUMBER": "123456789", "LOCATION": "us-central1", "TRIGGER_NAME": "release"}},
	    "resolvedDependencies": [
	      {"uri": "git+https://github.com/octocat/hello-world@refs/heads/main", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {
	    "builder": {"id": "https://cloudbuild.googleapis.com/v1/projects/my-project/locations/us-central1/triggers/release"},
	    "metadata": {"invocationId": "https://cloudbuild.googleapis.com/v1/projects/my-project/locations/us-central1/builds/0e1c7f1c-6e3a-4a8e-9a4e-4c0a2b6d6f00"}
	  }
	}`)
}

func TestCloudBuildPullRequestAndForged(t *testing.T) {
	b := cloudBuildBranchEnv()
	pr := with(without(b, "BRANCH_NAME", "REF_NAME"), "_PR_NUMBER", "42", "_HEAD_BRANCH", "main", "_BASE_BRANCH", "main",
		"_HEAD_REPO_URL", "https://github.com/mallory/hello-world")
	f, err := CloudBuild{}.Collect(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	if f.Source.Ref != "refs/pull/42/head" || f.External["pullRequest"].(map[string]any)["fork"] != true {
		t.Fatalf("fork PR: %+v", f)
	}
	f, err = CloudBuild{}.Collect(context.Background(), with(pr, "_HEAD_REPO_URL", "https://github.com/octocat/hello-world.git"))
	if err != nil || f.External["pullRequest"].(map[string]any)["fork"] != false {
		t.Fatalf("same-repo PR: %+v, %v", f, err)
	}
	collectErr(t, CloudBuild{}, with(b, "TAG_NAME", "v1"), ErrPlatformMismatch, "TAG_NAME")
	collectErr(t, CloudBuild{}, with(b, "REF_NAME", "dev"), ErrPlatformMismatch, "REF_NAME")
	collectErr(t, CloudBuild{}, with(pr, "TAG_NAME", "v1"), ErrPlatformMismatch, "TAG_NAME")
	collectErr(t, CloudBuild{}, without(b, "BRANCH_NAME"), ErrPlatformMissing, "BRANCH_NAME")
	collectErr(t, CloudBuild{}, with(pr, "_PR_NUMBER", "42/../1"), ErrInvalidFact, "_PR_NUMBER")
	collectErr(t, CloudBuild{}, without(b, "REPO_FULL_NAME"), ErrPlatformMissing, "REPO_FULL_NAME")
	collectErr(t, CloudBuild{}, with(b, "REPO_FULL_NAME", "../evil"), ErrInvalidFact, "REPO_FULL_NAME")
	collectErr(t, CloudBuild{}, with(b, "PROJECT_ID", "p/../q"), ErrInvalidFact, "PROJECT_ID")
	collectErr(t, CloudBuild{RepositoryHost: "http://gitlab.example"}, b, ErrInvalidFact, "RepositoryHost")
	f, err = CloudBuild{RepositoryHost: "https://gitlab.example"}.Collect(context.Background(), b)
	if err != nil || f.Source.Repository != "https://gitlab.example/octocat/hello-world" {
		t.Fatalf("host: %+v, %v", f, err)
	}
}

// tektonEnv is a TaskRun step whose Task maps the context and Chains'
// source parameters as Tekton's documentation describes.
func tektonEnv() MapEnv {
	return MapEnv{Vars: map[string]string{
		"TEKTON_TASKRUN_NAME":      "build-xyz",
		"TEKTON_TASKRUN_NAMESPACE": "ci",
		"TEKTON_TASKRUN_UID":       "7d4e3a5c-1111-2222-3333-444455556666",
		"CHAINS_GIT_URL":           "https://github.com/octocat/hello-world.git",
		"CHAINS_GIT_COMMIT":        sha1Commit,
	}, Files: map[string][]byte{
		TektonReadyFile: []byte("READY"),
	}}
}

func TestTekton(t *testing.T) {
	f, err := Tekton{}.Collect(context.Background(), tektonEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantPredicate(t, statementOf(t, f), `{
	  "buildDefinition": {
	    "buildType": "https://tekton.dev/chains/v2/slsa",
	    "externalParameters": {"runSpec": {"params": [
	      {"name": "CHAINS-GIT_URL", "value": "https://github.com/octocat/hello-world.git"},
	      {"name": "CHAINS-GIT_COMMIT", "value": "`+sha1Commit+`"}]}},
	    "internalParameters": {"taskRun": {"name": "build-xyz", "namespace": "ci", "uid": "7d4e3a5c-1111-2222-3333-444455556666"}},
	    "resolvedDependencies": [
	      {"uri": "git+https://github.com/octocat/hello-world", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {
	    "builder": {"id": "https://tekton.dev/pipelines"},
	    "metadata": {"invocationId": "7d4e3a5c-1111-2222-3333-444455556666"}
	  }
	}`)
	// Results an earlier step wrote must agree with the parameters.
	e := tektonEnv()
	e.Files[TektonResultsDir+"/CHAINS-GIT_COMMIT"] = []byte(sha1Commit + "\n")
	if _, err := (Tekton{}).Collect(context.Background(), e); err != nil {
		t.Fatalf("agreeing result: %v", err)
	}
	e.Files[TektonResultsDir+"/CHAINS-GIT_URL"] = []byte("https://github.com/mallory/hello-world")
	collectErr(t, Tekton{}, e, ErrPlatformMismatch, "CHAINS-GIT_URL")
	collectErr(t, Tekton{}, without(tektonEnv(), "TEKTON_TASKRUN_UID"), ErrPlatformMissing, "TEKTON_TASKRUN_UID")
	collectErr(t, Tekton{}, with(tektonEnv(), "CHAINS_GIT_URL", "/local/path"), ErrInvalidFact, "CHAINS_GIT_URL")
}

func buildkiteEnv() MapEnv {
	return MapEnv{Vars: map[string]string{
		"BUILDKITE":                   "true",
		"BUILDKITE_ORGANIZATION_SLUG": "acme",
		"BUILDKITE_PIPELINE_SLUG":     "hello",
		"BUILDKITE_BUILD_URL":         "https://buildkite.com/acme/hello/builds/15",
		"BUILDKITE_BUILD_ID":          "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983",
		"BUILDKITE_JOB_ID":            "e44f9784-e20e-4b93-a21d-f41fd5869db9",
		"BUILDKITE_REPO":              "git@github.com:acme/hello.git",
		"BUILDKITE_COMMIT":            sha1Commit,
		"BUILDKITE_BRANCH":            "main",
		"BUILDKITE_TAG":               "",
		"BUILDKITE_SOURCE":            "webhook",
		"BUILDKITE_PULL_REQUEST":      "false",
		"BUILDKITE_AGENT_ID":          "a1b2",
	}}
}

func TestBuildkite(t *testing.T) {
	f, err := Buildkite{}.Collect(context.Background(), buildkiteEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantPredicate(t, statementOf(t, f), `{
	  "buildDefinition": {
	    "buildType": "https://github.com/slsakit/slsakit/buildtypes/buildkite@v1",
	    "externalParameters": {"source": {"repository": "https://github.com/acme/hello", "ref": "refs/heads/main"},
	      "pipeline": "https://buildkite.com/acme/hello", "trigger": "webhook"},
	    "internalParameters": {"jobID": "e44f9784-e20e-4b93-a21d-f41fd5869db9", "buildID": "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983", "agentID": "a1b2"},
	    "resolvedDependencies": [
	      {"uri": "git+https://github.com/acme/hello@refs/heads/main", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {
	    "builder": {"id": "https://buildkite.com/acme/hello"},
	    "metadata": {"invocationId": "https://buildkite.com/acme/hello/builds/15#e44f9784-e20e-4b93-a21d-f41fd5869db9"}
	  }
	}`)
	pr := with(buildkiteEnv(), "BUILDKITE_PULL_REQUEST", "9", "BUILDKITE_BRANCH", "mallory:main",
		"BUILDKITE_PULL_REQUEST_REPO", "https://github.com/mallory/hello.git", "BUILDKITE_PULL_REQUEST_BASE_BRANCH", "main")
	f, err = Buildkite{}.Collect(context.Background(), pr)
	if err != nil || f.Source.Ref != "refs/pull/9/head" || f.External["pullRequest"].(map[string]any)["fork"] != true {
		t.Fatalf("fork PR: %+v, %v", f, err)
	}
	collectErr(t, Buildkite{}, with(buildkiteEnv(), "BUILDKITE_BUILD_URL", "https://buildkite.com/mallory/hello/builds/1"), ErrPlatformMismatch, "BUILDKITE_BUILD_URL")
	collectErr(t, Buildkite{}, with(pr, "BUILDKITE_TAG", "v1"), ErrPlatformMismatch, "BUILDKITE_TAG")
	collectErr(t, Buildkite{}, with(pr, "BUILDKITE_PULL_REQUEST", "9x"), ErrInvalidFact, "BUILDKITE_PULL_REQUEST")
	collectErr(t, Buildkite{}, with(buildkiteEnv(), "BUILDKITE_BRANCH", ""), ErrPlatformMissing, "BUILDKITE_BRANCH")
}

func jenkinsEnv() MapEnv {
	return MapEnv{Vars: map[string]string{
		"JENKINS_URL":  "https://ci.example.com/",
		"JENKINS_HOME": "/var/jenkins_home",
		"BUILD_URL":    "https://ci.example.com/job/hello/job/main/12/",
		"JOB_NAME":     "hello/main",
		"BUILD_NUMBER": "12",
		"NODE_NAME":    "built-in",
		"GIT_URL":      "https://github.com/acme/hello.git",
		"GIT_COMMIT":   sha1Commit,
		"GIT_BRANCH":   "origin/main",
	}}
}

func TestJenkins(t *testing.T) {
	f, err := Jenkins{}.Collect(context.Background(), jenkinsEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantPredicate(t, statementOf(t, f), `{
	  "buildDefinition": {
	    "buildType": "https://github.com/slsakit/slsakit/buildtypes/jenkins@v1",
	    "externalParameters": {"source": {"repository": "https://github.com/acme/hello", "ref": "refs/heads/main"}, "job": "hello/main"},
	    "internalParameters": {"buildNumber": "12", "node": "built-in"},
	    "resolvedDependencies": [
	      {"uri": "git+https://github.com/acme/hello@refs/heads/main", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {
	    "builder": {"id": "https://ci.example.com"},
	    "metadata": {"invocationId": "https://ci.example.com/job/hello/job/main/12"}
	  }
	}`)
	change := with(jenkinsEnv(), "BRANCH_NAME", "PR-5", "CHANGE_ID", "5", "CHANGE_TARGET", "main", "CHANGE_FORK", "mallory")
	f, err = Jenkins{}.Collect(context.Background(), change)
	if err != nil || f.Source.Ref != "refs/pull/5/head" || f.External["changeRequest"].(map[string]any)["fork"] != true {
		t.Fatalf("fork change: %+v, %v", f, err)
	}
	tag := with(jenkinsEnv(), "TAG_NAME", "v1.0.0", "BRANCH_NAME", "v1.0.0")
	if f, err := (Jenkins{}).Collect(context.Background(), tag); err != nil || f.Source.Ref != "refs/tags/v1.0.0" {
		t.Fatalf("tag: %+v, %v", f, err)
	}
	collectErr(t, Jenkins{}, with(jenkinsEnv(), "BUILD_URL", "https://evil.example.com/job/x/1/"), ErrPlatformMismatch, "BUILD_URL")
	collectErr(t, Jenkins{}, with(tag, "BRANCH_NAME", "main"), ErrPlatformMismatch, "BRANCH_NAME")
	collectErr(t, Jenkins{}, with(change, "TAG_NAME", "v1"), ErrPlatformMismatch, "TAG_NAME")
	collectErr(t, Jenkins{}, without(jenkinsEnv(), "GIT_URL"), ErrPlatformMissing, "GIT_URL")
}

func TestGeneric(t *testing.T) {
	g := Generic{
		BuilderID:    "https://example.com/builder",
		InvocationID: "run-1",
		Source:       Source{Repository: "git@github.com:acme/hello.git", Ref: "refs/tags/v1", Commit: sha1Commit},
		External:     map[string]any{"target": "./cmd/app"},
	}
	f, err := g.Collect(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantPredicate(t, statementOf(t, f), `{
	  "buildDefinition": {
	    "buildType": "https://github.com/slsakit/slsakit/buildtypes/generic@v1",
	    "externalParameters": {"source": {"repository": "https://github.com/acme/hello", "ref": "refs/tags/v1"}, "target": "./cmd/app"},
	    "resolvedDependencies": [
	      {"uri": "git+https://github.com/acme/hello@refs/tags/v1", "digest": {"gitCommit": "`+sha1Commit+`"}}
	    ]
	  },
	  "runDetails": {"builder": {"id": "https://example.com/builder"}, "metadata": {"invocationId": "run-1"}}
	}`)
	for _, bad := range badCommits {
		g2 := g
		g2.Source.Commit = bad
		collectErr(t, g2, nil, ErrInvalidFact, "Source.Commit")
	}
	g3 := g
	g3.BuilderID = "builder"
	collectErr(t, g3, nil, ErrInvalidFact, "BuilderID")
	g4 := g
	g4.Source.Ref = "main"
	collectErr(t, g4, nil, ErrInvalidFact, "Source.Ref")
}
