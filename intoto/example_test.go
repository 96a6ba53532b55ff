package intoto_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/intoto"
)

func Example() {
	hex := strings.Repeat("ab", 32)

	// Only canonical, well-formed, strong entries count.
	fmt.Println(intoto.Strong("sha256", hex), intoto.Strong("SHA256", hex), intoto.Strong("md5", hex[:32]))

	// A subject matches when both sets agree and share a strong digest.
	subject := intoto.DigestSet{"sha256": hex, "md5": hex[:32]}
	fmt.Println(subject.MatchesStrong(intoto.DigestSet{"sha256": hex}))
	fmt.Println(subject.MatchesStrong(intoto.DigestSet{"md5": hex[:32]}))
	fmt.Println(intoto.DigestSet{"SHA256": hex}.Validate() != nil)

	// Image URIs are classified whatever the case of scheme and host.
	img, err := intoto.ParseImage("OCI://Registry.Example.com/app:v1", nil)
	fmt.Println(img.Location(), img.Tag, img.Pinned(), err)
	img, _ = intoto.ParseImage("pkg:docker/library%2Fgolang@sha256%3A"+hex+"?arch=amd64", nil)
	fmt.Println(img.Location(), img.Pinned())
	_, err = intoto.ParseImage("Docker://Registry.Example.com/App", nil)
	fmt.Println(errors.Is(err, intoto.ErrInvalidImage))
	_, err = intoto.ParseImage("https://example.com/tool.tar.gz", nil)
	fmt.Println(errors.Is(err, intoto.ErrNotImage))

	g, _ := intoto.ParseGitURI("GIT+HTTPS://GitHub.com/example/app@refs/heads/main")
	fmt.Println(g.Repository, g.Ref)
	// Output:
	// true false false
	// true
	// false
	// true
	// registry.example.com/app v1 false <nil>
	// index.docker.io/library/golang true
	// true
	// true
	// git+https://github.com/example/app refs/heads/main
}

// A statement is checked before anything signs or attaches it.
func ExampleCheckStatement() {
	good := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` +
		strings.Repeat("a", 64) + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`
	fmt.Println(intoto.CheckStatement([]byte(good)))
	err := intoto.CheckStatement([]byte(`{"_type":"https://in-toto.io/Statement/v1","Subject":[]}`))
	fmt.Println(errors.Is(err, intoto.ErrInvalidStatement))
	// Output:
	// <nil>
	// true
}

// A descriptor validates against the one digest table.
func ExampleResourceDescriptor_Validate() {
	rd := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"SHA256": strings.Repeat("a", 64)}}
	fmt.Println(errors.Is(rd.Validate(), intoto.ErrInvalidDigest))
	// Output: true
}
