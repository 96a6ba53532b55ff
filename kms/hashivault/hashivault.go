package hashivault

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/slsakit/slsakit/sign"
)

// The reference schemes cosign reads.
const (
	Scheme        = "hashivault://"
	OpenBaoScheme = "openbao://"
)

// Errors, matchable with errors.Is.
var (
	ErrInvalidReference = errors.New("hashivault: invalid key reference")
	// ErrConfig: no Vault address or token.
	ErrConfig = errors.New("hashivault: missing configuration")
	// ErrVault: Vault answered with an error status (the message says
	// which; 403 is a token without access to the key).
	ErrVault = errors.New("hashivault: Vault request failed")
	// ErrResponse: Vault's answer is malformed, too large, or names a
	// key or version that was not asked for.
	ErrResponse = errors.New("hashivault: invalid Vault response")
	// ErrUnsupportedKey: the transit key's type cannot sign (aes, hmac…)
	// or is not one slsakit verifies.
	ErrUnsupportedKey = errors.New("hashivault: unsupported key type")
	// ErrTooManyVersions: the key has more usable versions than a
	// verifier tries (sign.MaxKeyVersions).
	ErrTooManyVersions = errors.New("hashivault: too many key versions")
)

// maxResponse bounds what is read of one Vault response: a key with
// sign.MaxKeyVersions RSA-4096 public keys is well under it.
const maxResponse = 4 << 20

// validKeyName reports whether name is what Vault and cosign accept as a
// transit key name: 1 to 256 of [A-Za-z0-9_.-], starting and ending with
// [A-Za-z0-9_] (cosign's `^\w(?:[\w.-]{0,254}\w)?$`). It is a loop rather
// than that regexp because the bounded repetition compiles to a 170 KB
// program at package init, a cost every slsakit process paid (3–5 ms of
// start-up) whether or not it used Vault.
func validKeyName(name string) bool {
	if len(name) == 0 || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		word := c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !word && ((c != '.' && c != '-') || i == 0 || i == len(name)-1) {
			return false
		}
	}
	return true
}

// Option configures NewSigner and NewVerifier. Without options the Vault
// address, token, namespace and transit mount come from the environment
// as the Vault CLI and cosign read them: VAULT_ADDR, VAULT_TOKEN,
// VAULT_NAMESPACE and TRANSIT_SECRET_ENGINE_PATH (default "transit").
type Option func(*config)

type config struct {
	addr, token, namespace, mount string
	client                        *http.Client
}

// WithAddress sets the Vault address (e.g. https://vault.example:8200).
func WithAddress(addr string) Option { return func(c *config) { c.addr = addr } }

// WithToken sets the Vault token.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithNamespace sets the Vault Enterprise namespace.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithMount sets the path the transit engine is mounted at.
func WithMount(path string) Option { return func(c *config) { c.mount = path } }

// WithHTTPClient sets the HTTP client (its TLS configuration, timeouts).
// Its redirect policy is replaced by one that refuses other hosts.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.client = hc } }

// ParseReference returns the transit key name of a hashivault:// or
// openbao:// reference. Errors wrap ErrInvalidReference.
func ParseReference(ref string) (string, error) {
	name, ok := strings.CutPrefix(ref, Scheme)
	if !ok {
		name, ok = strings.CutPrefix(ref, OpenBaoScheme)
	}
	if !ok || !validKeyName(name) {
		return "", fmt.Errorf("%w: %q: want %sKEY with a transit key name", ErrInvalidReference, truncate(ref, 100), Scheme)
	}
	return name, nil
}

// client is a Vault transit client for one key.
type client struct {
	base  *url.URL // {addr}/v1/{mount}/
	key   string
	token string
	ns    string
	hc    *http.Client
}

func newClient(ref string, opts []Option) (*client, error) {
	key, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	cfg := config{addr: os.Getenv("VAULT_ADDR"), token: os.Getenv("VAULT_TOKEN"),
		namespace: os.Getenv("VAULT_NAMESPACE"), mount: os.Getenv("TRANSIT_SECRET_ENGINE_PATH")}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mount == "" {
		cfg.mount = "transit"
	}
	if cfg.addr == "" || cfg.token == "" {
		return nil, fmt.Errorf("%w: set VAULT_ADDR and VAULT_TOKEN (or WithAddress, WithToken)", ErrConfig)
	}
	u, err := url.Parse(cfg.addr)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		// The address is not repeated: it may hold credentials.
		return nil, fmt.Errorf("%w: the Vault address is not an http(s)://host[:port] URL without user info", ErrConfig)
	}
	mount := strings.Trim(cfg.mount, "/")
	for _, seg := range strings.Split(mount, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return nil, fmt.Errorf("%w: transit mount %q", ErrConfig, truncate(cfg.mount, 100))
		}
	}
	base := u.JoinPath("v1", mount) // JoinPath escapes nothing it should not: names are checked
	base.Path += "/"
	hc := &http.Client{}
	if cfg.client != nil {
		c := *cfg.client
		hc = &c
	}
	origin := u.Host
	// Go forwards custom headers such as X-Vault-Token on redirects, even
	// to other hosts: refuse any redirect off the Vault address.
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != origin || req.URL.Scheme != u.Scheme {
			return fmt.Errorf("%w: redirect to another host refused", ErrVault)
		}
		if len(via) >= 5 {
			return fmt.Errorf("%w: too many redirects", ErrVault)
		}
		return nil
	}
	return &client{base: base, key: key, token: cfg.token, ns: cfg.namespace, hc: hc}, nil
}

