package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// GitHub Actions build types.
const (
	// GitHubWorkflowBuildType is the SLSA community's GitHub Actions
	// workflow build type, the one slsa-github-generator emits. It covers
	// the create, release, push and workflow_dispatch events only.
	GitHubWorkflowBuildType = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	// GitHubEventBuildType is slsakit's build type for the other events
	// (pull_request, pull_request_target, schedule, merge_group, ...),
	// which the standard type forbids. Its externalParameters are those of
	// GitHubWorkflowBuildType plus "pull_request" for pull request events.
	GitHubEventBuildType = "https://github.com/slsakit/slsakit/buildtypes/github-actions-event@v1"
)

// GitHubActions collects a GitHub Actions workflow run. It reads the
// default variables GitHub sets (GITHUB_ACTIONS, GITHUB_SERVER_URL,
// GITHUB_REPOSITORY, GITHUB_REPOSITORY_ID, GITHUB_REPOSITORY_OWNER_ID,
// GITHUB_REF, GITHUB_SHA, GITHUB_WORKFLOW_REF, GITHUB_EVENT_NAME,
// GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_ACTOR_ID, RUNNER_ENVIRONMENT)
// and the event payload at GITHUB_EVENT_PATH, and checks them against
// each other: the workflow must be in GITHUB_REPOSITORY at GITHUB_REF,
// and the payload must name the same repository and ref.
//
// The builder ID is GITHUB_SERVER_URL + "/" + GITHUB_WORKFLOW_REF: the
// top-level workflow. Under a reusable workflow the environment still
// names the caller; a reusable workflow that is the builder passes its
// own builder ID (the CLI's --builder-id, recorded as overridden).
//
// Pull requests are recorded with their head repository, ref and commit
// and "fork": true when the head repository is not the base repository
// (or is gone), so a policy can refuse them. A tag pushed without a
// release is recorded as the push it was (event_name "push", ref
// refs/tags/...), never with a "release" parameter.
type GitHubActions struct{}

// Name implements Platform.
func (GitHubActions) Name() string { return "github-actions" }

// Detect implements Platform: GITHUB_ACTIONS is "true".
func (GitHubActions) Detect(env Env) bool {
	return reader{env: env}.is("GITHUB_ACTIONS", "true")
}

// githubEvent is the part of an event payload the collector reads.
type githubEvent struct {
	Ref        *string        `json:"ref"`
	RefType    string         `json:"ref_type"`
	After      string         `json:"after"`
	Inputs     map[string]any `json:"inputs"`
	Repository *githubRepo    `json:"repository"`
	Release    *githubRelease `json:"release"`
	PR         *githubPR      `json:"pull_request"`
}

type githubRepo struct {
	FullName string      `json:"full_name"`
	ID       json.Number `json:"id"`
}

type githubRelease struct {
	TagName         string `json:"tag_name"`
	Name            string `json:"name"`
	Body            string `json:"body"`
	Draft           bool   `json:"draft"`
	Prerelease      bool   `json:"prerelease"`
	TargetCommitish string `json:"target_commitish"`
}

