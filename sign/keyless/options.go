package keyless

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// Sigstore public-good instance URLs, the defaults.
const (
	PublicGoodFulcioURL = "https://fulcio.sigstore.dev"
	PublicGoodRekorURL  = "https://rekor.sigstore.dev"
	PublicGoodTSAURL    = "https://timestamp.sigstore.dev/api/v1/timestamp"
)

// Services names the Sigstore services a keyless signature uses. An empty
// RekorURLs and TSAURLs means the bundle carries no log entry and no
// timestamp, and cannot be verified after the certificate expires.
type Services struct {
	// FulcioURL is the certificate authority's base URL.
	FulcioURL string
	// RekorURLs are Rekor v1 API base URLs; each gets an entry.
	RekorURLs []string
	// TSAURLs are RFC 3161 timestamp endpoints (full URL with path).
	TSAURLs []string
}

// PublicGood returns the Sigstore public-good services: Fulcio and Rekor, as
// cosign uses by default.
func PublicGood() Services {
	return Services{FulcioURL: PublicGoodFulcioURL, RekorURLs: []string{PublicGoodRekorURL}}
}

// ServicesFromSigningConfig selects services from a Sigstore
// signing_config.json (media type signingconfig.v0.2) valid at now: one
// Fulcio, and the Rekor v1 logs and timestamp authorities its selectors ask
// for.
func ServicesFromSigningConfig(data []byte, now time.Time) (Services, error) {
	sc, err := root.NewSigningConfigFromJSON(data)
	if err != nil {
		return Services{}, fmt.Errorf("%w: signing config: %v", ErrConfig, err)
	}
	var s Services
	ca, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sgsign.FulcioAPIVersions, now)
	if err != nil {
		return Services{}, fmt.Errorf("%w: signing config: certificate authority: %v", ErrConfig, err)
	}
	s.FulcioURL = ca.URL
	if len(sc.RekorLogURLs()) > 0 {
		logs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{1}, now)
		if err != nil {
			return Services{}, fmt.Errorf("%w: signing config: rekor (v1 API): %v", ErrConfig, err)
		}
		for _, l := range logs {
			s.RekorURLs = append(s.RekorURLs, l.URL)
		}
	}
	if len(sc.TimestampAuthorityURLs()) > 0 {
		tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sgsign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return Services{}, fmt.Errorf("%w: signing config: timestamp authority: %v", ErrConfig, err)
		}
		for _, t := range tsas {
			s.TSAURLs = append(s.TSAURLs, t.URL)
		}
	}
	return s, nil
}

// Option configures NewSigner and KeyBundle. Options given to NewSigner
// are the services of every bundle that signer makes.
type Option func(*config) error

type config struct {
	services  Services
	token     TokenSource
	transport http.RoundTripper
	timeout   time.Duration
	retries   uint
	now       func() time.Time
}

func defaultConfig() config {
	return config{services: PublicGood(), timeout: 30 * time.Second, now: time.Now}
}

func (c config) apply(opts []Option) (config, error) {
	c.services.RekorURLs = append([]string(nil), c.services.RekorURLs...)
	c.services.TSAURLs = append([]string(nil), c.services.TSAURLs...)
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithToken sets the ID token source. NewSigner needs one.
func WithToken(ts TokenSource) Option {
	return func(c *config) error {
		if ts == nil {
			return fmt.Errorf("%w: nil token source", ErrConfig)
		}
		c.token = ts
		return nil
	}
}

// WithServices replaces all service URLs.
func WithServices(s Services) Option {
	return func(c *config) error {
		c.services = Services{FulcioURL: s.FulcioURL,
			RekorURLs: append([]string(nil), s.RekorURLs...), TSAURLs: append([]string(nil), s.TSAURLs...)}
		return nil
	}
}

// WithSigningConfig selects the services from a signing_config.json
// document (see ServicesFromSigningConfig).
func WithSigningConfig(data []byte) Option {
	return func(c *config) error {
		s, err := ServicesFromSigningConfig(data, c.now())
		if err != nil {
			return err
		}
		c.services = s
		return nil
	}
}

// WithSigningConfigFile is WithSigningConfig reading the file at path.
func WithSigningConfigFile(path string) Option {
	return func(c *config) error {
		b, err := readLimited(path, 1<<20)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		return WithSigningConfig(b)(c)
	}
}

// WithFulcioURL sets the certificate authority's base URL.
func WithFulcioURL(u string) Option {
	return func(c *config) error { c.services.FulcioURL = u; return nil }
}

// WithRekorURLs sets the Rekor (v1 API) base URLs; none disables the log.
func WithRekorURLs(urls ...string) Option {
	return func(c *config) error { c.services.RekorURLs = append([]string(nil), urls...); return nil }
}

// WithTSAURLs sets the RFC 3161 timestamp authority URLs (full URL with
// path, for example https://timestamp.sigstore.dev/api/v1/timestamp).
func WithTSAURLs(urls ...string) Option {
	return func(c *config) error { c.services.TSAURLs = append([]string(nil), urls...); return nil }
}

// WithTransport sets the HTTP transport used for Fulcio and timestamp
// requests (Rekor uses its generated client's own transport).
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) error { c.transport = rt; return nil }
}

// WithTimeout sets the timeout of each network request (default 30s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive", ErrConfig)
		}
		c.timeout = d
		return nil
	}
}

// WithRetries sets how many times a request that failed with a 5xx or 429
// is retried (default 0).
func WithRetries(n uint) Option {
	return func(c *config) error { c.retries = n; return nil }
}

// WithClock sets the clock used to check token expiry, and that the
// certificate is still valid when a bundle is made (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		c.now = now
		return nil
	}
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}
