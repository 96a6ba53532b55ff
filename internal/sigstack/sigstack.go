package sigstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// Environment variables naming the binaries (.ci/install-tools sigstore
// writes them to .tools/env).
const (
	EnvFulcio         = "SLSAKIT_FULCIO_BIN"
	EnvTSA            = "SLSAKIT_TSA_BIN"
	EnvRekorV2        = "SLSAKIT_REKOR_V2_BIN"
	EnvRekorV1        = "SLSAKIT_REKOR_V1_BIN"
	EnvTrillianServer = "SLSAKIT_TRILLIAN_SERVER_BIN"
	EnvTrillianSigner = "SLSAKIT_TRILLIAN_SIGNER_BIN"
	EnvTrillianSchema = "SLSAKIT_TRILLIAN_SCHEMA"
	EnvMariaDBD       = "SLSAKIT_MARIADBD"
	EnvMariaDBInstall = "SLSAKIT_MARIADB_INSTALL_DB"
	EnvMariaDBClient  = "SLSAKIT_MARIADB_CLIENT"
	// EnvRequire turns a missing binary from a skip into a failure: "1"
	// for every service, or a comma-separated list of the services CI
	// installs ("fulcio,tsa,rekor-v2": a stack that needs another one
	// still skips).
	EnvRequire = "SLSAKIT_REQUIRE_SIGSTACK"
)

// Errors of New. Each wraps details; match with errors.Is.
var (
	// ErrNotInstalled: a binary the chosen services need is not named by
	// its environment variable, or is not an executable file.
	ErrNotInstalled = errors.New("sigstack: service binary not installed")
	// ErrStart: a service did not start or did not become ready in time.
	ErrStart = errors.New("sigstack: service did not start")
	// ErrLock: the metrics-port lock (see MetricsLockName) was not free in
	// time.
	ErrLock = errors.New("sigstack: metrics port lock not acquired")
	// ErrTrust: the services' keys and certificates could not be read or
	// assembled into a trusted root.
	ErrTrust = errors.New("sigstack: trust material")
)

// Service is one of the Sigstore services a stack can run.
type Service uint8

const (
	Fulcio Service = 1 << iota
	TSA
	RekorV1
	RekorV2
)

// AllServices is every service; the default of New.
const AllServices = Fulcio | TSA | RekorV1 | RekorV2

func (s Service) String() string {
	var names []string
	for _, x := range []struct {
		s Service
		n string
	}{{Fulcio, "fulcio"}, {TSA, "tsa"}, {RekorV1, "rekor-v1"}, {RekorV2, "rekor-v2"}} {
		if s&x.s != 0 {
			names = append(names, x.n)
		}
	}
	return strings.Join(names, "+")
}

// Option configures New.
type Option func(*config)

type config struct {
	services     Service
	startTimeout time.Duration
	lockTimeout  time.Duration
}

// WithServices chooses the services to run (default AllServices). The
// OIDC issuers always run; Fulcio is added when no service is named.
func WithServices(s ...Service) Option {
	return func(c *config) {
		c.services = 0
		for _, x := range s {
			c.services |= x
		}
	}
}

// WithStartTimeout bounds the start-up of the whole stack (default 2 min;
// a stack starts in seconds, the bound is for a loaded CI machine).
func WithStartTimeout(d time.Duration) Option { return func(c *config) { c.startTimeout = d } }

// WithLockTimeout bounds the wait for the metrics-port lock, held by
// another package's stack for as long as that stack runs (default 10 min).
func WithLockTimeout(d time.Duration) Option { return func(c *config) { c.lockTimeout = d } }

// Stack is a running set of real Sigstore services on 127.0.0.1.
type Stack struct {
	// Issuer mints tokens Fulcio accepts as type "email": certificates
	// for the token's email.
	Issuer *keylesstest.Issuer
	// GitHubIssuer mints tokens (GitHubToken) Fulcio accepts as type
	// "github-workflow": certificates with the full set of GitHub
	// workflow extensions and the job_workflow_ref as SAN.
	GitHubIssuer *keylesstest.Issuer

	// Base URLs of the running services; empty for those not run.
	FulcioURL  string
	RekorV1URL string
	RekorV2URL string
	// TSAURL is the timestamp endpoint (…/api/v1/timestamp).
	TSAURL string

	// Dir holds the services' data and logs, and the files below.
	Dir string
	// TrustedRootPath and SigningConfigPath are TrustedRoot and
	// SigningConfig written to files, for CLIs.
	TrustedRootPath   string
	SigningConfigPath string

	services      Service
	trustedRoot   []byte
	signingConfig []byte
	mat           material
	start         time.Time
	startup       time.Duration

	oidc  *keylesstest.Services
	lock  *metricsLock
	procs []*proc

	closeOnce sync.Once
}

