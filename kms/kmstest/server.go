package kmstest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Method names a Cloud KMS RPC that the Server implements.
type Method string

// The RPCs the Server implements. Every other KeyManagementService method
// answers codes.Unimplemented.
const (
	GetCryptoKey          Method = "GetCryptoKey"
	GetCryptoKeyVersion   Method = "GetCryptoKeyVersion"
	ListCryptoKeyVersions Method = "ListCryptoKeyVersions"
	GetPublicKey          Method = "GetPublicKey"
	AsymmetricSign        Method = "AsymmetricSign"
)

// Fault is a kind of corrupted response, for testing a client's integrity
// checks.
type Fault int

// The faults InjectFault can apply.
const (
	// FaultPublicKeyCRC32C makes GetPublicKey report a wrong pem_crc32c.
	FaultPublicKeyCRC32C Fault = iota + 1
	// FaultPublicKeyName makes GetPublicKey name another key version.
	FaultPublicKeyName
	// FaultSignatureCRC32C makes AsymmetricSign report a wrong
	// signature_crc32c.
	FaultSignatureCRC32C
	// FaultSignName makes AsymmetricSign name another key version.
	FaultSignName
	// FaultUnverifiedChecksum makes AsymmetricSign answer
	// verified_digest_crc32c (or verified_data_crc32c) false, as if the
	// request checksum had not been received.
	FaultUnverifiedChecksum
	// FaultSignatureBytes flips a bit of the signature and reports the
	// CRC32C of the corrupted bytes: only verifying the signature catches it.
	FaultSignatureBytes
	// FaultPublicKeyAlgorithm makes GetPublicKey report another algorithm
	// than the key version's.
	FaultPublicKeyAlgorithm
	// FaultPublicKeyMaterial makes GetPublicKey serve a fresh key of another
	// type or curve (P-384 for a P-256 version, P-256 otherwise) with a
	// correct pem_crc32c.
	FaultPublicKeyMaterial
)