type githubPR struct {
	Number int64 `json:"number"`
	Head   struct {
		Ref  string      `json:"ref"`
		SHA  string      `json:"sha"`
		Repo *githubRepo `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref  string      `json:"ref"`
		Repo *githubRepo `json:"repo"`
	} `json:"base"`
}

// Collect implements Platform.
func (g GitHubActions) Collect(ctx context.Context, env Env) (*Facts, error) {
	r := reader{platform: g.Name(), env: env}
	if !g.Detect(env) {
		return nil, factErr(ErrPlatformMissing, r.platform, "GITHUB_ACTIONS", "not \"true\"")
	}
	vals, err := r.needAll("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_WORKFLOW_REF",
		"GITHUB_EVENT_NAME", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_EVENT_PATH")
	if err != nil {
		return nil, err
	}
	server, err := r.httpsURL("GITHUB_SERVER_URL", vals["GITHUB_SERVER_URL"])
	if err != nil {
		return nil, err
	}
	if strings.Count(server, "/") != 2 {
		// GitHub and GitHub Enterprise Server live at a host's root; a
		// path would shift every repository URL built on it.
		return nil, factErr(ErrInvalidFact, r.platform, "GITHUB_SERVER_URL", "%q has a path", server)
	}
	repo, ref, event := vals["GITHUB_REPOSITORY"], vals["GITHUB_REF"], vals["GITHUB_EVENT_NAME"]
	if !validRepoPath(repo, 2, 2) {
		return nil, factErr(ErrInvalidFact, r.platform, "GITHUB_REPOSITORY", "%q is not owner/name", repo)
	}
	if err := r.fullRef("GITHUB_REF", ref); err != nil {
		return nil, err
	}
	if strings.Trim(event, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return nil, factErr(ErrInvalidFact, r.platform, "GITHUB_EVENT_NAME", "%q is not an event name", event)
	}
	sha, err := r.commit("GITHUB_SHA")
	if err != nil {
		return nil, err
	}
	if err := r.numbers(vals, "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"); err != nil {
		return nil, err
	}
	path, err := workflowPath(r, repo, vals["GITHUB_WORKFLOW_REF"], ref)
	if err != nil {
		return nil, err
	}
	ev, err := readGitHubEvent(r, vals["GITHUB_EVENT_PATH"])
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	repoURL := server + "/" + repo
	external := map[string]any{
		"workflow": map[string]any{"ref": ref, "repository": repoURL, "path": path},
	}
	if err := checkGitHubEvent(r, ev, event, repo, ref, sha, server, external); err != nil {
		return nil, err
	}
	buildType := GitHubEventBuildType
	switch event {
	case "create", "release", "push", "workflow_dispatch":
		buildType = GitHubWorkflowBuildType
	}
	gh := map[string]any{"event_name": event}
	r.optInto(gh, map[string]string{
		"repository_id":       "GITHUB_REPOSITORY_ID",
		"repository_owner_id": "GITHUB_REPOSITORY_OWNER_ID",
		"actor_id":            "GITHUB_ACTOR_ID",
		"runner_environment":  "RUNNER_ENVIRONMENT",
	})
	if id, ok := gh["repository_id"].(string); ok && ev.Repository != nil && ev.Repository.ID != "" && ev.Repository.ID.String() != id {
		return nil, factErr(ErrPlatformMismatch, r.platform, "GITHUB_REPOSITORY_ID", "%q, the event's repository is %s", id, ev.Repository.ID)
	}
	return r.done(&Facts{
		Platform:     r.platform,
		BuilderID:    server + "/" + vals["GITHUB_WORKFLOW_REF"],
		BuildType:    buildType,
		InvocationID: repoURL + "/actions/runs/" + vals["GITHUB_RUN_ID"] + "/attempts/" + vals["GITHUB_RUN_ATTEMPT"],
		Source:       Source{Repository: repoURL, Ref: ref, Commit: sha},
		Trigger:      event,
		External:     external,
		Internal:     map[string]any{"github": gh},
	})
}

// workflowPath takes GITHUB_WORKFLOW_REF ("owner/repo/.github/workflows/
// build.yml@refs/heads/main") apart as the build type says: it must start
// with GITHUB_REPOSITORY + "/" and end with "@" + GITHUB_REF; the path and
// the ref may themselves hold "@".
func workflowPath(r reader, repo, wfRef, ref string) (string, error) {
	prefix := repo + "/"
	// GitHub names are case-insensitive: the same repository may be
	// spelled differently, another repository may not.
	if len(wfRef) <= len(prefix) || !strings.EqualFold(wfRef[:len(prefix)], prefix) {
		return "", factErr(ErrPlatformMismatch, r.platform, "GITHUB_WORKFLOW_REF", "%q is not a workflow of GITHUB_REPOSITORY %q", wfRef, repo)
	}
	path, ok := strings.CutSuffix(wfRef[len(prefix):], "@"+ref)
	if !ok {
		return "", factErr(ErrPlatformMismatch, r.platform, "GITHUB_WORKFLOW_REF", "%q is not at GITHUB_REF %q", wfRef, ref)
	}
	if !strings.HasPrefix(path, ".github/workflows/") || strings.Contains(path, "..") {
		return "", factErr(ErrInvalidFact, r.platform, "GITHUB_WORKFLOW_REF", "%q does not name a file under .github/workflows", wfRef)
	}
	return path, nil
}

func readGitHubEvent(r reader, path string) (*githubEvent, error) {
	data, err := r.env.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, factErr(ErrPlatformMissing, r.platform, "GITHUB_EVENT_PATH", "%s does not exist", path)
	}
	if err != nil {
		return nil, factErr(ErrInvalidFact, r.platform, "GITHUB_EVENT_PATH", "%v", err)
	}
	var ev githubEvent
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return nil, factErr(ErrInvalidFact, r.platform, "GITHUB_EVENT_PATH", "not an event payload: %v", err)
	}
	return &ev, nil
}

// checkGitHubEvent holds the payload to the variables and adds the
// event's parameters to external.
func checkGitHubEvent(r reader, ev *githubEvent, event, repo, ref, sha, server string, external map[string]any) error {
	const file = "GITHUB_EVENT_PATH"
	if ev.Repository != nil && !strings.EqualFold(ev.Repository.FullName, repo) {
		return factErr(ErrPlatformMismatch, r.platform, file, "the event is of repository %q, GITHUB_REPOSITORY is %q", ev.Repository.FullName, repo)
	}
	payloadRef := func(want string) error {
		if ev.Ref == nil {
			return factErr(ErrPlatformMismatch, r.platform, file, "a %s event without a ref", event)
		}
		if *ev.Ref != want {
			return factErr(ErrPlatformMismatch, r.platform, "GITHUB_REF", "%q, the %s event's ref is %q", ref, event, *ev.Ref)
		}
		return nil
	}
	switch event {
	case "push":
		if err := payloadRef(ref); err != nil {
			return err
		}
		if ev.After != "" && ev.After != sha {
			return factErr(ErrPlatformMismatch, r.platform, "GITHUB_SHA", "%q, the push event's head is %q", sha, ev.After)
		}
	case "workflow_dispatch":
		if err := payloadRef(ref); err != nil {
			return err
		}
		inputs := map[string]any{}
		for k, v := range ev.Inputs {
			if v != nil && v != "" { // the build type omits empty inputs
				inputs[k] = jsonValue(v)
			}
		}
		if len(inputs) > 0 {
			external["inputs"] = inputs
		}
	case "create":
		kind := map[string]string{"tag": "refs/tags/", "branch": "refs/heads/"}[ev.RefType]
		if kind == "" || ev.Ref == nil {
			return factErr(ErrPlatformMismatch, r.platform, file, "a create event of ref type %q", ev.RefType)
		}
		if kind+*ev.Ref != ref {
			return factErr(ErrPlatformMismatch, r.platform, "GITHUB_REF", "%q, the create event made %s %q", ref, ev.RefType, *ev.Ref)
		}
	case "release":
		if ev.Release == nil || ev.Release.TagName == "" {
			return factErr(ErrPlatformMismatch, r.platform, file, "a release event without a release")
		}
		if "refs/tags/"+ev.Release.TagName != ref {
			return factErr(ErrPlatformMismatch, r.platform, "GITHUB_REF", "%q, the release is of tag %q", ref, ev.Release.TagName)
		}
		rel := map[string]any{}
		if ev.Release.Name != "" {
			rel["name"] = ev.Release.Name
		}
		if ev.Release.Body != "" {
			rel["body"] = ev.Release.Body
		}
		if ev.Release.Draft {
			rel["draft"] = true
		}
		if ev.Release.Prerelease {
			rel["prerelease"] = true
		}
		if ev.Release.TargetCommitish != "" {
			rel["target_commitish"] = ev.Release.TargetCommitish
		}
		if len(rel) > 0 {
			external["release"] = rel
		}
	case "pull_request", "pull_request_target":
		pr, err := githubPullRequest(r, ev, event, repo, ref, server)
		if err != nil {
			return err
		}
		external["pull_request"] = pr
	}
	return nil
}

// githubPullRequest records a pull request's head so a policy can tell a
// fork's: pull_request runs the merge of the head into the base, at
// refs/pull/N/merge; pull_request_target runs the base branch with the
// base's secrets, whatever the head holds.
func githubPullRequest(r reader, ev *githubEvent, event, repo, ref, server string) (map[string]any, error) {
	const file = "GITHUB_EVENT_PATH"
	pr := ev.PR
	if pr == nil || pr.Number <= 0 || pr.Base.Ref == "" || pr.Head.Ref == "" {
		return nil, factErr(ErrPlatformMismatch, r.platform, file, "a %s event without a pull request", event)
	}
	if pr.Base.Repo == nil || !strings.EqualFold(pr.Base.Repo.FullName, repo) {
		return nil, factErr(ErrPlatformMismatch, r.platform, file, "the pull request's base is not GITHUB_REPOSITORY %q", repo)
	}
	want := "refs/pull/" + strconv.FormatInt(pr.Number, 10) + "/merge"
	if event == "pull_request_target" {
		want = "refs/heads/" + pr.Base.Ref
	}
	if ref != want {
		return nil, factErr(ErrPlatformMismatch, r.platform, "GITHUB_REF", "%q, the %s event runs at %q", ref, event, want)
	}
	head := map[string]any{"ref": "refs/heads/" + pr.Head.Ref}
	if pr.Head.SHA != "" {
		head["sha"] = pr.Head.SHA
	}
	fork := true // a deleted head repository is treated as a fork
	if pr.Head.Repo != nil && validRepoPath(pr.Head.Repo.FullName, 2, 2) {
		head["repository"] = server + "/" + pr.Head.Repo.FullName
		fork = !strings.EqualFold(pr.Head.Repo.FullName, repo)
	}
	return map[string]any{
		"number": strconv.FormatInt(pr.Number, 10),
		"base":   map[string]any{"ref": "refs/heads/" + pr.Base.Ref},
		"head":   head,
		"fork":   fork,
	}, nil
}

// jsonValue turns the json.Number values UseNumber left in v into
// float64 or, when they do not fit one exactly, strings, so every value
// is one provenance.Recorder takes.
func jsonValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil && i >= -(1<<53) && i <= 1<<53 {
			return float64(i)
		}
		if f, err := t.Float64(); err == nil && strconv.FormatFloat(f, 'g', -1, 64) == t.String() {
			return f
		}
		return t.String()
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = jsonValue(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = jsonValue(e)
		}
		return l
	}
	return v
}

// validRepoPath reports whether s is min to max "/"-separated non-empty
// segments of letters, digits, '.', '_' and '-', none "." or "..": a
// repository path (or, with one segment, a name) that cannot change
// meaning inside a URL.
func validRepoPath(s string, min, max int) bool {
	segs := strings.Split(s, "/")
	if len(segs) < min || len(segs) > max {
		return false
	}
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
