// Package hashivault signs and verifies with HashiCorp Vault (or OpenBao)
// transit keys, named as cosign names them: hashivault://KEY (or
// openbao://KEY).
//
//	signer, err := hashivault.NewSigner(ctx, "hashivault://release") // VAULT_ADDR, VAULT_TOKEN
//	verifier, err := hashivault.NewVerifier(ctx, "hashivault://release")
//
// It speaks Vault's HTTP API itself (two endpoints: read a transit key,
// sign with it), so it adds no Vault SDK to a program that links it. The
// token goes to the Vault address only: never to another host a redirect
// names, never into an error.
//
// Rotation: a Signer pins the newest version when it is made (every
// signature verifies with its Public key); a Verifier trusts every version
// Vault still allows to verify (min_decryption_version and above), as one
// signer (sign.VersionedVerifier), so rotating a key does not orphan what
// older versions signed, and raising min_decryption_version revokes them.
package hashivault
