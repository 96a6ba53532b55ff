package e2e

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/slsakit/slsakit/internal/regproc"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/sign"
)

const slsaV1 = "https://slsa.dev/provenance/v1"

// testCtx returns a context bounded by d and by the test deadline.
func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// statement builds a minimal in-toto Statement v1 with a SLSA v1 predicate
// about the image digest d. invocation makes statements distinct.
func statement(t testing.TB, d name.Digest, invocation string) []byte {
	t.Helper()
	alg, hexd, ok := strings.Cut(d.DigestStr(), ":")
	if !ok || alg != "sha256" {
		t.Fatalf("unexpected digest %q", d.DigestStr())
	}
	st := map[string]any{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": []any{map[string]any{
			"name":   d.Context().String(),
			"digest": map[string]string{"sha256": hexd},
		}},
		"predicateType": slsaV1,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType":          "https://example.com/t",
				"externalParameters": map[string]any{"invocation": invocation},
			},
			"runDetails": map[string]any{
				"builder": map[string]any{"id": "https://example.com/b"},
			},
		},
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyPair is an ECDSA P-256 signer and its public key written as cosign.pub.
type keyPair struct {
	signer  *sign.KeySigner
	pubPath string
}

func newKeyPair(t testing.TB) keyPair {
	t.Helper()
	s, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := sign.MarshalPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "k.pub")
	if err := os.WriteFile(p, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyPair{signer: s, pubPath: p}
}

