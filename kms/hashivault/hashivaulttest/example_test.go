package hashivaulttest_test

import (
	"context"
	"fmt"

	"github.com/slsakit/slsakit/kms/hashivault"
	"github.com/slsakit/slsakit/kms/hashivault/hashivaulttest"
)

// Sign with a Vault transit key, rotate it, and verify what both versions
// signed; in a test, NewServer(t) replaces Start and Close.
func ExampleStart() {
	vault := hashivaulttest.Start()
	defer vault.Close()
	vault.CreateKey("release", "ecdsa-p256")
	ctx := context.Background()
	opts := []hashivault.Option{hashivault.WithAddress(vault.URL()), hashivault.WithToken(vault.Token())}

	before, err := hashivault.NewSigner(ctx, "hashivault://release", opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	vault.Rotate("release")
	after, _ := hashivault.NewSigner(ctx, "hashivault://release", opts...)
	sig1, _ := before.Sign(ctx, []byte("v1.2.3"))
	sig2, _ := after.Sign(ctx, []byte("v1.2.3"))

	v, _ := hashivault.NewVerifier(ctx, "hashivault://release", opts...)
	fmt.Println("versions:", before.Version(), after.Version())
	fmt.Println("old signature:", v.Verify(ctx, []byte("v1.2.3"), sig1))
	fmt.Println("new signature:", v.Verify(ctx, []byte("v1.2.3"), sig2))
	// Output:
	// versions: 1 2
	// old signature: <nil>
	// new signature: <nil>
}
