package platform

import (
	"context"
	"errors"
	"io/fs"
	"strings"
)

// TektonBuildType is Tekton Chains' SLSA v1 build type.
const TektonBuildType = "https://tekton.dev/chains/v2/slsa"

// Tekton file locations the controller sets up in every step.
const (
	// TektonReadyFile is the downward API file the entrypoint waits for
	// before the first step starts; its presence marks a Tekton step.
	TektonReadyFile = "/tekton/downward/ready"
	// TektonResultsDir holds the TaskRun's results, one file per result,
	// written by earlier steps.
	TektonResultsDir = "/tekton/results"
)

// Tekton collects a Tekton TaskRun step. Tekton exposes a TaskRun to its
// steps only as the files of /tekton and as the variables a Task maps
// from $(context...) and $(params...), so the Task must map them:
//
//	env:
//	- {name: TEKTON_TASKRUN_NAME, value: $(context.taskRun.name)}
//	- {name: TEKTON_TASKRUN_NAMESPACE, value: $(context.taskRun.namespace)}
//	- {name: TEKTON_TASKRUN_UID, value: $(context.taskRun.uid)}
//	- {name: CHAINS_GIT_URL, value: $(params.CHAINS-GIT_URL)}
//	- {name: CHAINS_GIT_COMMIT, value: $(params.CHAINS-GIT_COMMIT)}
//
// CHAINS-GIT_URL and CHAINS-GIT_COMMIT are Tekton Chains' type hints for
// the source. When an earlier step wrote results of those names
// (/tekton/results/CHAINS-GIT_URL, .../CHAINS-GIT_COMMIT) they must agree
// with the parameters. Detection is by /tekton/downward/ready.
//
// The source has no ref (the TaskRun does not say which ref the commit
// was taken from), so a policy that requires refs rejects it. The
// invocation ID is the TaskRun's UID, as in Tekton Chains; the builder ID
// is BuilderID, never Chains' own: the statement is made by a step.
type Tekton struct {
	// BuilderID defaults to "https://tekton.dev/pipelines".
	BuilderID string
}

// Name implements Platform.
func (Tekton) Name() string { return "tekton" }

// Detect implements Platform.
func (Tekton) Detect(env Env) bool {
	_, err := env.ReadFile(TektonReadyFile)
	return err == nil
}

// Collect implements Platform.
func (t Tekton) Collect(ctx context.Context, env Env) (*Facts, error) {
	r := reader{platform: t.Name(), env: env}
	if !t.Detect(env) {
		return nil, factErr(ErrPlatformMissing, r.platform, TektonReadyFile, "cannot be read")
	}
	vals, err := r.needAll("TEKTON_TASKRUN_NAME", "TEKTON_TASKRUN_NAMESPACE", "TEKTON_TASKRUN_UID", "CHAINS_GIT_URL")
	if err != nil {
		return nil, err
	}
	repo, err := r.gitURL("CHAINS_GIT_URL", vals["CHAINS_GIT_URL"])
	if err != nil {
		return nil, err
	}
	sha, err := r.commit("CHAINS_GIT_COMMIT")
	if err != nil {
		return nil, err
	}
	for param, v := range map[string]string{"CHAINS-GIT_URL": vals["CHAINS_GIT_URL"], "CHAINS-GIT_COMMIT": sha} {
		b, err := env.ReadFile(TektonResultsDir + "/" + param)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, factErr(ErrInvalidFact, r.platform, TektonResultsDir+"/"+param, "%v", err)
		}
		if got := strings.TrimSpace(string(b)); got != v {
			return nil, factErr(ErrPlatformMismatch, r.platform, TektonResultsDir+"/"+param, "result %q, parameter %q", got, v)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	builder := t.BuilderID
	if builder == "" {
		builder = "https://tekton.dev/pipelines"
	}
	tr := map[string]any{"name": vals["TEKTON_TASKRUN_NAME"], "namespace": vals["TEKTON_TASKRUN_NAMESPACE"], "uid": vals["TEKTON_TASKRUN_UID"]}
	internal := map[string]any{"taskRun": tr}
	if p := r.opt("TEKTON_PIPELINERUN_NAME"); p != "" {
		internal["pipelineRun"] = p
	}
	return r.done(&Facts{
		Platform:     r.platform,
		BuilderID:    builder,
		BuildType:    TektonBuildType,
		InvocationID: vals["TEKTON_TASKRUN_UID"],
		Source:       Source{Repository: repo, Commit: sha},
		Trigger:      "taskrun",
		External: map[string]any{"runSpec": map[string]any{"params": []any{
			map[string]any{"name": "CHAINS-GIT_URL", "value": vals["CHAINS_GIT_URL"]},
			map[string]any{"name": "CHAINS-GIT_COMMIT", "value": sha},
		}}},
		Internal: internal,
	})
}