func (k keyPair) sign(t testing.TB, stmt []byte) *sign.Envelope {
	t.Helper()
	env, err := sign.SignStatement(context.Background(), stmt, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// ociOpts are the options every slsakit call in these tests uses.
func ociOpts(layout oci.Layout, extra ...oci.Option) []oci.Option {
	return append([]oci.Option{oci.WithInsecure(), oci.WithLayout(layout)}, extra...)
}

func attach(t testing.TB, ctx context.Context, d name.Digest, env *sign.Envelope, layout oci.Layout, extra ...oci.Option) *oci.AttachResult {
	t.Helper()
	res, err := oci.Attach(ctx, d.String(), &sign.Attestation{Envelope: env}, ociOpts(layout, extra...)...)
	if err != nil {
		t.Fatalf("oci.Attach(%s, %v): %v", d, layout, err)
	}
	return res
}

// Rejection reasons of verifyImage.
var (
	errNoAttestation = errors.New("no attestation")
	errSignature     = errors.New("signature does not verify")
	errSubject       = errors.New("statement subject is not the image")
)

// verifyImage is the consumer's check until the verify package offers
// verify-image: fetch the image's SLSA v1 attestations and accept the image
// if one of them is signed by pub (checked first) and its statement has a
// subject whose sha256 is the image digest. It returns how many verified,
// and the reasons of the rejected ones when none did.
func verifyImage(ctx context.Context, d name.Digest, pub crypto.PublicKey, layout oci.Layout, extra ...oci.Option) (int, error) {
	atts, err := oci.List(ctx, d.String(), ociOpts(layout, append(extra, oci.WithPredicateType(slsaV1))...)...)
	if err != nil {
		return 0, fmt.Errorf("oci.List: %w", err)
	}
	ver, err := sign.NewVerifier(pub, sign.ECDSAP256SHA256)
	if err != nil {
		return 0, err
	}
	_, want, _ := strings.Cut(d.DigestStr(), ":")
	var errs []error
	ok := 0
	for _, a := range atts {
		if err := checkAttestation(ctx, ver, a.Envelope, want); err != nil {
			errs = append(errs, err)
			continue
		}
		ok++
	}
	if ok > 0 {
		return ok, nil
	}
	if len(errs) == 0 {
		return 0, errNoAttestation
	}
	return 0, errors.Join(errs...)
}

func checkAttestation(ctx context.Context, ver sign.Verifier, env *sign.Envelope, wantHex string) error {
	if env == nil {
		return fmt.Errorf("%w: nil envelope", errSignature)
	}
	if env.PayloadType != sign.PayloadTypeInToto {
		return fmt.Errorf("%w: payload type %q", errSignature, env.PayloadType)
	}
	verified := false
	for _, s := range env.Signatures {
		if ver.Verify(ctx, env.PAE(), s.Sig) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return errSignature
	}
	// Only now is the payload trusted enough to read. Statement v1 (slsakit,
	// cosign v3) and v0.1 (cosign v2) share the fields read here.
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	if st.PredicateType != slsaV1 {
		return fmt.Errorf("predicate type %q", st.PredicateType)
	}
	for _, s := range st.Subject {
		if s.Digest["sha256"] == wantHex {
			return nil
		}
	}
	return fmt.Errorf("%w: want sha256:%s", errSubject, wantHex)
}

// cosign runs one cosign binary hermetically: empty HOME and docker config,
// no TUF cache, and an unreachable proxy for every non-loopback URL, so
// that a missing flag shows up as a failure instead of a network fetch.
type cosign struct {
	bin     string
	home    string
	version string
}

func newCosign(t testing.TB, env, version string) *cosign {
	t.Helper()
	return &cosign{bin: regproc.Tool(t, env), home: t.TempDir(), version: version}
}

const cosignPassword = "e2e-test-password"

func (c *cosign) cmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"HOME=" + c.home,
		"PATH=" + os.Getenv("PATH"),
		"DOCKER_CONFIG=" + filepath.Join(c.home, ".docker"),
		"TUF_ROOT=" + filepath.Join(c.home, ".sigstore", "root"),
		"COSIGN_YES=true",
		"COSIGN_PASSWORD=" + cosignPassword,
		"COSIGN_EXPERIMENTAL=0",
		"HTTPS_PROXY=http://127.0.0.1:9",
		"HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=",
		"SIGSTORE_NO_CACHE=true",
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs cosign and returns its combined output and error.
func (c *cosign) run(ctx context.Context, dir string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := c.cmd(ctx, dir, args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// mustRun runs cosign and fails the test if it does not exit 0.
func (c *cosign) mustRun(t testing.TB, ctx context.Context, dir string, args ...string) string {
	t.Helper()
	out, err := c.run(ctx, dir, args...)
	if err != nil {
		t.Fatalf("cosign %s %s: %v\n%s", c.version, strings.Join(args, " "), err, out)
	}
	return out
}

// generateKeyPair writes cosign.key and cosign.pub into a new directory.
func (c *cosign) generateKeyPair(t testing.TB, ctx context.Context) (dir string) {
	t.Helper()
	dir = t.TempDir()
	c.mustRun(t, ctx, dir, "generate-key-pair")
	for _, f := range []string{"cosign.key", "cosign.pub"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("cosign generate-key-pair did not write %s: %v", f, err)
		}
	}
	return dir
}

// verifyAttestationArgs are the flags for key-based verification without a
// transparency log; --insecure-ignore-tlog also keeps cosign away from TUF.
func verifyAttestationArgs(pubPath string, d name.Digest) []string {
	return []string{"verify-attestation", "--key", pubPath, "--insecure-ignore-tlog=true",
		"--type", "slsaprovenance1", "--allow-insecure-registry", d.String()}
}

// attestArgs are the flags for key-based attestation without a log. cosign
// v3 also needs --use-signing-config=false: its default fetches a signing
// config from the public TUF repository, and --tlog-upload=false is refused
// together with a signing config.
func (c *cosign) attestArgs(keyPath, predPath string, d name.Digest, extra ...string) []string {
	args := []string{"attest", "--key", keyPath, "--type", "slsaprovenance1", "--predicate", predPath,
		"--tlog-upload=false", "--allow-insecure-registry"}
	if strings.HasPrefix(c.version, "v3") {
		args = append(args, "--use-signing-config=false")
	}
	args = append(args, extra...)
	return append(args, d.String())
}

// predicateFile writes a SLSA v1 predicate for cosign attest --predicate.
func predicateFile(t testing.TB, invocation string) string {
	t.Helper()
	pred := map[string]any{
		"buildDefinition": map[string]any{
			"buildType":          "https://example.com/t",
			"externalParameters": map[string]any{"invocation": invocation},
		},
		"runDetails": map[string]any{"builder": map[string]any{"id": "https://example.com/b"}},
	}
	b, err := json.Marshal(pred)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "predicate.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadPub(t testing.TB, path string) crypto.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.LoadPublicKey(b)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return pub
}

func digestHex(d name.Digest) string {
	_, h, _ := strings.Cut(d.DigestStr(), ":")
	return h
}
