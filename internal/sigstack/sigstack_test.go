package sigstack_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/slsakit/slsakit/internal/sigstack"
	"github.com/slsakit/slsakit/sign"
	signkeyless "github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

const email = "builder@example.com"

func statement(t testing.TB, artifact string) ([]byte, string) {
	t.Helper()
	sum := sha256.Sum256([]byte(artifact))
	d := hex.EncodeToString(sum[:])
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "artifact", "digest": map[string]string{"sha256": d}}},
		"predicateType": "https://example.com/test/v1",
		"predicate":     map[string]any{"note": "sigstack"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, d
}

// attest signs a statement keyless against the stack's Fulcio, Rekor v1 and
// TSA (those running) and returns the bundle JSON and the subject digest.
func attest(t testing.TB, st *sigstack.Stack, tok string) ([]byte, string, *signkeyless.Signer) {
	t.Helper()
	ctx := context.Background()
	s, err := signkeyless.NewSigner(ctx, signkeyless.WithServices(st.KeylessServices()),
		signkeyless.WithToken(signkeyless.StaticToken(tok)))
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	stmt, d := statement(t, "artifact-bytes")
	att, err := sign.Attest(ctx, stmt, s)
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	raw, err := att.Bundle.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return raw, d, s
}

// The real Fulcio, Rekor v1 and TSA issue what slsakit verifies with the
// trusted root the stack assembled, for the token's identity only; and
// the stack's trust is its own (a double's trusted root refuses it).
func TestRealServicesRoundTrip(t *testing.T) {
	t.Run("tsa", func(t *testing.T) { roundTrip(t, 0) })
	t.Run("rekor-v1+tsa", func(t *testing.T) { roundTrip(t, 1) })
}

