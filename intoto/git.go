package intoto

import "strings"

// GitURI is a git source URI of the form SLSA provenance uses,
// "git+<scheme>://<host>/<path>[@<ref>]".
type GitURI struct {
	// Repository is the URI without its ref, with the scheme and the host
	// in lowercase (both are case-insensitive) and the rest (user info,
	// port, path) exactly as written: hosting services treat paths as
	// they like, so "Org/App" and "org/app" are not assumed to be one
	// repository.
	Repository string
	// Ref is the ref written after "@", e.g. "refs/heads/main"; only
	// "@refs/..." is read as a ref. "" when there is none.
	Ref string
}

// ParseGitURI reads uri as a git source URI: its scheme, in any case, is
// "git+" followed by a transport ("git+https", "GIT+SSH"), then "://" and
// an authority. It reports false for anything else, which is then no git
// source: a rule that requires a source is not met by it.
func ParseGitURI(uri string) (GitURI, bool) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || len(scheme) <= len("git+") || lowerASCII(scheme[:4]) != "git+" {
		return GitURI{}, false
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return GitURI{}, false
		}
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, path := rest[:end], rest[end:]
	if authority == "" {
		return GitURI{}, false
	}
	// Only the host is case-insensitive; user info stays as written.
	userinfo, host := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, host = authority[:i+1], authority[i+1:]
	}
	g := GitURI{Repository: lowerASCII(scheme) + "://" + userinfo + lowerASCII(host) + path}
	if repo, ref, ok := strings.Cut(g.Repository, "@refs/"); ok {
		g.Repository, g.Ref = repo, "refs/"+ref
	}
	return g, true
}
