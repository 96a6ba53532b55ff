package intoto_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/intoto"
)

var (
	h256 = strings.Repeat("ab", 32)
	h512 = strings.Repeat("cd", 64)
)

func TestParseImage(t *testing.T) {
	type want struct {
		loc, tag string
		digest   intoto.DigestSet
		err      error // nil: parses
	}
	pinned := intoto.DigestSet{"sha256": h256}
	cases := []struct {
		uri    string
		digest intoto.DigestSet
		want   want
	}{
		// References, every spelling of the scheme and host.
		{"oci://registry.example.com/app", nil, want{loc: "registry.example.com/app"}},
		{"OCI://registry.example.com/app", nil, want{loc: "registry.example.com/app"}},
		{"Oci://REGISTRY.Example.COM/app", nil, want{loc: "registry.example.com/app"}},
		{"docker://registry.example.com/app:v1", nil, want{loc: "registry.example.com/app", tag: "v1"}},
		{"DOCKER://registry.example.com/app:v1", nil, want{loc: "registry.example.com/app", tag: "v1"}},
		{"Docker://registry.example.com:5000/team/app:V1.2-rc_3", nil, want{loc: "registry.example.com:5000/team/app", tag: "V1.2-rc_3"}},
		{"oci://localhost:5000/app", nil, want{loc: "localhost:5000/app"}},
		{"oci://LOCALHOST/app", nil, want{loc: "localhost/app"}},
		{"oci://[::1]:5000/app", nil, want{loc: "[::1]:5000/app"}},
		{"oci://10.0.0.1/app", nil, want{loc: "10.0.0.1/app"}},
		{"docker://golang:1.25", nil, want{loc: "index.docker.io/library/golang", tag: "1.25"}},
		{"docker://docker.io/golang", nil, want{loc: "index.docker.io/library/golang"}},
		{"oci://Docker.IO/library/golang", nil, want{loc: "index.docker.io/library/golang"}},
		{"oci://index.docker.io/org/app", nil, want{loc: "index.docker.io/org/app"}},
		{"docker://org/app", nil, want{loc: "index.docker.io/org/app"}},
		// A lone component is a Docker Hub repository, dots or not, as for docker and ggcr.
		{"oci://registry.example.com", nil, want{loc: "index.docker.io/library/registry.example.com"}},
		{"oci://registry.example.com/a/b__c/d--e/f.g_h", nil, want{loc: "registry.example.com/a/b__c/d--e/f.g_h"}},
		{"oci://registry.example.com/app@sha256:" + h256, nil, want{loc: "registry.example.com/app", digest: pinned}},
		{"oci://registry.example.com/app:v1@sha256:" + h256, nil, want{loc: "registry.example.com/app", tag: "v1", digest: pinned}},
		{"oci://registry.example.com/app@sha512:" + h512, nil, want{loc: "registry.example.com/app", digest: intoto.DigestSet{"sha512": h512}}},
		{"oci://registry.example.com/app", pinned, want{loc: "registry.example.com/app", digest: pinned}},
		{"oci://registry.example.com/app@sha256:" + h256, pinned, want{loc: "registry.example.com/app", digest: pinned}},
		{"oci://registry.example.com/app@sha256:" + h256, intoto.DigestSet{"sha512": h512}, want{loc: "registry.example.com/app", digest: intoto.DigestSet{"sha256": h256, "sha512": h512}}},
		// Descriptor entries that pin nothing are left out.
		{"oci://registry.example.com/app", intoto.DigestSet{"sha256": h256[:63], "md5": h256[:32], "SHA256": h256}, want{loc: "registry.example.com/app"}},
		{"oci://registry.example.com/app", intoto.DigestSet{"gitCommit": h256[:40]}, want{loc: "registry.example.com/app"}},

		// Purls: docker.
		{"pkg:docker/golang@1.25", nil, want{loc: "index.docker.io/library/golang", tag: "1.25"}},
		{"PKG:DOCKER/golang@1.25", nil, want{loc: "index.docker.io/library/golang", tag: "1.25"}},
		{"pkg:Docker/golang", nil, want{loc: "index.docker.io/library/golang"}},
		{"pkg://docker/golang", nil, want{loc: "index.docker.io/library/golang"}},
		{"pkg:docker/library/golang@sha256:" + h256, nil, want{loc: "index.docker.io/library/golang", digest: pinned}},
		{"pkg:docker/library%2Fgolang@sha256%3A" + h256, nil, want{loc: "index.docker.io/library/golang", digest: pinned}},
		{"pkg:docker/library%2Fgolang@sha256%3a" + h256 + "?arch=amd64&os=linux", nil, want{loc: "index.docker.io/library/golang", digest: pinned}},
		{"pkg:docker/customer/app@sha256%3A" + h256 + "?repository_url=gcr.io", nil, want{loc: "gcr.io/customer/app", digest: pinned}},
		{"pkg:docker/customer/app?REPOSITORY_URL=https://GCR.io/proj", nil, want{loc: "gcr.io/proj/customer/app"}},
		{"pkg:docker/app?repository_url=", nil, want{loc: "index.docker.io/library/app"}},
		{"pkg:docker/registry.example.com/team/app@v1", nil, want{loc: "registry.example.com/team/app", tag: "v1"}},
		{"pkg:docker/REGISTRY.example.com/team/app", nil, want{loc: "registry.example.com/team/app"}},
		{"pkg:docker/localhost%3A5000/app", nil, want{loc: "localhost:5000/app"}},
		{"pkg:docker/app#", nil, want{loc: "index.docker.io/library/app"}},
		{"pkg:docker/app?arch=amd64&", nil, want{loc: "index.docker.io/library/app"}},
		// Purls: oci.
		{"pkg:oci/debian@sha256%3A" + h256 + "?repository_url=docker.io/library/debian&arch=amd64&tag=latest", nil, want{loc: "index.docker.io/library/debian", tag: "latest", digest: pinned}},
		{"pkg:OCI/Debian@sha256:" + h256 + "?Repository_Url=ghcr.io/debian", nil, want{loc: "ghcr.io/debian", digest: pinned}},
		{"pkg:oci/x?repository_url=registry.example.com/x", nil, want{loc: "registry.example.com/x"}},
		{"pkg:oci/x?repository_url=registry.example.com", nil, want{loc: "registry.example.com/x"}},
		{"pkg:oci/hello-wasm@sha256%3A" + h256 + "?tag=v1", nil, want{loc: "", tag: "v1", digest: pinned}},
		{"pkg:oci/hello", nil, want{loc: ""}},

		// Not images.
		{"https://example.com/tool.tar.gz", nil, want{err: intoto.ErrNotImage}},
		{"git+https://github.com/example/app@refs/heads/main", nil, want{err: intoto.ErrNotImage}},
		{"pkg:golang/golang.org/x/mod@v0.1.0", nil, want{err: intoto.ErrNotImage}},
		{"pkg:npm/docker@1.0.0", nil, want{err: intoto.ErrNotImage}},
		{"pkg:dockerfile/x", nil, want{err: intoto.ErrNotImage}},
		{"oci-archive:/tmp/x.tar", nil, want{err: intoto.ErrNotImage}},
		{"registry.example.com/app:v1", nil, want{err: intoto.ErrNotImage}},
		{"", nil, want{err: intoto.ErrNotImage}},
		{"ocifoo://x", nil, want{err: intoto.ErrNotImage}},

		// Image-looking but unreadable: refused.
		{"oci:registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci:/registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"docker:golang", nil, want{err: intoto.ErrInvalidImage}},
		{" oci://registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"\toci://registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"\ufeffoci://registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"\u200bOCI://registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci ://registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/App", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://Team/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app/", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com//app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/a..b", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/a___b", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/-a", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://reg_istry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com:/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com:99999x/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://-registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://user@registry.example.com/app", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app?x=1", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app#frag", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app:", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app:.v1", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app:" + strings.Repeat("t", 129), nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app@", nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app@sha256:" + h256[:63], nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app@sha256:" + strings.ToUpper(h256), nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app@SHA256:" + h256, nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app@md5:" + h256[:32], nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/app@sha256:" + h256 + "@sha256:" + h256, nil, want{err: intoto.ErrInvalidImage}},
		{"oci://registry.example.com/" + strings.Repeat("a/", 128) + "a", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/", nil, want{err: intoto.ErrInvalidImage}},
		{" pkg:docker/golang", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg: docker/golang", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:d%6Fcker/golang", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/Golang", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang@sha256:" + h256[:12], nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang@sha256%3A" + strings.ToUpper(h256), nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang@bad%zz", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang@1.25#sub/path", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang?repository_url=gcr.io&repository_url=evil.example.com", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang?repository_url=gcr.io&Repository_URL=evil.example.com", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang?repository_url=notahost", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang?repository_url=ftp://gcr.io", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/gcr.io/distroless/static?repository_url=evil.example.com", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang?1bad=x", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/golang?novalue", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:docker/x:tag", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:oci/team/x?repository_url=registry.example.com/team/x", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:oci/x@v1", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:oci/x?repository_url=registry.example.com/y", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:oci/x?repository_url=x", nil, want{err: intoto.ErrInvalidImage}},
		{"pkg:oci/x?tag=-bad", nil, want{err: intoto.ErrInvalidImage}},

		// A digest in the URI that the descriptor contradicts.
		{"oci://registry.example.com/app@sha256:" + h256, intoto.DigestSet{"sha256": strings.Repeat("ef", 32)}, want{err: intoto.ErrDigestMismatch}},
		{"oci://registry.example.com/app@sha256:" + h256, intoto.DigestSet{"sha256": strings.ToUpper(h256)}, want{err: intoto.ErrDigestMismatch}},
		{"pkg:docker/golang@sha256%3A" + h256, intoto.DigestSet{"sha256": strings.Repeat("ef", 32)}, want{err: intoto.ErrDigestMismatch}},
		{"pkg:oci/x@sha512:" + h512, intoto.DigestSet{"sha512": strings.Repeat("ef", 64)}, want{err: intoto.ErrDigestMismatch}},
	}
	for _, c := range cases {
		img, err := intoto.ParseImage(c.uri, c.digest)
		if c.want.err != nil {
			if !errors.Is(err, c.want.err) {
				t.Errorf("%q: err = %v, want %v", c.uri, err, c.want.err)
			}
			if c.want.err != intoto.ErrNotImage && !errors.Is(err, intoto.ErrInvalidImage) {
				t.Errorf("%q: %v does not wrap ErrInvalidImage", c.uri, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.uri, err)
			continue
		}
		if img.Location() != c.want.loc || img.Tag != c.want.tag || img.Digest.String() != c.want.digest.String() {
			t.Errorf("%q: got %q tag %q digest %v, want %q tag %q digest %v", c.uri, img.Location(), img.Tag, img.Digest, c.want.loc, c.want.tag, c.want.digest)
		}
		if img.Pinned() != (c.want.digest["sha256"] != "") {
			t.Errorf("%q: Pinned() = %v", c.uri, img.Pinned())
		}
	}
}

// TestImageLocationAgreesWithGGCR: for references go-containerregistry
// reads, the location is the repository name it gives, which is what
// verify.EvaluateImage names a top-level image by and what oci fetches.
func TestImageLocationAgreesWithGGCR(t *testing.T) {
	for _, ref := range []string{
		"golang", "golang:1.25", "library/golang", "docker.io/golang", "index.docker.io/library/golang",
		"docker.io/org/app:v1", "registry.example.com/app", "registry.example.com:5000/a/b/c:tag",
		"localhost/app", "localhost:5000/app", "127.0.0.1:5000/app", "[::1]:5000/app",
		"registry.example.com/app@sha256:" + h256, "registry.example.com/app:v1@sha256:" + h256,
		"gcr.io/distroless/static", "ghcr.io/org/a-b_c.d__e",
	} {
		r, err := name.ParseReference(ref, name.WeakValidation)
		if err != nil {
			t.Fatalf("ggcr %q: %v", ref, err)
		}
		for _, scheme := range []string{"oci://", "docker://", "OCI://"} {
			img, err := intoto.ParseImage(scheme+ref, nil)
			if err != nil {
				t.Errorf("%s%s: %v", scheme, ref, err)
				continue
			}
			if img.Location() != r.Context().Name() {
				t.Errorf("%s%s: location %q, ggcr %q", scheme, ref, img.Location(), r.Context().Name())
			}
		}
	}
}

// A bracketed registry is accepted only when it is an IPv6 address that
// go-containerregistry (which the OCI fetcher uses) reads as the same
// registry: before, any run of hex digits, ':' and '.' inside brackets
// passed ("[:]", found by FuzzParseImage), so the check and the fetch
// could disagree on whether, and where, the image is.
func TestParseImageBracketedRegistry(t *testing.T) {
	forms := func(host string) []string {
		return []string{"oci://" + host + "/app", "docker://" + host + "/app", "pkg:oci/app?repository_url=" + host + "/app"}
	}
	for _, host := range []string{"[::1]", "[::]", "[::1]:5000", "[2001:db8::1]", "[::ffff:1.2.3.4]", "[1:2:3:4:5:6:7:8]"} {
		for _, uri := range forms(host) {
			img, err := intoto.ParseImage(uri, nil)
			if err != nil {
				t.Errorf("%q: %v", uri, err)
				continue
			}
			if r, gerr := name.NewRepository(img.Location()); gerr != nil || r.Name() != img.Location() {
				t.Errorf("%q: accepted as %q, which go-containerregistry reads as %v (%v)", uri, img.Location(), r, gerr)
			}
		}
	}
	for _, host := range []string{
		"[:]", "[:::]", "[1:::2]", "[::1::]", "[1:2:3:4:5:6:7:8:9]", "[12345::1]", "[::1.2.3]", "[1.2.3.4]",
		"[::1]:", "[::1]x", "[::1]:123456", "[]", "[::1", "[fe80::1%25en0]", "[::g]",
	} {
		for _, uri := range forms(host) {
			if img, err := intoto.ParseImage(uri, nil); !errors.Is(err, intoto.ErrInvalidImage) {
				t.Errorf("%q: %+v, %v; want ErrInvalidImage", uri, img, err)
			}
		}
	}
}
