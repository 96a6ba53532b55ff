package keyless_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// newIssuer starts an OIDC issuer of its own.
func newIssuer(t *testing.T) *keylesstest.Issuer {
	t.Helper()
	iss, err := keylesstest.New(t).NewIssuer("ci")
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// clearAmbient unsets every variable a token source reads.
func clearAmbient(t *testing.T) {
	for _, v := range []string{keyless.EnvToken, keyless.EnvGitLabCI, keyless.EnvGitLabServerURL, keyless.EnvGitHubRequestURL,
		keyless.EnvGitHubRequestToken, "BUILDKITE", "SPIFFE_ENDPOINT_SOCKET", keyless.EnvGCEMetadataHost} {
		t.Setenv(v, "")
	}
}

func TestGitLabCI(t *testing.T) {
	ctx := context.Background()
	clearAmbient(t)
	gitlab := newIssuer(t)
	tok, err := gitlab.Token(keylesstest.Claims{Subject: "project_path:group/app:ref_type:branch:ref:main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(keyless.EnvToken, tok)
	if _, err := keyless.GitLabCI("").Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("outside GitLab CI: err = %v, want ErrNoToken", err)
	}
	t.Setenv(keyless.EnvGitLabCI, "true")
	t.Setenv(keyless.EnvGitLabServerURL, gitlab.URL())
	if got, err := keyless.GitLabCI("").Token(ctx); err != nil || got != tok {
		t.Errorf("job token: %q, %v", got, err)
	}
	if keyless.AmbientToken("") == nil {
		t.Error("AmbientToken found no source in a GitLab job")
	} else if got, err := keyless.AmbientToken("").Token(ctx); err != nil || got != tok {
		t.Errorf("AmbientToken in a GitLab job: %q, %v", got, err)
	}
	// A token from another issuer is not this job's identity.
	other := newIssuer(t)
	foreign, _ := other.Token(keylesstest.Claims{Subject: "x"})
	t.Setenv("MY_TOKEN", foreign)
	if _, err := keyless.GitLabCI("MY_TOKEN").Token(ctx); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("foreign issuer: err = %v, want ErrTokenMalformed", err)
	}
	if _, err := keyless.AmbientToken("").Token(ctx); err != nil {
		t.Errorf("the default variable still works: %v", err)
	}
	t.Setenv(keyless.EnvToken, foreign)
	if _, err := keyless.AmbientToken("").Token(ctx); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("AmbientToken took a foreign token in a GitLab job: %v", err)
	}
	// Without CI_SERVER_URL the issuer cannot be checked: refused.
	t.Setenv(keyless.EnvGitLabServerURL, "")
	if _, err := keyless.GitLabCI("").Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("no CI_SERVER_URL: err = %v, want ErrNoToken", err)
	}
	t.Setenv(keyless.EnvGitLabServerURL, gitlab.URL())
	expired, _ := gitlab.Token(keylesstest.Claims{Subject: "x", TTL: -time.Minute})
	t.Setenv("MY_TOKEN", expired)
	if _, err := keyless.GitLabCI("MY_TOKEN").Token(ctx); !errors.Is(err, keyless.ErrTokenExpired) {
		t.Errorf("expired: err = %v, want ErrTokenExpired", err)
	}
	t.Setenv("MY_TOKEN", "")
	if _, err := keyless.GitLabCI("MY_TOKEN").Token(ctx); !errors.Is(err, keyless.ErrNoToken) || !strings.Contains(err.Error(), "id_tokens") {
		t.Errorf("unset: err = %v, want ErrNoToken naming id_tokens", err)
	}
}

func TestGoogleMetadata(t *testing.T) {
	ctx := context.Background()
	clearAmbient(t)
	iss := newIssuer(t)
	tok, _ := iss.Token(keylesstest.Claims{Email: "builder@project.iam.gserviceaccount.com"})
	var flavorless, fail bool
	var gotAud string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/identity" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		gotAud = r.URL.Query().Get("audience")
		if fail {
			http.Error(w, "no service account", http.StatusNotFound)
			return
		}
		if !flavorless {
			w.Header().Set("Metadata-Flavor", "Google")
		}
		w.Write([]byte(tok))
	}))
	defer srv.Close()
	t.Setenv(keyless.EnvGCEMetadataHost, strings.TrimPrefix(srv.URL, "http://"))
	if got, err := keyless.GoogleMetadata().Token(ctx); err != nil || got != tok || gotAud != "sigstore" {
		t.Errorf("token %q, err %v, audience %q", got, err, gotAud)
	}
	if src, err := keyless.TokenProvider("google", keyless.WithAudience("other")); err != nil {
		t.Fatal(err)
	} else if _, err := src.Token(ctx); err != nil || gotAud != "other" {
		t.Errorf("audience option: %q, %v", gotAud, err)
	}
	flavorless = true
	if _, err := keyless.GoogleMetadata().Token(ctx); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("an answer without Metadata-Flavor: err = %v, want ErrTokenMalformed", err)
	}
	flavorless, fail = false, true
	if _, err := keyless.GoogleMetadata().Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("404: err = %v, want ErrNoToken", err)
	}
}