func (f Fault) String() string {
	switch f {
	case FaultPublicKeyCRC32C:
		return "FaultPublicKeyCRC32C"
	case FaultPublicKeyName:
		return "FaultPublicKeyName"
	case FaultSignatureCRC32C:
		return "FaultSignatureCRC32C"
	case FaultSignName:
		return "FaultSignName"
	case FaultUnverifiedChecksum:
		return "FaultUnverifiedChecksum"
	case FaultSignatureBytes:
		return "FaultSignatureBytes"
	case FaultPublicKeyAlgorithm:
		return "FaultPublicKeyAlgorithm"
	case FaultPublicKeyMaterial:
		return "FaultPublicKeyMaterial"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// MaxSignData is the largest data the Server signs for Ed25519 keys.
const MaxSignData = 64 << 10

// Option configures a Server.
type Option func(*Server)

// WithLatency delays every RPC by d (the delay honours the call's context).
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// Server is an in-process Cloud KMS KeyManagementService on 127.0.0.1 with
// real keys and real CRC32C checksums, for driving the real Cloud KMS client
// in tests. It is safe for concurrent use.
type Server struct {
	t    testing.TB // nil when made by Start
	addr string
	gs   *grpc.Server
	crc  *crc32.Table
	stop sync.Once

	mu       sync.Mutex
	latency  time.Duration
	keys     map[string]*key // by crypto key name
	calls    map[Method]int
	errs     map[Method]*injected
	faults   map[Fault]int // remaining count; -1 = until cleared
	lastSign *kmspb.AsymmetricSignRequest
}

type injected struct {
	code      codes.Code
	remaining int // -1 = until cleared
}

type key struct {
	name     string
	purpose  kmspb.CryptoKey_CryptoKeyPurpose
	alg      kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm
	versions []*version
}

type version struct {
	name  string
	alg   kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm
	state kmspb.CryptoKeyVersion_CryptoKeyVersionState
	priv  crypto.Signer // nil for algorithms the Server cannot sign with
	pem   string
}

// NewServer starts a Server on a free 127.0.0.1 port and stops it when the
// test ends. Misuse of the fixture methods (CreateKey on a malformed key
// ring, an unknown version...) fails the test with t.Fatal, so call them
// from the test goroutine.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t, opts)
	if err != nil {
		t.Fatalf("kmstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server outside a test (an example program, a local
// demo). The caller must Close it. Fixture methods panic on misuse.
func Start(opts ...Option) (*Server, error) { return start(nil, opts) }

func start(t testing.TB, opts []Option) (*Server, error) {
	s := &Server{
		t:      t,
		crc:    crc32.MakeTable(crc32.Castagnoli),
		keys:   map[string]*key{},
		calls:  map[Method]int{},
		errs:   map[Method]*injected{},
		faults: map[Fault]int{},
	}
	for _, o := range opts {
		o(s)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	s.addr = lis.Addr().String()
	s.gs = grpc.NewServer()
	kmspb.RegisterKeyManagementServiceServer(s.gs, &service{s: s})
	go s.gs.Serve(lis) //nolint:errcheck // Serve returns when Close stops the server.
	return s, nil
}

// Close stops the server, ending open calls. NewServer registers it with
// t.Cleanup; calling it again does nothing.
func (s *Server) Close() { s.stop.Do(s.gs.Stop) }

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// ClientOptions returns the options that point the real Cloud KMS client
// (cloud.google.com/go/kms/apiv1) at this server: its endpoint, no
// authentication and a plaintext gRPC connection.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// Ref returns the gcpkms:// reference of a key or key version name.
func (s *Server) Ref(name string) string { return "gcpkms://" + name }

func (s *Server) fatalf(format string, args ...any) {
	if s.t != nil {
		s.t.Helper()
		s.t.Fatalf("kmstest: "+format, args...)
	}
	panic(fmt.Sprintf("kmstest: "+format, args...))
}

// CreateKey creates the crypto key keyRing/cryptoKeys/keyID with one ENABLED
// version of algorithm alg and returns the version's name. keyRing is
// "projects/P/locations/L/keyRings/R". The purpose follows the algorithm
// (ASYMMETRIC_SIGN for RSA_SIGN_* and EC_SIGN_*). The Server generates real
// keys for the algorithms Go's standard library can sign with; keys of other
// algorithms exist but have no key material.
func (s *Server) CreateKey(keyRing, keyID string, alg kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm) string {
	if s.t != nil {
		s.t.Helper()
	}
	p := strings.Split(keyRing, "/")
	if len(p) != 6 || p[0] != "projects" || p[2] != "locations" || p[4] != "keyRings" || p[1] == "" || p[3] == "" || p[5] == "" {
		s.fatalf("CreateKey: key ring %q is not projects/P/locations/L/keyRings/R", keyRing)
	}
	if keyID == "" || strings.Contains(keyID, "/") {
		s.fatalf("CreateKey: invalid key ID %q", keyID)
	}
	name := keyRing + "/cryptoKeys/" + keyID
	k := &key{name: name, purpose: purposeOf(alg), alg: alg}
	v := s.newVersion(k, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.keys[name]; dup {
		s.fatalf("CreateKey: %s exists", name)
	}
	k.versions = append(k.versions, v)
	s.keys[name] = k
	return v.name
}

// AddVersion adds an ENABLED version to the crypto key keyName, with the
// key's algorithm and fresh key material, and returns its name.
func (s *Server) AddVersion(keyName string) string {
	if s.t != nil {
		s.t.Helper()
	}
	s.mu.Lock()
	k := s.keys[keyName]
	n := 0
	if k != nil {
		n = len(k.versions) + 1
	}
	s.mu.Unlock()
	if k == nil {
		s.fatalf("AddVersion: no key %s", keyName)
	}
	v := s.newVersion(k, n) // key generation outside the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	v.name = fmt.Sprintf("%s/cryptoKeyVersions/%d", k.name, len(k.versions)+1)
	k.versions = append(k.versions, v)
	return v.name
}

// SetVersionState sets the state of a key version (DISABLED, DESTROYED...).
func (s *Server) SetVersionState(versionName string, state kmspb.CryptoKeyVersion_CryptoKeyVersionState) {
	if s.t != nil {
		s.t.Helper()
	}
	s.mu.Lock()
	v := s.lookupVersion(versionName)
	if v != nil {
		v.state = state
	}
	s.mu.Unlock()
	if v == nil {
		s.fatalf("SetVersionState: no key version %s", versionName)
	}
}

// PublicKey returns the public key of a key version, for checking
// signatures independently of the client under test.
func (s *Server) PublicKey(versionName string) crypto.PublicKey {
	if s.t != nil {
		s.t.Helper()
	}
	s.mu.Lock()
	v := s.lookupVersion(versionName)
	s.mu.Unlock()
	if v == nil || v.priv == nil {
		s.fatalf("PublicKey: no key material for %s", versionName)
	}
	return v.priv.Public()
}

// Calls returns how many times method m was called (including calls that
// failed or were answered with a fault).
func (s *Server) Calls(m Method) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[m]
}

// ResetCalls sets every call counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// LastSignRequest returns a copy of the last AsymmetricSign request
// received, or nil.
func (s *Server) LastSignRequest() *kmspb.AsymmetricSignRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastSign == nil {
		return nil
	}
	return proto.Clone(s.lastSign).(*kmspb.AsymmetricSignRequest)
}

// InjectError makes the next n calls of method m fail with code (n <= 0:
// every call until ClearFaults). Note that the Cloud KMS client retries
// Unavailable and DeadlineExceeded by itself.
func (s *Server) InjectError(m Method, code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = -1
	}
	s.errs[m] = &injected{code: code, remaining: n}
}

// InjectFault corrupts the next n responses that f applies to (n <= 0:
// every one until ClearFaults).
func (s *Server) InjectFault(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = -1
	}
	s.faults[f] = n
}

// ClearFaults removes every injected error and fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.errs)
	clear(s.faults)
}

// SetLatency changes the delay added to every RPC.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

func purposeOf(alg kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm) kmspb.CryptoKey_CryptoKeyPurpose {
	n := alg.String()
	switch {
	case strings.HasPrefix(n, "RSA_SIGN_"), strings.HasPrefix(n, "EC_SIGN_"), strings.HasPrefix(n, "PQ_SIGN_"):
		return kmspb.CryptoKey_ASYMMETRIC_SIGN
	case strings.HasPrefix(n, "RSA_DECRYPT_"):
		return kmspb.CryptoKey_ASYMMETRIC_DECRYPT
	case strings.HasPrefix(n, "HMAC_"):
		return kmspb.CryptoKey_MAC
	case strings.HasPrefix(n, "ML_KEM_"), strings.HasPrefix(n, "KEM_"):
		return kmspb.CryptoKey_KEY_ENCAPSULATION
	}
	return kmspb.CryptoKey_ENCRYPT_DECRYPT
}

// signing describes how the Server signs with an algorithm.
type signing struct {
	hash    crypto.Hash // 0: signs the data (Ed25519)
	pss     bool
	rsaBits int
	curve   elliptic.Curve
	ed25519 bool
}

func signingOf(alg kmspb.CryptoKeyVersion_CryptoKeyVersionAlgorithm) (signing, bool) {
	switch alg {
	case kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256:
		return signing{hash: crypto.SHA256, curve: elliptic.P256()}, true
	case kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384:
		return signing{hash: crypto.SHA384, curve: elliptic.P384()}, true
	case kmspb.CryptoKeyVersion_EC_SIGN_ED25519:
		return signing{ed25519: true}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_2048_SHA256:
		return signing{hash: crypto.SHA256, pss: true, rsaBits: 2048}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_3072_SHA256:
		return signing{hash: crypto.SHA256, pss: true, rsaBits: 3072}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_4096_SHA256:
		return signing{hash: crypto.SHA256, pss: true, rsaBits: 4096}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PSS_4096_SHA512:
		return signing{hash: crypto.SHA512, pss: true, rsaBits: 4096}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_2048_SHA256:
		return signing{hash: crypto.SHA256, rsaBits: 2048}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_3072_SHA256:
		return signing{hash: crypto.SHA256, rsaBits: 3072}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA256:
		return signing{hash: crypto.SHA256, rsaBits: 4096}, true
	case kmspb.CryptoKeyVersion_RSA_SIGN_PKCS1_4096_SHA512:
		return signing{hash: crypto.SHA512, rsaBits: 4096}, true
	}
	return signing{}, false
}

func (s *Server) newVersion(k *key, n int) *version {
	v := &version{
		name:  fmt.Sprintf("%s/cryptoKeyVersions/%d", k.name, n),
		alg:   k.alg,
		state: kmspb.CryptoKeyVersion_ENABLED,
	}
	sg, ok := signingOf(k.alg)
	if !ok {
		return v
	}
	var err error
	switch {
	case sg.ed25519:
		_, v.priv, err = ed25519.GenerateKey(rand.Reader)
	case sg.curve != nil:
		v.priv, err = ecdsa.GenerateKey(sg.curve, rand.Reader)
	default:
		v.priv, err = rsa.GenerateKey(rand.Reader, sg.rsaBits)
	}
	if err != nil {
		s.fatalf("generating a %s key: %v", k.alg, err)
	}
	der, err := x509.MarshalPKIXPublicKey(v.priv.Public())
	if err != nil {
		s.fatalf("encoding a %s public key: %v", k.alg, err)
	}
	v.pem = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return v
}

// lookupVersion finds a version by name; s.mu must be held.
func (s *Server) lookupVersion(name string) *version {
	keyName, id, ok := strings.Cut(name, "/cryptoKeyVersions/")
	if !ok {
		return nil
	}
	k := s.keys[keyName]
	n, err := strconv.Atoi(id)
	if k == nil || err != nil || n < 1 || n > len(k.versions) || strconv.Itoa(n) != id {
		return nil
	}
	return k.versions[n-1]
}

// enter counts a call, waits the latency and returns an injected error.
func (s *Server) enter(ctx context.Context, m Method) error {
	s.mu.Lock()
	s.calls[m]++
	d := s.latency
	var err error
	if e := s.errs[m]; e != nil {
		err = status.Errorf(e.code, "kmstest: injected %s error", e.code)
		if e.remaining > 0 {
			if e.remaining--; e.remaining == 0 {
				delete(s.errs, m)
			}
		}
	}
	s.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}
	return err
}

