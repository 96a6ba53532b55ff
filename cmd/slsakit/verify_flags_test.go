package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"

	"github.com/slsakit/slsakit/kms"
	"github.com/slsakit/slsakit/kms/kmstest"
	"github.com/slsakit/slsakit/oci"
	"github.com/slsakit/slsakit/oci/ocitest"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/trust/tuftest"
)

// verifyInputs are the inputs of slsakit verify that the combination walk
// turns on and off. Each has a good value, which verifies, and a bad one,
// which must make any verification that reads it fail.
var verifyInputs = []string{
	"FILE", "image", "envelope", "bundle", // what is verified
	"key", "kms-key", "policy", // trust: keys or a policy
	"certificate-oidc-issuer", "certificate-identity", "certificate-identity-regexp", "trusted-root", // trust: keyless
	"threshold", "name", "builder-id", "build-type", "predicate-type", // requirements
}

// grouped are walked as one: the statement requirements take one path
// through the command, so they are given together (each is still made bad
// on its own), which keeps the walk at 2^14 combinations.
var grouped = []string{"builder-id", "build-type", "predicate-type"}

// anchors are trusted alternatives: an attestation signed by any one of
// them is trusted, so a bad one next to a good one must still pass. They
// are made bad together.
var anchors = map[string]bool{"key": true, "kms-key": true}

