package verify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// The tests in this file are written from the attacker's side of issue
// #11's classes 2 (digest algorithms) and 3 (URIs and names). A case
// named "main: ..." got the wrong answer on main, before intoto's table
// and classifier (it passed, or skipped the rule); "main refused: ..." is
// a correct spelling main did not read; the others are guards that
// already held.

// placeholder is a digest algorithm name the Recorder accepts (unknown
// algorithms are allowed) and that tests replace in the marshaled
// statement with what the Recorder would refuse to write.
const placeholder = "zzplaceholder"

// tamper replaces old with new in stmt, and fails if it does not occur.
func tamper(t *testing.T, stmt []byte, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(stmt), old) {
		t.Fatalf("tamper: %q not in the statement", old)
	}
	return []byte(strings.Replace(string(stmt), old, new, 1))
}

// subjectStatement is a minimal statement with one subject of digest
// {alg: value}, written by hand so that any spelling reaches the verifier.
func subjectStatement(alg, value string) []byte {
	return []byte(fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{%q:%q}}],"predicateType":"https://example.com/p","predicate":{}}`, alg, value))
}

func TestSubjectDigestAlgorithms(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	v := newVerifier(t, verify.WithKeys(verifierOf(t, key)))
	d := digestOf("artifact")["sha256"]
	m5, s1, g40 := strings.Repeat("5", 32), strings.Repeat("1", 40), strings.Repeat("9", 40)
	cases := []struct {
		name     string
		alg, val string // the subject's digest, as the attacker writes it
		want     intoto.DigestSet
		pass     bool
	}{
		{"main: uppercase algorithm on both sides", "SHA256", d, intoto.DigestSet{"SHA256": d}, false},
		{"main: unknown algorithm foo", "foo", d, intoto.DigestSet{"foo": d}, false},
		{"main: crc32", "crc32", "deadbeef", intoto.DigestSet{"crc32": "deadbeef"}, false},
		{"main: sha256 with a trailing blank", "sha256 ", d, intoto.DigestSet{"sha256 ": d}, false},
		{"main: gitTree of SHA-1 length", "gitTree", g40, intoto.DigestSet{"gitTree": g40}, false},
		{"differently cased subject, canonical expectation", "SHA256", d, intoto.DigestSet{"sha256": d}, false},
		{"md5 only", "md5", m5, intoto.DigestSet{"md5": m5}, false},
		{"sha1 only", "sha1", s1, intoto.DigestSet{"sha1": s1}, false},
		{"63-digit expectation", "sha256", d, intoto.DigestSet{"sha256": d[:63]}, false},
		{"sha256 passes", "sha256", d, intoto.DigestSet{"sha256": d}, true},
		{"expectation in uppercase hex is the caller's, normalized", "sha256", d, intoto.DigestSet{"sha256": strings.ToUpper(d)}, true},
		{"gitCommit passes", "gitCommit", g40, intoto.DigestSet{"gitCommit": g40}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := envelope(t, subjectStatement(c.alg, c.val), key)
			res, err := v.VerifyEnvelope(ctx, env, verify.Expectations{SubjectDigest: c.want})
			if c.pass {
				if err != nil {
					t.Fatalf("want pass: %v\n%s", err, res)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed:\n%s", res)
			}
			if !errors.Is(err, verify.ErrSubject) && !errors.Is(err, verify.ErrMalformed) {
				t.Fatalf("err = %v, want ErrSubject or ErrMalformed", err)
			}
		})
	}

	// The same expectations through the engine's artifact digest, and a
	// weak one alongside a strong one is no license to disagree on it.
	sub := subjectStatement("md5", m5)
	sub = tamper(t, sub, `{"md5":"`+m5+`"}`, `{"md5":"`+m5+`","sha256":"`+d+`"}`)
	res, err := v.VerifyEnvelope(ctx, envelope(t, sub, key), verify.Expectations{SubjectDigest: intoto.DigestSet{"sha256": d, "md5": strings.Repeat("6", 32)}})
	if !errors.Is(err, verify.ErrSubject) {
		t.Fatalf("disagreeing md5: %v\n%s", err, res)
	}
}

// TestBundleDigestStrong: a bundle is never verified for a weak or unknown
// expected digest (main asked the bundle verifier for "crc32:..."): no
// authenticator is even asked.
func TestBundleDigestStrong(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	bv := &keyBundles{key: verifierOf(t, key)}
	for _, want := range []intoto.DigestSet{
		{"crc32": "deadbeef"}, {"foo": "x"}, {"md5": strings.Repeat("5", 32)}, {"SHA256": digestOf("a")["sha256"]},
	} {
		alg := ""
		for k := range want {
			alg = k
		}
		env := envelope(t, subjectStatement(alg, want[alg]), key)
		res, err := verify.Verify(ctx, bv, bundled(t, env), verify.Expectations{SubjectDigest: want})
		if !errors.Is(err, verify.ErrSubject) {
			t.Errorf("%v: err = %v\n%s", want, err, res)
		}
	}
	if seen := bv.seen(); len(seen) != 0 {
		t.Fatalf("bundle verifier asked for %v", seen)
	}
}

func TestEngineArtifactDigest(t *testing.T) {
	ctx := context.Background()
	root := genKey(t, sign.ECDSAP256SHA256)
	p, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, root)) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	// main: an artifact known only by an unknown algorithm matched a
	// subject the attacker wrote with it.
	env := envelope(t, subjectStatement("crc32", "deadbeef"), root)
	rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"crc32": "deadbeef"}}, attsOf(env))
	if !errors.Is(err, verify.ErrSubject) {
		t.Fatalf("err = %v\n%s", err, rep)
	}
	if !strings.Contains(rep.String(), "artifact") {
		t.Fatalf("report does not name the artifact check:\n%s", rep)
	}
}

// TestRequireDigestsStrong: requireDigests counts only strong, canonical,
// well-formed digests.
func TestRequireDigestsStrong(t *testing.T) {
	ctx := context.Background()
	root := genKey(t, sign.ECDSAP256SHA256)
	pol := strings.NewReplacer("ROOTKEY", indent(pubPEM(t, root)), "STORAGEKEY", indent(pubPEM(t, genKey(t, sign.Ed25519)))).Replace(basePolicy)
	pol = strings.Replace(pol, "  requireImageDigests: true", "  requireDigests: true", 1)
	p, err := verify.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	d := strings.Repeat("d", 64)
	cases := []struct {
		name     string
		alg, val string // the tool material's only digest
		want     error  // nil: passes
	}{
		{"main: crc32", "crc32", "deadbeef", verify.ErrMaterial},
		{"main: foo", "foo", d, verify.ErrMaterial},
		{"main: gitTree of SHA-1 length", "gitTree", d[:40], verify.ErrMaterial},
		{"main: shake256", "shake256", d, verify.ErrMaterial},
		{"main: SHA256", "SHA256", d, verify.ErrNoAttestation},
		{"main: sha256 with a trailing blank", "sha256 ", d, verify.ErrNoAttestation},
		{"main: Sha-256", "Sha-256", d, verify.ErrNoAttestation},
		{"md5", "md5", d[:32], verify.ErrMaterial},
		{"sha1", "sha1", d[:40], verify.ErrMaterial},
		{"sha256 of 63 digits", "sha256", d[:63], verify.ErrNoAttestation},
		{"sha256 in uppercase", "sha256", strings.ToUpper(d), verify.ErrNoAttestation},
		{"sha256", "sha256", d, nil},
		{"sha3_256", "sha3_256", d, nil},
		{"dirHash", "dirHash", d, nil},
		{"gitCommit", "gitCommit", d[:40], nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stmt := build{materials: []intoto.ResourceDescriptor{
				{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}},
				{URI: "https://example.com/tool.tar.gz", Digest: intoto.DigestSet{placeholder: "x"}},
			}}.statement(t)
			stmt = tamper(t, stmt, `"`+placeholder+`":"x"`, fmt.Sprintf("%q:%q", c.alg, c.val))
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}, attsOf(envelope(t, stmt, root)))
			if c.want == nil {
				if err != nil {
					t.Fatalf("want pass: %v\n%s", err, rep)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v\n%s", err, c.want, rep)
			}
		})
	}
}

// TestRequireImageDigestsSpellings: an image is an image in every spelling
// its specifications allow, and one that cannot be read is refused.
func TestRequireImageDigestsSpellings(t *testing.T) {
	ctx := context.Background()
	root := genKey(t, sign.ECDSAP256SHA256)
	pol := strings.NewReplacer("ROOTKEY", indent(pubPEM(t, root)), "STORAGEKEY", indent(pubPEM(t, genKey(t, sign.Ed25519)))).Replace(basePolicy)
	p, err := verify.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	h := strings.Repeat("b", 64)
	sha := intoto.DigestSet{"sha256": h}
	sha512 := intoto.DigestSet{"sha512": strings.Repeat("b", 128)}
	cases := []struct {
		name   string
		uri    string
		digest intoto.DigestSet
		pass   bool
	}{
		{"main: OCI:// by tag", "OCI://registry.example.com/x:tag", sha512, false},
		{"main: Docker:// by tag", "Docker://registry.example.com/x:tag", sha512, false},
		{"main: DOCKER:// no tag", "DOCKER://golang", nil, false},
		{"main: pkg:DOCKER/ by tag", "pkg:DOCKER/golang@1.25", nil, false},
		{"main: pkg:Docker/ by tag", "pkg:Docker/library/golang@latest", sha512, false},
		{"main: PKG:OCI/", "PKG:OCI/x?repository_url=registry.example.com/x", nil, false},
		{"main: pkg://docker/", "pkg://docker/golang", nil, false},
		{"main: leading blank hides oci://", " oci://registry.example.com/x", sha, false},
		{"main: byte order mark hides oci://", "\ufeffoci://registry.example.com/x", sha, false},
		{"main: oci: without //", "oci:registry.example.com/x", sha, false},
		{"main: uppercase repository", "oci://registry.example.com/X", sha, false},
		{"main: repeated repository_url", "pkg:docker/x@sha256:" + h + "?repository_url=registry.example.com&Repository_Url=evil.example.com", sha, false},
		{"main: purl digest disagrees with the descriptor", "pkg:docker/golang@sha256%3A" + strings.Repeat("e", 64), sha, false},
		{"main: reference digest disagrees", "oci://registry.example.com/x@sha256:" + strings.Repeat("e", 64), sha, false},
		{"main: purl with a subpath", "pkg:docker/golang#x", sha, false},
		{"pkg:oci without a digest", "pkg:oci/x?repository_url=registry.example.com/x", nil, false},
		{"oci:// by tag", "oci://registry.example.com/x:tag", nil, false},
		{"sha512 only", "oci://registry.example.com/x", sha512, false},
		// Pinned images pass, by the descriptor or by the URI.
		{"OCI:// pinned by descriptor", "OCI://Registry.Example.com/x:tag", sha, true},
		{"pkg:DOCKER pinned in the version", "pkg:DOCKER/library%2Fgolang@sha256%3A" + h + "?arch=amd64", nil, true},
		{"main refused: pkg:oci pinned in the version", "pkg:oci/x@sha256:" + h + "?repository_url=registry.example.com/x", nil, true},
		{"docker:// pinned in the reference and the descriptor", "docker://golang@sha256:" + h, sha, true},
		{"not an image: https", "https://example.com/x", nil, true},
		{"not an image: another purl type", "pkg:npm/docker@1.0.0", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stmt := build{materials: []intoto.ResourceDescriptor{
				{URI: goodRepo + "@refs/heads/main", Digest: intoto.DigestSet{"gitCommit": commit}},
				{URI: "urn:placeholder", Digest: c.digest},
			}}.statement(t)
			uri := fmt.Sprintf("%q", c.uri)
			stmt = tamper(t, stmt, `"urn:placeholder"`, uri)
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}, attsOf(envelope(t, stmt, root)))
			if c.pass {
				if err != nil {
					t.Fatalf("want pass: %v\n%s", err, rep)
				}
				return
			}
			if !errors.Is(err, verify.ErrMaterial) {
				t.Fatalf("err = %v, want ErrMaterial\n%s", err, rep)
			}
		})
	}
}

// TestDependencySpellings: the dependency walk finds images in every
// spelling, fetches them where the URI says, and refuses what it cannot
// read instead of skipping it.
func TestDependencySpellings(t *testing.T) {
	ctx := context.Background()
	appKey := genKey(t, sign.ECDSAP256SHA256)
	doc := "version: 1\nbuilders:\n  - id: " + builderID + "\ndependencies:\n  maxDepth: 1\n" +
		"signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, appKey)) + "\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	base, evil := imageDigest("base"), imageDigest("evil")
	at := "registry.example.com/base@sha256:" + base
	goodBase := func(t *testing.T) map[string][]*sign.Envelope {
		return map[string][]*sign.Envelope{at: {envelope(t, imageBuild(t, "base", builderID), appKey)}}
	}
	cases := []struct {
		name    string
		uri     string
		digest  intoto.DigestSet
		atts    func(t *testing.T) map[string][]*sign.Envelope
		fetched []string // nil: none
		pass    bool
	}{
		// Walked now; skipped (the app passed unchecked) on main.
		{"main: OCI:// unattested base", "OCI://registry.example.com/base", intoto.DigestSet{"sha256": base}, nil, []string{at}, false},
		{"main: Docker:// host in uppercase", "Docker://REGISTRY.EXAMPLE.COM/base", intoto.DigestSet{"sha256": base}, nil, []string{at}, false},
		{"main: pkg:DOCKER/ with registry", "pkg:DOCKER/registry.example.com/base@sha256%3A" + base, nil, nil, []string{at}, false},
		{"main: pkg:docker repository_url", "pkg:docker/base@sha256:" + base + "?repository_url=registry.example.com", nil, nil, []string{at}, false},
		{"main: pkg:oci repository_url, good base", "pkg:oci/base@sha256%3A" + base + "?repository_url=registry.example.com/base", nil, goodBase, []string{at}, true},
		{"main: OCI:// good base", "OCI://registry.example.com/base", intoto.DigestSet{"sha256": base}, goodBase, []string{at}, true},
		// Refused without a fetch; skipped or fetched elsewhere on main.
		{"main: OCI:// unpinned", "OCI://registry.example.com/base:latest", nil, goodBase, nil, false},
		{"main: leading blank", " oci://registry.example.com/base", intoto.DigestSet{"sha256": base}, goodBase, nil, false},
		{"main: uppercase repository", "oci://registry.example.com/Base", intoto.DigestSet{"sha256": base}, goodBase, nil, false},
		{"main: URI digest is another image's", "oci://registry.example.com/base@sha256:" + evil, intoto.DigestSet{"sha256": base}, goodBase, nil, false},
		{"bad purl", "pkg:docker/base?repository_url=registry.example.com&repository_url=evil.example.com", intoto.DigestSet{"sha256": base}, goodBase, nil, false},
		{"pkg:oci without a location", "pkg:oci/base@sha256:" + base, nil, goodBase, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var atts map[string][]*sign.Envelope
			if c.atts != nil {
				atts = c.atts(t)
			}
			reg := &fakeRegistry{atts: atts}
			eng, err := verify.NewEngine(ctx, p, verify.WithFetcher(reg), verify.WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			stmt := build{builder: builderID, subject: "app", params: map[string]any{"target": "release"},
				materials: []intoto.ResourceDescriptor{{URI: "urn:placeholder", Digest: c.digest}}}.statement(t)
			stmt = tamper(t, stmt, `"urn:placeholder"`, fmt.Sprintf("%q", c.uri))
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("app")}, attsOf(envelope(t, stmt, appKey)))
			if fmt.Sprint(reg.fetched) != fmt.Sprint(c.fetched) {
				t.Errorf("fetched %v, want %v", reg.fetched, c.fetched)
			}
			if c.pass {
				if err != nil {
					t.Fatalf("want pass: %v\n%s", err, rep)
				}
				if len(rep.Dependencies) != 1 || rep.Dependencies[0].Artifact.Name != "registry.example.com/base" {
					t.Fatalf("dependency not reported by its location:\n%s", rep)
				}
				return
			}
			if !errors.Is(err, verify.ErrDependency) {
				t.Fatalf("err = %v, want ErrDependency\n%s", err, rep)
			}
		})
	}
}

// TestSourceSpellings: the scheme and host of a source URI are compared
// without regard to case, the path exactly.
func TestSourceSpellings(t *testing.T) {
	ctx := context.Background()
	root := genKey(t, sign.ECDSAP256SHA256)
	pol := strings.NewReplacer("ROOTKEY", indent(pubPEM(t, root)), "STORAGEKEY", indent(pubPEM(t, genKey(t, sign.Ed25519)))).Replace(basePolicy)
	p, err := verify.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	gc := `"gitCommit":"` + commit + `"`
	cases := []struct {
		name   string
		uri    string
		digest string // the material's digest entries, as JSON
		params map[string]any
		pass   bool
	}{
		// Schemes and hosts are case-insensitive.
		{"main refused: scheme in uppercase", "GIT+HTTPS://github.com/example/app@refs/heads/main", gc, nil, true},
		{"main refused: host in uppercase", "git+https://GitHub.COM/example/app@refs/heads/main", gc, nil, true},
		{"main refused: workflow repository with another host case", "git+https://github.com/example/app", gc,
			map[string]any{"target": "release", "workflow": map[string]any{"repository": "https://GITHUB.com/example/app", "ref": "refs/heads/main"}}, true},
		{"commit of a SHA-256 repository", "git+https://github.com/example/app@refs/heads/main", `"gitCommit":"` + strings.Repeat("c", 64) + `"`, nil, true},
		// Guards.
		{"path in another case", "git+https://github.com/example/App@refs/heads/main", gc, nil, false},
		{"host look-alike", "git+https://github.com.evil.example/example/app@refs/heads/main", gc, nil, false},
		{"ref in another case", "git+https://github.com/example/app@REFS/heads/main", gc, nil, false},
		{"commit only in a look-alike spelling", "git+https://github.com/example/app@refs/heads/main", `"gitcommit":"` + commit + `"`, nil, false},
		{"commit of 39 digits", "git+https://github.com/example/app@refs/heads/main", `"gitCommit":"` + commit[:39] + `"`, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stmt := build{params: c.params, materials: []intoto.ResourceDescriptor{{URI: "urn:placeholder", Digest: intoto.DigestSet{placeholder: "x"}}}}.statement(t)
			stmt = tamper(t, stmt, `"urn:placeholder"`, fmt.Sprintf("%q", c.uri))
			stmt = tamper(t, stmt, `"`+placeholder+`":"x"`, c.digest)
			rep, err := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}, attsOf(envelope(t, stmt, root)))
			if c.pass {
				if err != nil {
					t.Fatalf("want pass: %v\n%s", err, rep)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed:\n%s", rep)
			}
		})
	}
}

// TestVSASubjectStrong: a VSA names its subject by the strong entries of
// the artifact's digest only, in lowercase, so that no consumer can match
// it by a weak one; an artifact known by no strong digest gets no VSA.
func TestVSASubjectStrong(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	p, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf("artifact")["sha256"]
	m5 := strings.Repeat("5", 32)
	art := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": strings.ToUpper(d), "md5": m5}}
	rep, err := eng.Evaluate(ctx, art, attsOf(envelope(t, build{}.statement(t), key)))
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	stmt, err := eng.VSA(rep, verify.VSAOptions{VerifierID: "https://verifier.example.com/v1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := provenance.Parse(stmt)
	if err != nil {
		t.Fatal(err)
	}
	// main: {md5:5555... sha256:<UPPERCASE>}
	if len(st.Subjects) != 1 || st.Subjects[0].Digest.String() != (intoto.DigestSet{"sha256": d}).String() {
		t.Fatalf("VSA subject %v", st.Subjects)
	}
	weak := &verify.Report{Artifact: intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"md5": m5}}}
	if _, err := eng.VSA(weak, verify.VSAOptions{VerifierID: "https://verifier.example.com/v1"}); !errors.Is(err, verify.ErrSubject) {
		t.Fatalf("VSA for a weak digest: %v", err)
	}
}

// TestDependencyCycleDigestCase: the caller may give the artifact's digest
// in uppercase hex; a base image that names the artifact in lowercase is
// still a cycle, found before the artifact is fetched again (main fetched
// it once more and found the cycle a level deeper).
func TestDependencyCycleDigestCase(t *testing.T) {
	ctx := context.Background()
	key := genKey(t, sign.ECDSAP256SHA256)
	p, err := verify.ParsePolicy([]byte("version: 1\nbuilders:\n  - id: " + builderID + "\ndependencies:\n  maxDepth: 5\n" +
		"signers:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, key)) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(name string) string { return "registry.example.com/" + name + "@sha256:" + imageDigest(name) }
	reg := &fakeRegistry{atts: map[string][]*sign.Envelope{
		at("base"): {envelope(t, imageBuild(t, "base", builderID, "app"), key)},
		at("app"):  {envelope(t, imageBuild(t, "app", builderID, "base"), key)},
	}}
	eng, err := verify.NewEngine(ctx, p, verify.WithFetcher(reg), verify.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: intoto.DigestSet{"sha256": strings.ToUpper(imageDigest("app"))}}
	rep, err := eng.Evaluate(ctx, art, attsOf(envelope(t, imageBuild(t, "app", builderID, "base"), key)))
	if !errors.Is(err, verify.ErrDependency) || !strings.Contains(rep.String(), "cycle:") {
		t.Fatalf("err = %v\n%s", err, rep)
	}
	if fmt.Sprint(reg.fetched) != fmt.Sprint([]string{at("base")}) {
		t.Fatalf("fetched %v", reg.fetched)
	}
}
