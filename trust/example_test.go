package trust_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slsakit/slsakit/intoto"
	"github.com/slsakit/slsakit/provenance"
	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/trust"
	"github.com/slsakit/slsakit/trust/tuftest"
	"github.com/slsakit/slsakit/verify"
	verifykeyless "github.com/slsakit/slsakit/verify/keyless"
)

// Keyless verification trusting the public-good Sigstore instance through
// TUF: the first run needs the network, later ones work from the cache.
func ExampleTrustedRoot() {
	ctx := context.Background()
	tr, err := trust.TrustedRoot(ctx, trust.TUF{}) // embedded root, ~/.sigstore/root
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := verifykeyless.NewVerifier(verifykeyless.WithTrustedMaterial(tr),
		verifykeyless.WithIdentity(verify.Identity{
			Issuer:  "https://token.actions.githubusercontent.com",
			Subject: "https://github.com/slsakit/slsakit/.github/workflows/release.yml@refs/heads/main",
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = v // verify.Verify(ctx, v, attestation, expectations)
}

// A private Sigstore instance: its TUF mirror and the root.json it was
// set up with (trusting the mirror's own first root would be trust on
// first use).
func ExampleTUF_private() {
	root, err := trust.RootFromFile("/etc/sigstore/root.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = trust.TrustedRoot(context.Background(), trust.TUF{
		Mirror: "https://tuf.sigstore.example.com", Root: root, CacheDir: "/var/cache/sigstore-tuf"})
	fmt.Println(err)
}

// Per-subproject trust delegated through TUF (the Kubernetes plan): the
// project's top-level targets delegate registry.k8s.io/kube-* to the kube
// subproject's role, which publishes its signer rule under that pattern.
// A consumer's engine then trusts kube's key for kube-* images, and for
// nothing else. The repository here is built and served on loopback by
// tuftest; a real one is any TUF repository with the same layout.
func ExampleDelegations() {
	p := &tuftest.Program{}
	defer p.Close()
	kubeKey, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		fmt.Println(err)
		return
	}
	kubePEM, err := sign.MarshalPublicKey(kubeKey.Public())
	if err != nil {
		fmt.Println(err)
		return
	}
	// The project's side: delegate, and let the subproject publish.
	repo := tuftest.New(p, map[string][]byte{})
	rule, err := json.Marshal(map[string]any{"keys": []map[string]string{{"pem": string(kubePEM)}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	repo.Delegate("targets", "kube", []string{"registry.k8s.io/kube-*"}, false).Files["registry.k8s.io/kube-*"] = rule
	repo.Bump()

	// The consumer's side: the repository's root, then its rules.
	ctx := context.Background()
	d, err := trust.Delegations(ctx, trust.TUF{Mirror: repo.URL(), Root: repo.InitialRoot(), CacheDir: p.TempDir()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range d.Rules {
		fmt.Println("delegated:", r.Artifacts)
	}
	projectKey, err := sign.GenerateKey(sign.ECDSAP256SHA256)
	if err != nil {
		fmt.Println(err)
		return
	}
	projectPEM, err := sign.MarshalPublicKey(projectKey.Public())
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := &verify.Policy{Version: verify.PolicyVersion, Signers: []verify.SignerRule{
		{Artifacts: "**", Keys: []verify.KeyRef{{PEM: string(projectPEM)}}}}}
	eng, err := verify.NewEngine(ctx, policy, verify.WithSigners(d.Rules...))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"registry.k8s.io/kube-apiserver", "registry.k8s.io/pause"} {
		att, digest, err := attestation(ctx, name, kubeKey)
		if err != nil {
			fmt.Println(err)
			return
		}
		rep, _ := eng.Evaluate(ctx, intoto.ResourceDescriptor{Name: name, Digest: digest}, []*sign.Attestation{att})
		fmt.Printf("%s signed by kube: passed %v (rule %q)\n", name, rep.Passed(), rep.Rule)
	}
	// Output:
	// delegated: registry.k8s.io/kube-*
	// registry.k8s.io/kube-apiserver signed by kube: passed true (rule "registry.k8s.io/kube-*")
	// registry.k8s.io/pause signed by kube: passed false (rule "**")
}

// attestation is a provenance for name, signed by s.
func attestation(ctx context.Context, name string, s sign.Signer) (*sign.Attestation, intoto.DigestSet, error) {
	digest := intoto.DigestSet{intoto.AlgSHA256: strings.Repeat("a", 64)}
	r := provenance.NewRecorder(provenance.Builder{ID: "https://ci.example.com/builder"}, "https://example.com/build@v1")
	r.Start()
	if err := r.SetExternalParameter("version", "v1.31.0"); err != nil {
		return nil, nil, err
	}
	if err := r.AddSubject(intoto.ResourceDescriptor{Name: name, Digest: digest}); err != nil {
		return nil, nil, err
	}
	r.Finish()
	stmt, err := r.MarshalStatement()
	if err != nil {
		return nil, nil, err
	}
	env, err := sign.SignStatement(ctx, stmt, s)
	if err != nil {
		return nil, nil, err
	}
	return &sign.Attestation{Envelope: env}, digest, nil
}