// fault reports whether f applies to this response and uses it up; s.mu
// must be held.
func (s *Server) fault(f Fault) bool {
	n, ok := s.faults[f]
	if !ok {
		return false
	}
	if n > 0 {
		if n--; n == 0 {
			delete(s.faults, f)
		} else {
			s.faults[f] = n
		}
	}
	return true
}

func (s *Server) checksum(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, s.crc)))
}

// service implements the gRPC methods, keeping them off Server's API.
type service struct {
	kmspb.UnimplementedKeyManagementServiceServer
	s *Server
}

func versionProto(v *version) *kmspb.CryptoKeyVersion {
	return &kmspb.CryptoKeyVersion{
		Name:            v.name,
		State:           v.state,
		Algorithm:       v.alg,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
}

func (x *service) GetCryptoKey(ctx context.Context, req *kmspb.GetCryptoKeyRequest) (*kmspb.CryptoKey, error) {
	s := x.s
	if err := s.enter(ctx, GetCryptoKey); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[req.GetName()]
	if k == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", req.GetName())
	}
	ck := &kmspb.CryptoKey{
		Name:    k.name,
		Purpose: k.purpose,
		VersionTemplate: &kmspb.CryptoKeyVersionTemplate{
			Algorithm:       k.alg,
			ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
		},
	}
	if k.purpose == kmspb.CryptoKey_ENCRYPT_DECRYPT && len(k.versions) > 0 {
		ck.Primary = versionProto(k.versions[0]) // asymmetric keys have no primary
	}
	return ck, nil
}

