package keyless_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/slsakit/slsakit/sign"
	"github.com/slsakit/slsakit/sign/keyless"
	"github.com/slsakit/slsakit/sign/keyless/keylesstest"
)

// Sign a statement keyless against loopback Sigstore services: the
// attestation comes with its Sigstore bundle. In CI, use keyless.WithToken(keyless.GitHubActions()) and the default
// (public-good) services instead.
func ExampleNewSigner() {
	svc, err := keylesstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	tok, _ := svc.Issuer.EmailToken("builder@example.com")

	ctx := context.Background()
	s, err := keyless.NewSigner(ctx,
		keyless.WithServices(svc.SigningServices()),
		keyless.WithToken(keyless.StaticToken(tok)))
	if err != nil {
		fmt.Println(err)
		return
	}
	att, err := sign.Attest(ctx, []byte(statement), s)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("certificate for:", s.Certificate().EmailAddresses[0])
	fmt.Println("bundle:", att.Bundle.MediaType, "log entries:", len(att.Bundle.VerificationMaterial.TlogEntries))
	// Output:
	// certificate for: builder@example.com
	// bundle: application/vnd.dev.sigstore.bundle.v0.3+json log entries: 1
}

// An expired token fails before any network call.
func ExampleParseToken() {
	enc := base64.RawURLEncoding.EncodeToString
	tok := enc([]byte(`{"alg":"ES256"}`)) + "." +
		enc([]byte(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:acme/app:ref:refs/heads/main","exp":1700000000}`)) +
		"." + enc([]byte("signature"))
	_, err := keyless.ParseToken(tok, time.Unix(1800000000, 0))
	fmt.Println(errors.Is(err, keyless.ErrTokenExpired))
	// Output: true
}

// A file-key envelope as a Sigstore bundle with a public-key hint, offline:
// no transparency log (WithRekorURLs with no URL), no timestamp authority.
func ExampleKeyBundle() {
	ctx := context.Background()
	key, _ := sign.GenerateKey(sign.ECDSAP256SHA256)
	env, _ := sign.SignStatement(ctx, []byte(statement), key)
	b, err := keyless.KeyBundle(ctx, env, key, keyless.WithRekorURLs())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.VerificationMaterial.PublicKey.Hint == key.KeyID(), len(b.VerificationMaterial.TlogEntries))
	// Output: true 0
}