// New starts the services. The caller must Close the stack. Tests use
// Start or Shared, which skip when the binaries are not installed.
func New(opts ...Option) (st *Stack, err error) {
	cfg := config{services: AllServices, startTimeout: 2 * time.Minute, lockTimeout: 10 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.services == 0 {
		cfg.services = Fulcio
	}
	bins, err := lookupBinaries(cfg.services)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	// A short directory: Unix socket paths (Fulcio's legacy gRPC socket,
	// MariaDB's) must stay under 108 bytes, which t.TempDir() may exceed.
	dir, err := os.MkdirTemp("", "sigstack-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	st = &Stack{Dir: dir, services: cfg.services, start: t0}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()
	if st.oidc, err = keylesstest.Start(); err != nil {
		return st, fmt.Errorf("%w: oidc issuer: %v", ErrStart, err)
	}
	st.Issuer = st.oidc.Issuer
	if st.GitHubIssuer, err = st.oidc.NewIssuer("github"); err != nil {
		return st, fmt.Errorf("%w: oidc issuer: %v", ErrStart, err)
	}

	if cfg.services&(TSA|RekorV1) != 0 {
		lctx, cancel := context.WithTimeout(context.Background(), cfg.lockTimeout)
		st.lock, err = acquireMetricsLock(lctx)
		cancel()
		if err != nil {
			return st, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.startTimeout)
	defer cancel()
	// The services are independent, so they start in parallel; only
	// Rekor v1 waits for the TSA, so that the TSA (which exits without
	// it) gets :2112 rather than Rekor v1 (which does without).
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []error
		tsaReady = make(chan struct{})
	)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	add := func(p *proc) {
		mu.Lock()
		st.procs = append(st.procs, p)
		mu.Unlock()
	}
	if cfg.services&Fulcio != 0 {
		run(func() error { return st.startFulcio(ctx, bins, add) })
	}
	if cfg.services&TSA != 0 {
		run(func() error { defer close(tsaReady); return st.startTSA(ctx, bins, add) })
	} else {
		close(tsaReady)
	}
	if cfg.services&RekorV2 != 0 {
		run(func() error { return st.startRekorV2(ctx, bins, add) })
	}
	if cfg.services&RekorV1 != 0 {
		run(func() error { return st.startRekorV1(ctx, bins, add, tsaReady) })
	}
	wg.Wait()
	if len(errs) > 0 {
		return st, errors.Join(errs...)
	}
	if err := st.assembleTrust(ctx); err != nil {
		return st, err
	}
	st.startup = time.Since(t0)
	return st, nil
}

// Close stops every process (their groups), releases the metrics lock and
// removes Dir. Safe to call more than once.
func (s *Stack) Close() {
	if s == nil {
		return
	}
	s.closeOnce.Do(func() {
		// Reverse order: Rekor v1 before Trillian before MariaDB.
		for i := len(s.procs) - 1; i >= 0; i-- {
			s.procs[i].stop()
		}
		s.lock.release()
		if s.oidc != nil {
			_ = s.oidc.Close()
		}
		if s.Dir != "" && os.Getenv("SLSAKIT_SIGSTACK_KEEP") == "" {
			_ = os.RemoveAll(s.Dir)
		}
	})
}

// Services reports which services run.
func (s *Stack) Services() Service { return s.services }

// StartupTime is how long New took.
func (s *Stack) StartupTime() time.Duration { return s.startup }

// TrustedRoot is a trusted_root.json for the running services: Fulcio's
// CA (read from its trust bundle), the TSA's chain, and the keys of the
// logs, each valid from an hour before the stack started.
func (s *Stack) TrustedRoot() []byte { return append([]byte(nil), s.trustedRoot...) }

// SigningConfig is a signing_config.json (v0.2) naming Fulcio, the
// issuer, every running log (Rekor v1 as API version 1, Rekor v2 as 2)
// and the TSA.
func (s *Stack) SigningConfig() []byte { return append([]byte(nil), s.signingConfig...) }

// SigningConfigFor is SigningConfig with only the logs in logs (RekorV1,
// RekorV2 or both): to make a client that picks the newest API use v1.
func (s *Stack) SigningConfigFor(logs Service) []byte { return s.signingConfigJSON(logs) }

// KeylessServices is what slsakit's keyless signer uses: Fulcio, the
// Rekor v1 log (if running) and the TSA (if running).
func (s *Stack) KeylessServices() keyless.Services {
	return s.keylessServices(s.RekorV1URL, keyless.RekorV1)
}

// Logs returns the last n bytes of each service's output, for a failing
// test.
func (s *Stack) Logs(n int64) string {
	var b strings.Builder
	for _, p := range s.procs {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, p.tail(n))
	}
	return b.String()
}

// Start starts a stack for one test (or benchmark) and closes it in
// t.Cleanup, logging the services' output if the test failed. Without the
// binaries the test is skipped, or fails when SLSAKIT_REQUIRE_SIGSTACK
// requires its services.
func Start(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	st, err := New(opts...)
	if err != nil {
		skipOrFatal(t, err, servicesOf(opts))
	}
	t.Logf("sigstack: %s up in %v", st.services, st.startup.Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sigstack service logs:\n%s", st.Logs(4<<10))
		}
		st.Close()
	})
	return st
}