// roundTrip signs with Fulcio, the TSA and wantLog (0 or 1) Rekor v1
// entries.
func roundTrip(t *testing.T, wantLog int) {
	svcs := []sigstack.Service{sigstack.Fulcio, sigstack.TSA}
	if wantLog > 0 {
		svcs = append(svcs, sigstack.RekorV1)
	}
	st := sigstack.Start(t, sigstack.WithServices(svcs...))
	tok, err := st.Issuer.EmailToken(email)
	if err != nil {
		t.Fatal(err)
	}
	b, d, _ := attest(t, st, tok)
	var parsed struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				KindVersion struct{ Kind string } `json:"kindVersion"`
			} `json:"tlogEntries"`
			TimestampVerificationData struct {
				RFC3161Timestamps []any `json:"rfc3161Timestamps"`
			} `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Fatal(err)
	}
	if n := len(parsed.VerificationMaterial.TlogEntries); n != wantLog {
		t.Fatalf("bundle has %d log entries, want %d from Rekor v1", n, wantLog)
	}
	if n := len(parsed.VerificationMaterial.TimestampVerificationData.RFC3161Timestamps); n != 1 {
		t.Fatalf("bundle has %d RFC 3161 timestamps, want 1", n)
	}

	verifyWith := func(root []byte, id verify.Identity) error {
		v, err := keyless.NewVerifier(keyless.WithTrustedRootJSON(root), keyless.WithIdentity(id),
			keyless.WithTlogThreshold(wantLog), keyless.WithSignedTimestampThreshold(1))
		if err != nil {
			t.Fatalf("NewVerifier: %v", err)
		}
		_, err = v.Verify(context.Background(), b, keyless.WithArtifactDigest("sha256", d))
		return err
	}
	good := verify.Identity{Issuer: st.Issuer.URL(), Subject: email}
	root, err := os.ReadFile(st.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyWith(root, good); err != nil {
		t.Fatalf("verify with the assembled trusted root: %v", err)
	}
	if err := verifyWith(root, verify.Identity{Issuer: st.Issuer.URL(), Subject: "mallory@example.com"}); !errors.Is(err, keyless.ErrIdentity) {
		t.Fatalf("another subject: %v, want ErrIdentity", err)
	}
	if err := verifyWith(root, verify.Identity{Issuer: st.GitHubIssuer.URL(), Subject: email}); !errors.Is(err, keyless.ErrIssuer) {
		t.Fatalf("another issuer: %v, want ErrIssuer", err)
	}
	double := keylesstest.New(t)
	other, err := double.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyWith(other, good); err == nil {
		t.Fatal("a trusted root of other services accepted the real services' bundle")
	}
}

// Fulcio configured with the GitHub issuer as "github-workflow" issues a
// certificate for the workflow, with GitHub's extensions.
func TestGitHubWorkflowCertificate(t *testing.T) {
	st := sigstack.Start(t, sigstack.WithServices(sigstack.Fulcio, sigstack.TSA)) // a keyless signer needs a signing time
	tok, err := st.GitHubIssuer.GitHubToken(keylesstest.GitHubWorkflow{
		Repository: "acme/app", Ref: "refs/heads/main", SHA: "0123456789abcdef0123456789abcdef01234567",
		WorkflowPath: ".github/workflows/release.yml",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signkeyless.NewSigner(context.Background(), signkeyless.WithServices(st.KeylessServices()),
		signkeyless.WithToken(signkeyless.StaticToken(tok)))
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	cert := s.Certificate()
	want := "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	if len(cert.URIs) != 1 || cert.URIs[0].String() != want {
		t.Fatalf("SAN URIs = %v, want %s", cert.URIs, want)
	}
	exts := map[string]bool{}
	for _, e := range cert.Extensions {
		exts[e.Id.String()] = true
	}
	// Issuer (V2), build signer URI, source repository URI, source digest.
	for _, oid := range []string{"1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.9", "1.3.6.1.4.1.57264.1.12", "1.3.6.1.4.1.57264.1.13"} {
		if !exts[oid] {
			t.Errorf("certificate lacks extension %s", oid)
		}
	}
}

// A missing binary is ErrNotInstalled (Start skips on it, or fails in CI).
func TestMissingBinary(t *testing.T) {
	for _, svc := range []sigstack.Service{sigstack.Fulcio, sigstack.TSA, sigstack.RekorV2, sigstack.RekorV1} {
		t.Run(svc.String(), func(t *testing.T) {
			for _, env := range []string{sigstack.EnvFulcio, sigstack.EnvTSA, sigstack.EnvRekorV2, sigstack.EnvRekorV1,
				sigstack.EnvTrillianServer, sigstack.EnvTrillianSigner, sigstack.EnvMariaDBD, sigstack.EnvTrillianSchema} {
				t.Setenv(env, "")
			}
			st, err := sigstack.New(sigstack.WithServices(svc))
			if !errors.Is(err, sigstack.ErrNotInstalled) || st != nil {
				t.Fatalf("New = %v, %v; want ErrNotInstalled", st, err)
			}
			// A directory is not an executable.
			for _, env := range []string{sigstack.EnvFulcio, sigstack.EnvTSA, sigstack.EnvRekorV2, sigstack.EnvRekorV1} {
				t.Setenv(env, t.TempDir())
			}
			if _, err := sigstack.New(sigstack.WithServices(svc)); !errors.Is(err, sigstack.ErrNotInstalled) {
				t.Fatalf("directory as binary: %v; want ErrNotInstalled", err)
			}
		})
	}
}

// SLSAKIT_REQUIRE_SIGSTACK requires all services ("1"), the listed ones,
// or (set to nothing it knows) all of them; unset, none.
func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want sigstack.Service
		req  bool
	}{
		{"", sigstack.Fulcio, false},
		{"1", sigstack.AllServices, true},
		{"fulcio,tsa,rekor-v2", sigstack.Fulcio | sigstack.TSA | sigstack.RekorV2, true},
		{"fulcio,tsa,rekor-v2", sigstack.Fulcio | sigstack.TSA, true},
		{"fulcio, tsa ,rekor-v2", sigstack.RekorV2, true},
		{"fulcio,tsa,rekor-v2", sigstack.Fulcio | sigstack.RekorV1, false},
		{"fulcio,tsa,rekor-v2", sigstack.AllServices, false},
		{"fulcoi", sigstack.Fulcio, true},
	} {
		if got := sigstack.Required(tc.env, tc.want); got != tc.req {
			t.Errorf("required(%q, %s) = %v, want %v", tc.env, tc.want, got, tc.req)
		}
	}
}
