package verify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance/platform"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// TestSourceRuleReadsEachBuildType: a source material whose URI has no
// ref takes it from where the statement's build type keeps the source
// (GitHub's workflow, Cloud Build's buildConfigSource, slsakit's source),
// and from nowhere else: a "workflow" parameter means nothing to a build
// type that is not GitHub's.
func TestSourceRuleReadsEachBuildType(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	pol := "version: 1\nsource:\n  repository: git+https://github.com/example/app\n  refs: [refs/heads/main]\n" +
		"signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"
	p, err := verify.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	noRef := []intoto.ResourceDescriptor{{URI: goodRepo, Digest: intoto.DigestSet{"gitCommit": commit}}}
	repo := "https://github.com/example/app"
	at := func(key, ref string) map[string]any {
		return map[string]any{key: map[string]any{"repository": repo, "ref": ref}}
	}
	both := func(a, aRef, b, bRef string) map[string]any {
		m := at(a, aRef)
		m[b] = at(b, bRef)[b]
		return m
	}
	cases := []struct {
		name      string
		buildType string
		params    map[string]any
		materials []intoto.ResourceDescriptor
		pass      bool
	}{
		{"GitHub workflow type", platform.GitHubWorkflowBuildType, at("workflow", "refs/heads/main"), noRef, true},
		{"GitHub's own workflow type", "https://actions.github.io/buildtypes/workflow/v1", at("workflow", "refs/heads/main"), noRef, true},
		{"GitHub event type", platform.GitHubEventBuildType, at("workflow", "refs/heads/main"), noRef, true},
		{"GitHub fork pull request", platform.GitHubEventBuildType, at("workflow", "refs/pull/42/merge"),
			[]intoto.ResourceDescriptor{{URI: goodRepo + "@refs/pull/42/merge", Digest: intoto.DigestSet{"gitCommit": commit}}}, false},
		// Fail on main, which read only "workflow":
		{"GitLab source", platform.GitLabCIBuildType, at("source", "refs/heads/main"), noRef, true},
		{"Buildkite source", platform.BuildkiteBuildType, at("source", "refs/heads/main"), noRef, true},
		{"Jenkins source", platform.JenkinsBuildType, at("source", "refs/heads/main"), noRef, true},
		{"generic source", platform.GenericBuildType, at("source", "refs/heads/main"), noRef, true},
		{"Cloud Build buildConfigSource", platform.CloudBuildBuildType,
			map[string]any{"buildConfigSource": map[string]any{"repository": "git+" + repo, "ref": "refs/heads/main"}}, noRef, true},
		// Pass on main, which took "workflow" whatever the build type:
		{"GitLab type with a workflow parameter naming main", platform.GitLabCIBuildType, both("source", "refs/heads/dev", "workflow", "refs/heads/main"), noRef, false},
		{"Cloud Build type with a workflow parameter naming main", platform.CloudBuildBuildType, both("buildConfigSource", "refs/heads/dev", "workflow", "refs/heads/main"), noRef, false},
		{"Tekton type with a workflow parameter naming main", platform.TektonBuildType, at("workflow", "refs/heads/main"), noRef, false},
		// Guards.
		{"Cloud Build ref that is a commit", platform.CloudBuildBuildType,
			map[string]any{"buildConfigSource": map[string]any{"repository": "git+" + repo, "ref": "sha1:" + commit}}, noRef, false},
		{"source of another repository", platform.GitLabCIBuildType,
			map[string]any{"source": map[string]any{"repository": "https://github.com/evil/app", "ref": "refs/heads/main"}}, noRef, false},
		{"unknown type keeps reading workflow", "https://example.com/buildtypes/make@v1", at("workflow", "refs/heads/main"), noRef, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stmt := build{buildType: c.buildType, params: c.params, materials: c.materials}.statement(t)
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}, attsOf(envelope(t, stmt, key)))
			if c.pass {
				if err != nil {
					t.Fatalf("want pass: %v\n%s", err, rep)
				}
				return
			}
			if !errors.Is(err, verify.ErrSource) {
				t.Fatalf("err = %v, want ErrSource\n%s", err, rep)
			}
		})
	}
}