func (x *service) GetCryptoKeyVersion(ctx context.Context, req *kmspb.GetCryptoKeyVersionRequest) (*kmspb.CryptoKeyVersion, error) {
	s := x.s
	if err := s.enter(ctx, GetCryptoKeyVersion); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.lookupVersion(req.GetName())
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found.", req.GetName())
	}
	return versionProto(v), nil
}

func (x *service) ListCryptoKeyVersions(ctx context.Context, req *kmspb.ListCryptoKeyVersionsRequest) (*kmspb.ListCryptoKeyVersionsResponse, error) {
	s := x.s
	if err := s.enter(ctx, ListCryptoKeyVersions); err != nil {
		return nil, err
	}
	var want kmspb.CryptoKeyVersion_CryptoKeyVersionState
	if f := strings.ReplaceAll(req.GetFilter(), " ", ""); f != "" {
		st, ok := strings.CutPrefix(f, "state=")
		v, known := kmspb.CryptoKeyVersion_CryptoKeyVersionState_value[st]
		if !ok || !known {
			return nil, status.Errorf(codes.InvalidArgument, "kmstest supports only filters of the form state=STATE, not %q", req.GetFilter())
		}
		want = kmspb.CryptoKeyVersion_CryptoKeyVersionState(v)
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "invalid page token %q", tok)
		}
		start = n
	}
	size := int(req.GetPageSize())
	if size <= 0 || size > 1000 {
		size = 1000
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[req.GetParent()]
	if k == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", req.GetParent())
	}
	var all []*kmspb.CryptoKeyVersion
	for _, v := range k.versions {
		if want == 0 || v.state == want {
			all = append(all, versionProto(v))
		}
	}
	resp := &kmspb.ListCryptoKeyVersionsResponse{TotalSize: int32(len(all))}
	if start < len(all) {
		end := min(start+size, len(all))
		resp.CryptoKeyVersions = all[start:end]
		if end < len(all) {
			resp.NextPageToken = strconv.Itoa(end)
		}
	}
	return resp, nil
}

