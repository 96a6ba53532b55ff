package trust_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/trust/tuftest"
	"github.com/slsakit/slsakit/verify"
)

// signer is a subproject's release key.
type signer struct {
	*sign.KeySigner
	pem string
}

func newSigner(t *testing.T) signer {
	t.Helper()
	k, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.MarshalPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return signer{k, string(b)}
}

// rule is a signer rule document trusting s, with extra fields.
func rule(t *testing.T, s signer, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{"keys": []map[string]string{{"pem": s.pem}}}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// k8s is the Kubernetes plan on a loopback repository: the project's
// top-level targets delegate registry.k8s.io/kube-* to the "kube" role and
// sigs.k8s.io/kind/** to "kind", each publishing its rule under its
// pattern.
type k8s struct {
	repo       *tuftest.Repo
	kube, kind signer
	cfg        trust.TUF
}

func newK8s(t *testing.T) *k8s {
	t.Helper()
	k := &k8s{repo: tuftest.New(t, map[string][]byte{}), kube: newSigner(t), kind: newSigner(t)}
	k.repo.Delegate("targets", "kube", []string{"registry.k8s.io/kube-*"}, false).
		Files["registry.k8s.io/kube-*"] = rule(t, k.kube, nil)
	k.repo.Delegate("targets", "kind", []string{"sigs.k8s.io/kind/**"}, false).
		Files["sigs.k8s.io/kind/**"] = rule(t, k.kind, map[string]any{"artifacts": "sigs.k8s.io/kind/**"})
	k.repo.Bump()
	k.cfg = trust.TUF{Mirror: k.repo.URL(), Root: k.repo.InitialRoot(), CacheDir: t.TempDir()}
	return k
}

// load reads the delegations and returns an engine trusting them next to
// the project's own fallback key for everything else.
func (k *k8s) load(t *testing.T, project signer) (*trust.Delegated, *verify.Engine) {
	t.Helper()
	ctx := context.Background()
	d, err := trust.Delegations(ctx, k.cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &verify.Policy{Version: verify.PolicyVersion, Signers: []verify.SignerRule{
		{Artifacts: "**", Keys: []verify.KeyRef{{PEM: project.pem}}}}}
	e, err := verify.NewEngine(ctx, p, verify.WithSigners(d.Rules...))
	if err != nil {
		t.Fatal(err)
	}
	return d, e
}

// admits reports whether e admits the artifact name signed by s.
func admits(t *testing.T, e *verify.Engine, name string, s signer) bool {
	t.Helper()
	att, dg, err := attestation(context.Background(), name, s)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Evaluate(context.Background(), intoto.ResourceDescriptor{Name: name, Digest: dg}, []*sign.Attestation{att})
	return err == nil
}

func artifactsOf(d *trust.Delegated) []string {
	var out []string
	for _, r := range d.Rules {
		out = append(out, r.Artifacts)
	}
	return out
}

func TestDelegationsAdmitAndDeny(t *testing.T) {
	k := newK8s(t)
	mallory, project := newSigner(t), newSigner(t)
	// Attacks by the kube subproject: rules published under names its
	// delegation does not cover (broader, the sibling's, a case variant).
	kube := k.repo.Roles["kube"]
	kube.Files["registry.k8s.io/*"] = rule(t, k.kube, nil)
	kube.Files["**"] = rule(t, k.kube, nil)
	kube.Files["sigs.k8s.io/kind/**"] = rule(t, k.kube, nil)
	kube.Files["Registry.k8s.io/kube-*"] = rule(t, k.kube, nil)
	k.repo.Bump()

	d, e := k.load(t, project)
	if got := strings.Join(artifactsOf(d), " "); got != "registry.k8s.io/kube-* sigs.k8s.io/kind/*" {
		t.Fatalf("rules for %q, want the two delegated patterns (kind's ** as TUF reads it: one path part)", got)
	}
	if len(d.Refused) != 0 {
		t.Fatalf("refused: %v", d.Refused)
	}
	for _, tc := range []struct {
		name  string
		s     signer
		admit bool
	}{
		{"registry.k8s.io/kube-apiserver", k.kube, true},
		{"registry.k8s.io/kube-apiserver", k.kind, false},
		{"registry.k8s.io/kube-apiserver", mallory, false},
		{"registry.k8s.io/kube-apiserver", project, false}, // the most specific rule decides
		{"registry.k8s.io/pause", k.kube, false},           // outside kube-*: the project's key
		{"registry.k8s.io/pause", project, true},
		{"Registry.k8s.io/kube-apiserver", k.kube, false}, // case-sensitive
		{"registry.k8s.io/kube-x/../../pause", k.kube, false},
		{"sigs.k8s.io/kind/node", k.kind, true},
		{"sigs.k8s.io/kind/node", k.kube, false},    // kube's rule under kind's name is never read
		{"sigs.k8s.io/kind/node/v1", k.kind, false}, // "**" in TUF is not recursive
		{"sigs.k8s.io/kind/node/v1", project, true}, // so the project's rule applies
		{"sigs.k8s.io/kindnet/cni", k.kind, false},
	} {
		if got := admits(t, e, tc.name, tc.s); got != tc.admit {
			t.Errorf("%s signed by %s: admitted %v, want %v", tc.name, map[string]string{k.kube.pem: "kube", k.kind.pem: "kind", mallory.pem: "mallory", project.pem: "project"}[tc.s.pem], got, tc.admit)
		}
	}
}

// A rule naming other artifacts than its delegation, and documents that
// are not rules, cost their subproject its trust and no one else theirs.
func TestDelegationsRefuseBadRules(t *testing.T) {
	k := newK8s(t)
	kind := k.repo.Roles["kind"]
	for name, doc := range map[string][]byte{
		"broader":     rule(t, k.kind, map[string]any{"artifacts": "sigs.k8s.io/**"}),
		"other":       rule(t, k.kind, map[string]any{"artifacts": "registry.k8s.io/kube-*"}),
		"policy-star": rule(t, k.kind, map[string]any{"artifacts": "sigs.k8s.io/kind/*"}), // not the name it was published under
		"file key":    []byte(`{"keys":[{"file":"/etc/ssh/ssh_host_ecdsa_key.pub"}]}`),
		"kms key":     []byte(`{"keys":[{"kms":"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"}]}`),
		"bad pem":     []byte(`{"keys":[{"pem":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}]}`),
		"unknown":     rule(t, k.kind, map[string]any{"trustEverything": true}),
		"two values":  append(rule(t, k.kind, nil), []byte(` {}`)...),
		"bad regexp":  []byte(`{"identities":[{"issuer":"https://accounts.google.com","subjectRegexp":"("}]}`),
		"no signers":  []byte(`{}`),
		"too large":   []byte(`{"keys":[{"pem":"` + strings.Repeat("A", trust.MaxSignerDocument) + `"}]}`),
		// Documents two JSON readers read differently (internal/strictjson):
		// an auditor's reader would see other signers than the verifier.
		"key in another case": []byte(`{"Keys":[{"pem":` + jsonString(k.kind.pem) + `}]}`),
		"keys twice":          []byte(`{"keys":[{"pem":` + jsonString(k.kind.pem) + `}],"keys":[{"pem":` + jsonString(k.kube.pem) + `}]}`),
		"keys and Keys":       []byte(`{"keys":[{"pem":` + jsonString(k.kind.pem) + `}],"Keys":[{"pem":` + jsonString(k.kube.pem) + `}]}`),
		"escaped twin key":    []byte(`{"keys":[{"pem":` + jsonString(k.kind.pem) + `}],"k\u0065ys":[{"pem":` + jsonString(k.kube.pem) + `}]}`),
		"NUL in an identity":  []byte(`{"identities":[{"issuer":"https://accounts.google.com","subject":"krel@k8s.io\u0000.evil"}]}`),
		"huge number":         []byte(`{"keys":[{"pem":` + jsonString(k.kind.pem) + `}],"threshold":1e400}`),
		"deep nesting":        []byte(`{"keys":[{"pem":` + jsonString(k.kind.pem) + `}],"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`),
	} {
		kind.Files["sigs.k8s.io/kind/**"] = doc
		k.repo.Bump()
		d, err := trust.Delegations(context.Background(), k.cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := strings.Join(artifactsOf(d), " "); got != "registry.k8s.io/kube-*" {
			t.Errorf("%s: rules for %q, want kube's alone", name, got)
		}
		if len(d.Refused) != 1 || !errors.Is(d.Refused[0], trust.ErrDelegation) {
			t.Errorf("%s: refused %v, want one ErrDelegation", name, d.Refused)
		}
	}
}

// Delegations go-tuf's walk does not reach, or that do not verify, add no
// trust; revoking a delegation revokes its trust at the next refresh.
func TestDelegationsWalk(t *testing.T) {
	project := newSigner(t)
	t.Run("revoked", func(t *testing.T) {
		k := newK8s(t)
		if _, e := k.load(t, project); !admits(t, e, "registry.k8s.io/kube-proxy", k.kube) {
			t.Fatal("kube not trusted before revocation")
		}
		k.repo.Undelegate("targets", "kube")
		k.repo.Bump()
		d, e := k.load(t, project)
		if admits(t, e, "registry.k8s.io/kube-proxy", k.kube) {
			t.Fatalf("revoked delegation still trusted: %v", artifactsOf(d))
		}
		if !admits(t, e, "sigs.k8s.io/kind/node", k.kind) {
			t.Fatal("revoking kube revoked kind")
		}
	})
	t.Run("terminating", func(t *testing.T) {
		for _, terminating := range []bool{true, false} {
			// Before kube, the project delegates all of registry.k8s.io
			// to a role that publishes nothing for kube-*.
			k := &k8s{repo: tuftest.New(t, map[string][]byte{}), kube: newSigner(t), kind: newSigner(t)}
			reg := newSigner(t)
			k.repo.Delegate("targets", "registry", []string{"registry.k8s.io/*"}, terminating).
				Files["registry.k8s.io/*"] = rule(t, reg, nil)
			k.repo.Delegate("targets", "kube", []string{"registry.k8s.io/kube-*"}, false).
				Files["registry.k8s.io/kube-*"] = rule(t, k.kube, nil)
			k.repo.Bump()
			k.cfg = trust.TUF{Mirror: k.repo.URL(), Root: k.repo.InitialRoot(), CacheDir: t.TempDir()}
			d, e := k.load(t, project)
			// Terminating: the registry role alone answers for every
			// registry.k8s.io/* name, kube's rule is never reached.
			if got := admits(t, e, "registry.k8s.io/kube-proxy", k.kube); got == terminating {
				t.Errorf("terminating %v: kube admitted %v (rules %v)", terminating, got, artifactsOf(d))
			}
			if !admits(t, e, "registry.k8s.io/pause", reg) {
				t.Errorf("terminating %v: the registry role's own rule not applied", terminating)
			}
		}
	})
	t.Run("nested", func(t *testing.T) {
		k := newK8s(t)
		release := newSigner(t)
		// kind hands its releases to a role of its own, and tries to hand
		// out more than it was given.
		k.repo.Delegate("kind", "kind-release", []string{"sigs.k8s.io/kind/*"}, false).
			Files["sigs.k8s.io/kind/*"] = rule(t, release, nil)
		k.repo.Delegate("kind", "kind-grab", []string{"sigs.k8s.io/*", "registry.k8s.io/kube-*"}, false).Files = map[string][]byte{
			"sigs.k8s.io/*": rule(t, release, nil), "registry.k8s.io/kube-*": rule(t, release, nil)}
		// and tries to cost kube its trust with a delegation slsakit
		// refuses, matching kube's pattern: kind is not on kube's path.
		k.repo.Delegate("kind", "kind-q", []string{"registry.k8s.io/kube-?"}, false)
		k.repo.Bump()
		d, e := k.load(t, project)
		// "sigs.k8s.io/kind/*" and kind's "**" are the same names: one
		// rule; kind-q's pattern is refused.
		t.Log(d.Refused)
		if len(d.Rules) != 2 || len(d.Refused) != 2 || !strings.Contains(d.Refused[0].Error(), "same artifacts") {
			t.Fatalf("rules %v, refused %v", artifactsOf(d), d.Refused)
		}
		for _, tc := range []struct {
			name  string
			s     signer
			admit bool
		}{
			{"sigs.k8s.io/kind/node", k.kind, true},
			{"sigs.k8s.io/kind/node", release, false}, // kind's own rule came first
			{"sigs.k8s.io/kustomize", release, false},
			{"registry.k8s.io/kube-proxy", release, false},
			{"registry.k8s.io/kube-proxy", k.kube, true},
		} {
			if got := admits(t, e, tc.name, tc.s); got != tc.admit {
				t.Errorf("%s: admitted %v, want %v", tc.name, got, tc.admit)
			}
		}
	})
	t.Run("narrower sub-delegation", func(t *testing.T) {
		// kube delegates one-character names ("?") to a role, which
		// publishes a rule under kube's whole pattern: go-tuf's walk
		// would hand it over ("?" matches the "*" of the name), so the
		// pattern is refused rather than trusted.
		k := newK8s(t)
		q := newSigner(t)
		delete(k.repo.Roles["kube"].Files, "registry.k8s.io/kube-*")
		k.repo.Delegate("kube", "kube-q", []string{"registry.k8s.io/kube-?"}, false).
			Files["registry.k8s.io/kube-*"] = rule(t, q, nil)
		k.repo.Bump()
		d, e := k.load(t, project)
		if admits(t, e, "registry.k8s.io/kube-proxy", q) {
			t.Fatalf("a narrower sub-delegation got its parent's pattern: rules %v", artifactsOf(d))
		}
		t.Log(d.Refused)
		if len(d.Refused) != 2 { // kube-* (served through "?") and kube-? itself
			t.Fatalf("refused %v", d.Refused)
		}
	})
	t.Run("threshold and keys", func(t *testing.T) {
		k := newK8s(t)
		k.repo.Targets.Signed.Delegations.Roles[0].Threshold = 2 // kube: two signatures, it has one
		k.repo.Roles["kind"].Signer, _ = tuftest.NewKey(t)       // kind: signed by a key not delegated
		k.repo.Bump()
		d, err := trust.Delegations(context.Background(), k.cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(d.Refused)
		if len(d.Rules) != 0 || len(d.Refused) != 2 {
			t.Fatalf("rules %v, refused %v", artifactsOf(d), d.Refused)
		}
	})
	t.Run("escaping patterns", func(t *testing.T) {
		k := newK8s(t)
		for i, p := range []string{"registry.k8s.io/../sigs.k8s.io/*", "registry.k8s.io//kube-*", "./registry.k8s.io/kube-*",
			"registry.k8s.io/kube-[a-z]*", `registry.k8s.io/other-\*`, ""} {
			k.repo.Delegate("targets", fmt.Sprint("bad", i), []string{p}, false).Files[p] = rule(t, k.kube, nil)
		}
		k.repo.Bump()
		d, _ := k.load(t, project)
		if len(d.Rules) != 2 || len(d.Refused) != 6 {
			t.Fatalf("rules %v, refused %v", artifactsOf(d), d.Refused)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		k := newK8s(t)
		var many []string
		for i := range trust.MaxPatterns + 10 {
			many = append(many, fmt.Sprintf("example.com/p%d/*", i))
		}
		k.repo.Delegate("targets", "many", many, false)
		k.repo.Bump()
		d, err := trust.Delegations(context.Background(), k.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Refused) != 1 || !strings.Contains(d.Refused[0].Error(), "more than") {
			t.Fatalf("refused %v", d.Refused)
		}
	})
	t.Run("bounded roles", func(t *testing.T) {
		// Chains of roles deeper than go-tuf walks (MaxDelegations), each
		// delegating the same names one level down: every lookup loads a
		// chain's worth, and the chains together more than MaxRoles.
		k := newK8s(t)
		for c := range 3 {
			parent, pattern := "targets", fmt.Sprintf("example.com/c%d/*", c)
			for i := range trust.MaxDelegations + 8 {
				name := fmt.Sprintf("c%d-%d", c, i)
				k.repo.Delegate(parent, name, []string{pattern}, false)
				parent = name
			}
		}
		k.repo.Bump()
		d, err := trust.Delegations(context.Background(), k.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Refused) == 0 || !strings.Contains(d.Refused[len(d.Refused)-1].Error(), "roles loaded") {
			t.Fatalf("rules %v, refused %v", artifactsOf(d), d.Refused)
		}
	})
}

func TestDelegationsConfigAndOffline(t *testing.T) {
	ctx := context.Background()
	if _, err := trust.Delegations(ctx, trust.TUF{}); !errors.Is(err, trust.ErrConfig) {
		t.Fatalf("no repository: %v, want ErrConfig", err)
	}
	k := newK8s(t)
	k.repo.Server.Close()
	if _, err := trust.Delegations(ctx, k.cfg); !errors.Is(err, trust.ErrUnavailable) || !strings.Contains(err.Error(), k.repo.URL()) {
		t.Fatalf("unreachable: %v, want ErrUnavailable naming the mirror", err)
	}
}

// Offline, the delegated rules come from the cache an earlier run
// verified, until its timestamp expires; then the call fails closed
// (ErrExpired and ErrUnavailable), never falling back to fewer rules.
func TestDelegationsOfflineCache(t *testing.T) {
	ctx := context.Background()
	k := newK8s(t)
	project := newSigner(t)
	if _, e := k.load(t, project); !admits(t, e, "registry.k8s.io/kube-apiserver", k.kube) {
		t.Fatal("online: kube's rule not loaded")
	}
	k.repo.Server.Close()
	d, e := k.load(t, project)
	if got := strings.Join(artifactsOf(d), " "); got != "registry.k8s.io/kube-* sigs.k8s.io/kind/*" || len(d.Refused) != 0 {
		t.Fatalf("offline: rules %q, refused %v", got, d.Refused)
	}
	if !admits(t, e, "registry.k8s.io/kube-apiserver", k.kube) || admits(t, e, "registry.k8s.io/kube-apiserver", k.kind) ||
		!admits(t, e, "sigs.k8s.io/kind/node", k.kind) {
		t.Fatal("offline: the cached rules do not decide as the online ones")
	}

	// The clock passes the cached timestamp's expiry.
	_, md := k.repo.CacheDirs(k.cfg.CacheDir)
	k.repo.AgeCache(md)
	_, err := trust.Delegations(ctx, k.cfg)
	if !errors.Is(err, trust.ErrExpired) || !errors.Is(err, trust.ErrUnavailable) || !strings.Contains(err.Error(), k.repo.URL()) {
		t.Fatalf("offline, expired cache: %v, want ErrExpired and ErrUnavailable naming the mirror", err)
	}
}

// A cache of another (attacker's) repository's metadata under the
// mirror's name does not verify against the configured root: offline, the
// call fails instead of trusting it.
func TestDelegationsOfflineForeignCache(t *testing.T) {
	ctx := context.Background()
	k, evil := newK8s(t), newK8s(t)
	if _, err := trust.Delegations(ctx, evil.cfg); err != nil {
		t.Fatal(err)
	}
	_, mine := k.repo.CacheDirs(k.cfg.CacheDir)
	_, theirs := evil.repo.CacheDirs(evil.cfg.CacheDir)
	if err := os.MkdirAll(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"timestamp.json", "snapshot.json", "targets.json", "kube.json", "kind.json"} {
		b, err := os.ReadFile(filepath.Join(theirs, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mine, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k.repo.Server.Close()
	if _, err := trust.Delegations(ctx, k.cfg); !errors.Is(err, trust.ErrUnavailable) || !errors.Is(err, trust.ErrMetadata) {
		t.Fatalf("offline, foreign cache: %v, want ErrUnavailable and ErrMetadata", err)
	}
}

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
