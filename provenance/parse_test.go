package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/internal/strictjson"
	"github.com/slsakit/slsakit/intoto"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCosignQuirk(t *testing.T) {
	data := readTestdata(t, "cosign-v2.6.5-slsaprovenance1.json")
	st, err := Parse(data)
	must(t, err)
	if st.Type != intoto.StatementTypeV01 || st.PredicateType != PredicateSLSAProvenanceV1 {
		t.Fatalf("%+v", st)
	}
	p := st.Provenance
	if p.InvocationID != "https://example.com/runs/7" || p.BuilderID != "https://example.com/builders/ci@v1" || p.SLSAVersion != "v1" {
		t.Fatalf("%+v", p)
	}
	if len(st.Normalized) != 2 || !strings.Contains(st.Normalized[0], "v0.1") || !strings.Contains(st.Normalized[1], "invocationID") {
		t.Fatalf("normalized %q", st.Normalized)
	}
	if got := p.FinishedOn.Sub(p.StartedOn); got != 5*time.Minute {
		t.Errorf("duration %v", got)
	}
	if sub, ok := st.Subject("localhost:5000/app"); !ok || sub.Digest[intoto.AlgSHA256] == "" {
		t.Error("Subject lookup failed")
	}
	if _, ok := st.Subject("other"); ok {
		t.Error("Subject found a missing name")
	}
	// The strict path refuses both liberties.
	if _, err := Parse(data, WithStrictV1()); err == nil {
		t.Fatal("strict mode accepted a v0.1 statement with invocationID")
	}
	v1 := bytes.Replace(data, []byte(intoto.StatementTypeV01), []byte(intoto.StatementTypeV1), 1)
	if _, err := Parse(v1, WithStrictV1()); !errors.Is(err, ErrMalformedStatement) {
		t.Fatalf("strict mode and invocationID: %v", err)
	}
	// Both spellings at once are ambiguous.
	both := bytes.Replace(data, []byte(`"invocationID":"https://example.com/runs/7"`), []byte(`"invocationID":"a","invocationId":"b"`), 1)
	if _, err := Parse(both); !errors.Is(err, ErrMalformedStatement) {
		t.Fatalf("both spellings: %v", err)
	}
}

func TestParseV02(t *testing.T) {
	st, err := Parse(readTestdata(t, "slsa-v0.2.json"))
	must(t, err)
	p := st.Provenance
	if p.SLSAVersion != "v0.2" || !strings.HasPrefix(p.BuilderID, "https://github.com/slsa-framework/") || p.BuildType != "https://github.com/slsa-framework/slsa-github-generator/go@v1" {
		t.Fatalf("%+v", p)
	}
	if p.ExternalParameters["parameters"].(map[string]any)["version"] != "v1.0.0" ||
		p.ExternalParameters["configSource"].(map[string]any)["entryPoint"] != ".github/workflows/release.yml" {
		t.Errorf("external %v", p.ExternalParameters)
	}
	if p.InternalParameters["environment"].(map[string]any)["github_run_id"] != "123" || p.InternalParameters["buildConfig"] == nil {
		t.Errorf("internal %v", p.InternalParameters)
	}
	if len(p.ResolvedDependencies) != 2 || p.ResolvedDependencies[0].Digest["sha1"] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("materials %+v", p.ResolvedDependencies)
	}
	if p.InvocationID != "123-1" || p.FinishedOn.Sub(p.StartedOn) != 330500*time.Millisecond {
		t.Errorf("metadata %+v", p)
	}
	if len(st.Normalized) != 2 {
		t.Errorf("normalized %q", st.Normalized)
	}
	if len(st.SubjectsMatching(intoto.DigestSet{intoto.AlgSHA256: "8d2b5a1c7e4f6a9b0c3d2e1f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"})) != 1 ||
		len(st.SubjectsMatching(intoto.DigestSet{intoto.AlgSHA256: hexOf('0', 64)})) != 0 {
		t.Error("SubjectsMatching")
	}
	if _, err := Parse(readTestdata(t, "slsa-v0.2.json"), WithStrictV1()); err == nil {
		t.Fatal("strict mode accepted v0.2")
	}
}

