package platform

import (
	"context"
	"strings"
)

// Jenkins collects a Jenkins build. It reads the variables Jenkins sets
// (JENKINS_URL, BUILD_URL, JOB_NAME, BUILD_NUMBER, NODE_NAME), those of
// the Git plugin (GIT_URL, GIT_COMMIT, GIT_BRANCH) and those of
// multibranch pipelines (BRANCH_NAME, TAG_NAME, CHANGE_ID, CHANGE_TARGET,
// CHANGE_FORK, CHANGE_URL).
//
// The builder ID is JENKINS_URL; BUILD_URL must be on it. The ref is
// refs/tags/TAG_NAME, refs/pull/CHANGE_ID/head for a change request,
// else refs/heads/ of BRANCH_NAME or of GIT_BRANCH without its remote
// ("origin/main"). A change request from a fork (CHANGE_FORK set) is
// recorded with "fork": true.
type Jenkins struct{}

// Name implements Platform.
func (Jenkins) Name() string { return "jenkins" }

// Detect implements Platform: JENKINS_URL and BUILD_URL are set.
func (Jenkins) Detect(env Env) bool {
	r := reader{env: env}
	return r.opt("JENKINS_URL") != "" && r.opt("BUILD_URL") != ""
}

// Collect implements Platform.
func (j Jenkins) Collect(ctx context.Context, env Env) (*Facts, error) {
	r := reader{platform: j.Name(), env: env}
	if !j.Detect(env) {
		return nil, factErr(ErrPlatformMissing, r.platform, "JENKINS_URL/BUILD_URL", "not set")
	}
	vals, err := r.needAll("JENKINS_URL", "BUILD_URL", "JOB_NAME", "BUILD_NUMBER", "GIT_URL")
	if err != nil {
		return nil, err
	}
	server, err := r.httpsURL("JENKINS_URL", vals["JENKINS_URL"])
	if err != nil {
		return nil, err
	}
	buildURL, err := r.httpsURL("BUILD_URL", vals["BUILD_URL"])
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(buildURL, server+"/") {
		return nil, factErr(ErrPlatformMismatch, r.platform, "BUILD_URL", "%q is not on JENKINS_URL %q", buildURL, server)
	}
	if err := r.numbers(vals, "BUILD_NUMBER"); err != nil {
		return nil, err
	}
	repo, err := r.gitURL("GIT_URL", vals["GIT_URL"])
	if err != nil {
		return nil, err
	}
	sha, err := r.commit("GIT_COMMIT")
	if err != nil {
		return nil, err
	}
	external := map[string]any{"job": vals["JOB_NAME"]}
	tag, change, branch := r.opt("TAG_NAME"), r.opt("CHANGE_ID"), r.opt("BRANCH_NAME")
	var ref string
	trigger := "branch"
	switch {
	case tag != "" && change != "":
		return nil, factErr(ErrPlatformMismatch, r.platform, "TAG_NAME/CHANGE_ID", "both set")
	case tag != "":
		if branch != "" && branch != tag {
			return nil, factErr(ErrPlatformMismatch, r.platform, "BRANCH_NAME", "%q in a build of tag %q", branch, tag)
		}
		ref, trigger = "refs/tags/"+tag, "tag"
	case change != "":
		if !isDigits(change) {
			return nil, factErr(ErrInvalidFact, r.platform, "CHANGE_ID", "%q is not a number", change)
		}
		ref, trigger = "refs/pull/"+change+"/head", "change"
		m := map[string]any{"id": change, "fork": r.opt("CHANGE_FORK") != ""}
		if t := r.opt("CHANGE_TARGET"); t != "" {
			m["targetRef"] = "refs/heads/" + t
		}
		if f := r.opt("CHANGE_FORK"); f != "" {
			m["forkOwner"] = f
		}
		external["changeRequest"] = m
	case branch != "":
		ref = "refs/heads/" + branch
	default:
		gb, err := r.need("GIT_BRANCH")
		if err != nil {
			return nil, err
		}
		if _, after, ok := strings.Cut(gb, "/"); ok && !strings.HasPrefix(gb, "refs/") {
			gb = after // "origin/main": the Git plugin names the remote
		}
		ref = gb
		if !strings.HasPrefix(ref, "refs/") {
			ref = "refs/heads/" + ref
		}
	}
	if err := r.fullRef("BRANCH_NAME/GIT_BRANCH/TAG_NAME", ref); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := Source{Repository: repo, Ref: ref, Commit: sha}
	external["source"] = sourceParam(src)
	internal := map[string]any{"buildNumber": vals["BUILD_NUMBER"]}
	if n := r.opt("NODE_NAME"); n != "" {
		internal["node"] = n
	}
	return r.done(&Facts{
		Platform:     r.platform,
		BuilderID:    server,
		BuildType:    JenkinsBuildType,
		InvocationID: buildURL,
		Source:       src,
		Trigger:      trigger,
		External:     external,
		Internal:     internal,
	})
}
