package trust_test

import (
	"context"
	"fmt"

	"github.com/slsakit/slsakit/trust"
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