func (x *service) GetPublicKey(ctx context.Context, req *kmspb.GetPublicKeyRequest) (*kmspb.PublicKey, error) {
	s := x.s
	if err := s.enter(ctx, GetPublicKey); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.lookupVersion(req.GetName())
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found.", req.GetName())
	}
	if v.state != kmspb.CryptoKeyVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not enabled, current state is: %s.", v.name, v.state)
	}
	if v.priv == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%s has no public key (algorithm %s)", v.name, v.alg)
	}
	pk := &kmspb.PublicKey{
		Pem:             v.pem,
		Algorithm:       v.alg,
		PemCrc32C:       s.checksum([]byte(v.pem)),
		Name:            v.name,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	if s.fault(FaultPublicKeyCRC32C) {
		pk.PemCrc32C = wrapperspb.Int64(pk.PemCrc32C.GetValue() ^ 1)
	}
	if s.fault(FaultPublicKeyName) {
		pk.Name = otherVersion(v.name)
	}
	if s.fault(FaultPublicKeyMaterial) {
		curve := elliptic.P256()
		if v.alg == kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256 {
			curve = elliptic.P384()
		}
		other, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "generating a key: %v", err)
		}
		der, err := x509.MarshalPKIXPublicKey(other.Public())
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encoding a key: %v", err)
		}
		pk.Pem = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		pk.PemCrc32C = s.checksum([]byte(pk.Pem))
	}
	if s.fault(FaultPublicKeyAlgorithm) {
		pk.Algorithm = kmspb.CryptoKeyVersion_EC_SIGN_SECP256K1_SHA256
		if v.alg == pk.Algorithm {
			pk.Algorithm = kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256
		}
	}
	return pk, nil
}

