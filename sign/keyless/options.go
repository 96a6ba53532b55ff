package keyless

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
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

// Rekor API major versions a RekorLog can speak.
const (
	// RekorV1 is Rekor's original API (POST /api/v1/log/entries): entries
	// come back with an integrated time the log signs.
	RekorV1 uint32 = 1
	// RekorV2 is the tile-based Rekor v2 API (POST /api/v2/log/entries):
	// entries come back with an inclusion proof and a signed checkpoint but
	// no integrated time, so a bundle needs a signed timestamp as well.
	RekorV2 uint32 = 2
)

// RekorLog is a transparency log a signature is recorded in.
type RekorLog struct {
	// URL is the log's base URL.
	URL string
	// APIVersion is RekorV1 or RekorV2; 0 means RekorV1.
	APIVersion uint32
}

// Services names the Sigstore services a keyless signature uses. Every
// signature is recorded in every log of Rekor and timestamped by every
// TSAURLs. A bundle needs a verified signing time to be verifiable: a Rekor
// v1 log's integrated time or a signed timestamp. So a Rekor v2 log needs
// a timestamp authority beside it, and a certificate signature needs a
// Rekor v1 log or a timestamp authority; services that break either rule
// are refused with ErrNoSigningTime before anything is signed or sent.
type Services struct {
	// FulcioURL is the certificate authority's base URL.
	FulcioURL string
	// Rekor are the transparency logs; each gets an entry.
	Rekor []RekorLog
	// TSAURLs are RFC 3161 timestamp endpoints (full URL with path).
	TSAURLs []string
}

// PublicGood returns the Sigstore public-good services: Fulcio and Rekor
// (v1 API), as cosign v2 uses by default.
func PublicGood() Services {
	return Services{FulcioURL: PublicGoodFulcioURL, Rekor: []RekorLog{{URL: PublicGoodRekorURL, APIVersion: RekorV1}}}
}

// clone copies s so that a config never shares slices with its caller.
func (s Services) clone() Services {
	return Services{FulcioURL: s.FulcioURL, Rekor: append([]RekorLog(nil), s.Rekor...), TSAURLs: append([]string(nil), s.TSAURLs...)}
}

// check refuses services whose bundles could never verify (see Services);
// certificate says the signature is certificate-bound (keyless), which
// needs a signing time within the certificate's validity.
func (s Services) check(certificate bool) error {
	if s.FulcioURL != "" {
		if err := checkServiceURL("certificate authority", s.FulcioURL); err != nil {
			return err
		}
	}
	for _, u := range s.TSAURLs {
		if err := checkServiceURL("timestamp authority", u); err != nil {
			return err
		}
	}
	v1 := false
	for _, l := range s.Rekor {
		switch l.APIVersion {
		case 0, RekorV1:
			v1 = true
		case RekorV2:
			if len(s.TSAURLs) == 0 {
				return fmt.Errorf("%w: %w: Rekor v2 log %s gives no integrated time; add a timestamp authority", ErrConfig, ErrNoSigningTime, l.URL)
			}
		default:
			return fmt.Errorf("%w: Rekor log %s: API version %d is not supported (1 or 2)", ErrConfig, l.URL, l.APIVersion)
		}
		if l.URL == "" {
			return fmt.Errorf("%w: Rekor log without a URL", ErrConfig)
		}
		if err := checkServiceURL("Rekor log", l.URL); err != nil {
			return err
		}
	}
	if certificate && !v1 && len(s.TSAURLs) == 0 {
		return fmt.Errorf("%w: %w: a certificate signature needs a Rekor v1 log or a timestamp authority to prove it was made while the certificate was valid", ErrConfig, ErrNoSigningTime)
	}
	return nil
}

// checkServiceURL refuses a service URL that is not https with a host,
// or http to a loopback host: whoever is on the path of a plain-http
// request reads the ID token sent to the certificate authority, and can
// answer for the log and the timestamp authority. The URL comes from
// options, flags or a signing config, which may itself have been fetched.
func checkServiceURL(kind, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: %s URL %q: not an absolute URL with a host", ErrConfig, kind, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() || strings.EqualFold(h, "localhost") {
			return nil
		}
	}
	return fmt.Errorf("%w: %w: %s URL %q (plain http only to a loopback host)", ErrConfig, ErrInsecureService, kind, raw)
}

// ServicesFromSigningConfig selects services from a Sigstore
// signing_config.json (media type signingconfig.v0.2) at now, as cosign v3
// and sigstore-go do: among the services valid at now, the certificate
// authority of the highest API version this package speaks (the newest
// one of that version), and the Rekor logs (v2, else v1) and timestamp
// authorities of the highest version that has any, one per operator, as
// the config's selectors say (ALL, ANY: one at random, EXACT: count).
// Services of unknown API versions are ignored; a config that leaves none
// for a kind it lists fails with ErrConfig, and a selection that could
// never verify (a Rekor v2 log and no timestamp authority) fails with
// ErrNoSigningTime.
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
		logs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{RekorV1, RekorV2}, now)
		if err != nil {
			return Services{}, fmt.Errorf("%w: signing config: rekor: %v", ErrConfig, err)
		}
		for _, l := range logs {
			s.Rekor = append(s.Rekor, RekorLog{URL: l.URL, APIVersion: l.MajorAPIVersion})
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
	if err := s.check(true); err != nil {
		return Services{}, fmt.Errorf("signing config: %w", err)
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
	c.services = c.services.clone()
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
		c.services = s.clone()
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

// WithRekorURLs sets the transparency logs to Rekor v1 API logs at these
// base URLs; none disables the log.
func WithRekorURLs(urls ...string) Option {
	return func(c *config) error {
		c.services.Rekor = nil
		for _, u := range urls {
			c.services.Rekor = append(c.services.Rekor, RekorLog{URL: u, APIVersion: RekorV1})
		}
		return nil
	}
}

// WithRekor sets the transparency logs, each with its API version; none
// disables the log.
func WithRekor(logs ...RekorLog) Option {
	return func(c *config) error { c.services.Rekor = append([]RekorLog(nil), logs...); return nil }
}

// WithTSAURLs sets the RFC 3161 timestamp authority URLs (full URL with
// path, for example https://timestamp.sigstore.dev/api/v1/timestamp).
func WithTSAURLs(urls ...string) Option {
	return func(c *config) error { c.services.TSAURLs = append([]string(nil), urls...); return nil }
}

// WithTransport sets the HTTP transport used for Fulcio and timestamp
// requests (Rekor v1 uses its generated client's own transport, Rekor v2
// the default transport).
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
