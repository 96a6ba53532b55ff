package platform

import (
	"context"
	"testing"
)

// BenchmarkCollect measures detection and collection over the default
// list, for a GitHub Actions push and a GitLab merge request.
func BenchmarkCollect(b *testing.B) {
	for name, env := range map[string]MapEnv{"github-push": githubPushEnv(), "gitlab-mr": gitlabMREnv("mallory/hello")} {
		b.Run(name, func(b *testing.B) {
			ps := DefaultPlatforms()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Collect(context.Background(), env, ps...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewRecorder measures filling a Recorder from collected facts.
func BenchmarkNewRecorder(b *testing.B) {
	f, err := GitHubActions{}.Collect(context.Background(), githubPushEnv())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.NewRecorder(); err != nil {
			b.Fatal(err)
		}
	}
}
