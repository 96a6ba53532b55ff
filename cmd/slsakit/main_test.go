package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	sigstoretuf "github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/trust/tuftest"
)

type result struct {
	code           int
	stdout, stderr string
}

func slsakit(t *testing.T, args ...string) result {
	t.Helper()
	return slsakitCtx(t, testContext(t), args...)
}

// slsakitCtx runs slsakit with ctx (testContext's, or one with a default
// TUF repository of the test's own).
func slsakitCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// unreachableMirror is a loopback address nothing listens on (port 1).
const unreachableMirror = "http://127.0.0.1:1"

// testContext is the context every test command runs with: its default
// TUF repository (what keyless verification trusts without flags) is the
// public-good root at a loopback address nothing serves, with an empty
// cache, so that a command falling through to the default fails with
// trust.ErrUnavailable instead of reaching the public-good instance.
func testContext(t *testing.T) context.Context {
	return withDefaultTUF(context.Background(), func() trust.TUF {
		return trust.TUF{Mirror: unreachableMirror, Root: sigstoretuf.DefaultRoot(), CacheDir: t.TempDir()}
	})
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// keys writes an unencrypted P-256 key pair (PKCS#8) in dir. Most tests
// are about something other than the key file: a cosign-encrypted key
// costs two scrypt runs per test (keygen, then every attest), which under
// -race dominated this package's time. encryptedKeys is the real thing.
func keys(t *testing.T, dir, name string) (key, pub string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.MarshalPrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sign.MarshalPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	key, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(key, k, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, p, 0o644); err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// encryptedKeys generates a cosign-encrypted key pair in dir with keygen.
func encryptedKeys(t *testing.T, dir, name string) (key, pub string) {
	t.Helper()
	t.Setenv("COSIGN_PASSWORD", "pw")
	slsakit(t, "keygen", "--dir", dir, "--name", name).want(t, exitOK)
	return filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
}

const builder = "https://ci.example.com/builders/make@v1"

func TestCLIFiles(t *testing.T) {
	dir := t.TempDir()
	key, pub := keys(t, dir, "release")
	_, otherPub := keys(t, dir, "other")
	art := filepath.Join(dir, "app.tar.gz")
	if err := os.WriteFile(art, []byte("release bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "app.intoto.jsonl")
	stmt := filepath.Join(dir, "app.statement.json")
	slsakit(t, "attest", "--builder-id", builder, "--key", key, "--param", "target=release", "--param", `jobs=4`,
		"--material", "https://example.com/src.tar.gz=sha256:"+strings.Repeat("a", 64),
		"--started", "2026-11-23T10:00:00Z", "--finished", "2026-11-23T10:05:00Z",
		"--out", env, "--statement-out", stmt, art).want(t, exitOK)

	var st map[string]any
	data, _ := os.ReadFile(stmt)
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	bd := st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)
	if p := bd["externalParameters"].(map[string]any); p["target"] != "release" || p["jobs"] != float64(4) {
		t.Fatalf("parameters: %v", p)
	}
	if meta := st["predicate"].(map[string]any)["runDetails"].(map[string]any)["metadata"].(map[string]any); meta["startedOn"] != "2026-11-23T10:00:00Z" || meta["finishedOn"] != "2026-11-23T10:05:00Z" {
		t.Fatalf("timings: %v", meta)
	}

	slsakit(t, "verify", "--key", pub, "--envelope", env, "--builder-id", builder, art).want(t, exitOK)
	r := slsakit(t, "verify", "--key", pub, "--envelope", env, "--json", art).want(t, exitOK)
	var js struct {
		Passed       bool `json:"passed"`
		Attestations []struct {
			Checks []struct{ Name, Outcome string }
		} `json:"attestations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || !js.Passed || len(js.Attestations) != 1 {
		t.Fatalf("json output: %v %s", err, r.stdout)
	}

	// Rejections exit 1 and say why.
	r = slsakit(t, "verify", "--key", otherPub, "--envelope", env, art).want(t, exitRejected)
	if !strings.Contains(r.stdout, "signature") {
		t.Errorf("no reason given: %s", r.stdout)
	}
	slsakit(t, "verify", "--key", pub, "--envelope", env, "--builder-id", builder+"x", art).want(t, exitRejected)
	if err := os.WriteFile(art, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = slsakit(t, "verify", "--key", pub, "--envelope", env, art).want(t, exitRejected)
	if !strings.Contains(r.stdout, "subject digest mismatch") {
		t.Errorf("tampered artifact: %s", r.stdout)
	}

	// A policy file works for files too.
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(art, []byte("release bytes"), 0o644)
	os.WriteFile(policy, []byte("version: 1\nbuilders: [{id: "+builder+"}]\nsigners:\n  - artifacts: \"*.tar.gz\"\n    keys: [{file: release.pub}]\n"), 0o644)
	slsakit(t, "verify", "--policy", policy, "--envelope", env, art).want(t, exitOK)
	slsakit(t, "verify", "--policy", policy, "--envelope", env, "--name", "app.zip", art).want(t, exitRejected)
}

func TestCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	key, pub := encryptedKeys(t, dir, "k")
	slsakit(t).want(t, exitUsage)
	slsakit(t, "--help").want(t, exitOK)
	slsakit(t, "frobnicate").want(t, exitUsage)
	slsakit(t, "attest", "--key", key).want(t, exitUsage)                                            // no builder
	slsakit(t, "attest", "--builder-id", builder, "--key", key, "--param", "a=b").want(t, exitUsage) // nothing to attest
	slsakit(t, "attest", "--builder-id", builder, "--key", key, pub).want(t, exitUsage)              // no parameters
	slsakit(t, "attest", "--bogus").want(t, exitUsage)
	slsakit(t, "verify", "--key", pub, filepath.Join(dir, "x")).want(t, exitUsage) // no --envelope
	slsakit(t, "verify", "--key", pub, "--envelope", filepath.Join(dir, "missing.jsonl"), pub).want(t, exitError)
	p := []string{"attest", "--builder-id", builder, "--key", key, "--param", "a=b"}
	slsakit(t, append(p, filepath.Join(dir, "missing"))...).want(t, exitError)
	slsakit(t, append(p, "--base-image", "golang:1.25", pub)...).want(t, exitError) // unpinned base image
	t.Setenv("COSIGN_PASSWORD", "wrong")
	slsakit(t, append(p, pub)...).want(t, exitError)
	if r := slsakit(t, "verify", "--help"); r.code != exitOK || !strings.Contains(r.stderr, "--policy") {
		t.Fatalf("verify --help: %+v", r)
	}
}

func TestCLIImages(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	dir := t.TempDir()
	key, pub := keys(t, dir, "release")
	app := reg.PushRandomImage(t, "team/app")
	second := reg.PushRandomImage(t, "team/second")
	tagged := reg.Host() + "/team/app:latest"

	// attest an image by tag: resolved to its digest once, attached by digest.
	env := filepath.Join(dir, "app.intoto.jsonl")
	r := slsakit(t, "attest", "--builder-id", builder, "--key", key, "--image", tagged, "--attach", "--param", "image=app",
		"--insecure-registry", "--out", env).want(t, exitOK)
	if !strings.Contains(r.stderr, "attached to "+app) {
		t.Fatalf("attach message: %s", r.stderr)
	}
	slsakit(t, "verify", "--key", pub, "--image", app, "--insecure-registry").want(t, exitOK)
	slsakit(t, "verify", "--key", pub, "--image", tagged, "--insecure-registry", "--builder-id", builder).want(t, exitOK)

	// A base image by tag: refused unless resolved, then pinned by digest.
	base := reg.PushRandomImage(t, "team/base")
	stmt := filepath.Join(dir, "with-base.json")
	p := []string{"attest", "--builder-id", builder, "--key", key, "--param", "a=b", "--base-image", reg.Host() + "/team/base:latest", "--insecure-registry", "--statement-out", stmt, "--out", filepath.Join(dir, "x.jsonl")}
	slsakit(t, append(p, pub)...).want(t, exitError)
	slsakit(t, append(p, "--resolve-tags", pub)...).want(t, exitOK)
	if b, _ := os.ReadFile(stmt); !strings.Contains(string(b), strings.SplitN(base, "@sha256:", 2)[1]) {
		t.Fatalf("base image not pinned by digest: %s", b)
	}

	// attach writes an envelope for the image it is about, and refuses
	// another image, writing nothing.
	slsakit(t, "attach", "--envelope", env, "--image", app, "--insecure-registry", "--layout", "legacy").want(t, exitOK)
	if atts, err := oci.List(context.Background(), app, oci.WithInsecure()); err != nil || len(atts) != 1 || atts[0].Layout != oci.Both {
		t.Fatalf("attach: %v %+v", err, atts)
	}
	r = slsakit(t, "attach", "--envelope", env, "--image", second, "--insecure-registry", "--layout", "legacy").want(t, exitError)
	if !strings.Contains(r.stderr, "not about this image") {
		t.Fatalf("attach to another image: %s", r.stderr)
	}
	if atts, err := oci.List(context.Background(), second, oci.WithInsecure()); err != nil || len(atts) != 0 {
		t.Fatalf("refused attach stored %d attestations (%v)", len(atts), err)
	}
	// The same envelope copied to another image does not verify there.
	reg.CopyAttestations(t, app, second)
	r = slsakit(t, "verify", "--key", pub, "--image", second, "--insecure-registry").want(t, exitRejected)
	if !strings.Contains(r.stdout, "subject digest mismatch") {
		t.Fatalf("copied attestation: %s", r.stdout)
	}

	// Policy over images, with JSON output.
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nbuilders: [{id: "+builder+"}]\nsigners:\n  - artifacts: \""+reg.Host()+"/team/*\"\n    keys: [{file: release.pub}]\n"), 0o644)
	r = slsakit(t, "verify", "--policy", policy, "--image", app, "--insecure-registry", "--json").want(t, exitOK)
	var rep struct {
		Passed bool   `json:"passed"`
		Rule   string `json:"rule"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Passed || rep.Rule != reg.Host()+"/team/*" {
		t.Fatalf("policy json: %v %s", err, r.stdout)
	}
	unsigned := reg.PushRandomImage(t, "team/unsigned")
	r = slsakit(t, "verify", "--policy", policy, "--image", unsigned, "--insecure-registry").want(t, exitRejected)
	if !strings.Contains(r.stdout, "no trusted attestation") {
		t.Fatalf("unsigned: %s", r.stdout)
	}
	_ = pub
}

func TestCLIKMS(t *testing.T) {
	srv := kmstest.NewServer(t)
	version := srv.CreateKey("projects/p/locations/global/keyRings/r", "release", kmspb.CryptoKeyVersion_EC_SIGN_P384_SHA384)
	ref := srv.Ref(version)
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	env := filepath.Join(dir, "app.intoto.jsonl")
	slsakit(t, "attest", "--builder-id", builder, "--kms", ref, "--kms-endpoint", srv.Addr(), "--param", "a=b", "--out", env, art).want(t, exitOK)
	slsakit(t, "verify", "--kms-key", ref, "--kms-endpoint", srv.Addr(), "--envelope", env, art).want(t, exitOK)
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    keys: [{kms: \""+ref+"\"}]\n"), 0o644)
	slsakit(t, "verify", "--policy", policy, "--kms-endpoint", srv.Addr(), "--envelope", env, art).want(t, exitOK)
	other := srv.Ref(srv.CreateKey("projects/p/locations/global/keyRings/r", "other", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256))
	slsakit(t, "verify", "--kms-key", other, "--kms-endpoint", srv.Addr(), "--envelope", env, art).want(t, exitRejected)
	slsakit(t, "attest", "--builder-id", builder, "--kms", ref, "--key", "k", "--param", "a=b", art).want(t, exitUsage)
}

func TestCLISBOM(t *testing.T) {
	reg := ocitest.NewRegistry(t)
	dir := t.TempDir()
	key, pub := keys(t, dir, "k")
	exe, err := os.Executable() // the test binary has build info
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"spdx", "cyclonedx", "cyclonedx-1.5"} {
		r := slsakit(t, "sbom", "--format", f, exe).want(t, exitOK)
		if !strings.Contains(r.stdout, "pkg:golang/github.com/google/go-containerregistry@") {
			t.Fatalf("%s SBOM lacks a dependency:\n%.500s", f, r.stdout)
		}
	}
	slsakit(t, "sbom", "--format", "xml", exe).want(t, exitUsage)
	slsakit(t, "sbom", filepath.Join(dir, "k.pub")).want(t, exitError) // not a Go binary
	slsakit(t, "sbom", "--image", "x", exe).want(t, exitUsage)         // attest without a key

	img := reg.PushRandomImage(t, "team/app")
	env := filepath.Join(dir, "sbom.intoto.jsonl")
	slsakit(t, "sbom", "--key", key, "--image", img, "--attach", "--insecure-registry", "--out", env, exe).want(t, exitOK)
	slsakit(t, "verify", "--key", pub, "--image", img, "--insecure-registry", "--predicate-type", "https://spdx.dev/Document").want(t, exitOK)
	slsakit(t, "verify", "--key", pub, "--envelope", env, "--predicate-type", "https://spdx.dev/Document", exe).want(t, exitOK)
}

// writeTrustedRoot writes svc's trusted_root.json into dir.
func writeTrustedRoot(t *testing.T, svc *keylesstest.Services, dir string) string {
	t.Helper()
	root, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, root, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIKeyless(t *testing.T) {
	svc := keylesstest.New(t)
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "team/app")
	dir := t.TempDir()
	art := filepath.Join(dir, "app.bin")
	os.WriteFile(art, []byte("bin"), 0o644)
	bundle := filepath.Join(dir, "app.sigstore.json")
	r := slsakit(t, "attest", "--builder-id", builder, "--param", "a=b", "--keyless", "--id-token", tok,
		"--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(), "--tsa-url", svc.TSAURL(),
		"--bundle-out", bundle, "--image", img, "--attach", "--layout", "both", "--insecure-registry",
		"--out", filepath.Join(dir, "app.intoto.jsonl"), art).want(t, exitOK)
	if !strings.Contains(r.stderr, "attached to "+img) {
		t.Fatalf("stderr: %s", r.stderr)
	}
	if b, _ := os.ReadFile(bundle); !bytes.Contains(b, []byte(`"certificate"`)) {
		t.Fatalf("bundle without certificate: %.200s", b)
	}
	atts, err := oci.List(context.Background(), img, oci.WithInsecure())
	if err != nil || len(atts) != 1 || atts[0].Layout != oci.Both || atts[0].Bundle == nil {
		t.Fatalf("list: %v %+v", err, atts)
	}
	// Verify by identity: the file with its bundle, and the image's bundles.
	rootPath := writeTrustedRoot(t, svc, dir)
	id := []string{"--trusted-root", rootPath, "--certificate-oidc-issuer", svc.Issuer.URL()}
	slsakit(t, append(append([]string{"verify", "--certificate-identity", "ci@example.com", "--bundle", bundle}, id...), art)...).want(t, exitOK)
	slsakit(t, append([]string{"verify", "--certificate-identity-regexp", ".*@example[.]com", "--image", img, "--insecure-registry", "--builder-id", builder}, id...)...).want(t, exitOK)
	r = slsakit(t, append([]string{"verify", "--certificate-identity", "mallory@example.com", "--image", img, "--insecure-registry"}, id...)...).want(t, exitRejected)
	if !strings.Contains(r.stdout, "identity") {
		t.Fatalf("wrong identity not explained: %s", r.stdout)
	}
	// The same root distributed over TUF: no trusted_root.json file, and
	// offline once the cache is filled.
	root, err := os.ReadFile(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	repo := tuftest.New(t, map[string][]byte{trust.TrustedRootTarget: root})
	tufRoot := filepath.Join(dir, "tuf-root.json")
	os.WriteFile(tufRoot, repo.InitialRoot(), 0o644)
	viaTUF := []string{"--tuf-mirror", repo.URL(), "--tuf-root", tufRoot, "--tuf-cache", filepath.Join(dir, "tuf-cache"), "--certificate-oidc-issuer", svc.Issuer.URL()}
	slsakit(t, append(append([]string{"verify", "--certificate-identity", "ci@example.com", "--bundle", bundle}, viaTUF...), art)...).want(t, exitOK)
	repo.Server.Close()
	slsakit(t, append(append([]string{"verify", "--certificate-identity", "ci@example.com", "--bundle", bundle}, viaTUF...), art)...).want(t, exitOK)
	slsakit(t, append(append([]string{"verify", "--certificate-identity", "mallory@example.com", "--bundle", bundle}, viaTUF...), art)...).want(t, exitRejected)
	slsakit(t, "verify", "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", "ci@example.com", "--bundle", bundle, "--tuf-mirror", repo.URL(), art).want(t, exitUsage)                     // a private mirror needs its root
	slsakit(t, "verify", "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", "ci@example.com", "--bundle", bundle, "--tuf-cache", dir, "--trusted-root", rootPath, art).want(t, exitUsage) // one root
	slsakit(t, "verify", "--key", rootPath, "--envelope", bundle, "--tuf-cache", dir, art).want(t, exitUsage)                                                                                                   // keys use no root
	os.WriteFile(art, []byte("tampered"), 0o644)
	slsakit(t, append(append([]string{"verify", "--certificate-identity", "ci@example.com", "--bundle", bundle}, id...), art)...).want(t, exitRejected)
	// No root: the default TUF repository, which this test cannot reach.
	slsakit(t, "verify", "--certificate-oidc-issuer", svc.Issuer.URL(), "--certificate-identity", "ci@example.com", "--bundle", bundle, art).want(t, exitError)

	// A policy with identities, given the trusted root.
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    identities:\n      - issuer: "+svc.Issuer.URL()+"\n        subject: ci@example.com\n"), 0o644)
	slsakit(t, "verify", "--policy", policy, "--trusted-root", rootPath, "--image", img, "--insecure-registry").want(t, exitOK)
	slsakit(t, "verify", "--policy", policy, "--image", img, "--insecure-registry").want(t, exitError) // identities need a root: the default's is unreachable
	slsakit(t, append([]string{"verify", "--policy", policy, "--image", img, "--insecure-registry"}, viaTUF[:6]...)...).want(t, exitOK)
	// Bound to the provenance, the same identity is refused: an email
	// certificate certifies no builder.
	bound := filepath.Join(dir, "bound.yaml")
	os.WriteFile(bound, []byte("version: 1\nsigners:\n  - artifacts: \"**\"\n    identities:\n      - issuer: "+svc.Issuer.URL()+"\n        subject: ci@example.com\n    bindToProvenance: [builder]\n"), 0o644)
	r = slsakit(t, "verify", "--policy", bound, "--trusted-root", rootPath, "--image", img, "--insecure-registry").want(t, exitRejected)
	if !strings.Contains(r.stdout, "binding builder") || !strings.Contains(r.stdout, "certificate does not state it") {
		t.Fatalf("unbound certificate not explained: %s", r.stdout)
	}

	// A malformed token fails before any network call.
	slsakit(t, "attest", "--builder-id", builder, "--param", "a=b", "--keyless", "--id-token", "x.y", art).want(t, exitError)
	// Exactly one signing method.
	slsakit(t, "attest", "--builder-id", builder, "--param", "a=b", "--keyless", "--key", "k", art).want(t, exitUsage)
}