// do sends one request and decodes the "data" of Vault's answer into out.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", c.token)
	req.Header.Set("X-Vault-Request", "true")
	if c.ns != "" {
		req.Header.Set("X-Vault-Namespace", c.ns)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		// url.Error names the URL, never the token header.
		return fmt.Errorf("%w: %s %s: %w", ErrVault, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("%w: %s %s: reading the answer: %w", ErrVault, method, path, err)
	}
	if len(raw) > maxResponse {
		return fmt.Errorf("%w: %s %s: answer larger than %d bytes", ErrResponse, method, path, maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		msg := strings.Join(e.Errors, "; ")
		return fmt.Errorf("%w: %s %s: %s: %s", ErrVault, method, path, resp.Status, truncate(strings.ReplaceAll(msg, c.token, "[token]"), 300))
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Data) == 0 {
		return fmt.Errorf("%w: %s %s: no data", ErrResponse, method, path)
	}
	dec := json.NewDecoder(bytes.NewReader(env.Data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrResponse, method, path, err)
	}
	return nil
}

// keyInfo is what "read key" returns for an asymmetric transit key.
type keyInfo struct {
	Name                 string                     `json:"name"`
	Type                 string                     `json:"type"`
	LatestVersion        json.Number                `json:"latest_version"`
	MinDecryptionVersion json.Number                `json:"min_decryption_version"`
	Keys                 map[string]json.RawMessage `json:"keys"`
}

// version is one usable key version.
type version struct {
	n   int
	pub crypto.PublicKey
	alg sign.Algorithm
	v   sign.Verifier
}

// versions reads the key and returns its usable versions, newest first:
// those from min_decryption_version on, Vault's floor for verification.
func (c *client) versions(ctx context.Context) (*keyInfo, []version, error) {
	var ki keyInfo
	if err := c.do(ctx, http.MethodGet, "keys/"+c.key, nil, &ki); err != nil {
		return nil, nil, err
	}
	if ki.Name != "" && ki.Name != c.key {
		return nil, nil, fmt.Errorf("%w: asked for key %q, Vault answered for %q", ErrResponse, c.key, truncate(ki.Name, 100))
	}
	latest, err1 := strconv.Atoi(ki.LatestVersion.String())
	floor, err2 := strconv.Atoi(ki.MinDecryptionVersion.String())
	if err1 != nil || err2 != nil || latest < 1 || floor < 1 || floor > latest {
		return nil, nil, fmt.Errorf("%w: key %s: latest_version %q, min_decryption_version %q", ErrResponse, c.key, truncate(ki.LatestVersion.String(), 20), truncate(ki.MinDecryptionVersion.String(), 20))
	}
	if latest-floor+1 > sign.MaxKeyVersions {
		return nil, nil, fmt.Errorf("%w: key %s has %d usable versions, more than %d", ErrTooManyVersions, c.key, latest-floor+1, sign.MaxKeyVersions)
	}
	var out []version
	for n := latest; n >= floor; n-- {
		raw, ok := ki.Keys[strconv.Itoa(n)]
		if !ok {
			continue // deleted or trimmed
		}
		var kv struct {
			PublicKey string `json:"public_key"`
		}
		if err := json.Unmarshal(raw, &kv); err != nil || kv.PublicKey == "" {
			return nil, nil, fmt.Errorf("%w: key %s version %d: %s has no public key", ErrUnsupportedKey, c.key, n, truncate(ki.Type, 40))
		}
		pub, err := parsePublicKey(ki.Type, kv.PublicKey)
		if err != nil {
			return nil, nil, fmt.Errorf("key %s version %d: %w", c.key, n, err)
		}
		alg, err := sign.DefaultAlgorithm(pub)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: key %s version %d: %w", ErrUnsupportedKey, c.key, n, err)
		}
		v, err := sign.NewVerifier(pub, alg)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: key %s version %d: %w", ErrUnsupportedKey, c.key, n, err)
		}
		out = append(out, version{n: n, pub: pub, alg: alg, v: v})
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: key %s has no usable version", ErrResponse, c.key)
	}
	return &ki, out, nil
}

