package keychain

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Errors returned by this package. Match them with errors.Is. No error
// message holds a password or token.
var (
	// ErrInvalidArgument: an empty or unparsable registry name, or
	// credentials without a username or password.
	ErrInvalidArgument = errors.New("keychain: invalid argument")
	// ErrInvalidConfig: a credentials file that cannot be read or parsed.
	ErrInvalidConfig = errors.New("keychain: invalid credentials file")
	// ErrToken: a credential source that applies to the registry failed
	// to produce a token (a broken application default credentials file,
	// a metadata server that refused).
	ErrToken = errors.New("keychain: cannot get a registry token")
)

// Option configures New.
type Option func(*config)

type config struct {
	static     []authn.Keychain
	files      []string
	dockerCfg  bool
	getenv     func(string) string
	googleOpts []GoogleOption
	noGitHub   bool
	noGoogle   bool
}

// WithStatic puts username and password for registry first (what
// `docker login --password-stdin` would store). Repeat it for several
// registries.
func WithStatic(registry, username, password string) Option {
	return func(c *config) {
		k, err := Static(registry, username, password)
		if err != nil {
			k = failing{err}
		}
		c.static = append(c.static, k)
	}
}

// WithDockerConfigJSON adds a mounted kubernetes.io/dockerconfigjson (or
// legacy .dockercfg) secret file, asked before the docker config. Repeat
// it for several files; the first that matches a registry answers.
func WithDockerConfigJSON(path string) Option {
	return func(c *config) { c.files = append(c.files, path) }
}

// WithoutDockerConfig leaves out the docker config and its credential
// helpers (for a server that should use only the files it was given).
func WithoutDockerConfig() Option { return func(c *config) { c.dockerCfg = false } }

// WithoutGitHub leaves out GITHUB_TOKEN.
func WithoutGitHub() Option { return func(c *config) { c.noGitHub = true } }

// WithoutGoogle leaves out Google application default credentials.
func WithoutGoogle() Option { return func(c *config) { c.noGoogle = true } }

// WithGetenv reads environment variables (GITHUB_TOKEN, GITHUB_ACTOR,
// GOOGLE_APPLICATION_CREDENTIALS, GCE_METADATA_HOST, HOME) through getenv
// instead of os.Getenv. The docker config keychain reads the process
// environment regardless (DOCKER_CONFIG, HOME).
func WithGetenv(getenv func(string) string) Option {
	return func(c *config) { c.getenv = getenv }
}

// WithGoogleOptions configures the Google source.
func WithGoogleOptions(opts ...GoogleOption) Option {
	return func(c *config) { c.googleOpts = append(c.googleOpts, opts...) }
}

// New returns the keychain of every source, in the documented precedence
// (package documentation): explicit credentials, mounted secret files, the
// docker config and credential helpers, GITHUB_TOKEN for ghcr.io, Google
// credentials for gcr.io and pkg.dev. A secret file that cannot be read or
// parsed fails here, at start-up, rather than on the first pull.
func New(opts ...Option) (authn.Keychain, error) {
	c := &config{dockerCfg: true, getenv: os.Getenv}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	ks := append([]authn.Keychain(nil), c.static...)
	for _, k := range c.static {
		if f, ok := k.(failing); ok {
			return nil, f.err
		}
	}
	for _, p := range c.files {
		k, err := DockerConfigJSON(p)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	if c.dockerCfg {
		ks = append(ks, authn.DefaultKeychain)
	}
	if !c.noGitHub {
		ks = append(ks, GitHub(c.getenv))
	}
	if !c.noGoogle {
		ks = append(ks, Google(append([]GoogleOption{WithGoogleGetenv(c.getenv)}, c.googleOpts...)...))
	}
	return authn.NewMultiKeychain(ks...), nil
}

// failing carries a construction error of an Option to New.
type failing struct{ err error }

func (f failing) Resolve(authn.Resource) (authn.Authenticator, error) { return nil, f.err }

// Static answers username and password for registry (a host[:port];
// "docker.io" and "index.docker.io" are the same registry) and nothing
// for any other registry.
func Static(registry, username, password string) (authn.Keychain, error) {
	reg, err := name.NewRegistry(registry)
	if err != nil || registry == "" {
		return nil, fmt.Errorf("%w: registry %q", ErrInvalidArgument, registry)
	}
	if username == "" || password == "" {
		return nil, fmt.Errorf("%w: credentials for %s need a username and a password", ErrInvalidArgument, reg.RegistryStr())
	}
	return staticKeychain{reg: reg.RegistryStr(), auth: authn.FromConfig(authn.AuthConfig{Username: username, Password: password})}, nil
}

type staticKeychain struct {
	reg  string
	auth authn.Authenticator
}

func (s staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == s.reg {
		return s.auth, nil
	}
	return authn.Anonymous, nil
}

// GitHubRegistry is the only registry GITHUB_TOKEN is sent to.
const GitHubRegistry = "ghcr.io"

// GitHub answers GITHUB_TOKEN (read through getenv, nil for os.Getenv)
// for ghcr.io, with GITHUB_ACTOR as the username or, without it,
// "x-access-token" (ghcr.io checks only the token). It answers nothing for
// other registries or when GITHUB_TOKEN is unset. The variables are read
// on every Resolve.
func GitHub(getenv func(string) string) authn.Keychain {
	if getenv == nil {
		getenv = os.Getenv
	}
	return githubKeychain{getenv}
}

type githubKeychain struct{ getenv func(string) string }

func (g githubKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != GitHubRegistry {
		return authn.Anonymous, nil
	}
	tok := g.getenv("GITHUB_TOKEN")
	if tok == "" {
		return authn.Anonymous, nil
	}
	user := g.getenv("GITHUB_ACTOR")
	if user == "" {
		user = "x-access-token"
	}
	return authn.FromConfig(authn.AuthConfig{Username: user, Password: tok}), nil
}