func TestParseOtherPredicates(t *testing.T) {
	doc := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexOf('a', 64) + `"}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}`
	st, err := Parse([]byte(doc))
	must(t, err)
	if st.Provenance != nil || string(st.Predicate) != `{"spdxVersion":"SPDX-2.3"}` {
		t.Fatalf("%+v", st)
	}
	if _, err := Parse([]byte(doc), WithRequireProvenance()); !errors.Is(err, ErrUnsupportedPredicate) {
		t.Fatalf("require provenance: %v", err)
	}
	if _, err := Parse([]byte(doc), WithStrictV1()); err != nil {
		t.Fatalf("strict, other predicate: %v", err)
	}
}

// TestParseTamper flips the golden statement in the ways an attacker or a
// broken producer would and checks each is rejected with the right error.
func TestParseTamper(t *testing.T) {
	golden := string(readTestdata(t, "statement.golden.json"))
	if _, err := Parse([]byte(golden)); err != nil {
		t.Fatal(err)
	}
	h1 := hexOf('1', 64)
	cases := []struct {
		name string
		doc  string
		err  error
	}{
		{"duplicate key", strings.Replace(golden, `"_type":"https://in-toto.io/Statement/v1"`, `"_type":"https://in-toto.io/Statement/v1","_type":"https://in-toto.io/Statement/v1"`, 1), strictjson.ErrDuplicateKey},
		{"duplicate nested key", strings.Replace(golden, `"sha256":"`+h1+`"`, `"sha256":"`+h1+`","sha256":"`+hexOf('9', 64)+`"`, 1), strictjson.ErrDuplicateKey},
		{"truncated", golden[:len(golden)/2], ErrMalformedStatement},
		{"trailing data", golden + "{}", ErrMalformedStatement},
		{"not an object", `[1,2]`, ErrMalformedStatement},
		{"unknown type", strings.Replace(golden, "Statement/v1", "Statement/v2", 1), ErrUnsupportedType},
		{"missing type", strings.Replace(golden, `"_type"`, `"_TYPE"`, 1), ErrMalformedStatement},
		{"no subjects", replaceSubjects(golden, `[]`), ErrMalformedStatement},
		{"missing subjects", strings.Replace(golden, `"subject"`, `"subjects"`, 1), ErrMalformedStatement},
		{"subject without digest", replaceSubjects(golden, `[{"name":"a"}]`), ErrMalformedStatement},
		{"subject empty digest", replaceSubjects(golden, `[{"name":"a","digest":{}}]`), ErrMalformedStatement},
		{"bad hex", strings.Replace(golden, h1, hexOf('g', 64), 1), intoto.ErrInvalidDigest},
		{"upper hex", strings.Replace(golden, h1, strings.ToUpper(hexOf('a', 64)), 1), intoto.ErrInvalidDigest},
		{"short digest", strings.Replace(golden, h1, hexOf('1', 62), 1), intoto.ErrInvalidDigest},
		{"digest not string", strings.Replace(golden, `"`+h1+`"`, `1`, 1), ErrMalformedStatement},
		{"bad material digest", strings.Replace(golden, hexOf('b', 64), hexOf('b', 10), 1), intoto.ErrInvalidDigest},
		{"old slsa", strings.Replace(golden, "slsa.dev/provenance/v1", "slsa.dev/provenance/v0.1", 1), ErrUnsupportedPredicate},
		{"no predicate type", strings.Replace(golden, `"predicateType"`, `"predicate_type"`, 1), ErrMalformedStatement},
		{"no predicate", strings.Replace(golden, `"predicate":`, `"predicatx":`, 1), ErrMalformedStatement},
		{"no builder id", strings.Replace(golden, `"id":"https://example.com/builders/ci@v1"`, `"idx":"x"`, 1), ErrMalformedStatement},
		{"no build type", strings.Replace(golden, `"buildType"`, `"buildtype"`, 1), ErrMalformedStatement},
		{"external params not object", strings.Replace(golden, `"externalParameters":{`, `"externalParameters":[{`, 1), ErrMalformedStatement},
		{"bad time", strings.Replace(golden, `"2026-01-02T03:07:05Z"`, `"yesterday"`, 1), ErrMalformedStatement},
		{"invalid utf8", strings.Replace(golden, "build.log", "build\xff.log", 1), ErrMalformedStatement},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.doc == golden {
				t.Fatal("tamper did not change the document")
			}
			_, err := Parse([]byte(c.doc))
			if !errors.Is(err, c.err) {
				t.Fatalf("got %v, want %v", err, c.err)
			}
		})
	}
	// Size limit, default and explicit.
	if _, err := Parse([]byte(golden), WithMaxSize(int64(len(golden)-1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	big := make([]byte, DefaultMaxStatementSize+1)
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("default size limit: %v", err)
	}
}

// TestParseAmbiguousKeys: keys that readers who match names loosely
// (encoding/json by case, protojson by proto and JSON name) take for one
// field while Parse reads only the exact spelling. Each document was
// accepted by Parse at main 0a75f45, which read "subject" and ignored the
// attacker's "Subject" that an encoding/json struct reader picks instead.
func TestParseAmbiguousKeys(t *testing.T) {
	golden := string(readTestdata(t, "statement.golden.json"))
	evil := `[{"name":"dist/evil","digest":{"sha256":"` + hexOf('e', 64) + `"}}]`
	cases := []struct{ name, doc, path string }{
		{"subject and Subject", strings.Replace(golden, `"subject":`, `"Subject":`+evil+`,"subject":`, 1), "subject"},
		{"SUBJECT after subject", strings.Replace(golden, `"predicateType":`, `"SUBJECT":`+evil+`,"predicateType":`, 1), "SUBJECT"},
		{"predicateType and predicate_type", strings.Replace(golden, `"predicate":`, `"predicate_type":"https://example.com/evil","predicate":`, 1), "predicate_type"},
		{"_type and type", strings.Replace(golden, `"subject":`, `"type":"https://in-toto.io/Statement/v0.1","subject":`, 1), "type"},
		{"nested builder ID", strings.Replace(golden, `"runDetails":{"builder":{`, `"runDetails":{"builder":{"ID":"https://evil.example.com",`, 1), "predicate.runDetails.builder.id"},
		{"long s in a digest algorithm", strings.Replace(golden, `"sha512":`, "\"\u017fha256\":\""+hexOf('e', 64)+"\",\"sha512\":", 1), "subject[0].digest[\"\u017fha256\"]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.doc == golden {
				t.Fatal("tamper did not change the document")
			}
			_, err := Parse([]byte(c.doc))
			if !errors.Is(err, ErrMalformedStatement) || !errors.Is(err, strictjson.ErrAmbiguousKey) {
				t.Fatalf("got %v, want ErrMalformedStatement and strictjson.ErrAmbiguousKey", err)
			}
			var e *strictjson.Error
			if errors.As(err, &e) && c.path != "" && e.Path != c.path {
				t.Errorf("path %q, want %q", e.Path, c.path)
			}
		})
	}
}