func (x *service) AsymmetricSign(ctx context.Context, req *kmspb.AsymmetricSignRequest) (*kmspb.AsymmetricSignResponse, error) {
	s := x.s
	s.mu.Lock()
	s.lastSign = proto.Clone(req).(*kmspb.AsymmetricSignRequest)
	s.mu.Unlock()
	if err := s.enter(ctx, AsymmetricSign); err != nil {
		return nil, err
	}
	s.mu.Lock()
	v := s.lookupVersion(req.GetName())
	var state kmspb.CryptoKeyVersion_CryptoKeyVersionState
	if v != nil {
		state = v.state
	}
	s.mu.Unlock()
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found.", req.GetName())
	}
	if state != kmspb.CryptoKeyVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not enabled, current state is: %s.", v.name, state)
	}
	sg, ok := signingOf(v.alg)
	if !ok || v.priv == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "%s cannot sign (algorithm %s)", v.name, v.alg)
	}
	resp := &kmspb.AsymmetricSignResponse{Name: v.name, ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE}
	var sig []byte
	var err error
	if sg.ed25519 {
		if req.GetDigest() != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s signs data, not a digest", v.alg)
		}
		if len(req.GetData()) > MaxSignData {
			return nil, status.Errorf(codes.InvalidArgument, "data is %d bytes, limit %d", len(req.GetData()), MaxSignData)
		}
		if c := req.GetDataCrc32C(); c != nil {
			if c.GetValue() != s.checksum(req.GetData()).GetValue() {
				return nil, status.Error(codes.InvalidArgument, "The checksum in field data_crc32c did not match the data in field data.")
			}
			resp.VerifiedDataCrc32C = true
		}
		sig = ed25519.Sign(v.priv.(ed25519.PrivateKey), req.GetData())
	} else {
		if len(req.GetData()) > 0 {
			return nil, status.Errorf(codes.InvalidArgument, "%s signs a digest; send digest, not data", v.alg)
		}
		digest, derr := digestFor(req.GetDigest(), sg.hash)
		if derr != nil {
			return nil, derr
		}
		if c := req.GetDigestCrc32C(); c != nil {
			if c.GetValue() != s.checksum(digest).GetValue() {
				return nil, status.Error(codes.InvalidArgument, "The checksum in field digest_crc32c did not match the data in field digest.")
			}
			resp.VerifiedDigestCrc32C = true
		}
		switch k := v.priv.(type) {
		case *ecdsa.PrivateKey:
			sig, err = ecdsa.SignASN1(rand.Reader, k, digest)
		case *rsa.PrivateKey:
			if sg.pss {
				sig, err = rsa.SignPSS(rand.Reader, k, sg.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			} else {
				sig, err = rsa.SignPKCS1v15(rand.Reader, k, sg.hash, digest)
			}
		}
		if err != nil {
			return nil, status.Errorf(codes.Internal, "signing: %v", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fault(FaultSignatureBytes) {
		sig[len(sig)/2] ^= 0x01
	}
	resp.Signature = sig
	resp.SignatureCrc32C = s.checksum(sig)
	if s.fault(FaultSignatureCRC32C) {
		resp.SignatureCrc32C = wrapperspb.Int64(resp.SignatureCrc32C.GetValue() ^ 1)
	}
	if s.fault(FaultSignName) {
		resp.Name = otherVersion(v.name)
	}
	if s.fault(FaultUnverifiedChecksum) {
		resp.VerifiedDigestCrc32C, resp.VerifiedDataCrc32C = false, false
	}
	return resp, nil
}

func digestFor(d *kmspb.Digest, h crypto.Hash) ([]byte, error) {
	var b []byte
	switch h {
	case crypto.SHA256:
		b = d.GetSha256()
	case crypto.SHA384:
		b = d.GetSha384()
	case crypto.SHA512:
		b = d.GetSha512()
	}
	if len(b) != h.Size() {
		return nil, status.Errorf(codes.InvalidArgument, "the key needs a %s digest of %d bytes", h, h.Size())
	}
	return b, nil
}

// otherVersion returns the name of a neighbouring version of the same key.
func otherVersion(name string) string {
	i := strings.LastIndexByte(name, '/')
	n, _ := strconv.Atoi(name[i+1:])
	return name[:i+1] + strconv.Itoa(n+1)
}
