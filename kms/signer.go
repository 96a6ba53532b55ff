package kms

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"sync"

	kmsapi "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/slsakit/slsakit/sign"
)

// Limits on what a Cloud KMS response may carry.
const (
	maxPublicKeyPEM = 64 << 10
	maxSignature    = 2048 // RSA-4096 signs 512 bytes
	maxKeyVersions  = 10000
)

// Option configures NewSigner and NewVerifier.
type Option func(*config)

type config struct {
	clientOpts []option.ClientOption
	client     *kmsapi.KeyManagementClient
}

// WithClientOptions passes options to the Cloud KMS client this package
// creates: an endpoint, credentials, a token source... Without them the
// client uses Application Default Credentials and the public endpoint.
func WithClientOptions(opts ...option.ClientOption) Option {
	return func(c *config) { c.clientOpts = append(c.clientOpts, opts...) }
}

// WithClient makes the Signer use an existing client instead of creating
// one. The caller keeps ownership: Close does not close it. Client options
// are then ignored.
func WithClient(client *kmsapi.KeyManagementClient) Option {
	return func(c *config) { c.client = client }
}

// Signer signs with an asymmetric Cloud KMS key version. It implements
// sign.Signer and sign.AlgorithmSigner and is safe for concurrent use.
//
// NewSigner resolves the key version and fetches its public key once; after
// that each Sign is exactly one AsymmetricSign call (two if the first
// response fails an integrity check).
type Signer struct {
	client  *kmsapi.KeyManagementClient
	owned   bool
	version string // full resource name of the key version
	alg     algorithm
	pub     crypto.PublicKey
	local   sign.Verifier // checks every signature before it is returned
	crc     *crc32.Table

	mu     sync.RWMutex
	closed bool
}

var _ sign.AlgorithmSigner = (*Signer)(nil)

// NewSigner returns a Signer for the key named by ref (see Reference). A
// reference without a version signs with the newest ENABLED version of the
// key, chosen now and kept for the Signer's life.
//
// Errors match ErrInvalidReference, ErrKeyNotFound, ErrPermissionDenied,
// ErrKeyVersionNotEnabled, ErrWrongPurpose, ErrUnsupportedAlgorithm or
// ErrIntegrity with errors.Is.
func NewSigner(ctx context.Context, ref string, opts ...Option) (*Signer, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	client, owned, err := newClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	s, err := load(ctx, client, r)
	if err != nil {
		if owned {
			client.Close()
		}
		return nil, err
	}
	s.owned = owned
	return s, nil
}

func newClient(ctx context.Context, opts []Option) (*kmsapi.KeyManagementClient, bool, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.client != nil {
		return cfg.client, false, nil
	}
	c, err := kmsapi.NewKeyManagementClient(ctx, cfg.clientOpts...)
	if err != nil {
		return nil, false, fmt.Errorf("kms: creating Cloud KMS client: %w", err)
	}
	return c, true, nil
}

