package provenance

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

const (
	testBuilderID = "https://example.com/builders/ci@v1"
	testBuildType = "https://example.com/buildtypes/go@v1"
)

func hexOf(c byte, n int) string { return strings.Repeat(string(c), n) }

func fixedClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(90 * time.Second)
		return t
	}
}

func newTestRecorder(t testing.TB) *Recorder {
	t.Helper()
	r := NewRecorder(Builder{
		ID:           testBuilderID,
		Version:      map[string]string{"ci": "1.2.3", "go": "go1.26"},
		Dependencies: []intoto.ResourceDescriptor{{URI: "pkg:golang/example.com/tool@v1.0.0", Digest: intoto.DigestSet{intoto.AlgDirHash: hexOf('d', 64)}}},
	}, testBuildType, WithClock(fixedClock()), WithInvocationID("run-42"))
	r.Start()
	must(t, r.SetExternalParameter("target", "./cmd/app"))
	must(t, r.SetExternalParameter("flags", []string{"-trimpath", "-ldflags=-s"}))
	must(t, r.SetInternalParameter("env", map[string]any{"GOOS": "linux", "CGO_ENABLED": 0}))
	must(t, r.AddMaterial(
		intoto.ResourceDescriptor{URI: "git+https://github.com/example/app@refs/heads/main", Digest: intoto.DigestSet{intoto.AlgGitCommit: hexOf('a', 40)}, Annotations: map[string]any{"dirty": false}},
		intoto.ResourceDescriptor{URI: "pkg:golang/github.com/example/lib@v1.2.3", Digest: intoto.DigestSet{intoto.AlgDirHash: hexOf('b', 64)}},
	))
	must(t, r.AddByproduct(intoto.ResourceDescriptor{Name: "build.log", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('c', 64)}, MediaType: "text/plain"}))
	must(t, r.AddSubject(
		intoto.ResourceDescriptor{Name: "dist/app-linux-amd64", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('1', 64)}},
		intoto.ResourceDescriptor{Name: "dist/app-darwin-arm64", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('2', 64), intoto.AlgSHA512: hexOf('3', 128)}},
	))
	r.Finish()
	return r
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot  %s\nwant %s", name, got, want)
	}
}

func TestRecorderGolden(t *testing.T) {
	b1, err := newTestRecorder(t).MarshalStatement()
	must(t, err)
	golden(t, "statement.golden.json", b1)
	// Same inputs, same bytes, across recorders and repeated calls.
	r := newTestRecorder(t)
	for range 5 {
		b2, err := r.MarshalStatement()
		must(t, err)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("non-deterministic output:\n%s\n%s", b1, b2)
		}
	}
	// The output reads back through the strict v1 path.
	st, err := Parse(b1, WithStrictV1())
	must(t, err)
	p := st.Provenance
	if p == nil || p.BuilderID != testBuilderID || p.BuildType != testBuildType || p.InvocationID != "run-42" {
		t.Fatalf("read back %+v", p)
	}
	if !p.StartedOn.Equal(time.Date(2026, 1, 2, 3, 5, 35, 0, time.UTC)) || !p.FinishedOn.Equal(time.Date(2026, 1, 2, 3, 7, 5, 0, time.UTC)) {
		t.Errorf("times %v %v", p.StartedOn, p.FinishedOn)
	}
	if len(st.Normalized) != 0 {
		t.Errorf("canonical output normalized: %v", st.Normalized)
	}
	if st.Subjects[0].Name != "dist/app-darwin-arm64" || st.Subjects[1].Name != "dist/app-linux-amd64" {
		t.Errorf("subjects not sorted: %+v", st.Subjects)
	}
	if len(p.ResolvedDependencies) != 2 || p.ResolvedDependencies[0].URI != "git+https://github.com/example/app@refs/heads/main" {
		t.Errorf("materials: %+v", p.ResolvedDependencies)
	}
	if p.ExternalParameters["target"] != "./cmd/app" || p.InternalParameters["env"].(map[string]any)["CGO_ENABLED"] != 0.0 {
		t.Errorf("parameters: %v %v", p.ExternalParameters, p.InternalParameters)
	}
	if p.BuilderVersion["ci"] != "1.2.3" || len(p.BuilderDependencies) != 1 || len(p.Byproducts) != 1 {
		t.Errorf("builder/byproducts: %+v", p)
	}
}

