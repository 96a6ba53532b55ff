package oci

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Layout selects where attestations are written or read.
type Layout int

const (
	// Referrers is the OCI 1.1 referrer layout: a manifest whose subject is
	// the image, holding one Sigstore bundle v0.3 layer (cosign v3 default).
	Referrers Layout = 1 << iota
	// Legacy is cosign's `sha256-<hex>.att` tag, one DSSE layer per
	// attestation (cosign v2).
	Legacy
	// Both writes or reads both layouts.
	Both = Referrers | Legacy
)

// String returns "referrers", "legacy", "both" or a number.
func (l Layout) String() string {
	switch l {
	case Referrers:
		return "referrers"
	case Legacy:
		return "legacy"
	case Both:
		return "both"
	}
	return "Layout(" + itoa(int64(l)) + ")"
}

// ParseLayout reads a layout by its name, as String writes it:
// "referrers", "legacy" or "both". Anything else fails with
// ErrInvalidArgument.
func ParseLayout(name string) (Layout, error) {
	for _, l := range []Layout{Referrers, Legacy, Both} {
		if name == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%w: layout %q: want referrers, legacy or both", ErrInvalidArgument, name)
}

// Default limits.
const (
	// DefaultMaxManifestBytes caps every manifest or index download (the
	// limit distribution applies to manifest uploads).
	DefaultMaxManifestBytes = 4 << 20
	// DefaultMaxBlobBytes caps every attestation blob download: a maximum
	// size envelope plus room for bundle verification material.
	DefaultMaxBlobBytes = 32<<20 + 1<<20
	// DefaultRetries is the number of attempts for one HTTP request on
	// 429, 5xx or network errors.
	DefaultRetries = 5
	// DefaultConflictRetries bounds read-modify-write rounds on a tag.
	DefaultConflictRetries = 10
	// DefaultMaxAttestations bounds the attestations one image may have in
	// one layout: List refuses an image with more (ErrTooMany) before
	// downloading any of them, and Attach refuses to add one beyond it.
	// Each costs up to a manifest and a blob download, and only the
	// registry decides how many there are; cosign v2 stops at 50
	// (COSIGN_MAX_ATTACHMENTS), this leaves room for re-attestations.
	DefaultMaxAttestations = 100
	// DefaultMaxReferrerPages bounds the pages of one referrers list
	// (requests, Link rel="next").
	DefaultMaxReferrerPages = 64
	// DefaultMaxReferrers bounds the descriptors of one referrers list,
	// attestations or not, across its pages.
	DefaultMaxReferrers = 10000
)

// Option configures Attach, List, Fetch and Resolve.
type Option func(*options)

type options struct {
	layout          Layout
	layoutSet       bool
	repository      string
	auth            authn.Authenticator
	keychain        authn.Keychain
	insecure        bool
	transport       http.RoundTripper
	predicateType   string
	maxManifest     int64
	maxBlob         int64
	retries         int
	conflictRetries int
	maxAttestations int
	maxPages        int
	maxReferrers    int
	hint            string
	hintSet         bool
	created         time.Time
	userAgent       string
	// index.go: WithPlatform, WithRecursive, WithMaxIndexEntries;
	// attachall.go: WithConcurrency.
	platform        *v1.Platform
	platformErr     error
	recursive       bool
	maxIndexEntries int
	concurrency     int
	batch           *batch // shared by the images of one AttachAll or recursive call
}

func makeOptions(opts []Option) *options {
	o := &options{
		layout:          Referrers,
		maxManifest:     DefaultMaxManifestBytes,
		maxBlob:         DefaultMaxBlobBytes,
		retries:         DefaultRetries,
		conflictRetries: DefaultConflictRetries,
		maxAttestations: DefaultMaxAttestations,
		maxPages:        DefaultMaxReferrerPages,
		maxReferrers:    DefaultMaxReferrers,
		userAgent:       "slsakit-oci",
		maxIndexEntries: DefaultMaxIndexEntries,
		concurrency:     DefaultConcurrency,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.keychain == nil {
		o.keychain = authn.DefaultKeychain
	}
	if o.transport == nil {
		o.transport = http.DefaultTransport
	}
	return o
}

// WithLayout selects the layout(s) to write (default Referrers) or read
// (List default: Both).
func WithLayout(l Layout) Option {
	return func(o *options) { o.layout, o.layoutSet = l, true }
}

// WithRepository stores and reads attestations in another repository
// (registry/repo), like cosign's COSIGN_REPOSITORY.
func WithRepository(repo string) Option { return func(o *options) { o.repository = repo } }

// WithAuth authenticates every request with a. It takes precedence over the
// keychain.
func WithAuth(a authn.Authenticator) Option { return func(o *options) { o.auth = a } }

// WithKeychain resolves credentials per repository from k (default:
// authn.DefaultKeychain: docker config and credential helpers; see
// oci/keychain.New for CI and cluster sources). It is asked only when a
// registry challenges a request.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithInsecure makes every request use plain HTTP (for loopback test
// registries). Without it every request uses HTTPS, loopback included, and
// redirects from HTTPS to HTTP are refused.
func WithInsecure() Option { return func(o *options) { o.insecure = true } }

// WithTransport sets the base HTTP transport (default http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithPredicateType keeps only attestations whose statement has this
// predicate type (List, Fetch).
func WithPredicateType(uri string) Option { return func(o *options) { o.predicateType = uri } }

// WithMaxBytes caps every single download (manifest, index or blob) at n
// bytes; larger objects fail with ErrTooLarge.
func WithMaxBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxManifest, o.maxBlob = n, n
		}
	}
}

// WithRetry sets the number of attempts per HTTP request on 429, 5xx and
// network errors (exponential backoff with full jitter). 1 disables retries.
func WithRetry(attempts int) Option {
	return func(o *options) {
		if attempts > 0 {
			o.retries = attempts
		}
	}
}

// WithConflictRetries bounds the read-modify-write rounds of a tag update
// before Attach gives up with ErrConflict.
func WithConflictRetries(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.conflictRetries = n
		}
	}
}

// WithMaxAttestations sets how many attestations one image may have in
// one layout (default DefaultMaxAttestations): List fails with ErrTooMany,
// before downloading any, on an image with more; Attach fails the same way
// rather than add one beyond it, so that what it writes stays listable.
func WithMaxAttestations(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxAttestations = n
		}
	}
}

// WithMaxReferrers bounds one referrers list to pages requests and
// descriptors entries (defaults DefaultMaxReferrerPages,
// DefaultMaxReferrers; 0 keeps a default): a longer list, or one whose
// pages link back, fails with ErrTooMany.
func WithMaxReferrers(pages, descriptors int) Option {
	return func(o *options) {
		if pages > 0 {
			o.maxPages = pages
		}
		if descriptors > 0 {
			o.maxReferrers = descriptors
		}
	}
}

// WithPublicKeyHint sets verificationMaterial.publicKey.hint of the bundle
// written for key-signed envelopes (default: the envelope's first keyid).
func WithPublicKeyHint(hint string) Option {
	return func(o *options) { o.hint, o.hintSet = hint, true }
}

// WithCreated sets the org.opencontainers.image.created annotation of the
// referrer manifest (default: now).
func WithCreated(t time.Time) Option { return func(o *options) { o.created = t } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