// verifyFixture holds a good and a bad value for every input.
type verifyFixture struct {
	good, bad map[string]string
	// Bundles of FILE differ by trust mode: keyless, or signed by the keys.
	keylessBundle, badKeylessBundle string
	// Policies differ by trust mode: keys, or identities (--trusted-root).
	idPolicy, badIDPolicy string
	kmsAddr, registry     string
	// ctx's default TUF repository (keyless trust without flags) serves
	// the good trusted root on loopback, cached in a directory of its own.
	ctx context.Context
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	// Unencrypted in-process keys: cosign key files cost seconds of scrypt.
	pemSigner, pub := genKey(t, dir, "release")
	_, otherPub := genKey(t, dir, "other")
	reg := ocitest.NewRegistry(t)
	img := reg.PushRandomImage(t, "team/app")
	unsigned := reg.PushRandomImage(t, "team/app")
	kmsSrv := kmstest.NewServer(t)
	kmsRef := kmsSrv.Ref(kmsSrv.CreateKey("projects/p/locations/global/keyRings/r", "release", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256))
	otherKMSRef := kmsSrv.Ref(kmsSrv.CreateKey("projects/p/locations/global/keyRings/r", "other", kmspb.CryptoKeyVersion_EC_SIGN_P256_SHA256))
	svc, otherSvc := keylesstest.New(t), keylesstest.New(t)
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	art := write("app.bin", []byte("app"))
	otherArt := write("other.bin", []byte("other"))

	// Statements about FILE and the image, and about another file.
	stmt, otherStmt := filepath.Join(dir, "app.json"), filepath.Join(dir, "other.json")
	attest := []string{"attest", "--builder-id", builder, "--kms", kmsRef, "--kms-endpoint", kmsSrv.Addr(), "--param", "a=b",
		"--out", filepath.Join(dir, "unused.jsonl")}
	slsakit(t, append(attest, "--image", img, "--insecure-registry", "--statement-out", stmt, art)...).want(t, exitOK)
	slsakit(t, append(attest, "--statement-out", otherStmt, otherArt)...).want(t, exitOK)

	// Envelopes signed by the key file and the KMS key (two signatures, so
	// --threshold 2 can pass), and bundles holding them.
	kmsSigner, err := kms.NewSigner(ctx, kmsRef, kmsOptions(kmsSrv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kmsSigner.Close() })
	envOf := func(path string) *sign.Envelope {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		env, err := sign.SignStatement(ctx, b, pemSigner, kmsSigner)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	env, otherEnv := envOf(stmt), envOf(otherStmt)
	jsonl := func(name string, env *sign.Envelope) string {
		t.Helper()
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, append(b, '\n'))
	}
	keyBundle := func(name string, env *sign.Envelope) string {
		t.Helper()
		b, err := json.Marshal(map[string]any{"mediaType": sign.MediaTypeBundle,
			"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "release"}}, "dsseEnvelope": env})
		if err != nil {
			t.Fatal(err)
		}
		return write(name, b)
	}
	if _, err := oci.Attach(ctx, img, &sign.Attestation{Envelope: env}, oci.WithInsecure()); err != nil {
		t.Fatal(err)
	}

	// Keyless bundles of FILE (also attached to the image) and of another
	// file.
	tok, err := svc.Issuer.EmailToken("ci@example.com")
	if err != nil {
		t.Fatal(err)
	}
	keylessBundle, badKeylessBundle := filepath.Join(dir, "app.sigstore.json"), filepath.Join(dir, "other.sigstore.json")
	kl := []string{"attest", "--builder-id", builder, "--param", "a=b", "--keyless", "--id-token", tok,
		"--fulcio-url", svc.FulcioURL(), "--rekor-url", svc.RekorURL(), "--tsa-url", svc.TSAURL(),
		"--insecure-registry", "--out", filepath.Join(dir, "unused.jsonl")}
	slsakit(t, append(kl, "--bundle-out", keylessBundle, "--image", img, "--attach", art)...).want(t, exitOK)
	slsakit(t, append(kl, "--bundle-out", badKeylessBundle, otherArt)...).want(t, exitOK)
	root, err := svc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, err := otherSvc.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}

	// The default trust of keyless verification without --trusted-root:
	// the same root through TUF.
	tufRepo, tufCache := tuftest.New(t, map[string][]byte{trust.TrustedRootTarget: root}), filepath.Join(dir, "tuf-cache")

	// Policies: the bad ones want another builder.
	policy := func(name, builderID, trust string) string {
		return write(name, []byte("version: 1\nbuilders: [{id: "+builderID+"}]\nsigners:\n"+
			"  - artifacts: \"app.bin\"\n"+trust+
			"  - artifacts: \""+reg.Host()+"/team/app\"\n"+trust))
	}
	keyTrust := "    keys: [{file: release.pub}]\n"
	idTrust := "    identities: [{issuer: \"" + svc.Issuer.URL() + "\", subject: ci@example.com}]\n"

	return &verifyFixture{
		good: map[string]string{
			"FILE": art, "image": img, "envelope": jsonl("app.intoto.jsonl", env), "bundle": keyBundle("app.key.sigstore.json", env),
			"key": pub, "kms-key": kmsRef, "policy": policy("keys.yaml", builder, keyTrust),
			"certificate-oidc-issuer": svc.Issuer.URL(), "certificate-identity": "ci@example.com",
			"certificate-identity-regexp": ".*@example[.]com", "trusted-root": write("root.json", root),
			"threshold": "1", "name": "app.bin", "builder-id": builder, "build-type": defaultBuildType,
			"predicate-type": "https://slsa.dev/provenance/v1",
		},
		bad: map[string]string{
			"FILE": otherArt, "image": unsigned, "envelope": jsonl("other.intoto.jsonl", otherEnv), "bundle": keyBundle("other.key.sigstore.json", otherEnv),
			"key": otherPub, "kms-key": otherKMSRef, "policy": policy("bad-keys.yaml", builder+"x", keyTrust),
			"certificate-oidc-issuer": otherSvc.Issuer.URL(), "certificate-identity": "mallory@example.com",
			"certificate-identity-regexp": "mallory@.*", "trusted-root": write("other-root.json", otherRoot),
			"threshold": "3", "name": "other.bin", "builder-id": builder + "x", "build-type": "https://example.com/other",
			"predicate-type": "https://spdx.dev/Document",
		},
		keylessBundle: keylessBundle, badKeylessBundle: badKeylessBundle,
		idPolicy: policy("ids.yaml", builder, idTrust), badIDPolicy: policy("bad-ids.yaml", builder+"x", idTrust),
		kmsAddr: kmsSrv.Addr(), registry: reg.Host(),
		ctx: withDefaultTUF(context.Background(), func() trust.TUF {
			return trust.TUF{Mirror: tufRepo.URL(), Root: tufRepo.InitialRoot(), CacheDir: tufCache}
		}),
	}
}

// genKey generates an ECDSA P-256 signer and writes its public key to
// dir/name.pub.
func genKey(t *testing.T, dir, name string) (*sign.KeySigner, string) {
	t.Helper()
	s, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".pub")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return s, p
}