func TestRecorderOrderIndependent(t *testing.T) {
	subs := make([]intoto.ResourceDescriptor, 20)
	mats := make([]intoto.ResourceDescriptor, 20)
	for i := range subs {
		subs[i] = intoto.ResourceDescriptor{Name: fmt.Sprintf("file-%02d", i), Digest: intoto.DigestSet{intoto.AlgSHA256: fmt.Sprintf("%064x", i)}}
		mats[i] = intoto.ResourceDescriptor{URI: fmt.Sprintf("https://example.com/m/%d", i%5), Name: fmt.Sprintf("m%d", i), Digest: intoto.DigestSet{intoto.AlgSHA256: fmt.Sprintf("%064x", i+100)}}
	}
	build := func(reverse bool) []byte {
		r := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
		must(t, r.SetExternalParameter("x", 1))
		for i := range subs {
			j := i
			if reverse {
				j = len(subs) - 1 - i
			}
			must(t, r.AddSubject(subs[j]))
			must(t, r.AddMaterial(mats[j], mats[j])) // exact duplicates collapse
		}
		b, err := r.MarshalStatement()
		must(t, err)
		return b
	}
	a, b := build(false), build(true)
	if !bytes.Equal(a, b) {
		t.Fatalf("order changed output:\n%s\n%s", a, b)
	}
	st, err := Parse(a)
	must(t, err)
	if n := len(st.Provenance.ResolvedDependencies); n != 20 {
		t.Fatalf("%d materials after dedupe, want 20", n)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	const workers, per = 16, 25
	r := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
	seq := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				n := w*per + i
				s := intoto.ResourceDescriptor{Name: fmt.Sprintf("s%04d", n), Digest: intoto.DigestSet{intoto.AlgSHA256: fmt.Sprintf("%064x", n)}}
				m := intoto.ResourceDescriptor{URI: fmt.Sprintf("https://example.com/%04d", n%37), Digest: intoto.DigestSet{intoto.AlgSHA256: fmt.Sprintf("%064x", n%37)}}
				if err := r.AddSubject(s); err != nil {
					t.Error(err)
				}
				if err := r.AddMaterial(m); err != nil {
					t.Error(err)
				}
				if err := r.SetExternalParameter(fmt.Sprintf("p%d", w), i); err != nil {
					t.Error(err)
				}
				if _, err := r.statement(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for n := range workers * per {
		must(t, seq.AddSubject(intoto.ResourceDescriptor{Name: fmt.Sprintf("s%04d", n), Digest: intoto.DigestSet{intoto.AlgSHA256: fmt.Sprintf("%064x", n)}}))
		must(t, seq.AddMaterial(intoto.ResourceDescriptor{URI: fmt.Sprintf("https://example.com/%04d", n%37), Digest: intoto.DigestSet{intoto.AlgSHA256: fmt.Sprintf("%064x", n%37)}}))
	}
	for w := range workers {
		must(t, seq.SetExternalParameter(fmt.Sprintf("p%d", w), per-1))
	}
	a, err := r.MarshalStatement()
	must(t, err)
	b, err := seq.MarshalStatement()
	must(t, err)
	if !bytes.Equal(a, b) {
		t.Fatal("concurrent and sequential recorders differ")
	}
	st, err := Parse(a)
	must(t, err)
	if len(st.Subjects) != workers*per || len(st.Provenance.ResolvedDependencies) != 37 {
		t.Fatalf("%d subjects, %d materials", len(st.Subjects), len(st.Provenance.ResolvedDependencies))
	}
}

func TestAddSubjectConflictsAndMerge(t *testing.T) {
	r := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
	must(t, r.SetExternalParameter("x", true))
	a := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}}
	must(t, r.AddSubject(a))
	must(t, r.AddSubject(a)) // identical: no-op
	// Same name, other digest: typed conflict.
	err := r.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('b', 64)}})
	var ce *SubjectConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrSubjectConflict) || ce.Name != "app" {
		t.Fatalf("got %v", err)
	}
	// Disjoint algorithms cannot be proven equal: conflict.
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{intoto.AlgSHA512: hexOf('c', 128)}}); !errors.Is(err, ErrSubjectConflict) {
		t.Fatalf("disjoint digests: %v", err)
	}
	// Same name and digest but another media type: conflict.
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: a.Digest, MediaType: "text/plain"}); !errors.Is(err, ErrSubjectConflict) {
		t.Fatalf("media type: %v", err)
	}
	// Conflict inside one call adds nothing (all or nothing).
	err = r.AddSubject(intoto.ResourceDescriptor{Name: "new", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('e', 64)}}, intoto.ResourceDescriptor{Name: "new", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('f', 64)}})
	if !errors.Is(err, ErrSubjectConflict) {
		t.Fatalf("in-call conflict: %v", err)
	}
	// Agreeing on sha256 and adding sha512 merges.
	must(t, r.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64), intoto.AlgSHA512: hexOf('d', 128)}}))
	st, err := r.statement()
	must(t, err)
	if len(st.Subject) != 1 || st.Subject[0].Digest[intoto.AlgSHA512] != hexOf('d', 128) || st.Subject[0].Digest[intoto.AlgSHA256] != hexOf('a', 64) {
		t.Fatalf("subjects: %v", st.Subject)
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Digest: a.Digest}); !errors.Is(err, intoto.ErrInvalidDescriptor) {
		t.Errorf("nameless subject: %v", err)
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: "x"}); !errors.Is(err, intoto.ErrInvalidDescriptor) {
		t.Errorf("digestless subject: %v", err)
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: "x", Digest: intoto.DigestSet{intoto.AlgSHA256: "ABC"}}); !errors.Is(err, intoto.ErrInvalidDigest) {
		t.Errorf("bad digest: %v", err)
	}
}

