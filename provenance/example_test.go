package provenance_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
)

func ExampleNewRecorder() {
	clock := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	rec := provenance.NewRecorder(
		provenance.Builder{ID: "https://example.com/builders/ci@v1"},
		"https://example.com/buildtypes/go@v1",
		provenance.WithClock(clock), provenance.WithInvocationID("run-1"),
	)
	rec.Start()
	_ = rec.SetExternalParameter("target", "./cmd/hello")
	src, _ := provenance.URIMaterial("git+https://github.com/example/hello@refs/heads/main",
		intoto.DigestSet{"gitCommit": "0123456789abcdef0123456789abcdef01234567"})
	_ = rec.AddMaterial(src)
	_ = rec.AddSubjectReader(context.Background(), "hello.txt", strings.NewReader("hello\n"))
	rec.Finish()

	stmt, err := rec.MarshalStatement()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(stmt))
	// Output:
	// {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello.txt","digest":{"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://example.com/buildtypes/go@v1","externalParameters":{"target":"./cmd/hello"},"resolvedDependencies":[{"digest":{"gitCommit":"0123456789abcdef0123456789abcdef01234567"},"uri":"git+https://github.com/example/hello@refs/heads/main"}]},"runDetails":{"builder":{"id":"https://example.com/builders/ci@v1"},"metadata":{"finishedOn":"2026-01-02T03:04:05Z","invocationId":"run-1","startedOn":"2026-01-02T03:04:05Z"}}}}
}

func ExampleHashReader() {
	d, err := provenance.HashReader(strings.NewReader("abc"), provenance.WithSHA512())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d["sha256"])
	fmt.Println(d["sha512"][:32] + "...")
	// Output:
	// ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
	// ddaf35a193617abacc417349ae204131...
}

func ExampleParse() {
	// What cosign v2.6.5 writes for --type slsaprovenance1 (abridged).
	doc := `{"_type":"https://in-toto.io/Statement/v0.1",
	  "predicateType":"https://slsa.dev/provenance/v1",
	  "subject":[{"name":"app","digest":{"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}}],
	  "predicate":{"buildDefinition":{"buildType":"https://example.com/bt","externalParameters":{}},
	    "runDetails":{"builder":{"id":"https://example.com/builder"},"metadata":{"invocationID":"run-9"}}}}`
	st, err := provenance.Parse([]byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Provenance.BuilderID, st.Provenance.InvocationID)
	for _, n := range st.Normalized {
		fmt.Println("normalized:", n)
	}
	// Output:
	// https://example.com/builder run-9
	// normalized: statement type https://in-toto.io/Statement/v0.1 read as https://in-toto.io/Statement/v1
	// normalized: runDetails.metadata.invocationID read as invocationId
}

func ExampleImageMaterial() {
	ctx := context.Background()
	rd, err := provenance.ImageMaterial(ctx, "ghcr.io/example/app:v1@sha256:"+strings.Repeat("ab", 32))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rd.URI, rd.Annotations["tag"])

	_, err = provenance.ImageMaterial(ctx, "ghcr.io/example/app:v1")
	fmt.Println(errors.Is(err, provenance.ErrUnpinnedImage))
	// Output:
	// oci://ghcr.io/example/app v1
	// true
}

func ExamplePublicGitURL() {
	u, _ := provenance.PublicGitURL("https://ci-bot:ghp_secret@github.com/example/app.git")
	fmt.Println(u)
	u, _ = provenance.PublicGitURL("git@github.com:example/app.git")
	fmt.Println(u)
	// Output:
	// https://github.com/example/app
	// https://github.com/example/app
}

func ExampleGoPURL() {
	fmt.Println(provenance.GoPURL("github.com/docker/cli", "v29.7.2+incompatible"))
	h, _ := provenance.H1ToHex("h1:Khu2En+0gcYPZ2kuIihfswbzxv/mIHXgzPZ018Oty48=")
	fmt.Println(intoto.AlgDirHash, h)
	// Output:
	// pkg:golang/github.com/docker/cli@v29.7.2%2Bincompatible
	// dirHash 2a1bb6127fb481c60f67692e22285fb306f3c6ffe62075e0ccf674d7c3adcb8f
}

func ExampleHashDir() {
	dir, err := os.MkdirTemp("", "release")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "bin", "app"), []byte("abc"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "README"), []byte(""), 0o644)

	files, err := provenance.HashDir(context.Background(), dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Name, f.Digest["sha256"][:16])
	}
	tree, _ := provenance.DirMaterial(context.Background(), dir)
	fmt.Println(len(tree.Digest["dirHash"]))
	// Output:
	// README e3b0c44298fc1c14
	// bin/app ba7816bf8f01cfea
	// 64
}
