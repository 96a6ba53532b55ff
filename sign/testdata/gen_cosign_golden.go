//go:build ignore

// gen_cosign_golden writes the cosign-format key files in this directory with
// sigstore's own code (github.com/sigstore/sigstore/pkg/cryptoutils), the
// reference implementation that `cosign generate-key-pair` uses, so that
// LoadPrivateKey is tested against it offline. Run once from the module root:
//
//	go run ./sign/testdata/gen_cosign_golden.go
//
// The password of every encrypted file is "slsakit-golden". Re-running it
// makes new keys: update the key IDs that example_test.go prints.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

const dir = "sign/testdata"

func main() {
	pf := cryptoutils.StaticPasswordFunc([]byte("slsakit-golden"))

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	write("cosign-p256", ec, ec.Public(), pf, cryptoutils.EncryptedSigstorePrivateKeyPEMType)

	_, ed, err := ed25519.GenerateKey(rand.Reader)
	check(err)
	write("cosign-ed25519", ed, ed.Public(), pf, cryptoutils.EncryptedSigstorePrivateKeyPEMType)

	// The legacy PEM type: same body, older name.
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	write("cosign-legacy-p256", ec2, ec2.Public(), pf, "ENCRYPTED COSIGN PRIVATE KEY")
}

func write(name string, priv crypto.PrivateKey, pub crypto.PublicKey, pf cryptoutils.PassFunc, pemType cryptoutils.PEMType) {
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, pf)
	check(err)
	check(os.WriteFile(filepath.Join(dir, name+".key"), cryptoutils.PEMEncode(pemType, der), 0o600))
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	check(err)
	check(os.WriteFile(filepath.Join(dir, name+".pub"), pubPEM, 0o644))
	// The documented key ID, computed independently of package sign.
	pkix, err := cryptoutils.MarshalPublicKeyToDER(pub)
	check(err)
	sum := sha256.Sum256(pkix)
	check(os.WriteFile(filepath.Join(dir, name+".keyid"), []byte("sha256:"+hex.EncodeToString(sum[:])+"\n"), 0o644))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