func TestRecorderInvalidInputs(t *testing.T) {
	r := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
	for _, v := range []any{make(chan int), math.NaN(), map[string]any{"x": math.Inf(1)}, []any{func() {}}, "bad \xff utf8", map[string]any{"\xff": 1}} {
		if err := r.SetExternalParameter("bad", v); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%T: got %v", v, err)
		}
		if err := r.SetInternalParameter("bad", v); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%T: got %v", v, err)
		}
	}
	type opts struct {
		Tags []string `json:"tags"`
		N    int      `json:"n"`
	}
	must(t, r.SetExternalParameter("opts", opts{Tags: []string{"a"}, N: 2})) // via encoding/json
	if err := r.AddMaterial(intoto.ResourceDescriptor{}); !errors.Is(err, intoto.ErrInvalidDescriptor) {
		t.Errorf("empty material: %v", err)
	}
	if err := r.AddMaterial(intoto.ResourceDescriptor{URI: "x", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 63)}}); !errors.Is(err, intoto.ErrInvalidDigest) {
		t.Errorf("short digest: %v", err)
	}
	if err := r.AddByproduct(intoto.ResourceDescriptor{Name: "x", Annotations: map[string]any{"c": make(chan int)}}); !errors.Is(err, intoto.ErrInvalidDescriptor) {
		t.Errorf("bad annotation: %v", err)
	}
	// No subject yet: in-toto's Validate refuses.
	if _, err := r.statement(); !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("no subject: %v", err)
	}
	r2 := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
	must(t, r2.AddSubject(intoto.ResourceDescriptor{Name: "a", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}}))
	if _, err := r2.statement(); !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("no external parameters: %v", err)
	}
	r3 := NewRecorder(Builder{}, testBuildType)
	must(t, r3.SetExternalParameter("x", 1))
	must(t, r3.AddSubject(intoto.ResourceDescriptor{Name: "a", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}}))
	if _, err := r3.MarshalStatement(); !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("no builder id: %v", err)
	}
	r4 := NewRecorder(Builder{ID: testBuilderID, Dependencies: []intoto.ResourceDescriptor{{Name: "tool", Digest: intoto.DigestSet{intoto.AlgSHA256: "bad"}}}}, testBuildType)
	must(t, r4.SetExternalParameter("x", 1))
	must(t, r4.AddSubject(intoto.ResourceDescriptor{Name: "a", Digest: intoto.DigestSet{intoto.AlgSHA256: hexOf('a', 64)}}))
	if _, err := r4.statement(); !errors.Is(err, intoto.ErrInvalidDigest) {
		t.Errorf("bad builder dependency: %v", err)
	}
	// Parameters are copied at set time.
	m := map[string]any{"k": "v1"}
	must(t, r2.SetExternalParameter("m", m))
	m["k"] = "v2"
	st, err := r2.statement()
	must(t, err)
	if got := st.Predicate.AsMap()["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)["m"].(map[string]any)["k"]; got != "v1" {
		t.Errorf("parameter aliased caller map: %v", got)
	}
}

func TestAddSubjectFileReaderDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("abc"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "b.txt"), []byte(""), 0o644))
	r := NewRecorder(Builder{ID: testBuilderID}, testBuildType)
	must(t, r.SetExternalParameter("x", 1))
	must(t, r.AddSubjectFile(ctx, filepath.Join(dir, "a.txt"), WithSHA512()))
	must(t, r.AddSubjectReader(ctx, "stream", strings.NewReader("abc")))
	must(t, r.AddSubjectDir(ctx, dir))
	st, err := r.statement()
	must(t, err)
	var names []string
	for _, s := range st.Subject {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "a.txt,stream,sub/b.txt" {
		t.Fatalf("subjects %s", got)
	}
	if st.Subject[0].Digest[intoto.AlgSHA512] != sha512abc || st.Subject[0].Digest[intoto.AlgSHA256] != sha256abc {
		t.Errorf("a.txt digest %v", st.Subject[0].Digest)
	}
	if st.Subject[2].Digest[intoto.AlgSHA256] != sha256empty {
		t.Errorf("b.txt digest %v", st.Subject[2].Digest)
	}
	if err := r.AddSubjectFile(ctx, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.AddSubjectReader(cctx, "c", strings.NewReader("abc")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := r.AddSubjectDir(cctx, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dir: %v", err)
	}
}

// TestRecorderStatementIsTheReadView: a Recorder's Statement is what Parse
// reads from the bytes it signs, so a builder's own checks and a
// verifier's see one thing.
func TestRecorderStatementIsTheReadView(t *testing.T) {
	r := newTestRecorder(t)
	st, err := r.Statement()
	must(t, err)
	b, err := r.MarshalStatement()
	must(t, err)
	want, err := Parse(b)
	must(t, err)
	if !reflect.DeepEqual(st, want) || st.Provenance == nil || st.Provenance.BuilderID == "" || len(st.Subjects) == 0 {
		t.Fatalf("Statement() = %+v, Parse(MarshalStatement()) = %+v", st, want)
	}
	if _, err := NewRecorder(Builder{ID: "https://b"}, "https://t").Statement(); !errors.Is(err, ErrInvalidStatement) {
		t.Fatalf("empty recorder: %v", err)
	}
}
