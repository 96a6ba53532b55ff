package keyless_test

import (
	"context"
	"errors"
	"reflect"
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

// ghRun is one GitHub Actions build: what its token says (and so what
// Fulcio certifies) and what its provenance says, which a forger makes
// disagree.
type ghRun struct {
	repo, ref, sha, event string // the token's
	prov                  ghProv
}

type ghProv struct {
	builder, repo, ref, sha, event string
}

const bindSHA = "0123456789abcdef0123456789abcdef01234567"

func goodRun() ghRun {
	return ghRun{repo: "acme/app", ref: "refs/heads/main", sha: bindSHA, event: "push", prov: ghProv{
		builder: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
		repo:    "https://github.com/acme/app", ref: "refs/heads/main", sha: bindSHA, event: "push",
	}}
}

// signRun signs the run's provenance keyless with a certificate for the
// run's GitHub-workflow-shaped token.
func signRun(t *testing.T, svc *keylesstest.Services, r ghRun) *sign.Attestation {
	t.Helper()
	tok, err := svc.Issuer.GitHubToken(keylesstest.GitHubWorkflow{Repository: r.repo, Ref: r.ref, SHA: r.sha,
		WorkflowPath: ".github/workflows/release.yml", EventName: r.event})
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, svc, tok, runProvenance(t, r.prov))
}

func runProvenance(t *testing.T, p ghProv) []byte {
	t.Helper()
	rec := provenance.NewRecorder(provenance.Builder{ID: p.builder}, platform.GitHubWorkflowBuildType)
	rec.Start()
	if err := rec.SetExternalParameter("workflow", map[string]any{"repository": p.repo, "ref": p.ref, "path": ".github/workflows/release.yml"}); err != nil {
		t.Fatal(err)
	}
	if err := rec.SetInternalParameter("github", map[string]any{"event_name": p.event}); err != nil {
		t.Fatal(err)
	}
	if err := rec.AddMaterial(intoto.ResourceDescriptor{URI: "git+" + p.repo + "@" + p.ref, Digest: intoto.DigestSet{"gitCommit": p.sha}}); err != nil {
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

func signWith(t *testing.T, svc *keylesstest.Services, tok string, st []byte) *sign.Attestation {
	t.Helper()
	ctx := context.Background()
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(svc.SigningServices()), signkeyless.WithToken(signkeyless.StaticToken(tok)))
	if err != nil {
		t.Fatal(err)
	}
	att, err := sign.Attest(ctx, st, s)
	if err != nil {
		t.Fatal(err)
	}
	return att
}

// Certificates Fulcio-shaped for GitHub workflow tokens (keylesstest's
// CA writes Fulcio's extensions 1.8 to 1.22), checked against the
// provenance they signed: each fact the token certifies differently from
// what the provenance claims fails its binding.
func TestBindToProvenanceGitHubCertificates(t *testing.T) {
	ctx := context.Background()
	svc := keylesstest.New(t)
	tr, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc := "version: 1\nsigners:\n  - artifacts: \"**\"\n    identities:\n      - issuer: " + svc.Issuer.URL() +
		"\n        subjectRegexp: 'https://github\\.com/.*'\n    bindToProvenance: [builder, source, ref, trigger]\n"
	p, err := verify.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootJSON(tr))))
	if err != nil {
		t.Fatal(err)
	}
	art := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": strings.Repeat("a", 64)}}

	if rep, err := eng.Evaluate(ctx, art, []*sign.Attestation{signRun(t, svc, goodRun())}); err != nil {
		t.Fatalf("a build as certified: %v\n%s", err, rep)
	}
	for name, c := range map[string]struct {
		mut   func(*ghRun)
		field string
	}{
		// The token is another repository's workflow: it builds (and
		// names itself) there, while claiming acme/app's source.
		"another builder": {func(r *ghRun) {
			r.prov.builder = "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main"
		}, "builder"},
		"another repository": {func(r *ghRun) {
			r.repo = "mallory/app"
			r.prov.builder = "https://github.com/mallory/app/.github/workflows/release.yml@refs/heads/main"
		}, "source repository"},
		"another commit": {func(r *ghRun) { r.prov.sha = strings.Repeat("f", 40) }, "source digest"},
		"another ref": {func(r *ghRun) {
			r.ref = "refs/heads/dev"
			r.prov.builder = strings.Replace(r.prov.builder, "main", "dev", 1)
		}, "ref"},
		"another trigger": {func(r *ghRun) { r.event = "pull_request_target" }, "trigger"},
		"case variant":    {func(r *ghRun) { r.prov.repo = "https://github.com/ACME/app" }, "source repository"},
	} {
		r := goodRun()
		c.mut(&r)
		rep, err := eng.Evaluate(ctx, art, []*sign.Attestation{signRun(t, svc, r)})
		var be *verify.BindingError
		if !errors.Is(err, verify.ErrBinding) || !errors.As(err, &be) || be.Field != c.field {
			t.Errorf("%s: err = %v, want a binding error on %s\n%s", name, err, c.field, rep)
		}
	}

	// An email certificate certifies no build: nothing binds.
	att := signWith(t, svc, emailToken(t, svc.Issuer, "dev@example.com"), runProvenance(t, goodRun().prov))
	emailPolicy := strings.Replace(doc, "subjectRegexp: 'https://github\\.com/.*'", "subject: dev@example.com", 1)
	p, err = verify.ParsePolicy([]byte(emailPolicy))
	if err != nil {
		t.Fatal(err)
	}
	eng, err = verify.NewEngine(ctx, p, verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootJSON(tr))))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.Evaluate(ctx, art, []*sign.Attestation{att})
	if !errors.Is(err, verify.ErrBinding) || strings.Count(rep.String(), "certificate does not state it") != 5 {
		t.Errorf("email certificate: err = %v\n%s", err, rep)
	}
}

