package platform_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance/platform"
)

// A GitHub Actions push, as the runner presents it. A real job passes
// platform.OSEnv() instead of a MapEnv.
func Example() {
	env := platform.MapEnv{
		Vars: map[string]string{
			"GITHUB_ACTIONS":      "true",
			"GITHUB_SERVER_URL":   "https://github.com",
			"GITHUB_REPOSITORY":   "octocat/hello-world",
			"GITHUB_REF":          "refs/heads/main",
			"GITHUB_SHA":          "c27d339ee6075c1f744c5d4b200f7901aad2c369",
			"GITHUB_WORKFLOW_REF": "octocat/hello-world/.github/workflows/release.yml@refs/heads/main",
			"GITHUB_EVENT_NAME":   "push",
			"GITHUB_EVENT_PATH":   "/home/runner/work/_temp/_github_workflow/event.json",
			"GITHUB_RUN_ID":       "1536140711",
			"GITHUB_RUN_ATTEMPT":  "1",
		},
		Files: map[string][]byte{
			"/home/runner/work/_temp/_github_workflow/event.json": []byte(`{"ref":"refs/heads/main","after":"c27d339ee6075c1f744c5d4b200f7901aad2c369","repository":{"full_name":"octocat/hello-world"}}`),
		},
	}
	ctx := context.Background()
	facts, err := platform.Collect(ctx, env, platform.DefaultPlatforms()...)
	if err != nil {
		fmt.Println(err)
		return
	}
	rec, err := facts.NewRecorder()
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": "fe4fe40ac7250263c5dbe1cf3138912f3f416140aa248637a60d65fe22c47da4"}})
	if _, err := rec.MarshalStatement(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(facts.Platform)
	fmt.Println(facts.BuilderID)
	fmt.Println(facts.BuildType)
	fmt.Println(facts.Source.Material().URI)

	// The same job with its workflow swapped for another repository's.
	env.Vars["GITHUB_WORKFLOW_REF"] = "mallory/hello-world/.github/workflows/release.yml@refs/heads/main"
	_, err = platform.Collect(ctx, env, platform.DefaultPlatforms()...)
	fmt.Println(errors.Is(err, platform.ErrPlatformMismatch))
	// Output:
	// github-actions
	// https://github.com/octocat/hello-world/.github/workflows/release.yml@refs/heads/main
	// https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1
	// git+https://github.com/octocat/hello-world@refs/heads/main
	// true
}

// A builder on a platform slsakit does not know implements Platform and
// lists it with the others.
type myCI struct{}

func (myCI) Name() string                 { return "my-ci" }
func (myCI) Detect(env platform.Env) bool { v, _ := env.LookupEnv("MY_CI"); return v == "1" }
func (myCI) Collect(ctx context.Context, env platform.Env) (*platform.Facts, error) {
	commit, _ := env.LookupEnv("MY_CI_COMMIT")
	return platform.Generic{
		BuilderID: "https://ci.example.com/my-ci",
		Source:    platform.Source{Repository: "https://git.example.com/app", Ref: "refs/heads/main", Commit: commit},
	}.Collect(ctx, env)
}

func ExamplePlatform() {
	env := platform.MapEnv{Vars: map[string]string{"MY_CI": "1", "MY_CI_COMMIT": "c27d339ee6075c1f744c5d4b200f7901aad2c369"}}
	facts, err := platform.Collect(context.Background(), env, append(platform.DefaultPlatforms(), myCI{})...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(facts.BuilderID, facts.Source.Material().URI)
	// Output: https://ci.example.com/my-ci git+https://git.example.com/app@refs/heads/main
}
