package platform

import "context"

// CloudBuildBuildType is Google Cloud Build's build type. Its
// externalParameters.buildConfigSource holds the source repository
// ("git+https://...") and ref.
const CloudBuildBuildType = "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1"

// CloudBuild collects a Google Cloud Build step. Cloud Build passes its
// substitutions to steps as environment variables only when the build
// sets options.automapSubstitutions: true; the collector needs that. It
// detects Cloud Build by BUILDER_OUTPUT (set in every step) and BUILD_ID,
// and reads PROJECT_ID, LOCATION, BUILD_ID, COMMIT_SHA, REPO_FULL_NAME,
// BRANCH_NAME, TAG_NAME, REF_NAME, TRIGGER_NAME,
// TRIGGER_BUILD_CONFIG_PATH and, for pull request triggers, _PR_NUMBER,
// _HEAD_BRANCH, _BASE_BRANCH and _HEAD_REPO_URL.
//
// The builder ID is the trigger, https://cloudbuild.googleapis.com/v1/
// projects/P/locations/L/triggers/T (the project and location without a
// trigger): never Cloud Build's own GoogleHostedWorker ID, since the
// statement is made by a build step, not by Cloud Build.
type CloudBuild struct {
	// RepositoryHost is the https URL REPO_FULL_NAME is a path on; Cloud
	// Build's substitutions do not name the host. Default
	// "https://github.com".
	RepositoryHost string
}

// Name implements Platform.
func (CloudBuild) Name() string { return "cloud-build" }

// Detect implements Platform.
func (CloudBuild) Detect(env Env) bool {
	r := reader{env: env}
	return r.opt("BUILDER_OUTPUT") != "" && r.opt("BUILD_ID") != ""
}

// Collect implements Platform.
func (c CloudBuild) Collect(ctx context.Context, env Env) (*Facts, error) {
	r := reader{platform: c.Name(), env: env}
	if !c.Detect(env) {
		return nil, factErr(ErrPlatformMissing, r.platform, "BUILDER_OUTPUT/BUILD_ID", "not set")
	}
	vals, err := r.needAll("PROJECT_ID", "LOCATION", "BUILD_ID", "REPO_FULL_NAME")
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"PROJECT_ID", "LOCATION", "BUILD_ID"} {
		// They become path segments of the builder and invocation IDs.
		if !validRepoPath(vals[k], 1, 1) {
			return nil, factErr(ErrInvalidFact, r.platform, k, "%q is not a name", vals[k])
		}
	}
	host := c.RepositoryHost
	if host == "" {
		host = "https://github.com"
	}
	host, err = r.httpsURL("RepositoryHost", host)
	if err != nil {
		return nil, err
	}
	if !validRepoPath(vals["REPO_FULL_NAME"], 2, maxDepth) {
		return nil, factErr(ErrInvalidFact, r.platform, "REPO_FULL_NAME", "%q is not a repository path", vals["REPO_FULL_NAME"])
	}
	repo := host + "/" + vals["REPO_FULL_NAME"]
	sha, err := r.commit("COMMIT_SHA")
	if err != nil {
		return nil, err
	}
	external := map[string]any{}
	ref, err := cloudBuildRef(r, repo, external)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bcs := map[string]any{"repository": "git+" + repo, "ref": ref}
	if p := r.opt("TRIGGER_BUILD_CONFIG_PATH"); p != "" {
		bcs["path"] = p
	}
	external["buildConfigSource"] = bcs
	base := "https://cloudbuild.googleapis.com/v1/projects/" + vals["PROJECT_ID"] + "/locations/" + vals["LOCATION"]
	builder, trigger := base, "manual"
	if t := r.opt("TRIGGER_NAME"); t != "" {
		if !validRepoPath(t, 1, 1) {
			return nil, factErr(ErrInvalidFact, r.platform, "TRIGGER_NAME", "%q is not a trigger name", t)
		}
		builder, trigger = base+"/triggers/"+t, "trigger"
	}
	system := map[string]any{"BUILD_ID": vals["BUILD_ID"], "PROJECT_ID": vals["PROJECT_ID"], "LOCATION": vals["LOCATION"]}
	r.optInto(system, map[string]string{"TRIGGER_NAME": "TRIGGER_NAME", "SERVICE_ACCOUNT_EMAIL": "SERVICE_ACCOUNT_EMAIL", "PROJECT_NUMBER": "PROJECT_NUMBER"})
	return r.done(&Facts{
		Platform:     r.platform,
		BuilderID:    builder,
		BuildType:    CloudBuildBuildType,
		InvocationID: base + "/builds/" + vals["BUILD_ID"],
		Source:       Source{Repository: repo, Ref: ref, Commit: sha},
		Trigger:      trigger,
		External:     external,
		Internal:     map[string]any{"systemSubstitutions": system},
	})
}

// cloudBuildRef reads the ref: a pull request trigger sets _PR_NUMBER
// (recorded with its head repository, "fork" when that is another
// repository), a tag trigger TAG_NAME, a branch trigger BRANCH_NAME;
// REF_NAME, when set, must be the branch or tag.
func cloudBuildRef(r reader, repo string, external map[string]any) (string, error) {
	tag, branch, pr := r.opt("TAG_NAME"), r.opt("BRANCH_NAME"), r.opt("_PR_NUMBER")
	refName := r.opt("REF_NAME")
	var ref string
	switch {
	case pr != "":
		if tag != "" {
			return "", factErr(ErrPlatformMismatch, r.platform, "TAG_NAME", "set in a pull request build")
		}
		m, err := r.pullRequest("_PR_NUMBER", r.opt("_BASE_BRANCH"), "_HEAD_REPO_URL", repo)
		if err != nil {
			return "", err
		}
		if b := r.opt("_HEAD_BRANCH"); b != "" {
			m["headRef"] = "refs/heads/" + b
		}
		ref = "refs/pull/" + pr + "/head"
		external["pullRequest"] = m
	case tag != "" && branch != "":
		return "", factErr(ErrPlatformMismatch, r.platform, "TAG_NAME/BRANCH_NAME", "both set")
	case tag != "":
		if refName != "" && refName != tag {
			return "", factErr(ErrPlatformMismatch, r.platform, "REF_NAME", "%q, the tag is %q", refName, tag)
		}
		ref = "refs/tags/" + tag
	case branch != "":
		if refName != "" && refName != branch {
			return "", factErr(ErrPlatformMismatch, r.platform, "REF_NAME", "%q, the branch is %q", refName, branch)
		}
		ref = "refs/heads/" + branch
	default:
		return "", factErr(ErrPlatformMissing, r.platform, "BRANCH_NAME/TAG_NAME/_PR_NUMBER", "none is set (is options.automapSubstitutions true?)")
	}
	if err := r.fullRef("BRANCH_NAME/TAG_NAME", ref); err != nil {
		return "", err
	}
	return ref, nil
}
