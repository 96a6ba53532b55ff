// Package provtest helps builders unit-test the provenance they record:
// a fixed clock, golden-file comparison that ignores what changes from run
// to run (timestamps, invocation IDs), and assertions that explain what
// the statement holds when they fail.
//
//	rec := provenance.NewRecorder(builder, buildType, provenance.WithClock(provtest.Clock()))
//	... run the builder under test ...
//	st := provtest.Parse(t, stmtJSON)
//	provtest.HasSubject(t, st, "app.tar.gz", digest)
//	provtest.HasMaterial(t, st, "git+https://github.com/org/app@refs/heads/main", nil)
//	provtest.Golden(t, stmtJSON, "testdata/provenance.golden.json")
package provtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
)

// Epoch is the time Clock starts at: 2026-01-01T00:00:00Z.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock returns a deterministic clock for provenance.WithClock: it returns
// Epoch, then Epoch+1s, Epoch+2s, … on successive calls, so startedOn and
// finishedOn are stable and ordered. It is safe for concurrent use.
func Clock() func() time.Time {
	var mu sync.Mutex
	next := Epoch
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := next
		next = next.Add(time.Second)
		return t
	}
}

// Parse parses a statement or fails the test.
func Parse(t testing.TB, statement []byte) *provenance.Statement {
	t.Helper()
	st, err := provenance.Parse(statement)
	if err != nil {
		t.Fatalf("provtest: statement does not parse: %v", err)
	}
	return st
}

// Normalize returns the statement JSON, indented, with the fields that
// differ between runs replaced by placeholders: startedOn and finishedOn
// by "<time>", invocationId by "<invocation-id>", and any extra JSON paths
// given (dotted, e.g. "predicate.runDetails.metadata.foo") by "<ignored>".
func Normalize(statement []byte, extra ...string) ([]byte, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(statement))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("provtest: %w", err)
	}
	meta := []string{"predicate", "runDetails", "metadata"}
	replace(doc, append(meta, "startedOn"), "<time>")
	replace(doc, append(meta, "finishedOn"), "<time>")
	replace(doc, append(meta, "invocationId"), "<invocation-id>")
	for _, p := range extra {
		replace(doc, strings.Split(p, "."), "<ignored>")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func replace(doc map[string]any, path []string, with string) {
	cur := doc
	for i, k := range path {
		v, ok := cur[k]
		if !ok {
			return
		}
		if i == len(path)-1 {
			cur[k] = with
			return
		}
		if cur, ok = v.(map[string]any); !ok {
			return
		}
	}
}

// UpdateEnv is the environment variable that makes Golden rewrite golden
// files instead of comparing: SLSAKIT_UPDATE_GOLDEN=1 go test ./...
const UpdateEnv = "SLSAKIT_UPDATE_GOLDEN"

// Golden compares the normalized statement with the golden file at path,
// and fails with a line diff when they differ. With UpdateEnv set it
// writes the file instead.
func Golden(t testing.TB, statement []byte, path string, ignore ...string) {
	t.Helper()
	got, err := Normalize(statement, ignore...)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(UpdateEnv) != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("provtest: %v (run with %s=1 to create it)", err, UpdateEnv)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("provtest: statement differs from %s (run with %s=1 to accept):\n%s", path, UpdateEnv, diff(string(want), string(got)))
	}
}

// diff is a small line diff: the region between the common prefix and
// the common suffix, with two lines of context, at most 20 lines a side.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	j := 0
	for j < len(w)-i && j < len(g)-i && w[len(w)-1-j] == g[len(g)-1-j] {
		j++
	}
	var b strings.Builder
	for k := max(0, i-2); k < i; k++ {
		fmt.Fprintf(&b, "  %s\n", w[k])
	}
	for k := i; k < min(len(w)-j, i+20); k++ {
		fmt.Fprintf(&b, "- %s\n", w[k])
	}
	for k := i; k < min(len(g)-j, i+20); k++ {
		fmt.Fprintf(&b, "+ %s\n", g[k])
	}
	return b.String()
}

// HasSubject asserts a subject with this name whose digest matches digest
// (every algorithm both name agrees); a nil digest checks the name only.
func HasSubject(t testing.TB, st *provenance.Statement, name string, digest intoto.DigestSet) {
	t.Helper()
	for _, s := range st.Subjects {
		if s.Name == name && (digest == nil || s.Digest.Matches(digest)) {
			return
		}
	}
	t.Errorf("provtest: no subject %q with digest %v; subjects:\n%s", name, digest, list(st.Subjects))
}

// HasMaterial asserts a resolved dependency with this URI whose digest
// matches digest; a nil digest requires only that it has some digest.
func HasMaterial(t testing.TB, st *provenance.Statement, uri string, digest intoto.DigestSet) {
	t.Helper()
	if st.Provenance == nil {
		t.Errorf("provtest: predicate %q is not SLSA provenance", st.PredicateType)
		return
	}
	for _, m := range st.Provenance.ResolvedDependencies {
		if m.URI == uri && (digest == nil && len(m.Digest) > 0 || digest != nil && m.Digest.Matches(digest)) {
			return
		}
	}
	t.Errorf("provtest: no material %q with digest %v; materials:\n%s", uri, digest, list(st.Provenance.ResolvedDependencies))
}

// ParameterEquals asserts an external parameter (a dotted path into
// externalParameters) equals want, compared as JSON values.
func ParameterEquals(t testing.TB, st *provenance.Statement, name string, want any) {
	t.Helper()
	if st.Provenance == nil {
		t.Errorf("provtest: predicate %q is not SLSA provenance", st.PredicateType)
		return
	}
	var cur any = st.Provenance.ExternalParameters
	for _, k := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Errorf("provtest: external parameter %q is absent; parameters: %v", name, st.Provenance.ExternalParameters)
			return
		}
		if cur, ok = m[k]; !ok {
			t.Errorf("provtest: external parameter %q is absent; parameters: %v", name, st.Provenance.ExternalParameters)
			return
		}
	}
	if !jsonEqual(cur, want) {
		t.Errorf("provtest: external parameter %q = %v, want %v", name, cur, want)
	}
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

func list(rds []intoto.ResourceDescriptor) string {
	lines := make([]string, 0, len(rds))
	for _, r := range rds {
		id := r.URI
		if id == "" {
			id = r.Name
		}
		lines = append(lines, fmt.Sprintf("  %s %v", id, r.Digest))
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return "  (none)"
	}
	return strings.Join(lines, "\n")
}
