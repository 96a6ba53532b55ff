package intoto_test

import (
	"testing"

	"github.com/slsakit/slsakit/intoto"
)

func TestParseGitURI(t *testing.T) {
	cases := []struct {
		uri, repo, ref string
		ok             bool
	}{
		{"git+https://github.com/example/app", "git+https://github.com/example/app", "", true},
		{"git+https://github.com/example/app@refs/heads/main", "git+https://github.com/example/app", "refs/heads/main", true},
		{"GIT+HTTPS://GitHub.COM/example/app@refs/tags/v1", "git+https://github.com/example/app", "refs/tags/v1", true},
		{"Git+Ssh://git@GitHub.com/example/app", "git+ssh://git@github.com/example/app", "", true},
		{"git+https://Me@GitHub.com:443/Example/App.git", "git+https://Me@github.com:443/Example/App.git", "", true},
		// The path keeps its case, and a ref is only "@refs/...".
		{"git+https://github.com/Example/app@refs/heads/Main", "git+https://github.com/Example/app", "refs/heads/Main", true},
		{"git+https://github.com/example/app@main", "git+https://github.com/example/app@main", "", true},
		{"git+https://github.com/example/app@REFS/heads/main", "git+https://github.com/example/app@REFS/heads/main", "", true},
		// Not git sources.
		{"https://github.com/example/app", "", "", false},
		{"git://github.com/example/app", "", "", false},
		{"git+://github.com/example/app", "", "", false},
		{"git+https:github.com/example/app", "", "", false},
		{"git+https:///example/app", "", "", false},
		{" git+https://github.com/example/app", "", "", false},
		{"git+ht tps://github.com/example/app", "", "", false},
		{"oci://github.com/example/app", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		g, ok := intoto.ParseGitURI(c.uri)
		if ok != c.ok || g.Repository != c.repo || g.Ref != c.ref {
			t.Errorf("%q: got %+v %v, want %q %q %v", c.uri, g, ok, c.repo, c.ref, c.ok)
		}
	}
}
