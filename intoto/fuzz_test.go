package intoto_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/intoto"
)

// upperASCII uppercases ASCII letters only, the case changes the
// specifications say do not matter.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// hostLike reports whether s can only be a host. An authority with user
// info ("user@host") is not: user info is case-sensitive (RFC 3986 3.2.1).
func hostLike(s string) bool {
	return s != "" && !strings.ContainsAny(s, "%@") && (strings.ContainsAny(s, ".:") || strings.EqualFold(s, "localhost"))
}

// recase changes the case of what is case-insensitive in uri: the scheme,
// a registry host (a first component that can only be a host), a purl
// type and purl qualifier keys.
func recase(uri string) string {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return uri
	}
	out := upperASCII(scheme) + ":"
	if r, found := strings.CutPrefix(rest, "//"); found && !strings.EqualFold(strings.TrimSpace(scheme), "pkg") {
		// reference or git URI: the authority, when it is a host. It
		// ends at the first '/', '?' or '#' (RFC 3986 3.2): in
		// "git+0://0#a./" it is "0", and "a./" is a fragment, whose case
		// matters.
		if end := strings.IndexAny(r, "/?#"); end >= 0 && r[end] == '/' && hostLike(r[:end]) {
			return out + "//" + upperASCII(r[:end]) + r[end:]
		}
		return out + rest
	}
	// purl: type, a host-like first namespace segment, qualifier keys
	lead := len(rest) - len(strings.TrimLeft(rest, "/"))
	out += rest[:lead]
	rest = rest[lead:]
	body, frag, hasFrag := strings.Cut(rest, "#")
	body, query, hasQuery := strings.Cut(body, "?")
	segs := strings.Split(body, "/")
	segs[0] = upperASCII(segs[0])
	if len(segs) > 2 && hostLike(segs[1]) {
		segs[1] = upperASCII(segs[1])
	}
	out += strings.Join(segs, "/")
	if hasQuery {
		pairs := strings.Split(query, "&")
		for i, p := range pairs {
			if k, v, ok := strings.Cut(p, "="); ok {
				pairs[i] = upperASCII(k) + "=" + v
			}
		}
		out += "?" + strings.Join(pairs, "&")
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}

func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, intoto.ErrNotImage):
		return "not image"
	case errors.Is(err, intoto.ErrDigestMismatch):
		return "mismatch"
	case errors.Is(err, intoto.ErrInvalidImage):
		return "invalid"
	}
	return "untyped: " + err.Error()
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{
		"oci://registry.example.com/app:v1",
		"docker://golang@sha256:" + h256,
		"OCI://Registry.Example.com/app",
		"oci://localhost:5000/a/b",
		"oci://[::1]:5000/app",
		"pkg:docker/library%2Fgolang@sha256%3A" + h256 + "?arch=amd64",
		"pkg:docker/customer/app@sha256%3A" + h256 + "?repository_url=gcr.io",
		"pkg:docker/registry.example.com/team/app@v1",
		"pkg:oci/debian@sha256%3A" + h256 + "?repository_url=docker.io/library/debian&tag=latest",
		"pkg://oci/x?repository_url=registry.example.com/x",
		"pkg:golang/golang.org/x/mod@v0.1.0",
		"git+https://github.com/example/app@refs/heads/main",
		" oci://x/y",
		"git+0://a.@/",
		"git+https://User@GitHub.com/org/repo@refs/heads/main",
		"https://example.com/x",
	} {
		f.Add(s, h256)
	}
	f.Fuzz(func(t *testing.T, uri, hex string) {
		d := intoto.DigestSet{"sha256": hex}
		img, err := intoto.ParseImage(uri, d)
		class := errClass(err)
		if strings.HasPrefix(class, "untyped") {
			t.Fatalf("%q: %s", uri, class)
		}
		if err == nil {
			for alg, v := range img.Digest {
				if !intoto.Strong(alg, v) {
					t.Fatalf("%q: digest entry %s:%q is not strong", uri, alg, v)
				}
			}
			if img.Pinned() != intoto.Strong("sha256", img.Digest["sha256"]) {
				t.Fatalf("%q: Pinned", uri)
			}
			if loc := img.Location(); loc != "" {
				// Every location is one go-containerregistry reads the
				// same way, so a fetch goes where the check looked.
				r, gerr := name.NewRepository(loc)
				if gerr != nil || r.Name() != loc {
					t.Fatalf("%q: location %q, ggcr %v %v", uri, loc, r, gerr)
				}
			}
		}
		re := recase(uri)
		img2, err2 := intoto.ParseImage(re, d)
		if class2 := errClass(err2); class2 != class {
			t.Fatalf("%q is %s (%v), %q is %s (%v)", uri, class, err, re, class2, err2)
		}
		if err == nil && (img.Location() != img2.Location() || img.Tag != img2.Tag || img.Digest.String() != img2.Digest.String()) {
			t.Fatalf("%q -> %+v, %q -> %+v", uri, img, re, img2)
		}
		g, ok := intoto.ParseGitURI(uri)
		g2, ok2 := intoto.ParseGitURI(re)
		if ok != ok2 || g != g2 {
			t.Fatalf("git: %q -> %+v %v, %q -> %+v %v", uri, g, ok, re, g2, ok2)
		}
	})
}
