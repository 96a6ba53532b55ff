package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

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
	art := verify.Artifact{Name: "registry.example.com/app", Digest: digestOf("artifact")}
	prov := envelope(t, build{}.statement(t), builderKey)
	rep, err := full.Evaluate(ctx, art, []*sign.Envelope{prov})
	if err != nil {
		t.Fatal(err)
	}
	vsaFor := func(t *testing.T, rep *verify.Report, id string, when time.Time, signer sign.Signer) *sign.Envelope {
		t.Helper()
		stmt, err := full.VSA(rep, verify.VSAOptions{VerifierID: id, PolicyURI: "https://example.com/policy.yaml", Now: func() time.Time { return when }})
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
		pred["policy"].(map[string]any)["digest"].(map[string]any)["sha256"] != pol.Digest()["sha256"] ||
		len(pred["inputAttestations"].([]any)) != 1 {
		t.Fatalf("VSA predicate: %v", pred)
	}

	vk, _ := sign.VerifierFor(verifierKey)
	fast, err := verify.NewEngine(ctx, pol, verify.WithClock(clock), verify.WithTrustedVSA(verifierID, 24*time.Hour, vk))
	if err != nil {
		t.Fatal(err)
	}
	// The VSA alone admits the artifact.
	r, err := fast.Evaluate(ctx, art, []*sign.Envelope{good})
	if err != nil || !strings.Contains(r.String(), "passed  vsa") {
		t.Fatalf("fast path: %v\n%s", err, r)
	}

	failedRep, _ := full.Evaluate(ctx, art, nil)
	otherPol, _ := verify.ParsePolicy([]byte(polDoc + "maxAge: 1h\n"))
	otherEngine, _ := verify.NewEngine(ctx, otherPol, verify.WithClock(clock))
	otherRep, _ := otherEngine.Evaluate(ctx, art, []*sign.Envelope{prov})
	otherPolicyStmt, _ := otherEngine.VSA(otherRep, verify.VSAOptions{VerifierID: verifierID, Now: clock})
	otherArt := verify.Artifact{Name: "registry.example.com/other", Digest: art.Digest}
	otherArtRep, _ := full.Evaluate(ctx, otherArt, []*sign.Envelope{prov})

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
			r, err := fast.Evaluate(ctx, art, []*sign.Envelope{env})
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
	if _, err := fast.Evaluate(ctx, art, []*sign.Envelope{vsaFor(t, rep, verifierID, now.Add(-25*time.Hour), verifierKey), prov}); err != nil {
		t.Fatal(err)
	}
}