// Every field of verify.Identity is matched against the certificate by
// the real keyless matcher: a field is either the issuer, the subject or
// one of their regular expressions, or among Extensions (so a field added
// to Identity and forgotten there fails here); each extension of a
// GitHub workflow certificate is read back into the signer's identity;
// and a policy identity asking for the certified value passes, for
// another value fails.
func TestEveryIdentityFieldIsMatched(t *testing.T) {
	ctx := context.Background()
	names := map[string]bool{}
	for _, f := range (&verify.Identity{}).Extensions() {
		names[f.Name] = true
	}
	typ := reflect.TypeFor[verify.Identity]()
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		switch name {
		case "issuer", "issuerRegexp", "subject", "subjectRegexp":
			continue
		}
		if !names[name] {
			t.Errorf("Identity.%s (%s) is not among Extensions: no matcher compares it", typ.Field(i).Name, name)
		}
	}

	svc := keylesstest.New(t)
	tr, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	att := signRun(t, svc, goodRun())
	art := intoto.ResourceDescriptor{Name: "app", Digest: intoto.DigestSet{"sha256": strings.Repeat("a", 64)}}
	evaluate := func(id verify.Identity) (*verify.Report, error) {
		t.Helper()
		p := &verify.Policy{Version: 1, Signers: []verify.SignerRule{{Artifacts: "**", Identities: []verify.Identity{id}}}}
		eng, err := verify.NewEngine(ctx, p, verify.WithIdentities(keyless.Identities(keyless.WithTrustedRootJSON(tr))))
		if err != nil {
			t.Fatal(err)
		}
		return eng.Evaluate(ctx, art, []*sign.Attestation{att})
	}
	base := verify.Identity{Issuer: svc.Issuer.URL(), SubjectRegexp: `https://github\.com/.*`}
	rep, err := evaluate(base)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	certified := rep.Attestations[0].Signers[0].Identity
	got := certified.Extensions()
	for i := range got {
		f := got[i]
		if f.Value == "" {
			t.Errorf("the certificate's %s is not read into the signer's identity", f.Name)
			continue
		}
		for _, c := range []struct {
			value string
			pass  bool
		}{{f.Value, true}, {f.Value + "x", false}, {strings.ToUpper(f.Value[:1]) + f.Value[1:], f.Value[:1] == strings.ToUpper(f.Value[:1])}} {
			id := base
			reflect.ValueOf(&id).Elem().FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, f.Name) }).SetString(c.value)
			if id.Extensions()[i].Value != c.value {
				t.Fatalf("%s: set the wrong field", f.Name)
			}
			rep, err := evaluate(id)
			if c.pass && err != nil {
				t.Errorf("%s %q: %v", f.Name, c.value, err)
			}
			if !c.pass && (!errors.Is(err, verify.ErrNoAttestation) || !errors.Is(rep.Attestations[0].Err(), keyless.ErrIdentity)) {
				t.Errorf("%s %q (certified %q): err = %v, want ErrIdentity", f.Name, c.value, f.Value, err)
			}
		}
	}
}