// fakeAgent puts a buildkite-agent program on PATH that runs script.
func fakeAgent(t *testing.T, script string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "buildkite-agent"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestBuildkite(t *testing.T) {
	ctx := context.Background()
	clearAmbient(t)
	iss := newIssuer(t)
	tok, _ := iss.Token(keylesstest.Claims{Subject: "organization:acme:pipeline:app:ref:refs/heads/main"})
	fakeAgent(t, `[ "$1 $2 $3 $4" = "oidc request-token --audience sigstore" ] || { echo "bad args: $*" >&2; exit 2; }
echo "`+tok+`"`)
	if _, err := keyless.Buildkite().Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("outside Buildkite: err = %v, want ErrNoToken", err)
	}
	t.Setenv("BUILDKITE", "true")
	if got, err := keyless.Buildkite().Token(ctx); err != nil || got != tok {
		t.Errorf("token %q, err %v", got, err)
	}
	if src := keyless.AmbientToken(""); src == nil {
		t.Error("AmbientToken found no source in a Buildkite job")
	} else if got, _ := src.Token(ctx); got != tok {
		t.Errorf("AmbientToken in a Buildkite job: %q", got)
	}
	if _, err := keyless.Buildkite(keyless.WithAudience("other")).Token(ctx); !errors.Is(err, keyless.ErrNoToken) || !strings.Contains(err.Error(), "bad args") {
		t.Errorf("the agent's failure: err = %v, want ErrNoToken with its stderr", err)
	}
	fakeAgent(t, `head -c 200000 /dev/zero | tr '\0' a`)
	if _, err := keyless.Buildkite().Token(ctx); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("a runaway agent: err = %v, want ErrTokenMalformed", err)
	}
	fakeAgent(t, `echo not-a-jwt`)
	if _, err := keyless.Buildkite().Token(ctx); !errors.Is(err, keyless.ErrTokenMalformed) {
		t.Errorf("garbage: err = %v, want ErrTokenMalformed", err)
	}
}

// workloadAPI is a stand-in for SPIRE's agent: the workload API's
// FetchJWTSVID on a unix socket.
type workloadAPI struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	svid string
	aud  []string
}

func (w *workloadAPI) FetchJWTSVID(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("workload.spiffe.io")) == 0 {
		return nil, status.Error(codes.InvalidArgument, "security header missing")
	}
	w.aud = req.Audience
	if w.svid == "" {
		return nil, status.Error(codes.PermissionDenied, "no identity issued")
	}
	return &workload.JWTSVIDResponse{Svids: []*workload.JWTSVID{{SpiffeId: "spiffe://example.org/ci", Svid: w.svid}}}, nil
}

func TestSPIFFE(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clearAmbient(t)
	iss := newIssuer(t)
	tok, _ := iss.Token(keylesstest.Claims{Subject: "spiffe://example.org/ci"})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	api := &workloadAPI{svid: tok}
	gs := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(gs, api)
	go gs.Serve(lis)
	defer gs.Stop()

	if _, err := keyless.SPIFFE("").Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("no socket: err = %v, want ErrNoToken", err)
	}
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", "unix://"+sock)
	src := keyless.AmbientToken("")
	if src == nil {
		t.Fatal("AmbientToken found no source with a workload API socket")
	}
	if got, err := src.Token(ctx); err != nil || got != tok {
		t.Errorf("SVID %q, err %v", got, err)
	}
	if len(api.aud) != 1 || api.aud[0] != "sigstore" {
		t.Errorf("asked for audience %v", api.aud)
	}
	api.svid = ""
	if _, err := keyless.SPIFFE("unix://" + sock).Token(ctx); !errors.Is(err, keyless.ErrNoToken) {
		t.Errorf("refused: err = %v, want ErrNoToken", err)
	}
}

func TestTokenProvider(t *testing.T) {
	for _, name := range []string{"env", "filesystem", "github-actions", "gitlab", "buildkite-agent", "spiffe", "google"} {
		if src, err := keyless.TokenProvider(name); err != nil || src == nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"", "GitHub-Actions", "interactive", "../x"} {
		if _, err := keyless.TokenProvider(name); !errors.Is(err, keyless.ErrNoToken) {
			t.Errorf("%q: err = %v, want ErrNoToken", name, err)
		}
	}
}
