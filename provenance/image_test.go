package provenance_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/provenance"
)

type fakeIndex struct {
	digest    string
	platforms map[string]string
	err       error
}

func (f fakeIndex) ResolvePlatforms(context.Context, string) (string, map[string]string, error) {
	return f.digest, f.platforms, f.err
}

func hexOf(c byte) string { return strings.Repeat(string(c), 64) }

// An index records the index and every platform manifest, each named with
// its platform; the statement then names the digest a node pulls.
func TestImageSubjectsIndex(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	platforms := []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/arm/v7"}
	x := reg.PushRandomIndex(t, "k8s/kube-apiserver", platforms...)
	res := oci.NewResolver(oci.WithInsecure())
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://example.com/builder"}, "https://example.com/build/v1")
	if err := rec.AddSubjectImage(ctx, reg.Host()+"/k8s/kube-apiserver:latest", res); err != nil {
		t.Fatal(err)
	}
	if err := rec.SetExternalParameter("target", "release"); err != nil {
		t.Fatal(err)
	}
	raw, err := rec.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject []struct {
			Name   string
			Digest map[string]string
		}
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range st.Subject {
		got[s.Name] = s.Digest["sha256"]
	}
	repo, indexDigest, _ := strings.Cut(x.Ref, "@")
	want := map[string]string{repo: strings.TrimPrefix(indexDigest, "sha256:")}
	for _, p := range platforms {
		want[provenance.PlatformSubjectName(repo, indexDigest, p)] = strings.TrimPrefix(x.Platforms[p][strings.Index(x.Platforms[p], "@")+1:], "sha256:")
	}
	if len(got) != len(want) {
		t.Fatalf("subjects %v, want %v", got, want)
	}
	for n, d := range want {
		if got[n] != d {
			t.Errorf("subject %q = %q, want %q", n, got[n], d)
		}
	}
	if n := provenance.PlatformSubjectName(repo, indexDigest, "linux/arm/v7"); !strings.HasPrefix(n, "pkg:docker/"+repo+"@sha256:") || !strings.HasSuffix(n, "?platform=linux%2Farm%2Fv7") {
		t.Errorf("platform subject name %q", n)
	}

	// A single-platform image is one subject, as before.
	single := reg.PushRandomImage(t, "k8s/single")
	subs, err := provenance.ImageSubjects(ctx, single, res)
	if err != nil || len(subs) != 1 || subs[0].Name != reg.Host()+"/k8s/single" {
		t.Errorf("single image: %+v, %v", subs, err)
	}
}

// What a registry answers is checked before it becomes a subject.
func TestImageSubjectsHostileAnswers(t *testing.T) {
	ctx := context.Background()
	idx := "sha256:" + hexOf('a')
	many := map[string]string{}
	for i := 0; i <= provenance.MaxImagePlatforms; i++ {
		many["linux/arch"+strconv.Itoa(i)] = "sha256:" + hexOf('b')
	}
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name string
		ref  string
		res  fakeIndex
		want error
	}{
		{"not sha256", "r.example/a:1", fakeIndex{digest: "sha512:" + hexOf('a')}, provenance.ErrInvalidImageRef},
		{"short digest", "r.example/a:1", fakeIndex{digest: "sha256:abc"}, provenance.ErrInvalidImageRef},
		{"uppercase digest", "r.example/a:1", fakeIndex{digest: "sha256:" + hexOf('A')}, provenance.ErrInvalidImageRef},
		{"other digest than asked", "r.example/a@" + idx, fakeIndex{digest: "sha256:" + hexOf('c')}, provenance.ErrInvalidImageRef},
		{"platform digest bad", "r.example/a:1", fakeIndex{digest: idx, platforms: map[string]string{"linux/amd64": "sha256:zz"}}, provenance.ErrInvalidImageRef},
		{"platform is the index", "r.example/a:1", fakeIndex{digest: idx, platforms: map[string]string{"linux/amd64": idx}}, provenance.ErrInvalidImageRef},
		{"platform with query", "r.example/a:1", fakeIndex{digest: idx, platforms: map[string]string{"linux/amd64&x=y": "sha256:" + hexOf('b')}}, provenance.ErrInvalidImageRef},
		{"platform one part", "r.example/a:1", fakeIndex{digest: idx, platforms: map[string]string{"linux": "sha256:" + hexOf('b')}}, provenance.ErrInvalidImageRef},
		{"platform four parts", "r.example/a:1", fakeIndex{digest: idx, platforms: map[string]string{"linux/arm/v7/x": "sha256:" + hexOf('b')}}, provenance.ErrInvalidImageRef},
		{"too many platforms", "r.example/a:1", fakeIndex{digest: idx, platforms: many}, provenance.ErrTooLarge},
		{"resolver error", "r.example/a:1", fakeIndex{err: errBoom}, errBoom},
		{"bad reference", "r.example/A B", fakeIndex{digest: idx}, provenance.ErrInvalidImageRef},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := provenance.ImageSubjects(ctx, tc.ref, tc.res); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := provenance.ImageSubjects(ctx, "r.example/a:1", nil); !errors.Is(err, provenance.ErrInvalidImageRef) {
		t.Errorf("nil resolver: %v", err)
	}
}

// oci.Resolver reads the index within oci's bounds.
func TestImageSubjectsIndexBounded(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.NewRegistry(t)
	x := reg.PushRandomIndex(t, "k8s/big", "linux/amd64", "linux/arm64", "linux/s390x")
	if _, err := provenance.ImageSubjects(ctx, x.Ref, oci.NewResolver(oci.WithInsecure(), oci.WithMaxIndexEntries(2))); !errors.Is(err, oci.ErrTooMany) {
		t.Errorf("too many entries: %v", err)
	}
	if _, err := provenance.ImageSubjects(ctx, x.Ref, oci.NewResolver(oci.WithInsecure(), oci.WithMaxBytes(100))); !errors.Is(err, oci.ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
}