// load resolves the key version and fetches its public key.
func load(ctx context.Context, client *kmsapi.KeyManagementClient, r Reference) (*Signer, error) {
	s := &Signer{client: client, crc: crc32.MakeTable(crc32.Castagnoli)}
	var err error
	if s.version, s.alg, err = resolveVersion(ctx, client, r); err != nil {
		return nil, err
	}
	if err := s.loadPublicKey(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// loadPublicKey fetches and checks the public key of s.version.
func (s *Signer) loadPublicKey(ctx context.Context) error {
	var err error
	if s.pub, err = s.fetchPublicKey(ctx); err != nil {
		return err
	}
	if s.local, err = sign.NewVerifier(s.pub, s.alg.alg); err != nil {
		return fmt.Errorf("%w: key version %s: %w", ErrUnsupportedAlgorithm, s.version, err)
	}
	return nil
}

// resolveVersion returns the key version to use and its algorithm.
func resolveVersion(ctx context.Context, client *kmsapi.KeyManagementClient, r Reference) (string, algorithm, error) {
	if r.Version != "" {
		name := r.VersionName()
		v, err := client.GetCryptoKeyVersion(ctx, &kmspb.GetCryptoKeyVersionRequest{Name: name})
		if status.Code(err) == codes.PermissionDenied {
			// Least privilege: roles/cloudkms.signerVerifier may not read
			// version metadata. GetPublicKey then names the algorithm, and
			// fails for a version that is not enabled.
			return name, algorithm{}, nil
		}
		if err != nil {
			return "", algorithm{}, mapRPCError("GetCryptoKeyVersion", name, err)
		}
		if v.GetName() != name {
			return "", algorithm{}, &IntegrityError{Op: "GetCryptoKeyVersion", Name: name, Check: CheckResponseName,
				Detail: fmt.Sprintf("response names %q", truncate(v.GetName(), 300)), Attempts: 1}
		}
		alg, err := lookupAlgorithm(v.GetAlgorithm())
		if err != nil {
			return "", algorithm{}, fmt.Errorf("%w (key version %s)", err, name)
		}
		if v.GetState() != kmspb.CryptoKeyVersion_ENABLED {
			return "", algorithm{}, fmt.Errorf("%w: %s is %s", ErrKeyVersionNotEnabled, name, v.GetState())
		}
		return name, alg, nil
	}

	versions, err := enabledVersions(ctx, client, r)
	if err != nil {
		return "", algorithm{}, err
	}
	best := versions[0]
	alg, err := lookupAlgorithm(best.GetAlgorithm())
	if err != nil {
		return "", algorithm{}, fmt.Errorf("%w (key version %s)", err, best.GetName())
	}
	return best.GetName(), alg, nil
}

// enabledVersions lists the ENABLED versions of r's key, newest (highest
// number) first: at least one, else ErrKeyVersionNotEnabled.
func enabledVersions(ctx context.Context, client *kmsapi.KeyManagementClient, r Reference) ([]*kmspb.CryptoKeyVersion, error) {
	keyName := r.KeyName()
	key, err := client.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: keyName})
	if err != nil {
		return nil, mapRPCError("GetCryptoKey", keyName, err)
	}
	if p := key.GetPurpose(); p != kmspb.CryptoKey_ASYMMETRIC_SIGN {
		return nil, fmt.Errorf("%w: %s has purpose %s", ErrWrongPurpose, keyName, p)
	}
	prefix := keyName + "/cryptoKeyVersions/"
	type numbered struct {
		v *kmspb.CryptoKeyVersion
		n uint64
	}
	var found []numbered
	seen := map[uint64]bool{}
	it := client.ListCryptoKeyVersions(ctx, &kmspb.ListCryptoKeyVersionsRequest{
		Parent: keyName,
		Filter: "state=ENABLED",
	})
	for i := 0; ; i++ {
		if i == maxKeyVersions {
			return nil, fmt.Errorf("%w: %s has more than %d versions; name one in the reference", ErrTooManyVersions, keyName, maxKeyVersions)
		}
		v, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, mapRPCError("ListCryptoKeyVersions", keyName, err)
		}
		// The server filter is an optimisation; check again here.
		if v.GetState() != kmspb.CryptoKeyVersion_ENABLED {
			continue
		}
		id, ok := strings.CutPrefix(v.GetName(), prefix)
		if !ok {
			return nil, &IntegrityError{Op: "ListCryptoKeyVersions", Name: keyName, Check: CheckResponseName,
				Detail: fmt.Sprintf("listed version %q is not a version of this key", truncate(v.GetName(), 300)), Attempts: 1}
		}
		n, err := strconv.ParseUint(id, 10, 63)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != id {
			return nil, &IntegrityError{Op: "ListCryptoKeyVersions", Name: keyName, Check: CheckResponseName,
				Detail: fmt.Sprintf("listed version %q has no numeric ID", truncate(v.GetName(), 300)), Attempts: 1}
		}
		if seen[n] {
			return nil, &IntegrityError{Op: "ListCryptoKeyVersions", Name: keyName, Check: CheckResponseName,
				Detail: fmt.Sprintf("version %d listed twice", n), Attempts: 1}
		}
		seen[n] = true
		found = append(found, numbered{v, n})
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %s has no ENABLED version", ErrKeyVersionNotEnabled, keyName)
	}
	slices.SortFunc(found, func(a, b numbered) int { return cmp.Compare(b.n, a.n) })
	out := make([]*kmspb.CryptoKeyVersion, len(found))
	for i, f := range found {
		out[i] = f.v
	}
	return out, nil
}

// fetchPublicKey gets and checks the version's public key, retrying once
// when the response fails an integrity check.
func (s *Signer) fetchPublicKey(ctx context.Context) (crypto.PublicKey, error) {
	var last *IntegrityError
	for attempt := 1; attempt <= 2; attempt++ {
		pk, err := s.client.GetPublicKey(ctx, &kmspb.GetPublicKeyRequest{Name: s.version})
		if err != nil {
			return nil, mapRPCError("GetPublicKey", s.version, err)
		}
		pub, ierr, err := s.checkPublicKey(pk)
		if err != nil {
			return nil, err
		}
		if ierr == nil {
			return pub, nil
		}
		ierr.Attempts = attempt
		last = ierr
	}
	return nil, last
}

