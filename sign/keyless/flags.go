package keyless

import (
	"fmt"
	"os"

	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// AmbientToken picks a program's token source the usual way: the token
// given explicitly; else $SIGSTORE_ID_TOKEN (checked against the job's
// GitLab in GitLab CI); else the GitHub Actions runtime's token; else
// Buildkite's agent in a Buildkite job; else the SPIFFE workload API when
// $SPIFFE_ENDPOINT_SOCKET is set; else the Google metadata server when
// $GCE_METADATA_HOST is set (on Google Cloud, where it is not, name the
// "google" provider: probing for it elsewhere would hang). It returns nil
// when none of them is available, so a caller can say so instead of
// hanging; it never starts an interactive flow.
func AmbientToken(explicit string) TokenSource {
	switch {
	case explicit != "":
		return StaticToken(explicit)
	case os.Getenv(EnvToken) != "" && os.Getenv(EnvGitLabCI) == "true":
		return GitLabCI("")
	case os.Getenv(EnvToken) != "":
		return FromEnv()
	case os.Getenv(EnvGitHubRequestURL) != "":
		return GitHubActions()
	case os.Getenv("BUILDKITE") == "true":
		return Buildkite()
	case os.Getenv(workloadapi.SocketEnv) != "":
		return SPIFFE("")
	case os.Getenv(EnvGCEMetadataHost) != "":
		return GoogleMetadata()
	}
	return nil
}

// FilesystemToken is the token file of the "filesystem" provider, where
// cosign reads it (a projected service-account token, for example).
const FilesystemToken = "/var/run/sigstore/cosign/oidc-token"

// TokenProvider returns the token source a provider name stands for:
// "env" ($SIGSTORE_ID_TOKEN), "filesystem" (FilesystemToken),
// "github-actions", "gitlab", "buildkite-agent", "spiffe" or "google"
// (cosign's --oidc-provider names, where cosign has the provider).
func TokenProvider(name string, opts ...TokenOption) (TokenSource, error) {
	switch name {
	case "env":
		return FromEnv(), nil
	case "filesystem":
		return FromFile(FilesystemToken), nil
	case "github-actions":
		return GitHubActions(opts...), nil
	case "gitlab":
		return GitLabCI(""), nil
	case "buildkite-agent":
		return Buildkite(opts...), nil
	case "spiffe":
		return SPIFFE("", opts...), nil
	case "google":
		return GoogleMetadata(opts...), nil
	}
	return nil, fmt.Errorf("%w: unknown OIDC provider %q (want env, filesystem, github-actions, gitlab, buildkite-agent, spiffe or google)", ErrNoToken, truncate(name, 50))
}

// ServiceURLs maps the usual command-line flags to options: an empty URL
// keeps the default (public good for Fulcio and Rekor, no timestamp
// authority), and rekor "none" asks for no transparency log entry.
func ServiceURLs(fulcio, rekor, tsa string) []Option {
	var opts []Option
	if fulcio != "" {
		opts = append(opts, WithFulcioURL(fulcio))
	}
	switch rekor {
	case "":
	case "none":
		opts = append(opts, WithRekorURLs())
	default:
		opts = append(opts, WithRekorURLs(rekor))
	}
	if tsa != "" {
		opts = append(opts, WithTSAURLs(tsa))
	}
	return opts
}
