package sigstore

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/internal/sigstack"
)

// stack is the package's shared stack, started on first use: Fulcio, the
// TSA, Rekor v2, and Rekor v1 on Trillian when it is installed
// (install-tools rekorv1; CI builds it and requires it). One stack, because a
// second stack with a TSA would wait for this one's metrics-port lock.
var stack = sigstack.NewShared(sigstack.WithServices(sharedServices()...))

func sharedServices() []sigstack.Service {
	s := []sigstack.Service{sigstack.Fulcio, sigstack.TSA, sigstack.RekorV2}
	if os.Getenv(sigstack.EnvRekorV1) != "" {
		s = append(s, sigstack.RekorV1)
	}
	return s
}

// rekorV1 skips t unless the shared stack runs Rekor v1 (or fails it when
// SLSAKIT_REQUIRE_SIGSTACK requires Rekor v1).
func rekorV1(t testing.TB, st *sigstack.Stack) {
	t.Helper()
	if st.RekorV1URL != "" {
		return
	}
	if sigstack.Requires(os.Getenv(sigstack.EnvRequire), sigstack.RekorV1) {
		t.Fatalf("Rekor v1 is required (%s) but %s is not set", sigstack.EnvRequire, sigstack.EnvRekorV1)
	}
	t.Skipf("Rekor v1 on Trillian not installed (.ci/install-tools rekorv1)")
}

// cli is the slsakit binary, built once on first use.
var cli struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	stack.Close()
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

// slsakitBin builds cmd/slsakit (once per package run) and returns its path.
func slsakitBin(t testing.TB) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "slsakit-e2e-sigstore-"); cli.err != nil {
			return
		}
		cli.path = filepath.Join(cli.dir, "slsakit")
		cmd := exec.Command("go", "build", "-o", cli.path, "github.com/slsakit/slsakit/cmd/slsakit")
		cli.out, cli.err = cmd.CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("go build cmd/slsakit: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// run runs bin with args in dir with env as the whole environment and
// returns its combined output.
func run(ctx context.Context, dir, bin string, env []string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.String(), err
}

// hermeticEnv keeps a CLI off the network and out of the user's
// configuration: an empty HOME, no TUF cache, and a proxy that refuses
// every non-loopback URL (Go never proxies loopback), so a missing flag
// fails instead of fetching the public-good instance.
func hermeticEnv(home string) []string {
	return []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"TUF_ROOT=" + filepath.Join(home, ".sigstore", "root"),
		"COSIGN_YES=true",
		"COSIGN_EXPERIMENTAL=0",
		"HTTPS_PROXY=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=",
		"SIGSTORE_NO_CACHE=true",
	}
}

// tool is a CLI run hermetically in a directory of its own.
type tool struct {
	name string
	bin  string
	home string
}

func slsakitTool(t testing.TB) tool {
	return tool{name: "slsakit", bin: slsakitBin(t), home: t.TempDir()}
}

func cosignTool(t testing.TB, env, version string) tool {
	return tool{name: "cosign " + version, bin: regproc.Tool(t, env), home: t.TempDir()}
}

func (c tool) run(ctx context.Context, dir string, args ...string) (string, error) {
	return run(ctx, dir, c.bin, hermeticEnv(c.home), args...)
}

func (c tool) mustRun(t testing.TB, ctx context.Context, dir string, args ...string) string {
	t.Helper()
	out, err := c.run(ctx, dir, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	return out
}

// mustFail runs a command that must be refused and returns its output.
func (c tool) mustFail(t testing.TB, ctx context.Context, dir string, args ...string) string {
	t.Helper()
	out, err := c.run(ctx, dir, args...)
	if err == nil {
		t.Fatalf("%s %s succeeded; want a refusal\n%s", c.name, strings.Join(args, " "), out)
	}
	return out
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	signerEmail = "release@example.com"
	otherEmail  = "mallory@example.com"
)

// identityFlags are the verify flags (slsakit and cosign spell them alike)
// for an email identity of the stack's issuer.
func identityFlags(st *sigstack.Stack, email string) []string {
	return []string{"--trusted-root", st.TrustedRootPath,
		"--certificate-identity", email, "--certificate-oidc-issuer", st.Issuer.URL()}
}

func token(t testing.TB, st *sigstack.Stack, email string) string {
	t.Helper()
	tok, err := st.Issuer.EmailToken(email)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var cosigns = []struct{ env, version string }{
	{regproc.EnvCosignV2, "v2.6.5"},
	{regproc.EnvCosignV3, "v3.1.3"},
}

// cosignVerifyFlags are what each cosign needs to verify a keyless bundle
// against the stack offline: its trusted root, no SCT (Fulcio runs without
// a CT log), and for v2 the bundle format the others write.
func cosignVerifyFlags(version string, st *sigstack.Stack, email string) []string {
	f := append(identityFlags(st, email), "--insecure-ignore-sct", "--use-signed-timestamps")
	if strings.HasPrefix(version, "v2") {
		f = append(f, "--new-bundle-format")
	}
	return f
}

// slsakitVerifiesSignerOnly: slsakit verifies dir's blob.sigstore.json
// (verify-blob) and att.sigstore.json (verify-bundle) of blob for the
// signer, and refuses both for another identity and, unless other is "",
// for the file other. One place for the check every interop test makes,
// so a case added to it is made for every producer.
func slsakitVerifiesSignerOnly(t *testing.T, ctx context.Context, sk tool, st *sigstack.Stack, dir, blob, other string) {
	t.Helper()
	for _, c := range []struct{ cmd, bundle string }{{"verify-blob", "blob.sigstore.json"}, {"verify-bundle", "att.sigstore.json"}} {
		sk.mustRun(t, ctx, dir, append(append([]string{c.cmd, "--bundle", c.bundle}, identityFlags(st, signerEmail)...), blob)...)
		sk.mustFail(t, ctx, dir, append(append([]string{c.cmd, "--bundle", c.bundle}, identityFlags(st, otherEmail)...), blob)...)
		if other != "" {
			sk.mustFail(t, ctx, dir, append(append([]string{c.cmd, "--bundle", c.bundle}, identityFlags(st, signerEmail)...), other)...)
		}
	}
}

// cosignVerifiesSignerOnly: cosign (of the given version) verifies dir's
// blob.sigstore.json (verify-blob) and att.sigstore.json (an SLSA
// provenance v1, verify-blob-attestation) of blob for the signer, and
// refuses both for another identity and the blob bundle for the file
// other.
func cosignVerifiesSignerOnly(t *testing.T, ctx context.Context, c tool, version string, st *sigstack.Stack, dir, blob, other string) {
	t.Helper()
	good, bad := cosignVerifyFlags(version, st, signerEmail), cosignVerifyFlags(version, st, otherEmail)
	c.mustRun(t, ctx, dir, append(append([]string{"verify-blob", "--bundle", "blob.sigstore.json"}, good...), blob)...)
	c.mustFail(t, ctx, dir, append(append([]string{"verify-blob", "--bundle", "blob.sigstore.json"}, bad...), blob)...)
	c.mustFail(t, ctx, dir, append(append([]string{"verify-blob", "--bundle", "blob.sigstore.json"}, good...), other)...)
	att := []string{"verify-blob-attestation", "--bundle", "att.sigstore.json", "--type", "slsaprovenance1"}
	c.mustRun(t, ctx, dir, append(append(att, good...), blob)...)
	c.mustFail(t, ctx, dir, append(append(att, bad...), blob)...)
}
