package verify_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/verify"
)

// WithSigners adds trust next to the policy's own rules: an artifact only
// the added rule covers is admitted with its key and no other, the most
// specific rule still decides, a pattern the policy already has is
// refused, and the policy's digest names the added trust.
func TestWithSigners(t *testing.T) {
	ctx := context.Background()
	project, sub, mallory := genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256), genKey(t, sign.ECDSAP256SHA256)
	p := &verify.Policy{Version: verify.PolicyVersion, Signers: []verify.SignerRule{
		{Artifacts: "registry.example.com/project/*", Keys: []verify.KeyRef{{PEM: pubPEM(t, project)}}},
	}}
	delegated := verify.SignerRule{Artifacts: "registry.example.com/sub/*", Keys: []verify.KeyRef{{PEM: pubPEM(t, sub)}}}
	stmt := build{}.statement(t)
	art := func(name string) intoto.ResourceDescriptor {
		return intoto.ResourceDescriptor{Name: name, Digest: digestOf("artifact")}
	}
	evaluate := func(e *verify.Engine, name string, s sign.Signer) error {
		t.Helper()
		_, err := e.Evaluate(ctx, art(name), []*sign.Attestation{{Envelope: envelope(t, stmt, s)}})
		return err
	}
	plain, err := verify.NewEngine(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithSigners(delegated))
	if err != nil {
		t.Fatal(err)
	}
	if err := evaluate(plain, "registry.example.com/sub/app", sub); !errors.Is(err, verify.ErrNoTrustedSigners) {
		t.Fatalf("without the added rule: %v, want ErrNoTrustedSigners", err)
	}
	if err := evaluate(eng, "registry.example.com/sub/app", sub); err != nil {
		t.Fatalf("added rule, its key: %v", err)
	}
	for _, tc := range []struct {
		name string
		s    sign.Signer
	}{
		{"registry.example.com/sub/app", mallory},      // another key
		{"registry.example.com/sub/app", project},      // the project's key is not the subproject's rule
		{"registry.example.com/project/app", sub},      // outside the added rule's pattern
		{"registry.example.com/sub/deeper/app", sub},   // "*" does not cross "/"
		{"REGISTRY.example.com/sub/app", sub},          // case-sensitive
		{"registry.example.com/sub/../project/x", sub}, // not resolved: no match
	} {
		if err := evaluate(eng, tc.name, tc.s); err == nil {
			t.Errorf("%s signed by the wrong key or out of scope: admitted", tc.name)
		}
	}
	if err := evaluate(eng, "registry.example.com/project/app", project); err != nil {
		t.Fatalf("the policy's own rule: %v", err)
	}
	if plain.PolicyDigest()["sha256"] == eng.PolicyDigest()["sha256"] {
		t.Error("added rules do not change the policy digest: a VSA issued without them would be reused")
	}
	// One rule per pattern, whoever wrote it.
	dup := delegated
	dup.Artifacts = "registry.example.com/project/*"
	var pe *verify.PolicyError
	if _, err := verify.NewEngine(ctx, p, verify.WithSigners(dup)); !errors.As(err, &pe) {
		t.Fatalf("added rule with the policy's pattern: %v, want a PolicyError", err)
	}
	// The engine keeps its own copy: changing the rule afterwards changes
	// no verdict.
	delegated.Keys[0].PEM = pubPEM(t, mallory)
	if err := evaluate(eng, "registry.example.com/sub/app", sub); err != nil {
		t.Fatalf("after the caller changed its rule: %v", err)
	}
}
