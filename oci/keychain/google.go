package keychain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// cloudPlatformScope is the OAuth scope GCR and Artifact Registry accept.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// googleUser is the username GCR and Artifact Registry expect with an
// OAuth access token as the password.
const googleUser = "oauth2accesstoken"

// metadataTimeout bounds the metadata server request: off Google Cloud
// 169.254.169.254 often drops packets, and waiting longer only delays the
// anonymous fallback.
const metadataTimeout = 3 * time.Second

// GoogleOption configures Google.
type GoogleOption func(*googleConfig)

type googleConfig struct {
	getenv    func(string) string
	transport http.RoundTripper
}

// WithGoogleGetenv reads GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_CONFIG,
// HOME and GCE_METADATA_HOST through getenv instead of os.Getenv.
func WithGoogleGetenv(getenv func(string) string) GoogleOption {
	return func(c *googleConfig) {
		if getenv != nil {
			c.getenv = getenv
		}
	}
}

// WithGoogleTransport sets the HTTP transport for token requests (default
// http.DefaultTransport).
func WithGoogleTransport(rt http.RoundTripper) GoogleOption {
	return func(c *googleConfig) {
		if rt != nil {
			c.transport = rt
		}
	}
}

// Google answers for Google Container Registry (gcr.io, *.gcr.io) and
// Artifact Registry (*.pkg.dev) with an OAuth access token of the
// application default credentials, looked for when the registry asks:
//
//  1. the file named by GOOGLE_APPLICATION_CREDENTIALS (a service account
//     key, or an external account such as GitHub Actions' or GitLab's
//     workload identity federation config),
//  2. gcloud's application_default_credentials.json (`gcloud auth
//     application-default login`), in $CLOUDSDK_CONFIG or ~/.config/gcloud,
//  3. the metadata server of GCE, GKE, Cloud Build and Cloud Run
//     (169.254.169.254, or $GCE_METADATA_HOST).
//
// When none is there (the metadata server does not answer) it answers
// anonymously, so public images still pull. A source that is there and
// fails (a broken file, a metadata server that refuses) fails with
// ErrToken. It never runs gcloud.
func Google(opts ...GoogleOption) authn.Keychain {
	c := googleConfig{getenv: os.Getenv, transport: http.DefaultTransport}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return googleKeychain{c: c, cache: &tokenCache{}}
}

// IsGoogleRegistry reports whether host (host[:port]) is a registry Google
// tokens are sent to: gcr.io, *.gcr.io or *.pkg.dev, without a port.
func IsGoogleRegistry(host string) bool {
	host = strings.ToLower(host)
	return host == "gcr.io" || strings.HasSuffix(host, ".gcr.io") || strings.HasSuffix(host, ".pkg.dev")
}

type googleKeychain struct {
	c     googleConfig
	cache *tokenCache
}

// tokenCache keeps the last token of one keychain until shortly before it
// expires: a webhook resolves for every review, and each metadata or
// token-endpoint round trip adds to the admission latency.
type tokenCache struct {
	mu     sync.Mutex
	token  string
	expiry time.Time
}

// tokenMargin: a cached token is not handed out closer to its expiry
// than this, so that it does not expire during a call.
const tokenMargin = 2 * time.Minute

func (g googleKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if !IsGoogleRegistry(r.RegistryStr()) || strings.Contains(r.RegistryStr(), ":") {
		return authn.Anonymous, nil
	}
	return &googleAuth{c: g.c, cache: g.cache}, nil
}

// googleAuth finds credentials lazily: only a registry that challenges us
// costs a token request.
type googleAuth struct {
	c     googleConfig
	cache *tokenCache
}

func (a *googleAuth) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

func (a *googleAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	a.cache.mu.Lock()
	if a.cache.token != "" && time.Until(a.cache.expiry) > tokenMargin {
		tok := a.cache.token
		a.cache.mu.Unlock()
		return &authn.AuthConfig{Username: googleUser, Password: tok}, nil
	}
	a.cache.mu.Unlock()
	tok, expiry, err := a.fetch(ctx)
	if err != nil {
		return nil, err
	}
	if tok == "" {
		return &authn.AuthConfig{}, nil // anonymous
	}
	a.cache.mu.Lock()
	a.cache.token, a.cache.expiry = tok, expiry
	a.cache.mu.Unlock()
	return &authn.AuthConfig{Username: googleUser, Password: tok}, nil
}

// fetch returns an access token and its expiry, or "" when there are no
// Google credentials here.
func (a *googleAuth) fetch(ctx context.Context) (string, time.Time, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: a.c.transport})
	if p := a.c.getenv("GOOGLE_APPLICATION_CREDENTIALS"); p != "" {
		return a.fromFile(ctx, p, "GOOGLE_APPLICATION_CREDENTIALS")
	}
	if p := a.wellKnownFile(); p != "" {
		if _, err := os.Stat(p); err == nil {
			return a.fromFile(ctx, p, "gcloud application default credentials")
		}
	}
	return a.fromMetadata(ctx)
}

func (a *googleAuth) wellKnownFile() string {
	dir := a.c.getenv("CLOUDSDK_CONFIG")
	if dir == "" {
		home := a.c.getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config", "gcloud")
	}
	return filepath.Join(dir, "application_default_credentials.json")
}

func (a *googleAuth) fromFile(ctx context.Context, path, what string) (string, time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %s: %v", ErrToken, what, err)
	}
	creds, err := google.CredentialsFromJSON(ctx, b, cloudPlatformScope)
	if err != nil {
		// The oauth2 errors name fields, not their values.
		return "", time.Time{}, fmt.Errorf("%w: %s %s: %v", ErrToken, what, path, err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %s %s: token request failed: %v", ErrToken, what, path, tokenError(err))
	}
	return tok.AccessToken, tok.Expiry, nil
}

// tokenError keeps the status of a failed token request and drops the
// response body, which a token server may fill with anything.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		msg := re.Response.Status
		if re.ErrorCode != "" {
			msg += " (" + re.ErrorCode + ")"
		}
		return errors.New(msg)
	}
	return err
}

func (a *googleAuth) fromMetadata(ctx context.Context) (string, time.Time, error) {
	host := a.c.getenv("GCE_METADATA_HOST")
	explicit := host != ""
	if !explicit {
		host = "169.254.169.254"
	}
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://"+host+"/computeMetadata/v1/instance/service-accounts/default/token?scopes="+cloudPlatformScope, nil)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: metadata server %q: %v", ErrToken, host, err)
	}
	req.Header.Set("Metadata-Flavor", "Google")
	// No redirects: the metadata server never sends one, and a token must
	// not be fetched from anywhere else.
	hc := &http.Client{Transport: a.c.transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		var ne net.Error
		if !explicit && (errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)) {
			// Not on Google Cloud: no credentials, not an error.
			return "", time.Time{}, nil
		}
		return "", time.Time{}, fmt.Errorf("%w: metadata server %s: %v", ErrToken, host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Metadata-Flavor") != "Google" {
		return "", time.Time{}, fmt.Errorf("%w: metadata server %s: %s", ErrToken, host, resp.Status)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", time.Time{}, fmt.Errorf("%w: metadata server %s: no access token in the answer", ErrToken, host)
	}
	return tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second), nil
}