// args builds the verify command line for the inputs in on, with the
// inputs in bad given their bad value.
func (f *verifyFixture) args(on, bad map[string]bool) []string {
	value := func(in string) string {
		v := f.good[in]
		if bad[in] {
			v = f.bad[in]
		}
		keyless := on["certificate-oidc-issuer"] || on["certificate-identity"] || on["certificate-identity-regexp"]
		switch {
		case in == "bundle" && (keyless || on["policy"] && on["trusted-root"]):
			v = map[bool]string{false: f.keylessBundle, true: f.badKeylessBundle}[bad[in]]
		case in == "policy" && on["trusted-root"]:
			v = map[bool]string{false: f.idPolicy, true: f.badIDPolicy}[bad[in]]
		case in == "threshold" && !bad[in] && on["key"] && on["kms-key"]:
			v = "2" // both signatures
		}
		return v
	}
	args := []string{"verify"}
	for _, in := range verifyInputs {
		if !on[in] || in == "FILE" {
			continue
		}
		args = append(args, "--"+in, value(in))
		switch in {
		case "image":
			args = append(args, "--insecure-registry")
		case "kms-key":
			args = append(args, "--kms-endpoint", f.kmsAddr)
		}
	}
	if on["FILE"] {
		args = append(args, value("FILE"))
	}
	return args
}

