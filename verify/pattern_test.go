package verify

import "testing"

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"registry.example.com/**", "registry.example.com/a/b/c", true},
		{"registry.example.com/**", "registry.example.com/", true},
		{"registry.example.com/**", "registry.example.com", false},
		{"registry.example.com/**", "registry.example.com.evil.io/a", false},
		{"registry.example.com/*", "registry.example.com/a", true},
		{"registry.example.com/*", "registry.example.com/a/b", false},
		{"refs/tags/v*", "refs/tags/v1.2.3", true},
		{"refs/tags/v*", "refs/tags/v1/x", false},
		{"refs/heads/main", "refs/heads/main-x", false},
		{"refs/heads/main", "refs/heads/mai", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY/c", false},
		{"a**c", "aX/Y/c", true},
		{"", "", true},
		{"", "x", false},
		{"*", "", true},
	}
	for _, c := range cases {
		if got := globMatch(c.pat, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pat, c.name, got, c.want)
		}
	}
}

func TestMoreSpecific(t *testing.T) {
	a, b := compilePattern("registry.example.com/sig-storage/*"), compilePattern("registry.example.com/**")
	if !moreSpecific(a, b) || moreSpecific(b, a) {
		t.Fatal("the deeper pattern must win")
	}
	c, d := compilePattern("r/a*"), compilePattern("r/*a")
	if moreSpecific(c, d) == moreSpecific(d, c) {
		t.Fatal("ties must be broken one way")
	}
}
