package platform

import (
	"context"
	"strings"
)

// slsakit's build types for platforms without a standard one. Their
// externalParameters share one layout a policy reads the same way:
// "source": {"repository": "https://host/path", "ref": "refs/..."} plus
// the platform's own keys (entry point, trigger, merge or pull request).
const (
	GitLabCIBuildType  = "https://github.com/slsakit/slsakit/buildtypes/gitlab-ci@v1"
	BuildkiteBuildType = "https://github.com/slsakit/slsakit/buildtypes/buildkite@v1"
	JenkinsBuildType   = "https://github.com/slsakit/slsakit/buildtypes/jenkins@v1"
	GenericBuildType   = "https://github.com/slsakit/slsakit/buildtypes/generic@v1"
)

// maxDepth bounds the segments of a repository path (GitLab nests
// subgroups up to 20 deep).
const maxDepth = 21

// sourceParam is the "source" external parameter of slsakit's build types.
func sourceParam(s Source) map[string]any {
	m := map[string]any{"repository": s.Repository}
	if s.Ref != "" {
		m["ref"] = s.Ref
	}
	return m
}

// GitLabCI collects a GitLab CI/CD job. It reads GitLab's predefined
// variables: GITLAB_CI, CI_SERVER_URL, CI_PROJECT_PATH, CI_PROJECT_URL,
// CI_PROJECT_ID, CI_COMMIT_SHA, CI_COMMIT_REF_NAME, CI_COMMIT_BRANCH,
// CI_COMMIT_TAG, CI_COMMIT_REF_PROTECTED, CI_PIPELINE_SOURCE,
// CI_PIPELINE_ID, CI_JOB_ID, CI_JOB_URL, CI_JOB_NAME, CI_CONFIG_PATH,
// CI_RUNNER_ID and, in merge request pipelines, CI_MERGE_REQUEST_IID,
// CI_MERGE_REQUEST_REF_PATH, CI_MERGE_REQUEST_PROJECT_PATH,
// CI_MERGE_REQUEST_SOURCE_PROJECT_PATH, CI_MERGE_REQUEST_SOURCE_PROJECT_URL,
// CI_MERGE_REQUEST_SOURCE_BRANCH_NAME and
// CI_MERGE_REQUEST_TARGET_BRANCH_NAME.
//
// The builder ID is the runner: CI_SERVER_URL + "/-/runners/" +
// CI_RUNNER_ID. The ref is refs/tags/CI_COMMIT_TAG, refs/heads/
// CI_COMMIT_BRANCH or the merge request's ref path; exactly one of the
// three kinds of pipeline must be told. A merge request from another
// project is recorded with "fork": true.
type GitLabCI struct{}

// Name implements Platform.
func (GitLabCI) Name() string { return "gitlab-ci" }

// Detect implements Platform: GITLAB_CI is "true".
func (GitLabCI) Detect(env Env) bool { return reader{env: env}.is("GITLAB_CI", "true") }

// Collect implements Platform.
func (g GitLabCI) Collect(ctx context.Context, env Env) (*Facts, error) {
	r := reader{platform: g.Name(), env: env}
	if !g.Detect(env) {
		return nil, factErr(ErrPlatformMissing, r.platform, "GITLAB_CI", "not \"true\"")
	}
	vals, err := r.needAll("CI_SERVER_URL", "CI_PROJECT_PATH", "CI_PROJECT_URL", "CI_COMMIT_REF_NAME",
		"CI_PIPELINE_SOURCE", "CI_PIPELINE_ID", "CI_JOB_ID", "CI_JOB_URL", "CI_JOB_NAME", "CI_RUNNER_ID")
	if err != nil {
		return nil, err
	}
	server, err := r.httpsURL("CI_SERVER_URL", vals["CI_SERVER_URL"])
	if err != nil {
		return nil, err
	}
	path := vals["CI_PROJECT_PATH"]
	if !validRepoPath(path, 2, maxDepth) {
		return nil, factErr(ErrInvalidFact, r.platform, "CI_PROJECT_PATH", "%q is not a project path", path)
	}
	project := server + "/" + path
	if vals["CI_PROJECT_URL"] != project {
		return nil, factErr(ErrPlatformMismatch, r.platform, "CI_PROJECT_URL", "%q is not CI_SERVER_URL/CI_PROJECT_PATH %q", vals["CI_PROJECT_URL"], project)
	}
	jobURL, err := r.httpsURL("CI_JOB_URL", vals["CI_JOB_URL"])
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(jobURL, project+"/-/jobs/") {
		return nil, factErr(ErrPlatformMismatch, r.platform, "CI_JOB_URL", "%q is not a job of %s", jobURL, project)
	}
	if err := r.numbers(vals, "CI_PIPELINE_ID", "CI_JOB_ID", "CI_RUNNER_ID"); err != nil {
		return nil, err
	}
	sha, err := r.commit("CI_COMMIT_SHA")
	if err != nil {
		return nil, err
	}
	external := map[string]any{
		"job":            vals["CI_JOB_NAME"],
		"pipelineSource": vals["CI_PIPELINE_SOURCE"],
	}
	if c := r.opt("CI_CONFIG_PATH"); c != "" {
		external["configPath"] = c
	}
	ref, err := gitlabRef(r, vals["CI_COMMIT_REF_NAME"], vals["CI_PIPELINE_SOURCE"], server, external)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := Source{Repository: project, Ref: ref, Commit: sha}
	external["source"] = sourceParam(src)
	internal := map[string]any{"pipelineID": vals["CI_PIPELINE_ID"], "jobID": vals["CI_JOB_ID"], "runnerID": vals["CI_RUNNER_ID"]}
	if id := r.opt("CI_PROJECT_ID"); id != "" {
		internal["projectID"] = id
	}
	// Protected refs are what GitLab lets only maintainers push to.
	internal["protectedRef"] = r.is("CI_COMMIT_REF_PROTECTED", "true")
	return r.done(&Facts{
		Platform:     r.platform,
		BuilderID:    server + "/-/runners/" + vals["CI_RUNNER_ID"],
		BuildType:    GitLabCIBuildType,
		InvocationID: jobURL,
		Source:       src,
		Trigger:      vals["CI_PIPELINE_SOURCE"],
		External:     external,
		Internal:     internal,
	})
}

