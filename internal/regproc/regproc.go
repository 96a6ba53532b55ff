package regproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Environment variables naming the test tools built by .ci/install-tools.
const (
	EnvRegistry = "SLSAKIT_REGISTRY_BIN"
	EnvCosignV2 = "SLSAKIT_COSIGN_V2"
	EnvCosignV3 = "SLSAKIT_COSIGN_V3"
)

// Tool returns the path of the executable named by the environment variable
// env. If the variable is unset the test is skipped, or fails when CI=true.
// A set variable that does not name an executable file always fails the test.
func Tool(t testing.TB, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		msg := fmt.Sprintf("%s is not set: run .ci/install-tools and source .tools/env to run the real-process tests", env)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: refusing to skip)")
		}
		t.Skip(msg)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("%s=%q: %v", env, p, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("%s=%q is not an executable file", env, p)
	}
	return p
}

// Registry is a running registry process.
type Registry struct {
	host string
	dir  string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	ca   *CA                 // WithTLS
	auth authn.Authenticator // WithHTPasswd: the helpers' login
}

// Option configures Start.
type Option func(*config)

type config struct {
	startTimeout time.Duration
	logLevel     string
	users        map[string]string // WithHTPasswd
	tls          bool              // WithTLS
	tlsNames     []string
}

// WithStartTimeout bounds how long Start waits for /v2/ to answer
// (default 30s).
func WithStartTimeout(d time.Duration) Option { return func(c *config) { c.startTimeout = d } }

// WithLogLevel sets the registry log level (default "warn").
func WithLogLevel(level string) Option { return func(c *config) { c.logLevel = level } }

// Start launches a registry process for the test and stops it in t.Cleanup.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	bin := Tool(t, EnvRegistry)
	cfg := config{startTimeout: 30 * time.Second, logLevel: "warn"}
	for _, o := range opts {
		o(&cfg)
	}
	// A free port is found by binding :0 and closing it; another process may
	// grab it before the registry binds, so retry a few times.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := start(t, bin, cfg)
		if err == nil {
			return r
		}
		lastErr = err
	}
	t.Fatalf("regproc: registry did not start: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, cfg config) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	r := &Registry{host: host, dir: dir, log: &syncBuffer{}, done: make(chan struct{})}
	auth, httpTLS, err := r.secureConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: %s
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
%shttp:
  addr: %s
%s`, cfg.logLevel, filepath.Join(dir, "data"), auth, host, httpTLS)
	confPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(bin, "serve", confPath)
	r.cmd.Stdout = r.log
	r.cmd.Stderr = r.log
	// No telemetry exporters: the registry must not try to reach a collector.
	r.cmd.Env = append(os.Environ(), "OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()

	ctx, cancel := context.WithTimeout(context.Background(), cfg.startTimeout)
	defer cancel()
	if err := r.waitReady(ctx); err != nil {
		r.stop()
		return nil, fmt.Errorf("%w; registry log:\n%s", err, r.log.String())
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("registry %s log (404 responses omitted, last 8 KiB):\n%s", r.host, tail(r.log.String(), 8<<10))
		}
	})
	return r, nil
}

func (r *Registry) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: r.Transport()}
	url := r.Scheme() + "://" + r.host + "/v2/"
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return errors.New("registry exited during startup")
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			// 401: up, and asking for the credentials of WithHTPasswd.
			if resp.StatusCode == http.StatusOK || (r.auth != nil && resp.StatusCode == http.StatusUnauthorized) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", url, ctx.Err())
		case <-r.done:
			return errors.New("registry exited during startup")
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, waits up to 5s, then kills the process group.
func (r *Registry) stop() {
	if r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
}

// Host returns "127.0.0.1:<port>".
func (r *Registry) Host() string { return r.host }

// Repo returns the reference "<host>/<path>".
func (r *Registry) Repo(path string) string { return r.host + "/" + path }

// Log returns what the registry process has written so far.
func (r *Registry) Log() string { return r.log.String() }

// PushRandomImage pushes a small random image (one layer of size bytes) to
// repo (a path in this registry, e.g. "test/app") under tag "latest" and
// returns its digest reference.
func (r *Registry) PushRandomImage(t testing.TB, repo string, size int64) name.Digest {
	t.Helper()
	img, err := random.Image(size, 1)
	if err != nil {
		t.Fatalf("random image: %v", err)
	}
	return r.PushImage(t, repo+":latest", img)
}

// PushImage pushes img to ref (a "<path>:<tag>" in this registry) and returns
// its digest reference.
func (r *Registry) PushImage(t testing.TB, ref string, img v1.Image) name.Digest {
	t.Helper()
	tag, err := name.NewTag(r.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatalf("parse %q: %v", ref, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := remote.Write(tag, img, r.remoteOptions(ctx)...); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
	dig, err := name.NewDigest(tag.Context().String()+"@"+d.String(), name.Insecure)
	if err != nil {
		t.Fatalf("digest ref: %v", err)
	}
	return dig
}

// remoteOptions are the go-containerregistry options of the helpers: the
// registry's CA and login.
func (r *Registry) remoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(r.Transport())}
	if r.auth != nil {
		opts = append(opts, remote.WithAuth(r.auth))
	}
	return opts
}

// tail drops the lines of routine 404 answers (every read-before-write makes
// some) and returns at most the last n bytes of the rest.
func tail(log string, n int) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(line, "http.response.status=404") {
			b.WriteString(line)
		}
	}
	s := b.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const max = 1 << 20 // keep the log bounded
	if b.buf.Len()+len(p) > max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
