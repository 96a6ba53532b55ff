package keyless

import "os"

// AmbientToken picks a program's token source the usual way: the token
// given explicitly, else $SIGSTORE_ID_TOKEN, else the GitHub Actions
// runtime's token. It returns nil when none of them is available, so a
// caller can say so instead of hanging; it never starts an interactive
// flow.
func AmbientToken(explicit string) TokenSource {
	switch {
	case explicit != "":
		return StaticToken(explicit)
	case os.Getenv(EnvToken) != "":
		return FromEnv()
	case os.Getenv(EnvGitHubRequestURL) != "":
		return GitHubActions()
	}
	return nil
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
