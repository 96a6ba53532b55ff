package platform

import (
	"context"
	"strings"
)

// Buildkite collects a Buildkite job. It reads the agent's variables
// BUILDKITE, BUILDKITE_ORGANIZATION_SLUG, BUILDKITE_PIPELINE_SLUG,
// BUILDKITE_BUILD_URL, BUILDKITE_BUILD_ID, BUILDKITE_JOB_ID,
// BUILDKITE_REPO, BUILDKITE_COMMIT, BUILDKITE_BRANCH, BUILDKITE_TAG,
// BUILDKITE_SOURCE, BUILDKITE_AGENT_ID, BUILDKITE_PULL_REQUEST,
// BUILDKITE_PULL_REQUEST_REPO and BUILDKITE_PULL_REQUEST_BASE_BRANCH.
//
// The builder ID is the pipeline, https://buildkite.com/ORG/PIPELINE;
// the invocation ID is the build URL with the job ID as fragment. A build
// whose BUILDKITE_COMMIT is not a full commit id ("HEAD" from an API
// trigger) is refused: it names no fixed source. A pull request from
// another repository is recorded with "fork": true.
type Buildkite struct{}

// Name implements Platform.
func (Buildkite) Name() string { return "buildkite" }

// Detect implements Platform: BUILDKITE is "true".
func (Buildkite) Detect(env Env) bool { return reader{env: env}.is("BUILDKITE", "true") }

// Collect implements Platform.
func (b Buildkite) Collect(ctx context.Context, env Env) (*Facts, error) {
	r := reader{platform: b.Name(), env: env}
	if !b.Detect(env) {
		return nil, factErr(ErrPlatformMissing, r.platform, "BUILDKITE", "not \"true\"")
	}
	vals, err := r.needAll("BUILDKITE_ORGANIZATION_SLUG", "BUILDKITE_PIPELINE_SLUG", "BUILDKITE_BUILD_URL",
		"BUILDKITE_JOB_ID", "BUILDKITE_REPO", "BUILDKITE_SOURCE")
	if err != nil {
		return nil, err
	}
	org, pipeline := vals["BUILDKITE_ORGANIZATION_SLUG"], vals["BUILDKITE_PIPELINE_SLUG"]
	if !validRepoPath(org, 1, 1) || !validRepoPath(pipeline, 1, 1) {
		return nil, factErr(ErrInvalidFact, r.platform, "BUILDKITE_PIPELINE_SLUG", "%q/%q is not a pipeline slug", org, pipeline)
	}
	builder := "https://buildkite.com/" + org + "/" + pipeline
	buildURL, err := r.httpsURL("BUILDKITE_BUILD_URL", vals["BUILDKITE_BUILD_URL"])
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(buildURL, builder+"/builds/") {
		return nil, factErr(ErrPlatformMismatch, r.platform, "BUILDKITE_BUILD_URL", "%q is not a build of %s", buildURL, builder)
	}
	repo, err := r.gitURL("BUILDKITE_REPO", vals["BUILDKITE_REPO"])
	if err != nil {
		return nil, err
	}
	sha, err := r.commit("BUILDKITE_COMMIT")
	if err != nil {
		return nil, err
	}
	external := map[string]any{"pipeline": builder, "trigger": vals["BUILDKITE_SOURCE"]}
	var ref string
	tag, branch, pr := r.opt("BUILDKITE_TAG"), r.opt("BUILDKITE_BRANCH"), r.opt("BUILDKITE_PULL_REQUEST")
	switch {
	case pr != "" && pr != "false":
		if tag != "" {
			return nil, factErr(ErrPlatformMismatch, r.platform, "BUILDKITE_TAG", "set in a pull request build")
		}
		m, err := r.pullRequest("BUILDKITE_PULL_REQUEST", r.opt("BUILDKITE_PULL_REQUEST_BASE_BRANCH"), "BUILDKITE_PULL_REQUEST_REPO", repo)
		if err != nil {
			return nil, err
		}
		ref = "refs/pull/" + pr + "/head"
		external["pullRequest"] = m
	case tag != "":
		ref = "refs/tags/" + tag
	case branch != "":
		ref = "refs/heads/" + branch
	default:
		return nil, factErr(ErrPlatformMissing, r.platform, "BUILDKITE_BRANCH/BUILDKITE_TAG", "neither is set")
	}
	if err := r.fullRef("BUILDKITE_BRANCH/BUILDKITE_TAG", ref); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := Source{Repository: repo, Ref: ref, Commit: sha}
	external["source"] = sourceParam(src)
	internal := map[string]any{"jobID": vals["BUILDKITE_JOB_ID"]}
	r.optInto(internal, map[string]string{"buildID": "BUILDKITE_BUILD_ID", "agentID": "BUILDKITE_AGENT_ID"})
	return r.done(&Facts{
		Platform:     r.platform,
		BuilderID:    builder,
		BuildType:    BuildkiteBuildType,
		InvocationID: buildURL + "#" + vals["BUILDKITE_JOB_ID"],
		Source:       src,
		Trigger:      vals["BUILDKITE_SOURCE"],
		External:     external,
		Internal:     internal,
	})
}