// checkPublicKey checks a GetPublicKey response. It returns an
// *IntegrityError for a corrupt response and an error for an unusable key.
func (s *Signer) checkPublicKey(pk *kmspb.PublicKey) (crypto.PublicKey, *IntegrityError, error) {
	fail := func(check, detail string) (crypto.PublicKey, *IntegrityError, error) {
		return nil, &IntegrityError{Op: "GetPublicKey", Name: s.version, Check: check, Detail: detail}, nil
	}
	if pk.GetName() != s.version {
		return fail(CheckPublicKeyName, fmt.Sprintf("response names %q", truncate(pk.GetName(), 300)))
	}
	p := pk.GetPem()
	if len(p) > maxPublicKeyPEM {
		return fail(CheckPublicKeyMaterial, fmt.Sprintf("PEM is %d bytes", len(p)))
	}
	if pk.GetPemCrc32C() == nil {
		return fail(CheckPublicKeyCRC32C, "missing")
	}
	if got, want := int64(crc32.Checksum([]byte(p), s.crc)), pk.GetPemCrc32C().GetValue(); got != want {
		return fail(CheckPublicKeyCRC32C, fmt.Sprintf("PEM has CRC32C %d, response says %d", got, want))
	}
	alg := s.alg
	if alg.kms == 0 {
		// The version's metadata was not readable: take the algorithm from
		// the public key. Local verification of every signature still
		// catches a mislabelled one.
		var err error
		if alg, err = lookupAlgorithm(pk.GetAlgorithm()); err != nil {
			return nil, nil, fmt.Errorf("%w (key version %s)", err, s.version)
		}
	} else if pk.GetAlgorithm() != alg.kms {
		return fail(CheckPublicKeyAlgorithm, fmt.Sprintf("public key is %s, key version is %s", pk.GetAlgorithm(), s.alg.kms))
	}
	block, rest := pem.Decode([]byte(p))
	if block == nil || block.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) != 0 {
		return fail(CheckPublicKeyMaterial, "want exactly one PEM \"PUBLIC KEY\" block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fail(CheckPublicKeyMaterial, err.Error())
	}
	if err := alg.checkKey(pub); err != nil {
		return fail(CheckPublicKeyMaterial, err.Error())
	}
	s.alg = alg
	return pub, nil, nil
}

// Sign signs data (the complete message, e.g. a DSSE PAE). For digest
// algorithms it hashes data locally and sends only the digest; for Ed25519
// it sends data. Each request carries a CRC32C of what it sends, and the
// response must confirm it, name this key version and carry a matching
// CRC32C of the signature, and the signature must verify with the cached
// public key. A response failing a check is retried once; a second failure
// returns an *IntegrityError (ErrIntegrity).
func (s *Signer) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	req := &kmspb.AsymmetricSignRequest{Name: s.version}
	if s.alg.ed25519 {
		req.Data = data
		req.DataCrc32C = wrapperspb.Int64(int64(crc32.Checksum(data, s.crc)))
	} else {
		sum, d := s.alg.digest(data)
		req.Digest = d
		req.DigestCrc32C = wrapperspb.Int64(int64(crc32.Checksum(sum, s.crc)))
	}
	var last *IntegrityError
	for attempt := 1; attempt <= 2; attempt++ {
		resp, err := s.client.AsymmetricSign(ctx, req)
		if err != nil {
			return nil, mapRPCError("AsymmetricSign", s.version, err)
		}
		ierr := s.checkSignResponse(ctx, data, resp)
		if ierr == nil {
			return resp.GetSignature(), nil
		}
		ierr.Attempts = attempt
		last = ierr
	}
	return nil, last
}

func (s *Signer) checkSignResponse(ctx context.Context, data []byte, resp *kmspb.AsymmetricSignResponse) *IntegrityError {
	fail := func(check, detail string) *IntegrityError {
		return &IntegrityError{Op: "AsymmetricSign", Name: s.version, Check: check, Detail: detail}
	}
	if resp.GetName() != s.version {
		return fail(CheckResponseName, fmt.Sprintf("response names %q", truncate(resp.GetName(), 300)))
	}
	if s.alg.ed25519 {
		if !resp.GetVerifiedDataCrc32C() {
			return fail(CheckVerifiedData, "the server did not confirm the data checksum")
		}
	} else if !resp.GetVerifiedDigestCrc32C() {
		return fail(CheckVerifiedDigest, "the server did not confirm the digest checksum")
	}
	sig := resp.GetSignature()
	if len(sig) == 0 || len(sig) > maxSignature {
		return fail(CheckSignature, fmt.Sprintf("signature is %d bytes", len(sig)))
	}
	if resp.GetSignatureCrc32C() == nil {
		return fail(CheckSignatureCRC32C, "missing")
	}
	if got, want := int64(crc32.Checksum(sig, s.crc)), resp.GetSignatureCrc32C().GetValue(); got != want {
		return fail(CheckSignatureCRC32C, fmt.Sprintf("signature has CRC32C %d, response says %d", got, want))
	}
	if err := s.local.Verify(ctx, data, sig); err != nil {
		return fail(CheckSignature, err.Error())
	}
	return nil
}

// KeyID returns the public key's sign.PublicKeyID (its SSH SHA-256
// fingerprint), the key ID DSSE verifiers such as cosign's compute for a
// key and match envelope key IDs against. Ref names the KMS key version.
func (s *Signer) KeyID() string { return s.local.KeyID() }

// Ref returns the key version's reference, "gcpkms://" followed by the full
// key version name: what NewVerifier and cosign's --key take.
func (s *Signer) Ref() string { return Scheme + s.version }

// Public returns the key version's public key (*ecdsa.PublicKey,
// *rsa.PublicKey or ed25519.PublicKey).
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Algorithm returns the signature algorithm of the key version.
func (s *Signer) Algorithm() sign.Algorithm { return s.alg.alg }

// VersionName returns the resource name of the key version in use.
func (s *Signer) VersionName() string { return s.version }

// Close releases the client if NewSigner created it. Sign fails with
// ErrClosed afterwards. Close waits for Sign calls in flight.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.owned {
		return s.client.Close()
	}
	return nil
}
