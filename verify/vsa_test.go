package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

func TestVSA(t *testing.T) {
	ctx := context.Background()
	builderKey := genKey(t, sign.ECDSAP256SHA256)
	verifierKey := genKey(t, sign.Ed25519)
	stranger := genKey(t, sign.Ed25519)
	const verifierID = "https://verifier.example.com/admission@v1"
	polDoc := "version: 1\nbuilders:\n  - id: " + builderID + "\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(pubPEM(t, builderKey)) + "\n"
	pol, err := verify.ParsePolicy([]byte(polDoc))
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	full, err := verify.NewEngine(ctx, pol, verify.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}
	prov := envelope(t, build{}.statement(t), builderKey)
	rep, err := full.Evaluate(ctx, art, attsOf(prov))
	if err != nil {
		t.Fatal(err)
	}
	vsaFor := func(t *testing.T, rep *verify.Report, id string, when time.Time, signer sign.Signer) *sign.Envelope {
		t.Helper()
		// The VSA is dated by the clock of the engine that writes it.
		at, err := verify.NewEngine(ctx, pol, verify.WithClock(func() time.Time { return when }))
		if err != nil {
			t.Fatal(err)
		}
		stmt, err := at.VSA(rep, verify.VSAOptions{VerifierID: id, PolicyURI: "https://example.com/policy.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		return envelope(t, stmt, signer)
	}
	good := vsaFor(t, rep, verifierID, now.Add(-time.Hour), verifierKey)

	// The statement is a VSA v1 with the policy digest and the input.
	st, err := provenance.Parse(good.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var pred map[string]any
	if err := json.Unmarshal(st.Predicate, &pred); err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != verify.PredicateVSA || pred["verificationResult"] != "PASSED" ||
		pred["policy"].(map[string]any)["digest"].(map[string]any)["sha256"] != full.PolicyDigest()["sha256"] ||
		len(pred["inputAttestations"].([]any)) != 1 {
		t.Fatalf("VSA predicate: %v", pred)
	}

	vk, _ := sign.VerifierFor(verifierKey)
	fast, err := verify.NewEngine(ctx, pol, verify.WithClock(clock), verify.WithTrustedVSA(verifierID, 24*time.Hour, vk))
	if err != nil {
		t.Fatal(err)
	}
	// The VSA alone admits the artifact.
	r, err := fast.Evaluate(ctx, art, attsOf(good))
	if err != nil || !strings.Contains(r.String(), "passed  vsa") {
		t.Fatalf("fast path: %v\n%s", err, r)
	}

	failedRep, _ := full.Evaluate(ctx, art, attsOf(nil...))
	otherPol, _ := verify.ParsePolicy([]byte(polDoc + "maxAge: 1h\n"))
	otherEngine, _ := verify.NewEngine(ctx, otherPol, verify.WithClock(clock))
	otherRep, _ := otherEngine.Evaluate(ctx, art, attsOf(prov))
	otherPolicyStmt, _ := otherEngine.VSA(otherRep, verify.VSAOptions{VerifierID: verifierID})
	otherArt := intoto.ResourceDescriptor{Name: "registry.example.com/other", Digest: art.Digest}
	otherArtRep, _ := full.Evaluate(ctx, otherArt, attsOf(prov))

	for name, env := range map[string]*sign.Envelope{
		"FAILED verdict":       vsaFor(t, failedRep, verifierID, now, verifierKey),
		"another verifier ID":  vsaFor(t, rep, "https://other.example.com/v", now, verifierKey),
		"signed by a stranger": vsaFor(t, rep, verifierID, now, stranger),
		"stale":                vsaFor(t, rep, verifierID, now.Add(-25*time.Hour), verifierKey),
		"from the future":      vsaFor(t, rep, verifierID, now.Add(time.Hour), verifierKey),
		"for another policy":   envelope(t, otherPolicyStmt, verifierKey),
		"for another artifact": vsaFor(t, otherArtRep, verifierID, now, verifierKey),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := fast.Evaluate(ctx, art, attsOf(env))
			// Refused as a fast path, so the full evaluation runs and finds no
			// provenance.
			if !errors.Is(err, verify.ErrNoAttestation) {
				t.Fatalf("err = %v, want the full evaluation's ErrNoAttestation\n%s", err, r)
			}
			if !strings.Contains(r.String(), "skipped vsa") {
				t.Fatalf("report does not explain the VSA was not used:\n%s", r)
			}
		})
	}
	// With the provenance beside a refused VSA, the full evaluation passes.
	if _, err := fast.Evaluate(ctx, art, attsOf(vsaFor(t, rep, verifierID, now.Add(-25*time.Hour), verifierKey), prov)); err != nil {
		t.Fatal(err)
	}
}

// vsaFixture is a policy, an engine that trusts VSAs by verifierKey for a
// day, and a VSA statement that engine writes for a passing artifact.
type vsaFixture struct {
	art         intoto.ResourceDescriptor
	fast        *verify.Engine
	stmt        []byte // a PASSED VSA statement, timeVerified = now
	verifierKey sign.Signer
}

const testVerifierID = "https://verifier.example.com/admission@v1"

func newVSAFixture(t testing.TB) vsaFixture {
	t.Helper()
	ctx := context.Background()
	builderKey, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifierKey, err := sign.GenerateKey(sign.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := sign.MarshalPublicKey(builderKey.Public())
	pol, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys:\n      - pem: |\n          " + indent(string(pemKey)) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	clock := verify.WithClock(func() time.Time { return now })
	art := intoto.ResourceDescriptor{Name: "registry.example.com/app", Digest: digestOf("artifact")}
	sbom := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` + art.Digest["sha256"] + `"}}],"predicateType":"https://spdx.dev/Document","predicate":{}}`)
	env, err := sign.SignStatement(ctx, sbom, builderKey)
	if err != nil {
		t.Fatal(err)
	}
	full, err := verify.NewEngine(ctx, pol, clock)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := full.Evaluate(ctx, art, attsOf(env))
	if err != nil {
		t.Fatal(err)
	}
	// No Now: the VSA is dated by the engine's clock.
	stmt, err := full.VSA(rep, verify.VSAOptions{VerifierID: testVerifierID})
	if err != nil {
		t.Fatal(err)
	}
	vk, _ := sign.VerifierFor(verifierKey)
	fast, err := verify.NewEngine(ctx, pol, clock, verify.WithTrustedVSA(testVerifierID, 24*time.Hour, vk))
	if err != nil {
		t.Fatal(err)
	}
	return vsaFixture{art: art, fast: fast, stmt: stmt, verifierKey: verifierKey}
}

// editPredicate rewrites the VSA's predicate as its (trusted) signer could.
func editPredicate(t testing.TB, stmt []byte, f func(pred map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(stmt, &m); err != nil {
		t.Fatal(err)
	}
	f(m["predicate"].(map[string]any))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fastPathTaken reports whether the evaluation of the VSA envelope alone
// was admitted by the fast path (there is no other attestation, so a pass
// can only come from it).
func (fx vsaFixture) fastPathTaken(t testing.TB, stmt []byte) (bool, *verify.Report) {
	t.Helper()
	env, err := sign.SignEnvelope(context.Background(), sign.PayloadTypeInToto, stmt, fx.verifierKey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := fx.fast.Evaluate(context.Background(), fx.art, attsOf(env))
	return err == nil, rep
}

// VSA freshness: the engine's clock dates the VSAs it writes and judges the
// ones it reads; a timeVerified that is missing, the Unix zero, later than
// the clock plus ClockSkew, or hidden under a key of another case is
// refused. On main the engine wrote VSAs with time.Now whatever its clock,
// read timeVerified case-insensitively ("TimeVerified" counted), and
// tolerated one minute ahead.
func TestVSATimes(t *testing.T) {
	fx := newVSAFixture(t)
	var pred map[string]any
	editPredicate(t, fx.stmt, func(p map[string]any) { pred = p })
	if pred["timeVerified"] != rfc(now) {
		t.Fatalf("timeVerified = %v, want the engine's clock %s", pred["timeVerified"], rfc(now))
	}
	set := func(k string, v any) []byte {
		return editPredicate(t, fx.stmt, func(p map[string]any) { p[k] = v })
	}
	cases := []struct {
		name string
		stmt []byte
		pass bool
	}{
		{"as written", fx.stmt, true},
		{"an hour old", set("timeVerified", rfc(now.Add(-time.Hour))), true},
		{"within the clock skew ahead", set("timeVerified", rfc(now.Add(verify.ClockSkew))), true},
		{"just past the clock skew", set("timeVerified", rfc(now.Add(verify.ClockSkew+time.Second))), false},
		{"a day in the future", set("timeVerified", rfc(now.Add(24*time.Hour))), false},
		{"future behind a zone offset", set("timeVerified", "2026-11-03T11:00:00-05:00"), false},
		{"older than maxAge", set("timeVerified", rfc(now.Add(-25*time.Hour))), false},
		{"Unix zero", set("timeVerified", "1970-01-01T00:00:00Z"), false},
		{"Go zero", set("timeVerified", "0001-01-01T00:00:00Z"), false},
		{"missing", editPredicate(t, fx.stmt, func(p map[string]any) { delete(p, "timeVerified") }), false},
		{"null", set("timeVerified", nil), false},
		{"a number", set("timeVerified", 1e9), false},
		{"not RFC 3339", set("timeVerified", "Nov 3 2026"), false},
		{"only under another case", editPredicate(t, fx.stmt, func(p map[string]any) {
			p["TimeVerified"] = p["timeVerified"]
			delete(p, "timeVerified")
		}), false},
		{"stale, with a fresh one under another case", editPredicate(t, fx.stmt, func(p map[string]any) {
			p["TIMEVERIFIED"] = p["timeVerified"]
			p["timeVerified"] = rfc(now.Add(-48 * time.Hour))
		}), false},
		{"verdict only under another case", editPredicate(t, fx.stmt, func(p map[string]any) {
			p["VerificationResult"] = p["verificationResult"]
			delete(p, "verificationResult")
		}), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, rep := fx.fastPathTaken(t, c.stmt)
			if got != c.pass {
				t.Fatalf("fast path taken = %v, want %v\n%s", got, c.pass, rep)
			}
			if !c.pass && !strings.Contains(rep.String(), "skipped vsa") {
				t.Fatalf("the report does not say why the VSA was refused:\n%s", rep)
			}
		})
	}
}

// FuzzVSA: whatever VSA statement a trusted verifier key signs, evaluating
// it never panics, and the fast path admits it only when a case-sensitive
// reading of it finds this engine's policy identity, a PASSED verdict and
// a timeVerified that is known, not later than the clock plus ClockSkew,
// and within the trusted maxAge.
//
//	go test -run '^$' -fuzz '^FuzzVSA$' -fuzztime 15s ./verify
func FuzzVSA(f *testing.F) {
	fx := newVSAFixture(f)
	f.Add(fx.stmt)
	for _, tv := range []any{rfc(now.Add(time.Hour)), rfc(now.Add(verify.ClockSkew)), "1970-01-01T00:00:00Z", "", nil, "2026-11-03T11:00:00-05:00", "2026-11-03T12:00:00.999999999Z"} {
		f.Add(editPredicate(f, fx.stmt, func(p map[string]any) { p["timeVerified"] = tv }))
	}
	f.Add(editPredicate(f, fx.stmt, func(p map[string]any) { delete(p, "timeVerified") }))
	f.Add(editPredicate(f, fx.stmt, func(p map[string]any) { p["TimeVerified"] = p["timeVerified"]; delete(p, "timeVerified") }))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + fx.art.Digest["sha256"] + `"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{"verifier":{"id":"` + testVerifierID + `"},"resourceUri":"` + fx.art.Name + `","verificationResult":"PASSED"}}`))
	f.Fuzz(func(t *testing.T, stmt []byte) {
		taken, rep := fx.fastPathTaken(t, stmt)
		if !taken {
			return
		}
		var st struct {
			Predicate map[string]any `json:"predicate"`
		}
		if err := json.Unmarshal(stmt, &st); err != nil {
			t.Fatalf("admitted a statement that is not JSON: %v\n%s", err, rep)
		}
		pol, _ := st.Predicate["policy"].(map[string]any)
		dig, _ := pol["digest"].(map[string]any)
		if dig["sha256"] != fx.fast.PolicyDigest()["sha256"] {
			t.Fatalf("admitted a VSA for policy %v, not this engine's %v\n%s", pol, fx.fast.PolicyDigest(), stmt)
		}
		if st.Predicate["verificationResult"] != "PASSED" {
			t.Fatalf("admitted a VSA whose verificationResult is %v\n%s", st.Predicate["verificationResult"], stmt)
		}
		s, ok := st.Predicate["timeVerified"].(string)
		if !ok {
			t.Fatalf("admitted a VSA without a timeVerified string: %s", stmt)
		}
		tv, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || tv.IsZero() || tv.Unix() == 0 && tv.Nanosecond() == 0 {
			t.Fatalf("admitted a VSA with timeVerified %q (%v)", s, err)
		}
		if tv.After(now.Add(verify.ClockSkew)) || tv.Before(now.Add(-24*time.Hour)) {
			t.Fatalf("admitted a VSA verified at %s, clock %s", tv, now)
		}
	})
}