func skipOrFatal(t testing.TB, err error, want Service) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && !required(os.Getenv(EnvRequire), want) {
		t.Skipf("%v (run .ci/install-tools sigstore and source .tools/env; %s=1 makes this a failure)", err, EnvRequire)
	}
	t.Fatal(err)
}

// Requires reports whether the EnvRequire value env requires every
// service of want to be installed.
func Requires(env string, want Service) bool { return required(env, want) }

func required(env string, want Service) bool {
	if env == "1" {
		return true
	}
	var listed Service
	for _, name := range strings.Split(env, ",") {
		for _, x := range []Service{Fulcio, TSA, RekorV1, RekorV2} {
			if strings.TrimSpace(name) == x.String() {
				listed |= x
			}
		}
	}
	if listed == 0 {
		// Set but naming no service (a typo): require, rather than let CI
		// skip everything.
		return env != ""
	}
	return want&^listed == 0
}

// servicesOf is the services opts choose.
func servicesOf(opts []Option) Service {
	cfg := config{services: AllServices}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.services == 0 {
		return Fulcio
	}
	return cfg.services
}

// Shared is a stack started by the first test that asks for it and shared
// by the package's tests, for packages where a stack per test would cost
// too much. Close it from TestMain after m.Run:
//
//	var stack = sigstack.NewShared()
//	func TestMain(m *testing.M) { code := m.Run(); stack.Close(); os.Exit(code) }
//	func TestX(t *testing.T) { st := stack.Get(t) ... }
type Shared struct {
	opts []Option
	once sync.Once
	st   *Stack
	err  error
}

// NewShared returns a Shared that starts New(opts...) on first use.
func NewShared(opts ...Option) *Shared { return &Shared{opts: opts} }

// Get returns the shared stack, starting it on the first call. Like Start
// it skips (or fails) the test when it cannot, and logs the services'
// output, from where this test began, if the test fails.
func (sh *Shared) Get(t testing.TB) *Stack {
	t.Helper()
	sh.once.Do(func() {
		sh.st, sh.err = New(sh.opts...)
		if sh.err == nil {
			t.Logf("sigstack: %s up in %v", sh.st.services, sh.st.startup.Round(time.Millisecond))
		}
	})
	if sh.err != nil {
		skipOrFatal(t, sh.err, servicesOf(sh.opts))
	}
	marks := sh.st.logMarks()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sigstack service logs during this test:\n%s", sh.st.logsSince(marks, 4<<10))
		}
	})
	return sh.st
}

// Close stops the stack if it was started.
func (sh *Shared) Close() {
	if sh.st != nil {
		sh.st.Close()
	}
}

func (s *Stack) logMarks() map[string]int64 {
	m := map[string]int64{}
	for _, p := range s.procs {
		if st, err := os.Stat(p.logPath); err == nil {
			m[p.logPath] = st.Size()
		}
	}
	return m
}

func (s *Stack) logsSince(marks map[string]int64, n int64) string {
	var b strings.Builder
	for _, p := range s.procs {
		out := p.tail(n)
		if st, err := os.Stat(p.logPath); err == nil {
			if grown := st.Size() - marks[p.logPath]; grown < n {
				out = p.tail(grown)
			}
		}
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, out)
	}
	return b.String()
}

// binaries are the executables New needs.
type binaries map[string]string

func lookupBinaries(s Service) (binaries, error) {
	var need []string
	if s&Fulcio != 0 {
		need = append(need, EnvFulcio)
	}
	if s&TSA != 0 {
		need = append(need, EnvTSA)
	}
	if s&RekorV2 != 0 {
		need = append(need, EnvRekorV2)
	}
	if s&RekorV1 != 0 {
		need = append(need, EnvRekorV1, EnvTrillianServer, EnvTrillianSigner, EnvMariaDBD, EnvMariaDBInstall, EnvMariaDBClient)
	}
	b := binaries{}
	var missing []string
	for _, env := range need {
		p := os.Getenv(env)
		if st, err := os.Stat(p); p == "" || err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s=%q", env, p))
			continue
		}
		b[env] = p
	}
	if s&RekorV1 != 0 {
		p := os.Getenv(EnvTrillianSchema)
		if st, err := os.Stat(p); p == "" || err != nil || !st.Mode().IsRegular() {
			missing = append(missing, fmt.Sprintf("%s=%q", EnvTrillianSchema, p))
		}
		b[EnvTrillianSchema] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotInstalled, strings.Join(missing, ", "))
	}
	return b, nil
}

// serviceDir makes dir/name for one service's data.
func (s *Stack) serviceDir(name string) (string, error) {
	d := filepath.Join(s.Dir, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("%w: %v", ErrStart, err)
	}
	return d, nil
}
