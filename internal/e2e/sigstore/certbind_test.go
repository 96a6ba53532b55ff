package sigstore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/provenance/platform"
	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

const certbindSHA = "0123456789abcdef0123456789abcdef01234567"

// certbindProvenance is the provenance a GitHub Actions build of acme/app
// writes, with edit applied (a forger's changes).
func certbindProvenance(t *testing.T, edit func(builder, repo, ref, sha, event *string)) []byte {
	t.Helper()
	builder, repo, ref, sha, event := "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
		"https://github.com/acme/app", "refs/heads/main", certbindSHA, "push"
	if edit != nil {
		edit(&builder, &repo, &ref, &sha, &event)
	}
	rec := provenance.NewRecorder(provenance.Builder{ID: builder}, platform.GitHubWorkflowBuildType)
	rec.Start()
	for k, v := range map[string]any{"workflow": map[string]any{"repository": repo, "ref": ref, "path": ".github/workflows/release.yml"}} {
		if err := rec.SetExternalParameter(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.SetInternalParameter("github", map[string]any{"event_name": event}); err != nil {
		t.Fatal(err)
	}
	if err := rec.AddMaterial(intoto.ResourceDescriptor{URI: "git+" + repo + "@" + ref, Digest: intoto.DigestSet{"gitCommit": sha}}); err != nil {
		t.Fatal(err)
	}
	if err := rec.AddSubject(intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": strings.Repeat("a", 64)}}); err != nil {
		t.Fatal(err)
	}
	rec.Finish()
	st, err := rec.MarshalStatement()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The real Fulcio, configured with a "github-workflow" issuer, certifies
// a GitHub-workflow-shaped token's builder, source, ref and trigger; a
// policy that binds them to the provenance admits the build as it was
// and refuses each provenance that claims otherwise.
func TestCertificateBoundToProvenance(t *testing.T) {
	ctx := context.Background()
	// The package's shared stack: a second stack with a TSA would wait for
	// the shared one's metrics-port lock, held by this same process.
	st := stack.Get(t)
	tok, err := st.GitHubIssuer.GitHubToken(keylesstest.GitHubWorkflow{
		Repository: "acme/app", Ref: "refs/heads/main", SHA: certbindSHA,
		WorkflowPath: ".github/workflows/release.yml", EventName: "push",
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(st.KeylessServicesV2()),
		signkeyless.WithToken(signkeyless.StaticToken(tok)))
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	p, err := verify.ParsePolicy([]byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    identities:\n      - issuer: " + st.GitHubIssuer.URL() +
		"\n        subjectRegexp: 'https://github\\.com/acme/.*'\n    bindToProvenance: [builder, source, ref, trigger]\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootJSON(st.TrustedRoot()))))
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": strings.Repeat("a", 64)}}
	evaluate := func(stmt []byte) (*verify.Report, error) {
		att, err := sign.Attest(ctx, stmt, signer)
		if err != nil {
			t.Fatalf("Attest: %v", err)
		}
		return eng.Evaluate(ctx, art, []*sign.Attestation{att})
	}

	if rep, err := evaluate(certbindProvenance(t, nil)); err != nil {
		t.Fatalf("the build as certified: %v\n%s", err, rep)
	}
	for name, c := range map[string]struct {
		edit  func(builder, repo, ref, sha, event *string)
		field string
	}{
		"another builder": {func(b, _, _, _, _ *string) {
			*b = "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main"
		}, "builder"},
		"another repository": {func(_, r, _, _, _ *string) { *r = "https://github.com/acme/other" }, "source repository"},
		"another commit":     {func(_, _, _, s, _ *string) { *s = strings.Repeat("f", 40) }, "source digest"},
		"another ref":        {func(_, _, r, _, _ *string) { *r = "refs/heads/dev" }, "ref"},
		"another trigger":    {func(_, _, _, _, e *string) { *e = "workflow_dispatch" }, "trigger"},
		"case variant":       {func(_, r, _, _, _ *string) { *r = "https://github.com/ACME/app" }, "source repository"},
	} {
		rep, err := evaluate(certbindProvenance(t, c.edit))
		var be *verify.BindingError
		if !errors.Is(err, verify.ErrBinding) || !errors.As(err, &be) || be.Field != c.field {
			t.Errorf("%s: err = %v, want a binding error on %s\n%s", name, err, c.field, rep)
		}
	}
}
