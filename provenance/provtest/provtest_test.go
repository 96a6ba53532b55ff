package provtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	stdtime "time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/provtest"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); r.fatal = true }
func (r *recorder) Fatal(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)); r.fatal = true }
func (r *recorder) failed() string                    { return strings.Join(r.errors, "\n") }

func statement(t *testing.T, clock func() stdtime.Time, invocation string, target string) []byte {
	t.Helper()
	rec := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/b@v1"}, "https://example.com/t@v1",
		provenance.WithClock(clock), provenance.WithInvocationID(invocation))
	rec.Start()
	if err := rec.SetExternalParameter("target", target); err != nil {
		t.Fatal(err)
	}
	if err := rec.SetExternalParameter("matrix", map[string]any{"os": "linux", "jobs": 4}); err != nil {
		t.Fatal(err)
	}
	if err := rec.AddMaterial(intoto.ResourceDescriptor{URI: "git+https://github.com/org/app@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": strings.Repeat("a", 40)}}); err != nil {
		t.Fatal(err)
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: "app.tar.gz", Digest: intoto.DigestSet{"sha256": strings.Repeat("b", 64)}}); err != nil {
		t.Fatal(err)
	}
	rec.Finish()
	b, err := rec.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClock(t *testing.T) {
	c := provtest.Clock()
	a, b := c(), c()
	if !a.Equal(provtest.Epoch) || b.Sub(a) != stdtime.Second {
		t.Fatalf("clock gave %v then %v", a, b)
	}
}

func TestAssertionsPassAndFail(t *testing.T) {
	st := provtest.Parse(t, statement(t, provtest.Clock(), "run-1", "release"))

	ok := &recorder{TB: t}
	provtest.HasSubject(ok, st, "app.tar.gz", intoto.DigestSet{"sha256": strings.Repeat("b", 64)})
	provtest.HasSubject(ok, st, "app.tar.gz", nil)
	provtest.HasMaterial(ok, st, "git+https://github.com/org/app@refs/heads/main", nil)
	provtest.HasMaterial(ok, st, "git+https://github.com/org/app@refs/heads/main", intoto.DigestSet{"gitCommit": strings.Repeat("a", 40)})
	provtest.ParameterEquals(ok, st, "target", "release")
	provtest.ParameterEquals(ok, st, "matrix.jobs", 4)
	provtest.ParameterEquals(ok, st, "matrix", map[string]any{"jobs": 4, "os": "linux"})
	if len(ok.errors) != 0 {
		t.Fatalf("assertions failed on a matching statement:\n%s", ok.failed())
	}

	cases := map[string]func(tb testing.TB){
		"subject name": func(tb testing.TB) { provtest.HasSubject(tb, st, "other.tar.gz", nil) },
		"subject digest": func(tb testing.TB) {
			provtest.HasSubject(tb, st, "app.tar.gz", intoto.DigestSet{"sha256": strings.Repeat("c", 64)})
		},
		"material uri": func(tb testing.TB) { provtest.HasMaterial(tb, st, "git+https://github.com/org/app", nil) },
		"material digest": func(tb testing.TB) {
			provtest.HasMaterial(tb, st, "git+https://github.com/org/app@refs/heads/main", intoto.DigestSet{"gitCommit": strings.Repeat("f", 40)})
		},
		"parameter value":  func(tb testing.TB) { provtest.ParameterEquals(tb, st, "target", "debug") },
		"parameter number": func(tb testing.TB) { provtest.ParameterEquals(tb, st, "matrix.jobs", 5) },
		"parameter absent": func(tb testing.TB) { provtest.ParameterEquals(tb, st, "matrix.arch", "amd64") },
	}
	for name, f := range cases {
		r := &recorder{TB: t}
		f(r)
		if len(r.errors) != 1 {
			t.Errorf("%s: want one failure, got %d", name, len(r.errors))
		}
	}
	// A failure lists what the statement does hold.
	r := &recorder{TB: t}
	provtest.HasSubject(r, st, "other.tar.gz", nil)
	if !strings.Contains(r.failed(), "app.tar.gz") {
		t.Errorf("failure message does not list the subjects: %s", r.failed())
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prov.golden.json")
	first := statement(t, provtest.Clock(), "run-1", "release")
	t.Setenv(provtest.UpdateEnv, "1")
	provtest.Golden(t, first, path)
	t.Setenv(provtest.UpdateEnv, "")

	// Another run: other times, another invocation ID: still equal.
	later := func() stdtime.Time { return stdtime.Now() }
	r := &recorder{TB: t}
	provtest.Golden(r, statement(t, later, "run-2", "release"), path)
	if len(r.errors) != 0 {
		t.Fatalf("golden differs on timestamps/invocation only:\n%s", r.failed())
	}
	golden, _ := os.ReadFile(path)
	if !strings.Contains(string(golden), `"<time>"`) || !strings.Contains(string(golden), `"<invocation-id>"`) {
		t.Fatalf("golden not normalized:\n%s", golden)
	}
	// A real change fails, with a diff naming it.
	r = &recorder{TB: t}
	provtest.Golden(r, statement(t, later, "run-3", "debug"), path)
	if len(r.errors) != 1 || !strings.Contains(r.failed(), `"target": "debug"`) || strings.Count(r.failed(), "\n+ ") != 1 {
		t.Fatalf("changed parameter not reported as a diff:\n%s", r.failed())
	}
	// Ignored paths.
	r = &recorder{TB: t}
	provtest.Golden(r, statement(t, later, "run-3", "debug"), path, "predicate.buildDefinition.externalParameters.target")
	if len(r.errors) != 1 {
		t.Fatalf("ignoring a path must still compare the golden (which has the real value): %d", len(r.errors))
	}
	// Missing golden.
	r = &recorder{TB: t}
	provtest.Golden(r, first, filepath.Join(t.TempDir(), "missing.json"))
	if !r.fatal || !strings.Contains(r.failed(), provtest.UpdateEnv) {
		t.Fatalf("missing golden: %s", r.failed())
	}
}
