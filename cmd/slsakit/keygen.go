package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/slsakit/slsakit/sign"
)

func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", "[--dir DIR] [--name NAME] [--algorithm ALG]", stderr)
	dir := fs.String("dir", ".", "directory to write NAME.key and NAME.pub to")
	name := fs.String("name", "cosign", "key file name")
	alg := fs.String("algorithm", string(sign.ECDSAP256SHA256), "signature algorithm")
	passwordEnv := fs.String("password-env", "COSIGN_PASSWORD", "encrypt the key with the password in this variable (cosign format); unset: unencrypted PKCS#8")
	if err := parse(fs, args); err != nil {
		return err
	}
	key, err := sign.GenerateKey(sign.Algorithm(*alg))
	if err != nil {
		return usagef("%v", err)
	}
	var password []byte
	if pw, ok := os.LookupEnv(*passwordEnv); ok {
		password = []byte(pw)
	} else {
		fmt.Fprintf(stderr, "warning: %s is not set: the private key is written unencrypted\n", *passwordEnv)
	}
	files, err := sign.WriteKeyPair(*dir, *name, key, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "private key: %s\npublic key:  %s\nkey id:      %s\n", files.PrivateKey, files.PublicKey, key.KeyID())
	return nil
}
