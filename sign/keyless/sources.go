package keyless

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// GitLab CI's variables GitLabCI reads.
const (
	EnvGitLabCI        = "GITLAB_CI"
	EnvGitLabServerURL = "CI_SERVER_URL"
)

// GitLabCI returns a TokenSource for a GitLab CI job's ID token. GitLab
// puts each token a job's `id_tokens:` section asks for in the variable
// named there; variable names it (default SIGSTORE_ID_TOKEN, the name
// GitLab's Sigstore documentation uses, with `aud: sigstore`). It fails
// with ErrNoToken outside GitLab CI ($GITLAB_CI is not "true") and with
// ErrTokenMalformed when the token's issuer is not the job's GitLab
// ($CI_SERVER_URL): a token from elsewhere in a GitLab job is a mistake or
// an attack, not an identity of this job.
func GitLabCI(variable string) TokenSource {
	if variable == "" {
		variable = EnvToken
	}
	return TokenFunc(func(context.Context) (string, error) {
		if os.Getenv(EnvGitLabCI) != "true" {
			return "", fmt.Errorf("%w: not in a GitLab CI job ($%s is not true)", ErrNoToken, EnvGitLabCI)
		}
		tok := strings.TrimSpace(os.Getenv(variable))
		if tok == "" {
			return "", fmt.Errorf("%w: $%s is empty (does the job's id_tokens: section define %s with aud: sigstore?)", ErrNoToken, variable, variable)
		}
		c, err := ParseToken(tok, time.Now())
		if err != nil {
			return "", err
		}
		server := strings.TrimRight(os.Getenv(EnvGitLabServerURL), "/")
		if server == "" {
			// GitLab always sets it; without it the issuer cannot be
			// checked, so no token is taken on trust.
			return "", fmt.Errorf("%w: $%s is not set: cannot check the token's issuer", ErrNoToken, EnvGitLabServerURL)
		}
		if strings.TrimRight(c.Issuer, "/") != server {
			return "", fmt.Errorf("%w: $%s was issued by %q, not this job's GitLab %q", ErrTokenMalformed, variable, truncate(c.Issuer, 200), truncate(server, 200))
		}
		return tok, nil
	})
}

// EnvGCEMetadataHost overrides the metadata server's host, as Google's
// client libraries read it.
const EnvGCEMetadataHost = "GCE_METADATA_HOST"

// GoogleMetadata returns a TokenSource that asks the Google metadata
// server for an ID token of the attached service account: Cloud Build,
// Compute Engine, Cloud Run and GKE with workload identity. The server is
// metadata.google.internal unless $GCE_METADATA_HOST names another; the
// request carries "Metadata-Flavor: Google" and the answer must too (a
// proxy or captive portal answering instead is refused).
func GoogleMetadata(opts ...TokenOption) TokenSource {
	cfg := newTokenConfig(opts)
	return TokenFunc(func(ctx context.Context) (string, error) {
		host := os.Getenv(EnvGCEMetadataHost)
		if host == "" {
			host = "metadata.google.internal"
		}
		u := url.URL{Scheme: "http", Host: host, Path: "/computeMetadata/v1/instance/service-accounts/default/identity",
			RawQuery: url.Values{"audience": {cfg.audience}, "format": {"full"}}.Encode()}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", fmt.Errorf("%w: metadata server %q: %v", ErrNoToken, truncate(host, 100), err)
		}
		req.Header.Set("Metadata-Flavor", "Google")
		resp, err := cfg.client.Do(req)
		if err != nil {
			return "", fmt.Errorf("%w: requesting a token from the metadata server: %v", ErrNoToken, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenSize+1))
		switch {
		case err != nil:
			return "", fmt.Errorf("%w: reading the metadata server's answer: %v", ErrNoToken, err)
		case resp.StatusCode != http.StatusOK:
			return "", fmt.Errorf("%w: metadata server returned %s", ErrNoToken, resp.Status)
		case resp.Header.Get("Metadata-Flavor") != "Google":
			return "", fmt.Errorf("%w: the answer lacks Metadata-Flavor: Google (not a metadata server)", ErrTokenMalformed)
		case len(body) > MaxTokenSize:
			return "", fmt.Errorf("%w: token is over %d bytes", ErrTokenMalformed, MaxTokenSize)
		}
		return checkedToken(string(body))
	})
}

// Buildkite runs `buildkite-agent oidc request-token --audience sigstore`
// (the agent on PATH, in a Buildkite job: $BUILDKITE is "true") and returns
// the token it prints.
func Buildkite(opts ...TokenOption) TokenSource {
	cfg := newTokenConfig(opts)
	return TokenFunc(func(ctx context.Context) (string, error) {
		if os.Getenv("BUILDKITE") != "true" {
			return "", fmt.Errorf("%w: not in a Buildkite job ($BUILDKITE is not true)", ErrNoToken)
		}
		agent, err := exec.LookPath("buildkite-agent")
		if err != nil {
			return "", fmt.Errorf("%w: buildkite-agent is not on PATH", ErrNoToken)
		}
		out, stderr := &limitedWriter{n: MaxTokenSize}, &limitedWriter{n: 4096}
		cmd := exec.CommandContext(ctx, agent, "oidc", "request-token", "--audience", cfg.audience)
		cmd.Stdout, cmd.Stderr = out, stderr
		if err := cmd.Run(); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return "", ctxErr
			}
			return "", fmt.Errorf("%w: buildkite-agent oidc request-token: %v: %s", ErrNoToken, err, truncate(strings.TrimSpace(stderr.buf.String()), 300))
		}
		if out.over {
			return "", fmt.Errorf("%w: token is over %d bytes", ErrTokenMalformed, MaxTokenSize)
		}
		return checkedToken(out.buf.String())
	})
}

// SPIFFE returns a TokenSource for a JWT-SVID from the SPIFFE workload API
// (SPIRE's agent): socket is its address ("unix:///run/spire/agent.sock"),
// or "" for $SPIFFE_ENDPOINT_SOCKET. The SVID is asked for the audience
// (default "sigstore"); Fulcio's SPIFFE issuer type certifies its SPIFFE ID.
func SPIFFE(socket string, opts ...TokenOption) TokenSource {
	cfg := newTokenConfig(opts)
	return TokenFunc(func(ctx context.Context) (string, error) {
		addr := socket
		if addr == "" {
			addr = os.Getenv(workloadapi.SocketEnv)
		}
		if addr == "" {
			return "", fmt.Errorf("%w: no workload API socket ($%s is not set)", ErrNoToken, workloadapi.SocketEnv)
		}
		svid, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: cfg.audience}, workloadapi.WithAddr(addr))
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return "", ctxErr
			}
			return "", fmt.Errorf("%w: SPIFFE workload API: %v", ErrNoToken, err)
		}
		return checkedToken(svid.Marshal())
	})
}

// checkedToken trims a token a source obtained and checks it is a
// well-formed, unexpired JWT, so that a broken source fails here, clearly,
// and not at Fulcio.
func checkedToken(tok string) (string, error) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("%w: the token source returned nothing", ErrNoToken)
	}
	if _, err := ParseToken(tok, time.Now()); err != nil {
		return "", err
	}
	return tok, nil
}

// limitedWriter keeps the first n bytes written to it and notes whether
// more came, so a runaway child process cannot fill memory.
type limitedWriter struct {
	buf  bytes.Buffer
	n    int
	over bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	keep := min(len(p), l.n-l.buf.Len())
	l.buf.Write(p[:keep])
	if keep < len(p) {
		l.over = true
	}
	return len(p), nil // keep reading so the child does not block
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
