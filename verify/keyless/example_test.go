package keyless_test

import (
	"context"
	"fmt"
	"os"

	"github.com/slsakit/slsakit/verify"
	"github.com/slsakit/slsakit/verify/keyless"
)

// Verify the npm provenance of sigstore@1.3.0, signed on the Sigstore
// public-good instance by a GitHub Actions workflow, offline.
func ExampleVerifier_Verify() {
	v, err := keyless.NewVerifier(
		keyless.WithTrustedRootFile("testdata/trusted-root-public-good.json"),
		keyless.WithIdentity(verify.Identity{
			Issuer:              "https://token.actions.githubusercontent.com",
			Subject:             "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
			SourceRepositoryURI: "https://github.com/sigstore/sigstore-js",
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	bundle, err := os.ReadFile("testdata/npm-sigstore-1.3.0-provenance.sigstore.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := v.Verify(context.Background(), bundle, keyless.WithArtifactDigest("sha512",
		"76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Statement.Subjects[0].Name)
	fmt.Println(res.Signer.Extensions.SourceRepositoryDigest)
	fmt.Println(res.Timestamps[0].Time.UTC())
	// Output:
	// pkg:npm/sigstore@1.3.0
	// dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1
	// 2023-04-18 17:45:12 +0000 UTC
}