// gitlabRef tells the three kinds of pipeline apart: a tag pipeline sets
// CI_COMMIT_TAG, a branch pipeline CI_COMMIT_BRANCH, a merge request
// pipeline CI_MERGE_REQUEST_IID, and GitLab sets only one. Two at once,
// or a CI_COMMIT_REF_NAME that is not the tag or branch, were set by hand.
func gitlabRef(r reader, refName, pipelineSource, server string, external map[string]any) (string, error) {
	tag, branch, mr := r.opt("CI_COMMIT_TAG"), r.opt("CI_COMMIT_BRANCH"), r.opt("CI_MERGE_REQUEST_IID")
	n := 0
	for _, v := range []string{tag, branch, mr} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return "", factErr(ErrPlatformMissing, r.platform, "CI_COMMIT_TAG/CI_COMMIT_BRANCH/CI_MERGE_REQUEST_IID", "none is set")
	case n > 1:
		return "", factErr(ErrPlatformMismatch, r.platform, "CI_COMMIT_TAG/CI_COMMIT_BRANCH/CI_MERGE_REQUEST_IID", "more than one is set")
	}
	if (mr != "") != (pipelineSource == "merge_request_event") {
		return "", factErr(ErrPlatformMismatch, r.platform, "CI_PIPELINE_SOURCE", "%q in a pipeline with merge request IID %q", pipelineSource, mr)
	}
	var ref string
	switch {
	case tag != "":
		if refName != tag {
			return "", factErr(ErrPlatformMismatch, r.platform, "CI_COMMIT_REF_NAME", "%q, the tag is %q", refName, tag)
		}
		ref = "refs/tags/" + tag
	case branch != "":
		if refName != branch {
			return "", factErr(ErrPlatformMismatch, r.platform, "CI_COMMIT_REF_NAME", "%q, the branch is %q", refName, branch)
		}
		ref = "refs/heads/" + branch
	default:
		if !isDigits(mr) {
			return "", factErr(ErrInvalidFact, r.platform, "CI_MERGE_REQUEST_IID", "%q is not a number", mr)
		}
		prefix := "refs/merge-requests/" + mr + "/"
		ref = r.opt("CI_MERGE_REQUEST_REF_PATH")
		if ref == "" {
			ref = prefix + "head"
		}
		if !strings.HasPrefix(ref, prefix) {
			return "", factErr(ErrPlatformMismatch, r.platform, "CI_MERGE_REQUEST_REF_PATH", "%q is not a ref of merge request %s", ref, mr)
		}
		m, err := gitlabMergeRequest(r, mr, refName, server)
		if err != nil {
			return "", err
		}
		external["mergeRequest"] = m
	}
	if err := r.fullRef("CI_COMMIT_REF_NAME", ref); err != nil {
		return "", err
	}
	return ref, nil
}

// gitlabMergeRequest records where a merge request comes from: "fork" is
// true when its source project is not the project it targets.
func gitlabMergeRequest(r reader, iid, refName, server string) (map[string]any, error) {
	target, err := r.need("CI_MERGE_REQUEST_PROJECT_PATH")
	if err != nil {
		return nil, err
	}
	source, err := r.need("CI_MERGE_REQUEST_SOURCE_PROJECT_PATH")
	if err != nil {
		return nil, err
	}
	srcBranch, err := r.need("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
	if err != nil {
		return nil, err
	}
	tgtBranch, err := r.need("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
	if err != nil {
		return nil, err
	}
	if !validRepoPath(source, 2, maxDepth) || !validRepoPath(target, 2, maxDepth) {
		return nil, factErr(ErrInvalidFact, r.platform, "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH", "%q or %q is not a project path", source, target)
	}
	if refName != srcBranch {
		return nil, factErr(ErrPlatformMismatch, r.platform, "CI_COMMIT_REF_NAME", "%q, the merge request's source branch is %q", refName, srcBranch)
	}
	if u := r.opt("CI_MERGE_REQUEST_SOURCE_PROJECT_URL"); u != "" && u != server+"/"+source {
		return nil, factErr(ErrPlatformMismatch, r.platform, "CI_MERGE_REQUEST_SOURCE_PROJECT_URL", "%q is not project %q", u, source)
	}
	return map[string]any{
		"iid":           iid,
		"sourceProject": server + "/" + source,
		"sourceRef":     "refs/heads/" + srcBranch,
		"targetProject": server + "/" + target,
		"targetRef":     "refs/heads/" + tgtBranch,
		"fork":          source != target,
	}, nil
}