// parsePublicKey reads a transit public key: PEM for ECDSA and RSA, base64
// of the raw key for Ed25519.
func parsePublicKey(typ, s string) (crypto.PublicKey, error) {
	switch {
	case typ == "ed25519":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: malformed ed25519 public key", ErrResponse)
		}
		return ed25519.PublicKey(b), nil
	case strings.HasPrefix(typ, "ecdsa-") || strings.HasPrefix(typ, "rsa-"):
		pub, err := sign.LoadPublicKey([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrResponse, err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedKey, truncate(typ, 40))
}

// Signer signs with one version of a transit key: the newest when it was
// made. It implements sign.Signer and sign.AlgorithmSigner, checks every
// signature Vault returns against the public key before returning it, and
// is safe for concurrent use.
type Signer struct {
	c   *client
	ver version
	id  string
}

// NewSigner reads the transit key named by ref (one request) and returns a
// Signer for its newest version.
func NewSigner(ctx context.Context, ref string, opts ...Option) (*Signer, error) {
	c, err := newClient(ref, opts)
	if err != nil {
		return nil, err
	}
	_, vs, err := c.versions(ctx)
	if err != nil {
		return nil, err
	}
	id, err := sign.PublicKeyID(vs[0].pub)
	if err != nil {
		return nil, err
	}
	return &Signer{c: c, ver: vs[0], id: id}, nil
}

func (s *Signer) KeyID() string             { return s.id }
func (s *Signer) Public() crypto.PublicKey  { return s.ver.pub }
func (s *Signer) Algorithm() sign.Algorithm { return s.ver.alg }

// Version returns the key version the Signer signs with.
func (s *Signer) Version() int { return s.ver.n }

// Sign has Vault sign data with the pinned version: a digest for ECDSA and
// RSA (PKCS#1 v1.5), the message itself for Ed25519.
func (s *Signer) Sign(ctx context.Context, data []byte) ([]byte, error) {
	req := map[string]any{"key_version": s.ver.n, "marshaling_algorithm": "asn1"}
	hashName := ""
	switch s.ver.alg {
	case sign.Ed25519:
		req["input"] = base64.StdEncoding.EncodeToString(data)
	default:
		var d []byte
		switch s.ver.alg.Hash() {
		case crypto.SHA256:
			h := sha256.Sum256(data)
			d, hashName = h[:], "sha2-256"
		case crypto.SHA384:
			h := sha512.Sum384(data)
			d, hashName = h[:], "sha2-384"
		case crypto.SHA512:
			h := sha512.Sum512(data)
			d, hashName = h[:], "sha2-512"
		default:
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedKey, s.ver.alg)
		}
		req["input"] = base64.StdEncoding.EncodeToString(d)
		req["prehashed"] = true
		if strings.HasPrefix(string(s.ver.alg), "rsa-") {
			req["signature_algorithm"] = "pkcs1v15"
		}
	}
	path := "sign/" + s.c.key
	if hashName != "" {
		path += "/" + hashName
	}
	var out struct {
		Signature  string      `json:"signature"`
		KeyVersion json.Number `json:"key_version"`
	}
	if err := s.c.do(ctx, http.MethodPost, path, req, &out); err != nil {
		return nil, err
	}
	prefix := "vault:v" + strconv.Itoa(s.ver.n) + ":"
	b64, ok := strings.CutPrefix(out.Signature, prefix)
	if !ok {
		return nil, fmt.Errorf("%w: signature is not %q…", ErrResponse, prefix)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sig) == 0 || len(sig) > 2048 {
		return nil, fmt.Errorf("%w: malformed signature", ErrResponse)
	}
	if err := s.ver.v.Verify(ctx, data, sig); err != nil {
		return nil, fmt.Errorf("%w: Vault's signature does not verify with key version %d: %w", ErrResponse, s.ver.n, err)
	}
	return sig, nil
}

// NewVerifier reads the transit key named by ref (one request) and returns
// a verifier of every version Vault allows to verify, newest first, as one
// signer (a sign.VersionedVerifier). Verification makes no request.
func NewVerifier(ctx context.Context, ref string, opts ...Option) (sign.VersionedVerifier, error) {
	c, err := newClient(ref, opts)
	if err != nil {
		return nil, err
	}
	_, vs, err := c.versions(ctx)
	if err != nil {
		return nil, err
	}
	verifiers := make([]sign.Verifier, len(vs))
	for i, v := range vs {
		verifiers[i] = v.v
	}
	return sign.NewVersionedVerifier(slices.Clip(verifiers)...)
}

// Resolver returns a function that resolves hashivault:// references with
// NewVerifier and opts; its type fits verify.KeyResolver.
func Resolver(opts ...Option) func(ctx context.Context, ref string) (sign.Verifier, error) {
	return func(ctx context.Context, ref string) (sign.Verifier, error) {
		return NewVerifier(ctx, ref, opts...)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