// TestVerifyFlagCombinations walks every combination of verify's inputs.
// Each is refused as a usage error, or every input it gives is verified:
// with good values it passes (one combination excepted, below), and with
// any one input bad (or all trust anchors bad at once) it does not.
func TestVerifyFlagCombinations(t *testing.T) {
	f := newVerifyFixture(t)
	var walked []string // one bit each
	for _, in := range verifyInputs {
		if !slices.Contains(grouped[1:], in) {
			walked = append(walked, in)
		}
	}
	accepted := 0
	for mask := 0; mask < 1<<len(walked); mask++ {
		on := map[string]bool{}
		for i, in := range walked {
			if mask&(1<<i) != 0 {
				on[in] = true
			}
		}
		if on[grouped[0]] {
			for _, in := range grouped {
				on[in] = true
			}
		}
		var names []string
		for _, in := range verifyInputs {
			if on[in] {
				names = append(names, in)
			}
		}
		r := slsakitCtx(t, f.ctx, f.args(on, nil)...)
		if r.code == exitUsage {
			continue
		}
		accepted++
		combo := strings.Join(names, "+")
		// An identity-only policy cannot trust a key-signed envelope.
		wantGood := exitOK
		if on["policy"] && on["trusted-root"] && on["envelope"] {
			wantGood = exitRejected
		}
		if r.code != wantGood {
			t.Errorf("%s: good inputs exit %d, want %d\nargs: %q\nstdout: %s\nstderr: %s", combo, r.code, wantGood, f.args(on, nil), r.stdout, r.stderr)
			continue
		}
		var bads []map[string]bool
		allAnchors := map[string]bool{}
		for _, in := range names {
			if anchors[in] {
				allAnchors[in] = true
			} else {
				bads = append(bads, map[string]bool{in: true})
			}
		}
		if len(allAnchors) > 0 {
			bads = append(bads, allAnchors)
		}
		for _, bad := range bads {
			if r := slsakitCtx(t, f.ctx, f.args(on, bad)...); r.code == exitOK {
				t.Errorf("%s: passes with bad %v: an input is ignored\nargs: %q\nstdout: %s", combo, keysOf(bad), f.args(on, bad), r.stdout)
			}
		}
	}
	// Keys (--key, --kms-key or both; --threshold or not) over FILE with
	// --envelope, FILE with --bundle, or --image: 3*3*2; keyless (exact or
	// regexp identity; --trusted-root or the default TUF repository) over
	// FILE with --bundle or --image: 2*2*2; each with the requirements or
	// not: (18+8)*2 = 52. Policies (--trusted-root or not) over FILE with
	// --envelope or --bundle (--name or not): 2*2*2, and over --image: 2.
	// 62 in all: a change here is a change of the command's interface.
	if accepted != 62 {
		t.Errorf("%d combinations accepted, want 62", accepted)
	}
	t.Logf("%d of %d combinations accepted", accepted, 1<<len(walked))
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestVerifyIgnoredInputs: the holes slsakit verify had, each an input
// given with a bad value and silently dropped, so that the command passed.
func TestVerifyIgnoredInputs(t *testing.T) {
	f := newVerifyFixture(t)
	g, b := f.good, f.bad
	keyless := []string{"--certificate-oidc-issuer", g["certificate-oidc-issuer"], "--certificate-identity", "ci@example.com", "--trusted-root", g["trusted-root"]}
	for name, args := range map[string][]string{
		"--bundle next to --key and --envelope":    {"--key", g["key"], "--envelope", g["envelope"], "--bundle", b["bundle"], g["FILE"]},
		"--bundle next to --policy and --envelope": {"--policy", g["policy"], "--envelope", g["envelope"], "--bundle", b["bundle"], g["FILE"]},
		"--bundle next to a keyless --image":       append(keyless, "--image", g["image"], "--insecure-registry", "--bundle", f.badKeylessBundle),
		"--envelope next to a keyless --bundle":    append(keyless, "--envelope", b["envelope"], "--bundle", f.keylessBundle, g["FILE"]),
		"--envelope next to --image":               {"--key", g["key"], "--image", g["image"], "--insecure-registry", "--envelope", b["envelope"]},
		"--key next to --policy":                   {"--policy", g["policy"], "--key", b["key"], "--envelope", g["envelope"], g["FILE"]},
		"--builder-id next to --policy":            {"--policy", g["policy"], "--builder-id", b["builder-id"], "--envelope", g["envelope"], g["FILE"]},
		"--predicate-type next to --policy":        {"--policy", g["policy"], "--predicate-type", b["predicate-type"], "--envelope", g["envelope"], g["FILE"]},
		"--certificate-identity next to --key":     {"--key", g["key"], "--certificate-identity", b["certificate-identity"], "--envelope", g["envelope"], g["FILE"]},
		"--threshold next to a keyless identity":   append(keyless, "--threshold", "5", "--bundle", f.keylessBundle, g["FILE"]),
		"--trusted-root next to --key":             {"--key", g["key"], "--trusted-root", b["trusted-root"], "--envelope", g["envelope"], g["FILE"]},
		"a second FILE":                            {"--key", g["key"], "--envelope", g["envelope"], g["FILE"], b["FILE"]},
		"--name next to --image and --policy":      {"--policy", g["policy"], "--image", g["image"], "--insecure-registry", "--name", b["name"]},
	} {
		if r := slsakit(t, append([]string{"verify"}, args...)...); r.code == exitOK {
			t.Errorf("%s: passes although an input is bad\nstdout: %s", name, r.stdout)
		}
	}
}

// TestVerifyFlagsWithoutEffect: flags that would be ignored in a mode are
// refused, and the ones that take part are accepted.
func TestVerifyFlagsWithoutEffect(t *testing.T) {
	f := newVerifyFixture(t)
	keyFile := []string{"verify", "--key", f.good["key"], "--envelope", f.good["envelope"]}
	keyless := []string{"verify", "--certificate-oidc-issuer", f.good["certificate-oidc-issuer"],
		"--certificate-identity", "ci@example.com", "--trusted-root", f.good["trusted-root"]}
	policy := []string{"verify", "--policy", f.good["policy"]}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{append(keyFile, f.good["FILE"], f.bad["FILE"]), exitUsage}, // two FILEs
		{append(keyFile, "--insecure-registry", f.good["FILE"]), exitUsage},
		{append(keyFile, "--layout", "legacy", f.good["FILE"]), exitUsage},
		{append(keyFile, "--attestation-repository", f.registry+"/att", f.good["FILE"]), exitUsage},
		{append(keyFile, "--kms-endpoint", f.kmsAddr, f.good["FILE"]), exitUsage},
		{append(keyFile, "--json=false", f.good["FILE"]), exitOK},
		{append(keyFile, "--json", f.good["FILE"]), exitOK},
		{append(keyFile, "--builder-id", "", f.good["FILE"]), exitUsage},
		{append(keyFile, "--predicate-type", "", f.good["FILE"]), exitOK}, // any type
		{[]string{"verify", "--certificate-oidc-issuer", "", "--certificate-identity", "ci@example.com", "--trusted-root", f.good["trusted-root"], "--bundle", f.keylessBundle, f.good["FILE"]}, exitUsage},
		{append(keyless, "--bundle", f.keylessBundle, f.good["FILE"]), exitOK},
		{append(keyless, "--image", f.good["image"], "--insecure-registry", "--layout", "legacy"), exitUsage},
		{append(keyless, "--image", f.good["image"], "--insecure-registry", "--layout", "both"), exitUsage},
		{append(keyless, "--image", f.good["image"], "--insecure-registry", "--layout", "referrers"), exitOK},
		{append(keyless, "--kms-endpoint", f.kmsAddr, "--bundle", f.keylessBundle, f.good["FILE"]), exitUsage},
		{append(policy, "--insecure-registry", "--envelope", f.good["envelope"], f.good["FILE"]), exitOK}, // dependencies
		{append(policy, "--image", f.good["image"], "--insecure-registry", "--layout", "referrers"), exitOK},
		{append(policy, "--image", f.good["image"], "--insecure-registry", "--name", "app.bin"), exitUsage},
	} {
		if r := slsakit(t, tc.args...); r.code != tc.code {
			t.Errorf("%q: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, r.code, tc.code, r.stdout, r.stderr)
		}
	}
}