func replaceSubjects(doc, with string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		panic(err)
	}
	i := strings.Index(doc, `"subject":`)
	j := i + len(`"subject":`) + len(m["subject"])
	return doc[:i] + `"subject":` + with + doc[j:]
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"statement.golden.json", "cosign-v2.6.5-slsaprovenance1.json", "slsa-v0.2.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + hexOf('a', 64) + `"}}],"predicateType":"x","predicate":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever is accepted satisfies the documented invariants.
		if len(st.Subjects) == 0 || st.PredicateType == "" || len(st.Predicate) == 0 {
			t.Fatalf("accepted incomplete statement %+v", st)
		}
		for _, s := range st.Subjects {
			if err := s.Digest.Validate(); err != nil {
				t.Fatalf("accepted bad subject digest: %v", err)
			}
		}
		if st.Type != intoto.StatementTypeV1 && st.Type != intoto.StatementTypeV01 {
			t.Fatalf("accepted type %q", st.Type)
		}
		if (st.PredicateType == PredicateSLSAProvenanceV1 || st.PredicateType == PredicateSLSAProvenanceV02) &&
			(st.Provenance == nil || st.Provenance.BuilderID == "" || st.Provenance.BuildType == "") {
			t.Fatalf("provenance without builder or build type: %+v", st.Provenance)
		}
		if err := strictjson.Check(data); err != nil {
			t.Fatalf("accepted non-strict JSON: %v", err)
		}
	})
}
