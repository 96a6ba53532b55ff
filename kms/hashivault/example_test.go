package hashivault_test

import (
	"fmt"

	"github.com/slsakit/slsakit/kms/hashivault"
)

// References are cosign's: hashivault://KEY or openbao://KEY, a transit key
// name. The key itself is read when NewSigner or NewVerifier is called,
// from VAULT_ADDR with VAULT_TOKEN unless options say otherwise.
func ExampleParseReference() {
	for _, ref := range []string{"hashivault://release-signing", "openbao://release", "hashivault://../sys"} {
		name, err := hashivault.ParseReference(ref)
		fmt.Println(name, err)
	}
	// Output:
	// release-signing <nil>
	// release <nil>
	//  hashivault: invalid key reference: "hashivault://../sys": want hashivault://KEY with a transit key name
}
